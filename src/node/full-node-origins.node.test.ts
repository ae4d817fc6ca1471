/**
 * Origins through a running node: a local HTTP server plays the origin of `/services/0/http`
 * pointers (pinned by SRI) and two fake trustless gateways (an honest one, then a liar) serve
 * `/services/0/ipfs/<cid>`. The node is started with a 1 MiB origin size limit and a 1.5 s
 * origin deadline (FULMEN_ORIGIN_MAX_BYTES, FULMEN_ORIGIN_TIMEOUT_MS).
 *
 * Failures come first, and after each the store must still be empty: a lying origin, an
 * oversized one, a slow one and a lying gateway leave nothing behind. Then what works: a
 * verified fetch stored once and served from the store afterwards (the origin asked once,
 * also by 8 concurrent requests), `fulmen fetch` of pointers through the node, and the
 * metrics of it all.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { readySync } from '../b3/engine.ts'
import { hash } from '../b3/hash.ts'
import { type LocalOrigin, sriOf, startOrigin } from '../devnet/origin-server.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  toHex,
} from '../devnet/processes.ts'
import {
  deadUrl,
  type FakeGateway,
  sha256Cid,
  startGateway,
} from '../origin/testing/servers.node.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { metricsOf, metricValue, readFramed, request } from './testing/http.ts'

const MAX_BYTES = 2 ** 20
const TIMEOUT_MS = 1500

let dir = ''
let dataDir = ''
let node: NodeProcess
let origin: LocalOrigin
let honest: FakeGateway
let liar: FakeGateway
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })

const bodies = {
  good: pseudoRandomBytes(300_000, 1),
  shared: pseudoRandomBytes(200_000, 2),
  lie: pseudoRandomBytes(100_000, 3),
  large: pseudoRandomBytes(2 * MAX_BYTES, 4),
  slow: pseudoRandomBytes(1000, 5),
  cli: pseudoRandomBytes(600_000, 6),
  ipfs: pseudoRandomBytes(250_000, 7),
  ipfsLie: pseudoRandomBytes(90_000, 8),
}

function httpPath(path: string, integrity: string): string {
  return `/services/0/http?url=${encodeURIComponent(origin.urlOf(path))}&integrity=${encodeURIComponent(integrity)}`
}

function get(path: string, init?: RequestInit) {
  return request(`${node.url}${path}`, init)
}

async function storedContents(): Promise<number> {
  const r = await runFulmen(['node', 'status', '--url', node.url, '--json'], { env: env() })
  expect(r.code).toBe(0)
  return (JSON.parse(r.stdout) as { store: { contents: number } }).store.contents
}

function expectNothingHalfDone(): void {
  expect(readdirSync(join(dataDir, 'store', 'tmp'))).toEqual([])
}

printNodeLogsOnFailure(() => [node])

beforeAll(async () => {
  readySync()
  dir = mkdtempSync(join(tmpdir(), 'fulmen-origins-'))
  dataDir = join(dir, 'node')
  origin = await startOrigin({
    '/good': { body: bodies.good },
    '/shared': { body: bodies.shared, delayMs: 400 },
    '/lie': { body: bodies.lie, lie: true },
    '/large': { body: bodies.large },
    '/large-chunked': { body: bodies.large, chunked: true },
    '/slow': { body: bodies.slow, delayMs: 6000 },
    '/cli': { body: bodies.cli, chunked: true },
  })
  honest = await startGateway()
  liar = await startGateway({ lie: true })
  honest.blocks.set(sha256Cid(bodies.ipfs), bodies.ipfs)
  // Only the liar has this one: the honest gateway's 404 sends the node on to it.
  liar.blocks.set(sha256Cid(bodies.ipfsLie), bodies.ipfsLie)
  node = await startNode({
    dataDir,
    env: {
      ...env(),
      FULMEN_ORIGIN_MAX_BYTES: String(MAX_BYTES),
      FULMEN_ORIGIN_TIMEOUT_MS: String(TIMEOUT_MS),
    },
    args: ['--ipfs-gateway', honest.url, '--ipfs-gateway', liar.url],
  })
}, 60_000)

afterAll(async () => {
  await node?.stop().catch(() => {})
  await Promise.all([origin?.close(), honest?.close(), liar?.close()])
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('origins that fail store nothing', () => {
  test('an HTTP origin that lies (SRI mismatch) → 502 ORIGIN_INTEGRITY', async () => {
    const r = await get(httpPath('/lie', sriOf(bodies.lie)))
    expect(r.status).toBe(502)
    const { error } = r.json<{ error: { code: string; message: string } }>()
    expect(error.code).toBe('ORIGIN_INTEGRITY')
    expect(error.message).toContain('sha256-')
    expect(origin.count('/lie')).toBe(1)
    expect(await storedContents()).toBe(0)
    expectNothingHalfDone()
  })

  test.each(['/large', '/large-chunked'])(
    'an origin over FULMEN_ORIGIN_MAX_BYTES (%s) → 502 ORIGIN_TOO_LARGE',
    async (path) => {
      const r = await get(httpPath(path, sriOf(bodies.large)))
      expect(r.status).toBe(502)
      expect(r.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_TOO_LARGE')
      expect(await storedContents()).toBe(0)
      expectNothingHalfDone()
    },
  )

  test('an origin slower than FULMEN_ORIGIN_TIMEOUT_MS → 504 ORIGIN_TIMEOUT', async () => {
    const t0 = performance.now()
    const r = await get(httpPath('/slow', sriOf(bodies.slow)))
    const ms = performance.now() - t0
    expect(r.status).toBe(504)
    expect(r.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_TIMEOUT')
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50)
    expect(ms).toBeLessThan(TIMEOUT_MS + 3000)
    expect(await storedContents()).toBe(0)
  })

  test('a trustless gateway that lies → 502 ORIGIN_INTEGRITY', async () => {
    const cid = sha256Cid(bodies.ipfsLie)
    const r = await get(`/services/0/ipfs/${cid}`)
    expect(r.status).toBe(502)
    expect(r.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_INTEGRITY')
    expect(honest.requests.filter((q) => q.url.includes(cid))).toHaveLength(1)
    expect(liar.requests.filter((q) => q.url.includes(cid))).toHaveLength(1)
    expect(await storedContents()).toBe(0)
    expectNothingHalfDone()
  })

  test('an origin that is down or answers 404 → 502 ORIGIN_FETCH_FAILED', async () => {
    const down = await deadUrl()
    const a = await get(
      `/services/0/http?url=${encodeURIComponent(`${down}/x`)}&integrity=${encodeURIComponent(sriOf(bodies.good))}`,
    )
    expect(a.status).toBe(502)
    expect(a.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_FETCH_FAILED')
    const b = await get(httpPath('/missing', sriOf(bodies.good)))
    expect(b.status).toBe(502)
    expect(b.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_FETCH_FAILED')
  })

  test('a malformed pointer → 400 ORIGIN_BAD_POINTER, no origin asked', async () => {
    const before = origin.requests.length
    for (const path of [
      httpPath('/good', 'md5-abc'),
      httpPath('/good', ''),
      `/services/0/http?integrity=${encodeURIComponent(sriOf(bodies.good))}`,
      `/services/0/http?url=ftp%3A%2F%2Fx%2Fy&integrity=${encodeURIComponent(sriOf(bodies.good))}`,
      '/services/0/ipfs/not-a-cid',
    ]) {
      const r = await get(path)
      expect(r.status, path).toBe(400)
      expect(r.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_BAD_POINTER')
    }
    expect(origin.requests.length).toBe(before)
  })

  test('after all that, the store is still empty', async () => {
    expect(await storedContents()).toBe(0)
    const metrics = await metricsOf(node.url)
    expect(metricValue(metrics, 'fulmen_store_contents')).toBe(0)
  })
})

describe('origins that keep their word', () => {
  test('an HTTP pointer: verified bytes, then a cache hit (the origin is asked once)', async () => {
    const before = await metricsOf(node.url)
    const path = httpPath('/good', sriOf(bodies.good))
    const first = await get(path)
    expect(first.status).toBe(200)
    expect(Buffer.compare(first.bytes, bodies.good)).toBe(0)
    const root = toHex(hash(bodies.good))
    expect(first.headers.get('etag')).toBe(`"${root}"`)
    expect(first.headers.get('x-fulmen-node')).toBe(node.peerId)
    expect(origin.count('/good')).toBe(1)

    const second = await get(path)
    expect(second.status).toBe(200)
    expect(Buffer.compare(second.bytes, bodies.good)).toBe(0)
    const ranged = await get(path, { headers: { range: 'bytes=262140-262150' } })
    expect(ranged.status).toBe(206)
    expect(Buffer.compare(ranged.bytes, bodies.good.subarray(262_140, 262_151))).toBe(0)
    const framed = await fetch(`${node.url}${path}&format=frames`)
    const verified = await readFramed(hash(bodies.good), framed.body!)
    expect(Buffer.compare(verified, bodies.good)).toBe(0)
    // Stored under its BLAKE3 root too.
    const byRoot = await get(`/services/0/blake3/${root}`)
    expect(Buffer.compare(byRoot.bytes, bodies.good)).toBe(0)
    expect(origin.count('/good')).toBe(1)

    const after = await metricsOf(node.url)
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metricValue(after, name, labels) - metricValue(before, name, labels)
    expect(delta('fulmen_cache_misses_total')).toBe(1)
    expect(delta('fulmen_cache_hits_total')).toBe(4)
    expect(delta('fulmen_origin_fetches_total', { origin: 'http', result: 'ok' })).toBe(1)
    expect(delta('fulmen_origin_bytes_total', { origin: 'http' })).toBe(bodies.good.length)
    expect(await storedContents()).toBe(1)
  })

  test('8 concurrent requests for the same missing pointer → one origin request', async () => {
    const path = httpPath('/shared', sriOf(bodies.shared))
    const answers = await Promise.all(Array.from({ length: 8 }, () => get(path)))
    for (const r of answers) {
      expect(r.status).toBe(200)
      expect(Buffer.compare(r.bytes, bodies.shared)).toBe(0)
    }
    expect(origin.count('/shared')).toBe(1)
  })

  test('an IPFS CID (raw, sha2-256) from a trustless gateway, once', async () => {
    const cid = sha256Cid(bodies.ipfs)
    for (let i = 0; i < 2; i++) {
      const r = await get(`/services/0/ipfs/${cid}`)
      expect(r.status).toBe(200)
      expect(Buffer.compare(r.bytes, bodies.ipfs)).toBe(0)
      expect(r.headers.get('etag')).toBe(`"${toHex(hash(bodies.ipfs))}"`)
    }
    expect(honest.requests.filter((q) => q.url.includes(cid))).toHaveLength(1)
    expect(liar.requests.filter((q) => q.url.includes(cid))).toHaveLength(0)
  })

  test('fulmen fetch of an HTTP pointer through the node verifies and writes it (to a file or, held until checked, to stdout)', async () => {
    const pointer = `${origin.urlOf('/cli')}#integrity=${sriOf(bodies.cli, 'sha512')}`
    const out = join(dir, 'cli.bin')
    const r = await runFulmen(['fetch', pointer, '--from', node.url, '-o', out], { env: env() })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(Buffer.compare(readFileSync(out), bodies.cli)).toBe(0)
    expect(r.stdout).toContain(
      `${toHex(hash(bodies.cli))}  ${out}  (${bodies.cli.length} bytes verified`,
    )
    expect(origin.count('/cli')).toBe(1)

    // To stdout, the body is held until its digest is checked, then written whole.
    const toStdout = await runFulmen(['fetch', pointer, '--from', node.url], { env: env() })
    expect(toStdout.code, toStdout.stderr).toBe(0)
    expect(Buffer.compare(toStdout.stdoutBytes, bodies.cli)).toBe(0)

    const ipfsOut = join(dir, 'ipfs.bin')
    const ipfs = await runFulmen(
      ['fetch', `ipfs://${sha256Cid(bodies.ipfs)}`, '--from', node.url, '-o', ipfsOut],
      { env: env() },
    )
    expect(ipfs.code).toBe(0)
    expect(Buffer.compare(readFileSync(ipfsOut), bodies.ipfs)).toBe(0)
  })

  test('fulmen fetch of a pointer whose origin lies: exit 1, no file', async () => {
    const out = join(dir, 'lie.bin')
    const r = await runFulmen(
      [
        'fetch',
        `${origin.urlOf('/lie')}#integrity=${sriOf(bodies.lie)}`,
        '--from',
        node.url,
        '-o',
        out,
      ],
      { env: env() },
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^fulmen: .*answered 502: .*\(ORIGIN_INTEGRITY\)\n$/)
    expect(() => readFileSync(out)).toThrow()
  })

  test('the metrics tell the whole story', async () => {
    const m = await metricsOf(node.url)
    const v = (name: string, labels: Record<string, string> = {}) => metricValue(m, name, labels)
    expect(v('fulmen_origin_fetches_total', { origin: 'http', result: 'ok' })).toBe(3)
    expect(v('fulmen_origin_fetches_total', { origin: 'http', result: 'ORIGIN_INTEGRITY' })).toBe(2)
    expect(v('fulmen_origin_fetches_total', { origin: 'http', result: 'ORIGIN_TOO_LARGE' })).toBe(2)
    expect(v('fulmen_origin_fetches_total', { origin: 'http', result: 'ORIGIN_TIMEOUT' })).toBe(1)
    expect(v('fulmen_origin_fetches_total', { origin: 'ipfs', result: 'ok' })).toBe(1)
    expect(v('fulmen_origin_fetches_total', { origin: 'ipfs', result: 'ORIGIN_INTEGRITY' })).toBe(1)
    expect(v('fulmen_verification_failures_total', { source: 'origin' })).toBe(3)
    expect(v('fulmen_cache_misses_total')).toBeGreaterThanOrEqual(8 + 3)
    expect(v('fulmen_cache_hits_total')).toBeGreaterThanOrEqual(5)
    expect(v('fulmen_requests_total', { route: 'content', status: '502' })).toBeGreaterThanOrEqual(
      6,
    )
    expect(v('fulmen_requests_total', { route: 'content', status: '504' })).toBe(1)
    expect(v('fulmen_requests_total', { route: 'content', status: '400' })).toBe(5)
    expect(v('fulmen_bytes_served_total', { format: 'raw' })).toBeGreaterThan(0)
    expect(v('fulmen_bytes_served_total', { format: 'frames' })).toBeGreaterThan(0)
    expect(await storedContents()).toBe(4)
  })
})
