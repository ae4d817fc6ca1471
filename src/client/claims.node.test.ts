/**
 * What a node's header claims, checked against real node processes and lying nodes
 * (src/devnet/lying-node.ts) in front of them:
 *
 * - An integrity-pinned URL names a digest, not a BLAKE3 root: a node whose pointer record
 *   maps it to another file it holds (the `substitute` liar) serves that file, verified
 *   against its own root. The client holds the body, releases nothing before the digest
 *   matched, drops that node (CLIENT_WRONG_DIGEST) and starts over on the honest node; alone,
 *   the liar gets not one byte to the reader. Past the memory bound the body spills to a
 *   temporary file, which is gone afterwards. A proven root is remembered: the next fetch
 *   streams.
 * - A length is a claim: a node off by ±100 is dropped when its length fails to verify and
 *   the honest node's header is judged on its own (the verification goes on under its length);
 *   a range, which never reaches the last block, proves the length by it: a node off by ±1 is
 *   dropped with CLIENT_WRONG_LENGTH, and a proven length is remembered per root.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { type LyingNodeProcess, spawnLyingNode } from '../devnet/lying-node.ts'
import { type LocalOrigin, sriOf, startOrigin } from '../devnet/origin-server.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  wsAddressOf,
} from '../devnet/processes.ts'
import { printNodeLogsOnFailure } from '../node/testing/diagnostics.ts'
import { type ClientOptions, createClient, type FulmenClient } from './client.ts'
import { FetchError } from './errors.ts'
import type { FetchProgress } from './progress.ts'
import { tempFileSpill } from './temp-file-spill.node.ts'

const BLOCK = TREE_BLOCK_LEN
/** At the origin only, behind an integrity-pinned URL: 13 blocks. */
const PINNED = pseudoRandomBytes(3 * 2 ** 20 + 4321, 11)
/** On the node: what the lying node serves for the URL instead. */
const OTHER = pseudoRandomBytes(3 * 2 ** 20 + 777, 12)
/**
 * On the node, for the length liars: 21 blocks, the last one 50 bytes. +100 keeps the tree's
 * shape (only the last block fails); -100 makes it 20 blocks (a proof fails at block 16).
 */
const CONTENT = pseudoRandomBytes(20 * BLOCK + 50, 13)
// No liar here stalls: a short stall timeout only drops honest nodes slowed by a loaded machine.
const STALL_MS = 20_000

let dir = ''
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
let real: NodeProcess
let realAddress = ''
let origin: LocalOrigin
let pinnedUrl = ''
let otherHex = ''
let contentHex = ''
const liars: Record<string, LyingNodeProcess> = {}
const clients: FulmenClient[] = []

async function client(bootstrap: string[], options: Partial<ClientOptions> = {}) {
  const c = await createClient({ bootstrap, order: 'given', stallTimeoutMs: STALL_MS, ...options })
  clients.push(c)
  return c
}

interface Outcome {
  readonly bytes: Uint8Array
  readonly response?: Response
  readonly error?: unknown
  readonly events: FetchProgress[]
  /** Events seen when `fetch` resolved. */
  readonly atResponse: number
}

async function fetchAll(
  c: FulmenClient,
  id: string,
  range?: { start: number; end: number },
): Promise<Outcome> {
  const events: FetchProgress[] = []
  let response: Response
  try {
    response = await c.fetch(id, { ...(range ? { range } : {}), onProgress: (e) => events.push(e) })
  } catch (error) {
    return { bytes: new Uint8Array(0), error, events, atResponse: events.length }
  }
  const atResponse = events.length
  const chunks: Uint8Array[] = []
  const reader = response.body!.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { bytes: Buffer.concat(chunks), response, events, atResponse }
      chunks.push(value)
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), response, error, events, atResponse }
  }
}

const failovers = (events: readonly FetchProgress[]) => events.filter((e) => e.type === 'failover')
const blocks = (events: readonly FetchProgress[]) => events.filter((e) => e.type === 'block')

/** Open descriptors of this process that point into `where` (unlinked files included). */
function openFilesIn(where: string): string[] {
  const out: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.startsWith(where)) out.push(target)
    } catch {}
  }
  return out
}

