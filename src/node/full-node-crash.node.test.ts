/**
 * kill -9 in the middle of imports, at the process level: `fulmen add` killed while it writes
 * into the store (from a slow stdin, and from a large file), the same through a running node,
 * and the node itself killed mid-import. After each, a (re)started node reports only what was
 * committed, and the store has no temporary leftovers. The block store's own tests cover the
 * commit protocol; this checks that the processes around it keep its promise.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  exited,
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  spawnFulmen,
  startNode,
  waitFor,
} from '../devnet/processes.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { request } from './testing/http.ts'

const MiB = 2 ** 20

let dir = ''
let dataDir = ''
let node: NodeProcess | undefined
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
const nodeEnv = () => ({ ...env(), FULMEN_LOG_LEVEL: 'debug' })
const store = (sub: 'tmp' | 'content' | 'trees') => join(dataDir, 'store', sub)

/** Bytes in the store's tmp/ (files may come and go while we look). */
function tmpBytes(): number {
  let n = 0
  for (const name of existsSync(store('tmp')) ? readdirSync(store('tmp')) : []) {
    try {
      n += statSync(join(store('tmp'), name)).size
    } catch {}
  }
  return n
}

async function contents(): Promise<number> {
  const r = await runFulmen(['node', 'status', '--data-dir', dataDir, '--json'], { env: env() })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return (JSON.parse(r.stdout) as { store: { contents: number } }).store.contents
}

/**
 * `fulmen add -` fed `MiB` chunks of pseudo-random bytes, never closed: killed with SIGKILL
 * once the store's tmp/ holds at least `atLeast` bytes.
 */
async function killAddFromStdin(atLeast: number): Promise<void> {
  const child = spawnFulmen(['add', '--data-dir', dataDir, '-'], { env: env() })
  child.stdin!.on('error', () => {})
  const chunk = pseudoRandomBytes(MiB, 99)
  let fed = 0
  const feed = setInterval(() => {
    if (fed < 64) {
      child.stdin!.write(chunk)
      fed++
    }
  }, 10)
  try {
    await waitFor(() => tmpBytes() >= atLeast, `${atLeast} bytes in tmp/`)
  } finally {
    clearInterval(feed)
  }
  child.kill('SIGKILL')
  expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' })
}

printNodeLogsOnFailure(() => [node])

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-crash-'))
  dataDir = join(dir, 'node')
  mkdirSync(dataDir)
})

afterAll(async () => {
  await node?.stop().catch(() => {})
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('kill -9 during imports', () => {
  test('of `fulmen add` (no node running), from a slow stdin and from a 1 GiB file: a restarted node has nothing, and no leftovers', async () => {
    await killAddFromStdin(4 * MiB)
    expect(tmpBytes()).toBeGreaterThanOrEqual(4 * MiB) // it really was killed mid-import

    // 1 GiB of zeros as a sparse file: made at once, read at memory speed.
    const large = join(dir, 'large.bin')
    spawnSync('truncate', ['-s', String(1024 * MiB), large])
    const child = spawnFulmen(['add', '--data-dir', dataDir, large], { env: env() })
    child.stdin!.end()
    const before = tmpBytes()
    await waitFor(
      () => tmpBytes() >= before + 32 * MiB,
      'the large import to be under way',
      15_000,
      5,
    )
    child.kill('SIGKILL')
    expect(await exited(child)).toEqual({ code: null, signal: 'SIGKILL' })
    expect(readdirSync(store('content'))).toEqual([])

    node = await startNode({ dataDir, env: nodeEnv() })
    expect(await contents()).toBe(0)
    // The second add, opening the store, already cleared the first one's leftovers.
    expect(node.logs().find((l) => l.msg === 'removed unfinished imports')).toMatchObject({
      count: 1,
    })
    expect(readdirSync(store('tmp'))).toEqual([])
    expect(readdirSync(store('content'))).toEqual([])
    expect(readdirSync(store('trees'))).toEqual([])
  })

  test('of `fulmen add` through a running node: the node drops the import at once and keeps serving', async () => {
    await killAddFromStdin(2 * MiB)
    await waitFor(() => tmpBytes() === 0, 'the node to drop the unfinished import')
    expect(await contents()).toBe(0)
    const health = await request(`${node!.url}/health`)
    expect(health.status).toBe(200)
    // A whole import afterwards goes through.
    const ok = await runFulmen(['add', '--data-dir', dataDir, '-'], {
      env: env(),
      input: pseudoRandomBytes(3 * MiB + 1, 5),
    })
    expect(ok.code).toBe(0)
    expect(await contents()).toBe(1)
  })

  test('of the node itself mid-import: the client fails, a restarted node has only what was committed', async () => {
    const child = spawnFulmen(['add', '--data-dir', dataDir, '-'], { env: env() })
    child.stdin!.on('error', () => {})
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.stdin!.write(pseudoRandomBytes(4 * MiB, 6))
    await waitFor(() => tmpBytes() >= 2 * MiB, 'the import to reach the node’s tmp/')
    node!.child.kill('SIGKILL')
    expect(await node!.exit).toEqual({ code: null, signal: 'SIGKILL' })
    child.stdin!.end()
    const { code } = await exited(child)
    expect(code).toBe(1)
    expect(stderr).toMatch(/^fulmen: /)

    // Its runtime file is left behind, but it no longer counts: nothing answers there.
    expect(existsSync(join(dataDir, 'node.json'))).toBe(true)
    const none = await runFulmen(['node', 'status', '--data-dir', dataDir], { env: env() })
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no node is running/)

    node = await startNode({ dataDir, env: nodeEnv() })
    expect(await contents()).toBe(1)
    expect(readdirSync(store('tmp'))).toEqual([])
    expect(readdirSync(store('content'))).toHaveLength(1)
  })
})
