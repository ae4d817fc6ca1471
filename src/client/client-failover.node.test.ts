/**
 * The client against real node processes over libp2p on loopback: three full nodes hold the
 * same content; the node serving a fetch is killed (SIGKILL) mid-stream and the fetch finishes
 * from another one, resuming at the first unverified block, with every block verified exactly
 * once (and sent once: the survivors' byte counters) and the bytes identical to the source. Also: an AbortSignal mid-stream (the body read
 * rejects with its reason, the nodes serve the next fetch), a range (206), content no node
 * has (FETCH_NOT_FOUND), and nodes nobody can reach (every failure listed).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { sriOf, startOrigin } from '../devnet/origin-server.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  toHex,
  wsAddressOf,
} from '../devnet/processes.ts'
import { printNodeLogsOnFailure } from '../node/testing/diagnostics.ts'
import { metricsOf, metricValue } from '../node/testing/http.ts'
import { createClient, type FulmenClient } from './client.ts'
import { FetchError } from './errors.ts'
import type { FetchProgress } from './progress.ts'

const BLOCK = TREE_BLOCK_LEN
// 33 blocks: more than two acknowledgement windows (16), so a node killed after a few blocks
// cannot have sent everything already.
const SIZE = 8 * 2 ** 20 + 12_345
const BLOCKS = Math.ceil(SIZE / BLOCK)

let dir = ''
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
const content = pseudoRandomBytes(SIZE, 41)
let hex = ''
const nodes: NodeProcess[] = []
const clients: FulmenClient[] = []

async function client(options: Partial<Parameters<typeof createClient>[0]> = {}) {
  const c = await createClient({ bootstrap: nodes.map(wsAddressOf), ...options })
  clients.push(c)
  return c
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The body, chunk by chunk, and how its read ended. */
async function readBody(res: Response): Promise<{ bytes: Uint8Array; error?: unknown }> {
  const chunks: Uint8Array[] = []
  const reader = res.body!.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { bytes: Buffer.concat(chunks) }
      chunks.push(value)
    }
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error }
  }
}

