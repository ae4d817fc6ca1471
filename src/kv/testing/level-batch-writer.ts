/**
 * A child process for the LevelDB crash test (level-kv-store.node.test.ts): writes batch after
 * batch into the directory given as its argument, each batch 50 keys `batch!<n: 8 hex>!<i>`
 * holding n, and prints `<n>` on a line once batch n is acknowledged, until it is killed.
 */
import { openLevelKvStore } from '../level-kv-store.ts'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: level-batch-writer.ts DIR')
const store = await openLevelKvStore({ dir })
const utf8 = new TextEncoder()
const value = new Uint8Array(512)
for (let n = 0; ; n++) {
  new DataView(value.buffer).setUint32(0, n)
  const ops = []
  for (let i = 0; i < 50; i++) {
    const key = utf8.encode(
      `batch!${n.toString(16).padStart(8, '0')}!${i.toString().padStart(2, '0')}`,
    )
    ops.push({ type: 'put' as const, key, value })
  }
  await store.batch(ops)
  process.stdout.write(`${n}\n`)
}