printNodeLogsOnFailure(() => [real])
afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail') return
  for (const [mode, liar] of Object.entries(liars)) {
    const tail = liar.stderr().trimEnd().split('\n').slice(-20).join('\n')
    if (tail !== '') process.stderr.write(`--- lying node ${mode} ---\n${tail}\n`)
  }
})

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-claims-'))
  origin = await startOrigin({ '/pinned.bin': { body: PINNED } })
  pinnedUrl = `${origin.urlOf('/pinned.bin')}#integrity=${sriOf(PINNED)}`
  const dataDir = join(dir, 'node')
  const ids: string[] = []
  for (const [name, bytes] of [
    ['other.bin', OTHER],
    ['content.bin', CONTENT],
  ] as const) {
    writeFileSync(join(dir, name), bytes)
    const added = await runFulmen(['add', '--data-dir', dataDir, join(dir, name)], { env: env() })
    expect(added.code, added.stderr).toBe(0)
    ids.push(added.stdout.slice(0, 64))
  }
  ;[otherHex, contentHex] = ids as [string, string]
  real = await startNode({ dataDir, env: env() })
  realAddress = wsAddressOf(real)
  const specs = {
    substitute: { mode: 'substitute', substitute: otherHex },
    truncate: { mode: 'truncate' },
    longer: { mode: 'longer' },
    shorter: { mode: 'shorter' },
    longerByOne: { mode: 'longer', delta: 1 },
    shorterByOne: { mode: 'shorter', delta: 1 },
  } as const
  const started = await Promise.all(
    Object.values(specs).map((spec) => spawnLyingNode({ upstream: realAddress, ...spec })),
  )
  for (const [i, name] of Object.keys(specs).entries()) liars[name] = started[i]!
}, 180_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await Promise.allSettled(Object.values(liars).map((l) => l.stop()))
  await real?.stop().catch(() => {})
  await origin?.close()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('an integrity-pinned URL whose node maps it to another file', () => {
  test('nothing is released before the digest matched; the honest node serves it', async () => {
    const liar = liars.substitute!
    const c = await client([liar.address, realAddress])
    const out = await fetchAll(c, pinnedUrl)
    expect(out.error).toBeUndefined()
    expect(Buffer.compare(out.bytes, PINNED)).toBe(0)
    expect(out.response!.headers.get('x-fulmen-node')).toBe(real.peerId)
    expect(out.response!.headers.get('content-length')).toBe(String(PINNED.length))

    // The liar's file was verified against its own root, held (progress shown), then dropped.
    const [failover, ...more] = failovers(out.events)
    expect(more).toEqual([])
    expect(failover).toMatchObject({
      node: liar.peerId,
      resumeBlock: undefined,
      failure: { node: liar.peerId, code: 'CLIENT_WRONG_DIGEST' },
    })
    const held = blocks(out.events)
    expect(held.every((b) => b.stage === 'holding')).toBe(true)
    const fromLiar = held.filter((b) => b.node === liar.peerId)
    expect(fromLiar).toHaveLength(Math.ceil(OTHER.length / BLOCK))
    expect(held.filter((b) => b.node === real.peerId)).toHaveLength(
      Math.ceil(PINNED.length / BLOCK),
    )
    // The response came after every block was verified and the digest matched: not before.
    expect(out.events.slice(0, out.atResponse).at(-1)).toMatchObject({
      type: 'done',
      node: real.peerId,
      bytes: PINNED.length,
    })

    // The root is proven now: the next fetch streams, from the first node that has it.
    const again = await fetchAll(c, pinnedUrl)
    expect(Buffer.compare(again.bytes, PINNED)).toBe(0)
    expect(blocks(again.events).every((b) => b.stage === 'streaming')).toBe(true)
    // The liar failed a moment ago: it waits at the back of the order.
    expect(failovers(again.events)).toEqual([])
    expect(again.response!.headers.get('x-fulmen-node')).toBe(real.peerId)
  })

  test('alone: FETCH_ALL_NODES_FAILED naming it, and no byte reached the reader', async () => {
    const liar = liars.substitute!
    const out = await fetchAll(await client([liar.address]), pinnedUrl)
    expect(out.response).toBeUndefined()
    expect(out.error).toBeInstanceOf(FetchError)
    const error = out.error as FetchError
    expect(error.code).toBe('FETCH_ALL_NODES_FAILED')
    expect(error.failures.map((f) => [f.node, f.code])).toEqual([
      [liar.peerId, 'CLIENT_WRONG_DIGEST'],
    ])
    expect(out.bytes.length).toBe(0)
  })

  test('a node resuming a held body under another root: start over under it; the digest decides', async () => {
    const [truncating, substitute] = [liars.truncate!, liars.substitute!]
    const c = await client([truncating.address, substitute.address, realAddress])
    const out = await fetchAll(c, pinnedUrl)
    expect(out.error).toBeUndefined()
    expect(Buffer.compare(out.bytes, PINNED)).toBe(0)
    expect(failovers(out.events).map((f) => [f.node, f.failure.code, f.resumeBlock])).toEqual([
      [truncating.peerId, 'CLIENT_TRUNCATED', 2],
      [substitute.peerId, 'CLIENT_WRONG_DIGEST', undefined],
    ])
    // Three roots claimed in turn: the pinned file's, the other file's, the pinned file's again.
    expect(out.events.filter((e) => e.type === 'header').map((e) => e.node)).toEqual([
      truncating.peerId,
      substitute.peerId,
      real.peerId,
    ])
    expect(blocks(out.events).filter((b) => b.node === real.peerId)).toHaveLength(
      Math.ceil(PINNED.length / BLOCK),
    )
  })

  test('past the memory bound the held body spills to a temporary file, gone afterwards', async () => {
    const spillDir = mkdtempSync(join(dir, 'spill-'))
    const c = await client([liars.substitute!.address, realAddress], {
      holding: { memoryLimit: 2 * BLOCK, spill: tempFileSpill({ dir: spillDir }) },
    })
    const out = await fetchAll(c, pinnedUrl)
    expect(out.error).toBeUndefined()
    expect(Buffer.compare(out.bytes, PINNED)).toBe(0)
    expect(failovers(out.events).map((f) => f.failure.code)).toEqual(['CLIENT_WRONG_DIGEST'])
    expect(readdirSync(spillDir)).toEqual([])
    expect(openFilesIn(spillDir)).toEqual([])
  })

  test('without a spill, a body past the memory bound fails with FETCH_HOLD_FAILED', async () => {
    const c = await client([realAddress], { holding: { memoryLimit: 2 * BLOCK } })
    const out = await fetchAll(c, pinnedUrl)
    expect((out.error as FetchError).code).toBe('FETCH_HOLD_FAILED')
    expect(out.bytes.length).toBe(0)
  })
})

