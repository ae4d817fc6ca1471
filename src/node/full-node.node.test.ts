/**
 * The full node as a process: `fulmen add` into a data directory, `fulmen node start` on it,
 * then the HTTP gateway from the outside (raw bodies, HEAD, every block boundary as a Range,
 * proof-carrying frames read back through `readContentBody`), `fulmen node status`, the
 * metrics, a restart on the same directory, and a graceful shutdown during downloads.
 *
 * One node serves the whole file (restarted once, on purpose); its data directory holds a
 * config.json with a short shutdown grace period. Other suites: full-node-fetch (the fetching
 * client and a lying proxy), full-node-origins (origins through the node), full-node-crash
 * (kill -9 during imports).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { referenceBlake3Hex } from '../b3/testing/reference-blake3.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  sleep,
  startNode,
  waitFor,
} from '../devnet/processes.ts'
import { FRAMES_MEDIA_TYPE } from './gateway/http-gateway.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import {
  collect,
  halfSentRequest,
  metricsOf,
  metricValue,
  readFramed,
  request,
} from './testing/http.ts'

const BLOCK = 262_144
const BIG = 40 * BLOCK + 123
const SIZES = [0, 1, BLOCK, BLOCK + 1, BIG]
const GRACE_MS = 2000

interface Added {
  readonly size: number
  readonly path: string
  readonly bytes: Uint8Array
  readonly hex: string
  readonly cid: string
}

let dir = ''
let dataDir = ''
let node: NodeProcess
const added = new Map<number, Added>()
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })

function content(size: number): Added {
  const a = added.get(size)
  if (a === undefined) throw new Error(`no content of ${size} bytes`)
  return a
}

function rootOf(size: number): Uint8Array {
  return new Uint8Array(Buffer.from(content(size).hex, 'hex'))
}

function blake3Url(id: string, query = ''): string {
  return `${node.url}/services/0/blake3/${id}${query}`
}

/** `<hex>  <cid>  <name>` lines of `fulmen add`, by name. */
function parseAddOutput(stdout: string): Map<string, { hex: string; cid: string }> {
  const out = new Map<string, { hex: string; cid: string }>()
  for (const line of stdout.trim().split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(\S+) {2}(.+)$/.exec(line)
    if (m === null) throw new Error(`unexpected add output: ${line}`)
    out.set(m[3]!, { hex: m[1]!, cid: m[2]! })
  }
  return out
}

async function add(sizes: readonly number[]): Promise<void> {
  const paths = sizes.map((s) => join(dir, `size-${s}.bin`))
  const r = await runFulmen(['add', '--data-dir', dataDir, ...paths], { env: env() })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  const lines = parseAddOutput(r.stdout)
  for (const [i, size] of sizes.entries()) {
    const line = lines.get(paths[i]!)
    expect(line, `add printed no line for ${paths[i]}`).toBeDefined()
    added.set(size, { size, path: paths[i]!, bytes: pseudoRandomBytes(size), ...line! })
  }
}

printNodeLogsOnFailure(() => [node])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-node-'))
  dataDir = join(dir, 'node')
  mkdirSync(dataDir)
  writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ shutdownGraceMs: GRACE_MS }))
  for (const size of SIZES) writeFileSync(join(dir, `size-${size}.bin`), pseudoRandomBytes(size))
  // Some contents go in with no node running (the CLI opens the store itself)…
  await add([0, 1, BLOCK])
  node = await startNode({ dataDir, env: env() })
  // …the others through the running node's loopback import door.
  await add([BLOCK + 1, BIG])
}, 60_000)

