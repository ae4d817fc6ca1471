/**
 * A node checks what it serves (issue 12, point 4), against real node processes whose store
 * files are damaged on disk, one bit flipped in a content file as bit rot would:
 *
 * - the framed gateway body and a session (real libp2p) never carry the damaged block: the
 *   framed body is cut before it, the session gets an ERROR frame (`STORE_CORRUPT`);
 *   `fulmen_verification_failures_total{source="store"}` counts it, the content is dropped;
 * - content with an origin (an HTTP pointer pinned by SRI) is fetched again from the origin
 *   on the next request and served whole;
 * - the raw body after a restart stops before the damaged block; with the scrubber on, a
 *   pass finds damage the raw path had no reason to look for, and the raw path then answers
 *   404 instead of the corrupt bytes.
 *
 * Node A runs with the scrubber off (FULMEN_SCRUB_RATE=0) so that what a reader finds is the
 * reader's; node B scrubs every 200 ms.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { generateClientKey } from '../crypto/client-key.ts'
import { type LocalOrigin, sriOf, startOrigin } from '../devnet/origin-server.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  wsAddressOf,
} from '../devnet/processes.ts'
import { openSession } from '../handshake/client-handshake.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import { flipByte } from '../store/testing/flip-byte.ts'
import { CDN_CODEC } from '../wire/cdn-frames.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { frameLayout, metricsOf, metricValue, request } from './testing/http.ts'

const BLOCK = TREE_BLOCK_LEN

let dir = ''
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
const dataDirs = { a: () => join(dir, 'node-a'), b: () => join(dir, 'node-b') }
let nodeA: NodeProcess
let nodeB: NodeProcess
let origin: LocalOrigin
let peer: ClientLibp2p

const contents = {
  framed: pseudoRandomBytes(5 * BLOCK + 7, 1),
  session: pseudoRandomBytes(4 * BLOCK + 9, 2),
  restart: pseudoRandomBytes(6 * BLOCK + 3, 3),
  scrub: pseudoRandomBytes(4 * BLOCK + 1, 4),
  origin: pseudoRandomBytes(3 * BLOCK + 100, 5),
}
const hexOf: Record<string, string> = {}

/** `fulmen add` of `data` into `dataDir` (no node running); its root hex. */
async function add(dataDir: string, name: string, data: Uint8Array): Promise<string> {
  const file = join(dir, name)
  writeFileSync(file, data)
  const r = await runFulmen(['add', '--data-dir', dataDir, file], { env: env() })
  expect(r.code, r.stderr).toBe(0)
  return r.stdout.slice(0, 64)
}

function contentFile(node: NodeProcess | string, hex: string): string {
  return join(typeof node === 'string' ? node : node.dataDir, 'store', 'content', hex)
}

/** A GET read as far as the node sends it: a cut body is not an error here. */
async function partialGet(url: string): Promise<{ status: number; bytes: Buffer; whole: boolean }> {
  const res = await fetch(url)
  const chunks: Uint8Array[] = []
  let whole = true
  try {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(c)
  } catch {
    whole = false
  }
  return { status: res.status, bytes: Buffer.concat(chunks), whole }
}

async function storeFailures(node: NodeProcess): Promise<number> {
  return metricValue(await metricsOf(node.url), 'fulmen_verification_failures_total', {
    source: 'store',
  })
}

/** The data frames of a (possibly cut) framed body, in order: block `i` is the i-th. */
function dataFrames(body: Uint8Array): Uint8Array[] {
  return frameLayout(body)
    .filter((f) => f.kind === 'data')
    .map((f) => body.subarray(f.payload, Math.min(body.length, f.payload + f.length)))
}

printNodeLogsOnFailure(() => [nodeA, nodeB])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-corruption-'))
  for (const name of ['framed', 'session', 'restart'] as const)
    hexOf[name] = await add(dataDirs.a(), name, contents[name])
  hexOf.scrub = await add(dataDirs.b(), 'scrub', contents.scrub)
  origin = await startOrigin({ '/origin.bin': { body: contents.origin } })
  ;[nodeA, nodeB, peer] = await Promise.all([
    startNode({ dataDir: dataDirs.a(), env: { ...env(), FULMEN_SCRUB_RATE: '0' } }),
    startNode({
      dataDir: dataDirs.b(),
      env: { ...env(), FULMEN_SCRUB_RATE: '64MiB', FULMEN_SCRUB_INTERVAL_MS: '200' },
    }),
    createClientLibp2p(),
  ])
}, 90_000)