describe('a length is a claim', () => {
  test.each([
    ['longer', 'the shape holds: only the last block fails', 20],
    ['shorter', 'the shape changes: a proof fails at block 16', 16],
  ])(
    'a node %s by 100 (%s) is dropped; the honest node finishes under its own length',
    async (name, _, resume) => {
      const liar = liars[name]!
      const out = await fetchAll(await client([liar.address, realAddress]), contentHex)
      expect(out.error).toBeUndefined()
      expect(Buffer.compare(out.bytes, CONTENT)).toBe(0)
      const [failover, ...more] = failovers(out.events)
      expect(more).toEqual([])
      expect(failover).toMatchObject({ node: liar.peerId, resumeBlock: resume })
      // Each block verified once: the liar's blocks were authentic, the rest from the real node.
      const verified = blocks(out.events)
      expect(verified.map((b) => b.block)).toEqual([...Array(21).keys()])
      for (const b of verified) expect(b.node).toBe(b.block < resume ? liar.peerId : real.peerId)
      expect(out.events.at(-1)).toMatchObject({ type: 'done', bytes: CONTENT.length })
    },
  )

  test('alone, a node off by 100 fails the fetch; only true bytes reached the reader', async () => {
    const liar = liars.longer!
    const out = await fetchAll(await client([liar.address]), contentHex)
    expect((out.error as FetchError).code).toBe('FETCH_ALL_NODES_FAILED')
    expect((out.error as FetchError).failures.map((f) => f.node)).toEqual([liar.peerId])
    expect(out.bytes.length).toBe(20 * BLOCK)
    expect(Buffer.compare(out.bytes, CONTENT.subarray(0, out.bytes.length))).toBe(0)
  })

  test.each(['longerByOne', 'shorterByOne'])(
    'a range from a node off by one (%s): CLIENT_WRONG_LENGTH, the honest node serves it',
    async (name) => {
      const liar = liars[name]!
      const range = { start: BLOCK + 7, end: 3 * BLOCK }
      const out = await fetchAll(await client([liar.address, realAddress]), contentHex, range)
      expect(out.error).toBeUndefined()
      expect(out.response!.status).toBe(206)
      expect(out.response!.headers.get('content-range')).toBe(
        `bytes ${range.start}-${range.end - 1}/${CONTENT.length}`,
      )
      expect(Buffer.compare(out.bytes, CONTENT.subarray(range.start, range.end))).toBe(0)
      expect(failovers(out.events).map((f) => [f.node, f.failure.code])).toEqual([
        [liar.peerId, 'CLIENT_WRONG_LENGTH'],
      ])
      expect(new Set(blocks(out.events).map((b) => b.node))).toEqual(new Set([real.peerId]))
    },
  )

  test('alone, a range from a node off by one fails: no byte of it released', async () => {
    const liar = liars.longerByOne!
    const out = await fetchAll(await client([liar.address]), contentHex, {
      start: 5,
      end: BLOCK,
    })
    expect(out.response).toBeUndefined()
    expect((out.error as FetchError).code).toBe('FETCH_ALL_NODES_FAILED')
    expect((out.error as FetchError).failures.map((f) => f.code)).toEqual(['CLIENT_WRONG_LENGTH'])
  })

  test('a proven length is remembered: the liar is dropped at its header next time', async () => {
    const liar = liars.shorterByOne!
    // No penalty: the liar stays first in the order.
    const c = await client([liar.address, realAddress], { penaltyMs: 0 })
    const range = { start: 0, end: 10 }
    const first = await fetchAll(c, contentHex, range)
    expect(Buffer.compare(first.bytes, CONTENT.subarray(0, 10))).toBe(0)
    const [checked] = failovers(first.events)
    expect(checked?.failure.code).toBe('CLIENT_WRONG_LENGTH')
    expect(checked?.failure.message).toMatch(/last block does not verify/)

    const second = await fetchAll(c, contentHex, range)
    expect(Buffer.compare(second.bytes, CONTENT.subarray(0, 10))).toBe(0)
    const [judged] = failovers(second.events)
    expect(judged?.failure.code).toBe('CLIENT_WRONG_LENGTH')
    expect(judged?.failure.message).toMatch(/proven for this root/)
  })
})
