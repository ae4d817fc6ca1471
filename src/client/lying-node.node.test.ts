/**
 * The client against lying nodes (src/devnet/lying-node.ts), each a process of its own
 * in front of one real node: for every lie the client drops the liar with the lie's own error
 * code, resumes on the real node at the first unverified block, and delivers the exact
 * content; with only the liar to ask it fails with FETCH_ALL_NODES_FAILED, and what reached
 * the reader before that is a prefix of the true content, never a tampered byte. An honest
 * forwarder works, and passes a range and a resume block through unchanged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import {
  DEFAULT_LIE_AFTER,
  type LyingMode,
  type LyingNodeProcess,
  spawnLyingNode,
} from '../devnet/lying-node.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  wsAddressOf,
} from '../devnet/processes.ts'
import { printNodeLogsOnFailure } from '../node/testing/diagnostics.ts'
import { createClient, type FulmenClient } from './client.ts'
import { FetchError } from './errors.ts'
import type { FetchProgress } from './progress.ts'

const BLOCK = TREE_BLOCK_LEN
const SIZE = 6 * 2 ** 20 + 99
const BLOCKS = Math.ceil(SIZE / BLOCK)
/** Small, so the stalling liar costs little; the others keep the default (5 s). */
const STALL_MS = 1500

let dir = ''
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
const content = pseudoRandomBytes(SIZE, 77)
let hex = ''
let real: NodeProcess
let realAddress = ''
const liars = new Map<LyingMode, LyingNodeProcess>()
const clients: FulmenClient[] = []

const LIES: readonly { mode: LyingMode; codes: readonly string[] }[] = [
  { mode: 'flip-byte', codes: ['B3_BLOCK_MISMATCH'] },
  { mode: 'wrong-proof', codes: ['B3_PROOF_MISMATCH', 'B3_PROOF_LENGTH'] },
  { mode: 'truncate', codes: ['CLIENT_TRUNCATED'] },
  { mode: 'stall', codes: ['CLIENT_STALLED'] },
  { mode: 'wrong-root', codes: ['WIRE_WRONG_CONTENT'] },
]

/** A client that asks the nodes in the order given (the liar first). */
async function client(bootstrap: string[], mode?: LyingMode): Promise<FulmenClient> {
  const c = await createClient({
    bootstrap,
    order: 'given',
    ...(mode === 'stall' ? { stallTimeoutMs: STALL_MS } : {}),
  })
  clients.push(c)
  return c
}

interface Outcome {
  /** Every byte the reader got. */
  readonly bytes: Uint8Array
  readonly status?: number
  /** How the fetch or the body read failed, if it did. */
  readonly error?: unknown
  readonly events: FetchProgress[]
}

async function fetchAll(
  c: FulmenClient,
  options: { range?: { start: number; end: number } } = {},
): Promise<Outcome> {
  const events: FetchProgress[] = []
  const chunks: Uint8Array[] = []
  let res: Response
  try {
    res = await c.fetch(hex, { ...options, onProgress: (e) => events.push(e) })
  } catch (error) {
    return { bytes: new Uint8Array(0), error, events }
  }
  const reader = res.body!.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { bytes: Buffer.concat(chunks), status: res.status, events }
      chunks.push(value)
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), status: res.status, error, events }
  }
}

function failovers(events: readonly FetchProgress[]) {
  return events.filter((e) => e.type === 'failover')
}

function blocks(events: readonly FetchProgress[]) {
  return events.filter((e) => e.type === 'block')
}

