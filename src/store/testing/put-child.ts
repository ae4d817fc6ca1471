/**
 * A child process for the block store's crash tests: opens the store in `dir` and imports,
 * reporting on stdout, so that the parent can SIGKILL it at a chosen moment.
 *
 *   node put-child.ts DIR slow SEED    a slow import of 256 MiB; prints `progress` once 2 MiB are in
 *   node put-child.ts DIR renamed SEED imports 3 blocks + 17 bytes; prints `renamed <hex>` once
 *                                      the files are in place and then waits before the record
 */
import { openFsBlockStore } from '../fs-block-store.ts'
import { patternStream } from './content.ts'

const [dir, mode, seedText] = process.argv.slice(2)
if (dir === undefined || (mode !== 'slow' && mode !== 'renamed')) {
  process.stderr.write('usage: put-child.ts DIR slow|renamed SEED\n')
  process.exit(2)
}
const seed = Number(seedText ?? '1')

/** Keeps the process alive forever (until it is killed). */
function hang(): Promise<never> {
  setInterval(() => {}, 60_000)
  return new Promise<never>(() => {})
}

const store = await openFsBlockStore({
  dir,
  testHooks:
    mode === 'renamed'
      ? {
          afterRename: (hex) => {
            process.stdout.write(`renamed ${hex}\n`)
            return hang()
          },
        }
      : undefined,
})
process.stdout.write('opened\n')

if (mode === 'slow') {
  let told = false
  await store.put(patternStream(256 * 1024 * 1024, seed, 64 * 1024, 2), {
    onProgress: (done) => {
      if (!told && done >= 2 * 1024 * 1024) {
        told = true
        process.stdout.write('progress\n')
      }
    },
  })
  process.stdout.write('finished\n')
} else {
  await store.put(patternStream(3 * 262_144 + 17, seed, 100_000))
  process.stdout.write('finished\n')
}
await store.close()