afterAll(async () => {
  await Promise.resolve(peer?.stop()).catch(() => {})
  await Promise.allSettled([nodeA?.stop(), nodeB?.stop()])
  await origin?.close()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('proof-carrying paths never send a block that does not match the stored tree', () => {
  test('framed gateway body: cut before the damaged block, counted, logged, content dropped', async () => {
    const hex = hexOf.framed!
    const before = await storeFailures(nodeA)
    flipByte(contentFile(nodeA, hex), 2 * BLOCK + 1000)
    const r = await partialGet(`${nodeA.url}/services/0/blake3/${hex}?format=frames`)
    expect(r.status).toBe(200) // the header went out before block 2 was read
    expect(r.whole).toBe(false)
    const blocks = dataFrames(r.bytes)
    expect(blocks.length).toBeLessThanOrEqual(2)
    for (const [k, got] of blocks.entries()) {
      expect(Buffer.compare(got, contents.framed.subarray(k * BLOCK, k * BLOCK + got.length))).toBe(
        0,
      )
    }
    expect(await storeFailures(nodeA)).toBe(before + 1)
    const line = await nodeA.waitForLog('corrupt content dropped')
    expect(line).toMatchObject({ root: hex, block: 2, found: 'read', dropped: true })
    // Added with `fulmen add`: no origin can fetch it back, so it is a plain miss now.
    const again = await request(`${nodeA.url}/services/0/blake3/${hex}`)
    expect(again.status).toBe(404)
    expect(again.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_NOT_FOUND')
  })

  test('session (libp2p): an ERROR frame STORE_CORRUPT instead of the damaged block', async () => {
    const hex = hexOf.session!
    const before = await storeFailures(nodeA)
    flipByte(contentFile(nodeA, hex), BLOCK + 5)
    const connection = await peer.dial(multiaddr(wsAddressOf(nodeA)))
    const stream = await openSession(
      streamChannel(await connection.newStream(HANDSHAKE_PROTOCOL), nodeA.peerId),
      {
        key: generateClientKey(),
        service: CDN_SERVICE,
        codec: CDN_CODEC['to-client'],
        nodePeerId: peerIdFromString(nodeA.peerId).toMultihash().bytes,
      },
    )
    await stream.send({ kind: 'request', pointer: `blake3:${hex}` })
    const data: Uint8Array[] = []
    let error: { code: number; message: string } | undefined
    for await (const frame of stream.frames) {
      if (frame.kind === 'data') data.push(frame.bytes)
      if (frame.kind === 'error') {
        error = { code: frame.code, message: frame.message }
        break
      }
    }
    await stream.close().catch(() => {})
    expect(data).toHaveLength(1)
    expect(Buffer.compare(data[0]!, contents.session.subarray(0, BLOCK))).toBe(0)
    expect(error?.code).toBe(503)
    expect(error?.message).toMatch(/^STORE_CORRUPT: .*block 1 does not match its tree/)
    expect(await storeFailures(nodeA)).toBe(before + 1)
  })

  test('content with an origin is fetched from the origin again and served whole', async () => {
    const path = `/services/0/http?url=${encodeURIComponent(origin.urlOf('/origin.bin'))}&integrity=${encodeURIComponent(sriOf(contents.origin))}`
    const first = await request(`${nodeA.url}${path}`)
    expect(first.status).toBe(200)
    expect(origin.count('/origin.bin')).toBe(1)
    const hex = (first.headers.get('etag') ?? '').replaceAll('"', '')
    expect(hex).toMatch(/^[0-9a-f]{64}$/)

    const before = await storeFailures(nodeA)
    flipByte(contentFile(nodeA, hex), BLOCK + 123)
    const cut = await partialGet(`${nodeA.url}${path}&format=frames`)
    expect(cut.whole).toBe(false)
    expect(dataFrames(cut.bytes).length).toBeLessThanOrEqual(1)
    expect(await storeFailures(nodeA)).toBe(before + 1)

    // The next request is a miss: the origin is asked again and the copy is whole.
    const again = await request(`${nodeA.url}${path}`)
    expect(again.status).toBe(200)
    expect(Buffer.compare(again.bytes, contents.origin)).toBe(0)
    expect(origin.count('/origin.bin')).toBe(2)
    const byRoot = await request(`${nodeA.url}/services/0/blake3/${hex}`)
    expect(Buffer.compare(byRoot.bytes, contents.origin)).toBe(0)
  })
})

describe('the raw path', () => {
  test('after a restart, the raw body stops before the damaged block (the first read checks it)', async () => {
    const hex = hexOf.restart!
    expect(await nodeA.stop()).toEqual({ code: 0, signal: null })
    const damagedAt = 5 * BLOCK + 17
    flipByte(contentFile(dataDirs.a(), hex), damagedAt)
    nodeA = await startNode({ dataDir: dataDirs.a(), env: { ...env(), FULMEN_SCRUB_RATE: '0' } })
    const r = await partialGet(`${nodeA.url}/services/0/blake3/${hex}`)
    expect(r.whole).toBe(false)
    expect(r.bytes.length).toBeLessThanOrEqual(5 * BLOCK)
    expect(Buffer.compare(r.bytes, contents.restart.subarray(0, r.bytes.length))).toBe(0)
    expect(await storeFailures(nodeA)).toBe(1)
    expect((await request(`${nodeA.url}/services/0/blake3/${hex}`)).status).toBe(404)
  })

  test('a scrub pass finds damage after the raw path served the content; raw then answers 404', async () => {
    const hex = hexOf.scrub!
    const url = `${nodeB.url}/services/0/blake3/${hex}`
    const served = await request(url)
    expect(Buffer.compare(served.bytes, contents.scrub)).toBe(0)
    flipByte(contentFile(nodeB, hex), 3 * BLOCK)
    const line = await nodeB.waitForLog('corrupt content dropped', 30_000)
    expect(line).toMatchObject({ root: hex, block: 3, found: 'scrub', dropped: true })
    const after = await request(url)
    expect(after.status).toBe(404)
    const metrics = await metricsOf(nodeB.url)
    expect(metricValue(metrics, 'fulmen_verification_failures_total', { source: 'store' })).toBe(1)
    expect(metricValue(metrics, 'fulmen_scrub_passes_total')).toBeGreaterThan(0)
    expect(metricValue(metrics, 'fulmen_scrub_bytes_total')).toBeGreaterThan(0)
  })
})
