import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js'
import { afterEach, describe, expect, test } from 'vitest'
import { treeOf } from '../b3/tree.ts'
import { MemoryBlockStore } from '../store/memory-block-store.ts'
import { createHttpOrigin } from './http-origin.ts'
import { formatPointer, OriginError, type Pointer, parsePointer } from './pointer.ts'
import { createResolver, type ResolverMetrics } from './resolver.ts'
import {
  deadUrl,
  type Handler,
  hugeBody,
  serveBytes,
  sleep,
  startServer,
  type TestServer,
} from './testing/servers.node.ts'

const b64 = (d: Uint8Array) => Buffer.from(d).toString('base64')
const DATA = new Uint8Array(700_000).map((_, i) => (i * 31 + (i >> 9)) & 0xff)
const HELLO = new TextEncoder().encode("alert('Hello, world.');")
const HELLO_SHA384 = 'sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO'

const servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler)
  servers.push(server)
  return server
}

interface Counts {
  hits: number
  misses: number
  fetches: { name: string; ok: boolean; bytes: number; code?: string }[]
}

function setup(limits: { maxBytes?: number; timeoutMs?: number } = {}) {
  const store = new MemoryBlockStore()
  const counts: Counts = { hits: 0, misses: 0, fetches: [] }
  const metrics: ResolverMetrics = {
    originFetch: (name, ok, bytes, code) => counts.fetches.push({ name, ok, bytes, code }),
    cacheHit: () => counts.hits++,
    cacheMiss: () => counts.misses++,
  }
  const resolver = createResolver({
    store,
    origins: [createHttpOrigin()],
    limits: { maxBytes: limits.maxBytes ?? 2 ** 20, timeoutMs: limits.timeoutMs ?? 10_000 },
    metrics,
  })
  return { store, resolver, counts }
}

async function stored(store: MemoryBlockStore): Promise<number> {
  let n = 0
  for await (const _ of store.list()) n++
  return n
}

async function originError(p: Promise<unknown>): Promise<OriginError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(OriginError)
    return e as OriginError
  }
  throw new Error('expected an OriginError')
}

describe('HTTP origin with SRI', () => {
  for (const [alg, fn] of [
    ['sha256', sha256],
    ['sha384', sha384],
    ['sha512', sha512],
  ] as const) {
    test(`${alg}: a match is stored and the pointer remembered`, async () => {
      const server = await serve(serveBytes(DATA))
      const { store, resolver, counts } = setup()
      const text = `${server.url}/file.bin#integrity=${alg}-${b64(fn(DATA))}`
      const tree = await resolver.resolve(text)
      expect(tree).toEqual(treeOf(DATA))
      expect(await store.getPointer(formatPointer(parsePointer(text)))).toEqual(tree.root)
      expect(await store.stat(tree.root)).toMatchObject({ length: DATA.length })
      expect(server.requests).toHaveLength(1)
      expect(counts.fetches).toEqual([{ name: 'http', ok: true, bytes: DATA.length }])
    })
  }

  test('the SRI spec example verifies', async () => {
    const server = await serve(serveBytes(HELLO))
    const { resolver } = setup()
    const tree = await resolver.resolve(`${server.url}/hello.js#integrity=${HELLO_SHA384}`)
    expect(tree.root).toEqual(treeOf(HELLO).root)
  })

  test('the second resolve is a cache hit: no origin request', async () => {
    const server = await serve(serveBytes(DATA))
    const { resolver, counts } = setup()
    const pointer = parsePointer(`${server.url}/f#integrity=sha256-${b64(sha256(DATA))}`)
    const first = await resolver.resolve(pointer)
    const second = await resolver.resolve(formatPointer(pointer))
    expect(second).toEqual(first)
    expect(server.requests).toHaveLength(1)
    expect(counts).toMatchObject({ hits: 1, misses: 1 })
  })

  test('any listed digest of the strongest algorithm matches', async () => {
    const server = await serve(serveBytes(DATA))
    const { resolver } = setup()
    const other = sha384(new Uint8Array(1))
    const meta = `sha256-${b64(new Uint8Array(32))} sha384-${b64(other)} sha384-${b64(sha384(DATA))}`
    const tree = await resolver.resolve(`${server.url}/f#integrity=${encodeURIComponent(meta)}`)
    expect(tree.root).toEqual(treeOf(DATA).root)
  })

  test('a mismatch is ORIGIN_INTEGRITY and nothing is stored', async () => {
    const server = await serve(serveBytes(DATA))
    const { store, resolver, counts } = setup()
    const text = `${server.url}/f#integrity=sha256-${b64(sha256(HELLO))}`
    const e = await originError(resolver.resolve(text))
    expect(e.code).toBe('ORIGIN_INTEGRITY')
    expect(e.message).toContain(`sha256-${b64(sha256(DATA))}`)
    expect(await stored(store)).toBe(0)
    expect(await store.getPointer(formatPointer(parsePointer(text)))).toBeUndefined()
    expect(counts.fetches).toEqual([
      { name: 'http', ok: false, bytes: DATA.length, code: 'ORIGIN_INTEGRITY' },
    ])
  })

  test('the integrity error comes after the last byte', async () => {
    const server = await serve(serveBytes(DATA))
    const origin = createHttpOrigin()
    const pointer = parsePointer(`${server.url}/f#integrity=sha512-${b64(sha512(HELLO))}`)
    let received = 0
    const e = await originError(
      (async () => {
        for await (const chunk of origin.fetch(pointer, { maxBytes: 2 ** 20, timeoutMs: 5000 })) {
          received += chunk.length
        }
      })(),
    )
    expect(e.code).toBe('ORIGIN_INTEGRITY')
    expect(received).toBe(DATA.length)
  })

  test('redirects are followed; the bytes are what is verified', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/old') res.writeHead(302, { location: '/new' }).end()
      else serveBytes(DATA)(req, res)
    })
    const { resolver } = setup()
    const tree = await resolver.resolve(`${server.url}/old#integrity=sha256-${b64(sha256(DATA))}`)
    expect(tree.root).toEqual(treeOf(DATA).root)
    expect(server.requests.map((r) => r.url)).toEqual(['/old', '/new'])
  })
})