afterAll(async () => {
  await node?.stop('SIGTERM').catch(() => {})
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('fulmen add', () => {
  test('roots agree with two other BLAKE3 implementations, with and without a running node', async () => {
    for (const size of SIZES)
      expect(content(size).hex, `${size} bytes`).toBe(await referenceBlake3Hex(content(size).bytes))
    expect(content(0).cid).toMatch(/^bafkr4/)
  })

  test('adding stored content again gives the same root and stores nothing new', async () => {
    const before = await request(`${node.url}/status`)
    const r = await runFulmen(['add', '--data-dir', dataDir, content(BIG).path], { env: env() })
    expect(r.code).toBe(0)
    expect(r.stdout.startsWith(content(BIG).hex)).toBe(true)
    const after = await request(`${node.url}/status`)
    expect(after.json<{ store: unknown }>().store).toEqual(before.json<{ store: unknown }>().store)
  })
})

describe('raw content', () => {
  test.each(SIZES)('GET %i bytes: the file, byte for byte, with its headers', async (size) => {
    const c = content(size)
    const r = await request(blake3Url(c.hex))
    expect(r.status).toBe(200)
    expect(Buffer.compare(r.bytes, c.bytes)).toBe(0)
    expect(r.headers.get('etag')).toBe(`"${c.hex}"`)
    expect(r.headers.get('content-length')).toBe(String(size))
    expect(r.headers.get('content-type')).toBe('application/octet-stream')
    expect(r.headers.get('accept-ranges')).toBe('bytes')
    expect(r.headers.get('x-fulmen-node')).toBe(node.peerId)
    expect(r.headers.get('x-content-id')).toBe(c.cid)
    expect(r.headers.get('content-range')).toBeNull()
  })

  test.each(SIZES)('HEAD %i bytes: the same headers, no body', async (size) => {
    const c = content(size)
    const r = await request(blake3Url(c.hex), { method: 'HEAD' })
    expect(r.status).toBe(200)
    expect(r.bytes.length).toBe(0)
    expect(r.headers.get('etag')).toBe(`"${c.hex}"`)
    expect(r.headers.get('content-length')).toBe(String(size))
    expect(r.headers.get('x-fulmen-node')).toBe(node.peerId)
  })

  test('the id may be spelled as a CID or blake3:<hex>', async () => {
    const c = content(BLOCK + 1)
    for (const id of [c.cid, `blake3:${c.hex}`, c.hex.toUpperCase()]) {
      const r = await request(blake3Url(encodeURIComponent(id)))
      expect(r.status, id).toBe(200)
      expect(Buffer.compare(r.bytes, c.bytes)).toBe(0)
    }
  })
})

describe('ranges', () => {
  /** `bytes=…` header → the inclusive [first, last] it names in content of `len` bytes. */
  const boundaryRanges: [string, number, number][] = []
  for (const k of [1, 2, 20, 39, 40]) {
    for (const p of [k * BLOCK - 1, k * BLOCK, k * BLOCK + 1]) {
      if (p >= BIG) continue
      boundaryRanges.push([`bytes=${p}-${p}`, p, p]) // one byte
      boundaryRanges.push([
        `bytes=${p}-${Math.min(BIG - 1, p + 300_000)}`,
        p,
        Math.min(BIG - 1, p + 300_000),
      ])
      boundaryRanges.push([`bytes=0-${p}`, 0, p]) // ending on the boundary
    }
  }
  boundaryRanges.push(
    [`bytes=${39 * BLOCK + 7}-`, 39 * BLOCK + 7, BIG - 1], // open
    [`bytes=${BIG - 1}-`, BIG - 1, BIG - 1],
    [`bytes=${40 * BLOCK}-`, 40 * BLOCK, BIG - 1], // the short last block alone
    ['bytes=0-', 0, BIG - 1],
    [`bytes=5-${BIG + 1000}`, 5, BIG - 1], // end past the content: clamped
    ['bytes=-1', BIG - 1, BIG - 1], // suffixes
    ['bytes=-123', BIG - 123, BIG - 1],
    ['bytes=-124', BIG - 124, BIG - 1],
    [`bytes=-${BLOCK + 123}`, BIG - BLOCK - 123, BIG - 1],
    [`bytes=-${BIG + 10}`, 0, BIG - 1],
  )

  test.each(boundaryRanges)(`%s of ${BIG} bytes → 206`, async (header, first, last) => {
    const c = content(BIG)
    const r = await request(blake3Url(c.hex), { headers: { range: header } })
    expect(r.status).toBe(206)
    expect(r.headers.get('content-range')).toBe(`bytes ${first}-${last}/${BIG}`)
    expect(r.headers.get('content-length')).toBe(String(last - first + 1))
    expect(r.headers.get('etag')).toBe(`"${c.hex}"`)
    expect(Buffer.compare(r.bytes, c.bytes.subarray(first, last + 1))).toBe(0)
  })

  test.each([
    [1, 'bytes=0-0', 0, 0],
    [1, 'bytes=-5', 0, 0],
    [BLOCK, `bytes=${BLOCK - 1}-`, BLOCK - 1, BLOCK - 1],
    [BLOCK + 1, `bytes=${BLOCK - 1}-${BLOCK}`, BLOCK - 1, BLOCK],
    [BLOCK + 1, `bytes=${BLOCK}-`, BLOCK, BLOCK],
  ] as const)('%i bytes, %s → 206', async (size, header, first, last) => {
    const r = await request(blake3Url(content(size).hex), { headers: { range: header } })
    expect(r.status).toBe(206)
    expect(r.headers.get('content-range')).toBe(`bytes ${first}-${last}/${size}`)
    expect(Buffer.compare(r.bytes, content(size).bytes.subarray(first, last + 1))).toBe(0)
  })

  test('?range=a-b works like the header', async () => {
    const r = await request(blake3Url(content(BIG).hex, `?range=${BLOCK - 2}-${BLOCK + 2}`))
    expect(r.status).toBe(206)
    expect(r.headers.get('content-range')).toBe(`bytes ${BLOCK - 2}-${BLOCK + 2}/${BIG}`)
    expect(Buffer.compare(r.bytes, content(BIG).bytes.subarray(BLOCK - 2, BLOCK + 3))).toBe(0)
  })

  test.each([
    [BIG, `bytes=${BIG}-`],
    [BIG, `bytes=${BIG}-${BIG + 5}`],
    [BIG, `bytes=${BIG + 100}-`],
    [BIG, 'bytes=-0'],
    [0, 'bytes=0-0'],
    [0, 'bytes=-1'],
    [1, 'bytes=1-'],
  ] as const)('%i bytes, %s → 416 with bytes */len and a JSON error', async (size, header) => {
    for (const method of ['GET', 'HEAD']) {
      const r = await request(blake3Url(content(size).hex), { method, headers: { range: header } })
      expect(r.status).toBe(416)
      expect(r.headers.get('content-range')).toBe(`bytes */${size}`)
      if (method === 'GET') {
        expect(r.headers.get('content-type')).toBe('application/json')
        const body = r.json<{ error: { code: string; message: string } }>()
        expect(body.error.code).toBe('RANGE_NOT_SATISFIABLE')
        expect(body.error.message).toEqual(expect.any(String))
      }
    }
  })

  test.each(['bytes=abc', 'bytes=0-1,5-6', 'items=0-1', 'bytes=-'])(
    'a malformed or multi-range header (%s) is ignored: 200, the whole content',
    async (header) => {
      const r = await request(blake3Url(content(BLOCK + 1).hex), { headers: { range: header } })
      expect(r.status).toBe(200)
      expect(r.bytes.length).toBe(BLOCK + 1)
    },
  )
})

describe('errors', () => {
  test.each([
    'xyz',
    'zz'.repeat(32),
    'ab'.repeat(31), // 62 hex digits
    'ab'.repeat(33),
    'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', // sha2-256 CID: not a content id
  ])('a malformed id (%s) → 400 with a JSON error', async (id) => {
    const r = await request(blake3Url(id))
    expect(r.status).toBe(400)
    expect(r.headers.get('content-type')).toBe('application/json')
    const body = r.json<{ error: { code: string; message: string } }>()
    expect(body.error.code).toBe('B3_BAD_CONTENT_ID')
    expect(body.error.message.length).toBeGreaterThan(0)
  })

  test('unknown content with no origin able to fetch it → 404', async () => {
    const missing = 'ab'.repeat(32)
    const r = await request(blake3Url(missing))
    expect(r.status).toBe(404)
    expect(r.json<{ error: { code: string } }>().error.code).toBe('ORIGIN_NOT_FOUND')
    const head = await request(blake3Url(missing), { method: 'HEAD' })
    expect(head.status).toBe(404)
    expect(head.bytes.length).toBe(0)
  })

  test('unknown routes → 404, other methods → 405', async () => {
    const r = await request(`${node.url}/nope`)
    expect(r.status).toBe(404)
    expect(r.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND')
    const post = await request(blake3Url(content(1).hex), { method: 'POST', body: 'x' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })
})

describe('CORS', () => {
  const page = 'http://127.0.0.1:5173'
  const EXPOSED = [
    'content-range',
    'content-length',
    'etag',
    'x-content-id',
    'x-fulmen-node',
    'x-fulmen-content-range',
  ]

  test('content, health and status (errors included) are readable from any origin', async () => {
    const { hex } = content(BLOCK + 1)
    for (const url of [
      `${node.url}/health`,
      `${node.url}/status`,
      blake3Url(hex),
      blake3Url(hex, '?format=frames'),
      blake3Url('ab'.repeat(32)),
    ]) {
      const r = await request(url, { headers: { origin: page, range: 'bytes=0-9' } })
      expect(r.headers.get('access-control-allow-origin'), url).toBe('*')
      const exposed = (r.headers.get('access-control-expose-headers') ?? '').split(/,\s*/)
      expect(exposed, url).toEqual(expect.arrayContaining(EXPOSED))
    }
  })

  test('preflights are answered 204 (GET, HEAD; Range, Accept); /admin gets no CORS', async () => {
    const preflight = {
      origin: page,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'range, accept',
    }
    for (const path of ['/health', '/status', `/services/0/blake3/${content(1).hex}`]) {
      const r = await request(`${node.url}${path}`, { method: 'OPTIONS', headers: preflight })
      expect(r.status, path).toBe(204)
      expect(r.bytes.length).toBe(0)
      expect(r.headers.get('access-control-allow-origin')).toBe('*')
      expect(r.headers.get('access-control-allow-methods')).toBe('GET, HEAD')
      const allowed = (r.headers.get('access-control-allow-headers') ?? '').split(/,\s*/)
      expect(allowed).toEqual(expect.arrayContaining(['range', 'accept']))
    }
    const admin = await request(`${node.url}/admin/content`, {
      method: 'OPTIONS',
      headers: { ...preflight, 'access-control-request-method': 'PUT' },
    })
    expect(admin.status).not.toBe(204)
    expect(admin.headers.get('access-control-allow-origin')).toBeNull()
    expect(admin.headers.get('access-control-allow-methods')).toBeNull()
    const metrics = await request(`${node.url}/metrics`, { headers: { origin: page } })
    expect(metrics.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('proof-carrying frames', () => {
  test.each(SIZES)('%i bytes: readContentBody gives the content back', async (size) => {
    const c = content(size)
    const res = await fetch(blake3Url(c.hex, '?format=frames'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(FRAMES_MEDIA_TYPE)
    expect(res.headers.get('etag')).toBe(`"${c.hex}"`)
    expect(res.headers.get('x-fulmen-content-range')).toBe(
      `bytes 0-${Math.max(0, size - 1)}/${size}`,
    )
    const declared = Number(res.headers.get('content-length'))
    const body = await collect(res.body!)
    expect(body.length).toBe(declared)
    expect(body.length).toBeGreaterThan(size) // header, proofs, frame prefixes
    expect(Buffer.compare(await readFramed(rootOf(size), body), c.bytes)).toBe(0)
  })

  test('Accept: application/vnd.fulmen.frames chooses frames too (streamed into the reader)', async () => {
    const c = content(BIG)
    const res = await fetch(blake3Url(c.hex), { headers: { accept: FRAMES_MEDIA_TYPE } })
    expect(res.headers.get('content-type')).toBe(FRAMES_MEDIA_TYPE)
    expect(Buffer.compare(await readFramed(rootOf(BIG), res.body!), c.bytes)).toBe(0)
  })

  test('HEAD announces the Content-Length of the framed body', async () => {
    const c = content(BIG)
    const head = await request(blake3Url(c.hex, '?format=frames'), { method: 'HEAD' })
    const get = await request(blake3Url(c.hex, '?format=frames'))
    expect(head.bytes.length).toBe(0)
    expect(head.headers.get('content-length')).toBe(String(get.bytes.length))
  })

  const frameRanges: [number, number][] = [
    [0, 1],
    [BLOCK - 1, BLOCK + 1],
    [BLOCK, 2 * BLOCK],
    [BLOCK + 1, 2 * BLOCK - 1],
    [20 * BLOCK - 1, 20 * BLOCK],
    [39 * BLOCK + 5, BIG],
    [40 * BLOCK, BIG],
    [BIG - 1, BIG],
    [0, BIG],
  ]
  test.each(frameRanges)(
    'range [%i, %i): verified bytes of just that range',
    async (start, end) => {
      const c = content(BIG)
      for (const how of ['header', 'query'] as const) {
        const res =
          how === 'header'
            ? await fetch(blake3Url(c.hex, '?format=frames'), {
                headers: { range: `bytes=${start}-${end - 1}` },
              })
            : await fetch(blake3Url(c.hex, `?format=frames&range=${start}-${end - 1}`))
        expect(res.status).toBe(200)
        expect(res.headers.get('x-fulmen-content-range')).toBe(`bytes ${start}-${end - 1}/${BIG}`)
        const body = await collect(res.body!)
        expect(body.length).toBe(Number(res.headers.get('content-length')))
        const got = await readFramed(rootOf(BIG), body, { start, end })
        expect(Buffer.compare(got, c.bytes.subarray(start, end))).toBe(0)
      }
    },
  )

  test('a range body is smaller than the whole: only the blocks it needs are sent', async () => {
    const whole = await request(blake3Url(content(BIG).hex, '?format=frames'))
    const part = await request(
      blake3Url(content(BIG).hex, `?format=frames&range=${BLOCK}-${BLOCK + 9}`),
    )
    expect(part.bytes.length).toBeLessThan(BLOCK + 2048)
    expect(whole.bytes.length).toBeGreaterThan(BIG)
  })

  test('an unsatisfiable frame range → 416', async () => {
    const r = await request(blake3Url(content(BIG).hex, '?format=frames'), {
      headers: { range: `bytes=${BIG}-` },
    })
    expect(r.status).toBe(416)
    expect(r.headers.get('content-range')).toBe(`bytes */${BIG}`)
  })
})

describe('fulmen node status', () => {
  test('prints the peer id and the store usage', async () => {
    const r = await runFulmen(['node', 'status', '--data-dir', dataDir], { env: env() })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`peer id   ${node.peerId}`)
    expect(r.stdout).toContain(`http      ${node.url}`)
    expect(r.stdout).toMatch(/^store {5}\S+ \S+ in 5 contents \(/m)
    const json = await runFulmen(['node', 'status', '--url', node.url, '--json'], { env: env() })
    expect(json.code).toBe(0)
    const s = JSON.parse(json.stdout) as {
      peerId: string
      store: { bytes: number; contents: number }
    }
    expect(s.peerId).toBe(node.peerId)
    expect(s.store.contents).toBe(5)
    expect(s.store.bytes).toBe(SIZES.reduce((a, b) => a + b, 0))
  })

  test('with no node running: exit 1 and a message', async () => {
    const empty = join(dir, 'no-node')
    mkdirSync(empty, { recursive: true })
    const r = await runFulmen(['node', 'status', '--data-dir', empty], { env: env() })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(`fulmen: no node is running on ${empty}\n`)
  })

  test('/health and /status answer', async () => {
    const h = await request(`${node.url}/health`)
    expect(h.status).toBe(200)
    expect(h.json()).toEqual({ status: 'ok' })
    const s = (await request(`${node.url}/status`)).json<{ peerId: string; http: string }>()
    expect(s.peerId).toBe(node.peerId)
    expect(s.http).toBe(node.url)
  })
})

describe('metrics', () => {
  test('count bytes served, requests by route and status, cache hits', async () => {
    const before = await metricsOf(node.url)
    const c = content(BIG)
    await request(blake3Url(c.hex))
    await request(blake3Url(c.hex, '?format=frames'))
    await request(blake3Url(c.hex), { headers: { range: 'bytes=0-99' } })
    await request(blake3Url('xyz'))
    // Requests are counted when their response closes: wait for all four.
    const after = await waitFor(async () => {
      const text = await metricsOf(node.url)
      const n = (status: string) =>
        metricValue(text, 'fulmen_requests_total', { route: 'content', status }) -
        metricValue(before, 'fulmen_requests_total', { route: 'content', status })
      return n('200') + n('206') + n('400') >= 4 && text
    }, 'the requests to be counted')
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metricValue(after, name, labels) - metricValue(before, name, labels)
    expect(delta('fulmen_bytes_served_total', { format: 'raw' })).toBe(BIG + 100)
    expect(delta('fulmen_bytes_served_total', { format: 'frames' })).toBeGreaterThan(BIG)
    expect(delta('fulmen_requests_total', { route: 'content', status: '200' })).toBe(2)
    expect(delta('fulmen_requests_total', { route: 'content', status: '206' })).toBe(1)
    expect(delta('fulmen_requests_total', { route: 'content', status: '400' })).toBe(1)
    expect(delta('fulmen_cache_hits_total')).toBe(3)
    // Everything earlier in this file is counted too.
    expect(metricValue(after, 'fulmen_requests_total', { status: '416' })).toBeGreaterThan(0)
    expect(metricValue(after, 'fulmen_requests_total', { status: '404' })).toBeGreaterThan(0)
    expect(metricValue(after, 'fulmen_store_contents')).toBe(5)
    expect(after).toContain('# TYPE fulmen_cache_misses_total counter')
    expect(after).toContain('# TYPE fulmen_origin_fetches_total counter')
    expect(after).toContain('# TYPE fulmen_verification_failures_total counter')
    expect(after).toMatch(/^fulmen_\w*resident_memory_bytes \d+/m)
  })
})

describe('restart and shutdown', () => {
  test('SIGTERM stops the node (exit 0); started again on the same directory it has the same peer id and content', async () => {
    const peerId = node.peerId
    const exit = await node.stop('SIGTERM')
    expect(exit).toEqual({ code: 0, signal: null })
    const msgs = node.logs().map((l) => l.msg)
    expect(msgs).toContain('stopping')
    expect(msgs).toContain('stopped')
    expect(existsSync(join(dataDir, 'node.json'))).toBe(false)

    node = await startNode({ dataDir, env: env() })
    expect(node.peerId).toBe(peerId)
    expect(node.logs().find((l) => l.msg === 'block store opened')).toMatchObject({ contents: 5 })
    for (const size of SIZES) {
      const r = await request(blake3Url(content(size).hex))
      expect(r.status).toBe(200)
      expect(Buffer.compare(r.bytes, content(size).bytes)).toBe(0)
    }
    const framed = await fetch(blake3Url(content(BIG).hex, '?format=frames'))
    expect(Buffer.compare(await readFramed(rootOf(BIG), framed.body!), content(BIG).bytes)).toBe(0)
  })

  test('SIGTERM during large downloads: a reader that keeps up finishes, a stalled one is cut after the grace period, /health says 503 meanwhile, exit 0', async () => {
    // 64 MiB of zeros (a sparse file: cheap to make), imported through the node.
    const size = 64 * 2 ** 20
    const path = join(dir, 'large.bin')
    writeFileSync(path, '')
    spawnSync('truncate', ['-s', String(size), path])
    const a = await runFulmen(['add', '--data-dir', dataDir, path], { env: env() })
    expect(a.code).toBe(0)
    const hex = a.stdout.slice(0, 64)

    // A reader that never reads past the first chunk…
    const stalled = await fetch(blake3Url(hex))
    const stalledReader = stalled.body!.getReader()
    await stalledReader.read()
    // …one that reads 32 MiB at about 32 MiB/s (its answer has begun before the signal)…
    const pacedRes = await fetch(blake3Url(hex), {
      headers: { range: `bytes=0-${32 * 2 ** 20 - 1}` },
    })
    const paced = (async () => {
      const started = performance.now()
      let got = 0
      let nonZero = 0
      for await (const chunk of pacedRes.body as unknown as AsyncIterable<Uint8Array>) {
        got += chunk.length
        if (chunk.some((b) => b !== 0)) nonZero++
        const ahead = got / (32 * 2 ** 20) - (performance.now() - started) / 1000
        if (ahead > 0) await sleep(ahead * 1000)
      }
      return { status: pacedRes.status, got, nonZero }
    })()
    // …and a request whose head is on the wire but not finished (the connection is busy).
    const health = await halfSentRequest(node.url, '/health')
    await sleep(100)

    const t0 = performance.now()
    node.child.kill('SIGTERM')
    await node.waitForLog('stopping')
    const answer = await health.finish()
    expect(answer).toMatch(/^HTTP\/1\.1 503 /)
    expect(answer).toContain('SHUTTING_DOWN')

    expect(await paced).toEqual({ status: 206, got: 32 * 2 ** 20, nonZero: 0 })
    const exit = await node.exit
    const seconds = (performance.now() - t0) / 1000
    expect(exit).toEqual({ code: 0, signal: null })
    expect(seconds).toBeGreaterThanOrEqual(GRACE_MS / 1000 - 0.2)
    expect(seconds).toBeLessThan(GRACE_MS / 1000 + 5)
    const cut = node.logs().find((l) => l.msg === 'cut open responses after the grace period')
    expect(cut).toMatchObject({ cut: 1 })
    expect(node.logs().map((l) => l.msg)).toContain('stopped')
    expect(existsSync(join(dataDir, 'node.json'))).toBe(false)
    // The stalled download ended short of its Content-Length.
    await expect(
      (async () => {
        for (;;) if ((await stalledReader.read()).done) return
      })(),
    ).rejects.toThrow()
    // Nothing left half-done in the store.
    expect(readdirSync(join(dataDir, 'store', 'tmp'))).toEqual([])
  }, 30_000)
})