printNodeLogsOnFailure(() => [real])
afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail') return
  for (const [mode, liar] of liars) {
    const tail = liar.stderr().trimEnd().split('\n').slice(-20).join('\n')
    if (tail !== '') process.stderr.write(`--- lying node ${mode} ---\n${tail}\n`)
  }
})

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-liars-'))
  writeFileSync(join(dir, 'content.bin'), content)
  const dataDir = join(dir, 'node')
  const added = await runFulmen(['add', '--data-dir', dataDir, join(dir, 'content.bin')], {
    env: env(),
  })
  expect(added.code, added.stderr).toBe(0)
  hex = added.stdout.slice(0, 64)
  real = await startNode({ dataDir, env: env() })
  realAddress = wsAddressOf(real)
  const modes: LyingMode[] = ['honest', ...LIES.map((l) => l.mode)]
  const started = await Promise.all(
    modes.map((mode) => spawnLyingNode({ upstream: realAddress, mode })),
  )
  for (const [i, mode] of modes.entries()) liars.set(mode, started[i]!)
}, 180_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await Promise.allSettled([...liars.values()].map((l) => l.stop()))
  await real?.stop().catch(() => {})
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('an honest forwarder', () => {
  test('serves the whole content itself', async () => {
    const liar = liars.get('honest')!
    const out = await fetchAll(await client([liar.address]))
    expect(out.error).toBeUndefined()
    expect(Buffer.compare(out.bytes, content)).toBe(0)
    expect(failovers(out.events)).toHaveLength(0)
    expect(new Set(blocks(out.events).map((b) => b.node))).toEqual(new Set([liar.peerId]))
  })

  test('passes a range and a resume block through unchanged', async () => {
    // The truncating liar drops out after two blocks of the range; the honest one is asked
    // to resume there, and forwards that request (range and resumeBlock) to the real node.
    const truncating = liars.get('truncate')!
    const honest = liars.get('honest')!
    const range = { start: BLOCK + 100, end: 7 * BLOCK + 5 }
    const out = await fetchAll(await client([truncating.address, honest.address]), { range })
    expect(out.error).toBeUndefined()
    expect(out.status).toBe(206)
    expect(Buffer.compare(out.bytes, content.subarray(range.start, range.end))).toBe(0)
    const [failover, ...more] = failovers(out.events)
    expect(more).toHaveLength(0)
    expect(failover).toMatchObject({ node: truncating.peerId, resumeBlock: 1 + DEFAULT_LIE_AFTER })
    expect(blocks(out.events).map((b) => [b.block, b.node])).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((k) => [
        k,
        k < 1 + DEFAULT_LIE_AFTER ? truncating.peerId : honest.peerId,
      ]),
    )
  })
})

describe.each(LIES)('a node that lies ($mode)', ({ mode, codes }) => {
  test('is dropped with its code; the real node finishes the fetch', async () => {
    const liar = liars.get(mode)!
    const out = await fetchAll(await client([liar.address, realAddress], mode))
    expect(out.error).toBeUndefined()
    expect(Buffer.compare(out.bytes, content)).toBe(0)

    const [failover, ...more] = failovers(out.events)
    expect(more).toHaveLength(0)
    expect(failover!.node).toBe(liar.peerId)
    expect(failover!.failure.node).toBe(liar.peerId)
    expect(codes).toContain(failover!.failure.code)
    // A lying header is caught before any block; any other lie after the blocks before it.
    expect(failover!.resumeBlock).toBe(mode === 'wrong-root' ? undefined : DEFAULT_LIE_AFTER)

    // Every block verified once, the ones after the lie from the real node.
    const verified = blocks(out.events)
    expect(verified.map((b) => b.block)).toEqual([...Array(BLOCKS).keys()])
    const resume = failover!.resumeBlock ?? 0
    for (const b of verified) expect(b.node).toBe(b.block < resume ? liar.peerId : real.peerId)
  })

  test('alone: FETCH_ALL_NODES_FAILED naming it, and only true bytes reached the reader', async () => {
    const liar = liars.get(mode)!
    const out = await fetchAll(await client([liar.address], mode))
    expect(out.error).toBeInstanceOf(FetchError)
    const error = out.error as FetchError
    expect(error.code).toBe('FETCH_ALL_NODES_FAILED')
    expect(error.failures).toHaveLength(1)
    expect(error.failures[0]!.node).toBe(liar.peerId)
    expect(codes, JSON.stringify(error.failures)).toContain(error.failures[0]!.code)
    // A prefix of the content: the blocks before the lie, not one byte of it.
    expect(out.bytes.length).toBe(mode === 'wrong-root' ? 0 : DEFAULT_LIE_AFTER * BLOCK)
    expect(Buffer.compare(out.bytes, content.subarray(0, out.bytes.length))).toBe(0)
  })
})

// Last: a liar that crashed would fail the tests above for the wrong reason; say so plainly.
test('every lying node is still up, and stops cleanly on SIGTERM', async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  for (const [mode, liar] of liars) {
    expect([mode, liar.child.exitCode, liar.child.signalCode]).toEqual([mode, null, null])
    expect(await liar.stop()).toEqual({ code: 0, signal: null })
  }
})