describe('limits and failures', () => {
  const GiB = 2 ** 30
  const integrity = `sha256-${b64(sha256(DATA))}`

  for (const withLength of [true, false]) {
    test(`an oversized body ${withLength ? 'with' : 'without'} Content-Length is cut off`, async () => {
      const huge = hugeBody(GiB, withLength)
      const server = await serve(huge.handler)
      const { store, resolver } = setup({ maxBytes: 2 ** 20 })
      const e = await originError(resolver.resolve(`${server.url}/big#integrity=${integrity}`))
      expect(e.code).toBe('ORIGIN_TOO_LARGE')
      expect(e.message).toContain('127.0.0.1')
      const outcome = await Promise.race([
        huge.outcome,
        sleep(5000).then(() => 'the server is still sending' as const),
      ])
      expect(outcome).not.toBe('the server is still sending')
      if (typeof outcome === 'string') return
      expect(outcome.finished).toBe(false)
      expect(outcome.sent).toBeLessThan(64 * 2 ** 20)
      expect(await stored(store)).toBe(0)
    })
  }

  test('a Content-Length above the limit is refused before reading', async () => {
    const huge = hugeBody(GiB, true)
    const server = await serve(huge.handler)
    const origin = createHttpOrigin()
    const pointer = parsePointer(`${server.url}/big#integrity=${integrity}`)
    let received = 0
    const e = await originError(
      (async () => {
        for await (const c of origin.fetch(pointer, { maxBytes: 1000, timeoutMs: 5000 })) {
          received += c.length
        }
      })(),
    )
    expect(e.code).toBe('ORIGIN_TOO_LARGE')
    expect(e.message).toMatch(/1073741824 bytes/)
    expect(received).toBe(0)
  })

  test('exactly maxBytes is fine', async () => {
    const server = await serve(serveBytes(DATA))
    const { resolver } = setup({ maxBytes: DATA.length })
    expect((await resolver.resolve(`${server.url}/f#integrity=${integrity}`)).length).toBe(
      DATA.length,
    )
  })

  test('an origin that never answers is ORIGIN_TIMEOUT', async () => {
    const server = await serve(() => {})
    const { store, resolver } = setup({ timeoutMs: 300 })
    const started = Date.now()
    const e = await originError(resolver.resolve(`${server.url}/slow#integrity=${integrity}`))
    expect(e.code).toBe('ORIGIN_TIMEOUT')
    expect(e.message).toContain('300 ms')
    expect(Date.now() - started).toBeLessThan(3000)
    expect(await stored(store)).toBe(0)
  })

  test('a body that stalls is ORIGIN_TIMEOUT and nothing is stored', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(DATA.length) })
      res.write(DATA.subarray(0, 1000))
    })
    const { store, resolver } = setup({ timeoutMs: 300 })
    const e = await originError(resolver.resolve(`${server.url}/stall#integrity=${integrity}`))
    expect(e.code).toBe('ORIGIN_TIMEOUT')
    expect(await stored(store)).toBe(0)
  })

  for (const status of [404, 500]) {
    test(`status ${status} is ORIGIN_FETCH_FAILED`, async () => {
      const server = await serve((_req, res) => {
        res.writeHead(status).end('no')
      })
      const { store, resolver } = setup()
      const e = await originError(resolver.resolve(`${server.url}/x#integrity=${integrity}`))
      expect(e.code).toBe('ORIGIN_FETCH_FAILED')
      expect(e.message).toContain(String(status))
      expect(e.message).toContain(new URL(server.url).host)
      expect(await stored(store)).toBe(0)
    })
  }

  test('a connection refused is ORIGIN_FETCH_FAILED naming the host', async () => {
    const url = await deadUrl()
    const { resolver } = setup()
    const e = await originError(resolver.resolve(`${url}/x#integrity=${integrity}`))
    expect(e.code).toBe('ORIGIN_FETCH_FAILED')
    expect(e.message).toContain(new URL(url).host)
    expect(e.message).toMatch(/ECONNREFUSED|fetch failed/)
  })

  test('a consumer that stops reading cuts the connection', async () => {
    const huge = hugeBody(GiB, false)
    const server = await serve(huge.handler)
    const origin = createHttpOrigin()
    const pointer: Pointer = parsePointer(`${server.url}/big#integrity=${integrity}`)
    for await (const _ of origin.fetch(pointer, { maxBytes: GiB * 2, timeoutMs: 5000 })) break
    const outcome = await Promise.race([huge.outcome, sleep(5000).then(() => undefined)])
    expect(outcome?.finished).toBe(false)
  })

  test('an aborted signal stops the fetch with its reason', async () => {
    const huge = hugeBody(GiB, false)
    const server = await serve(huge.handler)
    const { store, resolver } = setup({ maxBytes: GiB * 2 })
    const controller = new AbortController()
    const pending = resolver.resolve(`${server.url}/big#integrity=${integrity}`, {
      signal: controller.signal,
    })
    await sleep(100)
    controller.abort(new Error('user gave up'))
    await expect(pending).rejects.toThrow('user gave up')
    const outcome = await Promise.race([huge.outcome, sleep(5000).then(() => undefined)])
    expect(outcome?.finished).toBe(false)
    expect(await stored(store)).toBe(0)
  })
})