printNodeLogsOnFailure(() => nodes)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-failover-'))
  writeFileSync(join(dir, 'content.bin'), content)
  const dataDirs = [0, 1, 2].map((i) => join(dir, `node-${i}`))
  const added = await Promise.all(
    dataDirs.map((d) =>
      runFulmen(['add', '--data-dir', d, join(dir, 'content.bin')], { env: env() }),
    ),
  )
  for (const a of added) expect(a.code, a.stderr).toBe(0)
  hex = added[0]!.stdout.slice(0, 64)
  nodes.push(...(await Promise.all(dataDirs.map((dataDir) => startNode({ dataDir, env: env() })))))
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await Promise.allSettled(nodes.map((n) => n.stop()))
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('client over real nodes', () => {
  test('a range is a 206 with just those bytes, verified', async () => {
    const c = await client()
    const range = { start: BLOCK + 17, end: 6 * BLOCK + 3 }
    const res = await c.fetch(hex, { range })
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe(`bytes ${range.start}-${range.end - 1}/${SIZE}`)
    const { bytes, error } = await readBody(res)
    expect(error).toBeUndefined()
    expect(Buffer.compare(bytes, content.subarray(range.start, range.end))).toBe(0)
  })

  test('a range of an HTTP pointer comes from a root proven by the whole content', async () => {
    const small = pseudoRandomBytes(3 * BLOCK + 100, 7)
    const origin = await startOrigin({ '/small.bin': { body: small } })
    try {
      const c = await client()
      const pointer = `${origin.urlOf('/small.bin')}#integrity=${sriOf(small)}`
      const range = { start: BLOCK - 3, end: 2 * BLOCK + 5 }
      const res = await c.fetch(pointer, { range })
      expect(res.status).toBe(206)
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(
        small.subarray(range.start, range.end),
      )
      // The root is proven now: a whole fetch and another range need no second whole fetch.
      const events: FetchProgress[] = []
      const again = await c.fetch(pointer, {
        range: { start: 0, end: 10 },
        onProgress: (e) => events.push(e),
      })
      expect(new Uint8Array(await again.arrayBuffer())).toEqual(small.subarray(0, 10))
      expect(events.filter((e) => e.type === 'block')).toHaveLength(1)
      expect(origin.count('/small.bin')).toBeGreaterThanOrEqual(1)
    } finally {
      await origin.close()
    }
  })

  test('content no node has → FETCH_NOT_FOUND, each node listed', async () => {
    const c = await client()
    const unknown = toHex(pseudoRandomBytes(32, 5))
    const error = await c.fetch(unknown).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).code).toBe('FETCH_NOT_FOUND')
    expect(new Set((error as FetchError).failures.map((f) => f.node))).toEqual(
      new Set(nodes.map((n) => n.peerId)),
    )
  })

  test('no node reachable → FETCH_ALL_NODES_FAILED (or FETCH_NO_NODES), failures listed', async () => {
    const peers = await Promise.all(
      [0, 1].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()),
    )
    const bootstrap = await Promise.all(
      peers.map(async (p) => `/ip4/127.0.0.1/tcp/${await closedPort()}/ws/p2p/${p}`),
    )
    const c = await client({ bootstrap, handshakeTimeoutMs: 3_000 })
    const error = await c.fetch(hex).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    const { code, failures } = error as FetchError
    expect(['FETCH_ALL_NODES_FAILED', 'FETCH_NO_NODES']).toContain(code)
    expect(new Set(failures.map((f) => f.node))).toEqual(new Set(peers))
    for (const f of failures) expect(f.code).not.toBe('')
  })

  test('an abort mid-stream rejects the body read with its reason; the nodes serve on', async () => {
    const c = await client()
    const controller = new AbortController()
    const reason = new Error('the reader went away')
    const res = await c.fetch(hex, {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'block' && e.verified === 3) controller.abort(reason)
      },
    })
    const { bytes, error } = await readBody(res)
    expect(error).toBe(reason)
    // What did arrive was verified: a prefix of the content.
    expect(Buffer.compare(bytes, content.subarray(0, bytes.length))).toBe(0)
    // The same client and a new one both fetch the whole, with no failover: the node wrote
    // off the blocks it sent on the aborted body, so they do not hold its window back.
    for (const again of [c, await client()]) {
      const events: FetchProgress[] = []
      const next = await readBody(await again.fetch(hex, { onProgress: (e) => events.push(e) }))
      expect(next.error).toBeUndefined()
      expect(Buffer.compare(next.bytes, content)).toBe(0)
      expect(events.filter((e) => e.type === 'failover')).toEqual([])
    }
  })

  // Last: it kills a node.
  test('the serving node killed mid-stream: the fetch resumes on another, each block once', async () => {
    const c = await client()
    const served = async (n: NodeProcess) =>
      metricValue(await metricsOf(n.url), 'fulmen_bytes_served_total', { format: 'session' })
    const before = await Promise.all(nodes.map(served))
    const events: FetchProgress[] = []
    let killed: NodeProcess | undefined
    const res = await c.fetch(hex, {
      onProgress: (e) => {
        events.push(e)
        if (e.type === 'block' && e.verified === 2 && killed === undefined) {
          killed = nodes.find((n) => n.peerId === e.node)
          killed?.child.kill('SIGKILL')
        }
      },
    })
    const { bytes, error } = await readBody(res)
    expect(killed).toBeDefined()
    expect(error).toBeUndefined()
    expect(Buffer.compare(bytes, content)).toBe(0)
    await killed!.exit

    const failovers = events.filter((e) => e.type === 'failover')
    expect(failovers).toHaveLength(1)
    const failover = failovers[0]!
    expect(failover.node).toBe(killed!.peerId)
    expect(failover.failure.node).toBe(killed!.peerId)
    expect(failover.resumeBlock).toBeGreaterThan(0)

    const blocks = events.filter((e) => e.type === 'block')
    // Every block verified exactly once, in order: nothing before the resume point came twice.
    expect(blocks.map((b) => b.block)).toEqual([...Array(BLOCKS).keys()])
    const resume = failover.resumeBlock!
    expect(blocks.slice(0, resume).every((b) => b.node === killed!.peerId)).toBe(true)
    const rest = new Set(blocks.slice(resume).map((b) => b.node))
    expect(rest.size).toBe(1)
    expect(rest.has(killed!.peerId)).toBe(false)
    expect(events.at(-1)).toMatchObject({ type: 'done', bytes: SIZE })

    // And on the wire: the survivors sent the blocks from the resume point on, plus their
    // frames' prefixes and proofs (far less than a block), not one block more.
    let sent = 0
    for (const [i, n] of nodes.entries()) if (n !== killed) sent += (await served(n)) - before[i]!
    const owed = SIZE - resume * BLOCK
    expect(sent).toBeGreaterThanOrEqual(owed)
    expect(sent).toBeLessThan(owed + BLOCK)
  })
})
