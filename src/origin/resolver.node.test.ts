import { Writable } from 'node:stream'
import { sha256 } from '@noble/hashes/sha2.js'
import { pino } from 'pino'
import { afterEach, describe, expect, test } from 'vitest'
import { formatContentId } from '../b3/content-id.ts'
import { treeOf } from '../b3/tree.ts'
import type { Logger } from '../core/logger.ts'
import { StoreError } from '../store/block-store.ts'
import { MemoryBlockStore } from '../store/memory-block-store.ts'
import { createHttpOrigin } from './http-origin.ts'
import { createIpfsOrigin } from './ipfs-origin.ts'
import type { Origin } from './origin.ts'
import { formatPointer, OriginError, type Pointer, parsePointer } from './pointer.ts'
import { createResolver } from './resolver.ts'
import {
  type Handler,
  hugeBody,
  sha256Cid,
  sleep,
  startGateway,
  startServer,
  type TestServer,
} from './testing/servers.node.ts'

const DATA = new Uint8Array(400_000).map((_, i) => (i * 13 + (i >> 7)) & 0xff)
const INTEGRITY = `sha256-${Buffer.from(sha256(DATA)).toString('base64')}`
const LIMITS = { maxBytes: 2 ** 20, timeoutMs: 10_000 }

const servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function serve(handler: Handler): Promise<TestServer> {
  const server = await startServer(handler)
  servers.push(server)
  return server
}

/** Answers DATA after `delayMs`. */
function slowly(delayMs: number): Handler {
  return async (_req, res) => {
    await sleep(delayMs)
    res.writeHead(200, { 'content-length': String(DATA.length) })
    res.end(DATA)
  }
}

async function stored(store: MemoryBlockStore): Promise<number> {
  let n = 0
  for await (const _ of store.list()) n++
  return n
}

/** An origin in memory: serves `bytes` for every pointer it accepts, counting fetches. */
function memoryOrigin(name: string, bytes: Uint8Array | Error, accepts: Pointer['kind'][]) {
  const calls: Pointer[] = []
  const origin: Origin = {
    name,
    accepts: (p) => accepts.includes(p.kind),
    async *fetch(p) {
      calls.push(p)
      if (bytes instanceof Error) throw bytes
      yield bytes
    },
  }
  return { origin, calls }
}

describe('shared fetches', () => {
  test('10 concurrent resolves of one pointer make exactly one origin request', async () => {
    const server = await serve(slowly(200))
    const store = new MemoryBlockStore()
    let misses = 0
    const resolver = createResolver({
      store,
      origins: [createHttpOrigin()],
      limits: LIMITS,
      metrics: { originFetch: () => {}, cacheHit: () => {}, cacheMiss: () => misses++ },
    })
    const text = `${server.url}/f#integrity=${INTEGRITY}`
    const trees = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        // Different spellings of one pointer share the fetch too.
        resolver.resolve(i % 2 === 0 ? text : parsePointer(text)),
      ),
    )
    expect(server.requests).toHaveLength(1)
    for (const t of trees) expect(t.root).toEqual(treeOf(DATA).root)
    expect(misses).toBe(10)
    expect(await stored(store)).toBe(1)
    // Settled: the next resolve is a plain cache hit.
    await resolver.resolve(text)
    expect(server.requests).toHaveLength(1)
  })

  test('one waiter aborting does not fail the others', async () => {
    const server = await serve(slowly(300))
    const store = new MemoryBlockStore()
    const resolver = createResolver({ store, origins: [createHttpOrigin()], limits: LIMITS })
    const text = `${server.url}/f#integrity=${INTEGRITY}`
    const controller = new AbortController()
    const quitter = resolver.resolve(text, { signal: controller.signal })
    const stayers = [
      resolver.resolve(text),
      resolver.resolve(text, { signal: AbortSignal.timeout(5000) }),
    ]
    await sleep(50)
    controller.abort(new Error('this caller left'))
    await expect(quitter).rejects.toThrow('this caller left')
    for (const t of await Promise.all(stayers)) expect(t.root).toEqual(treeOf(DATA).root)
    expect(server.requests).toHaveLength(1)
    expect(await stored(store)).toBe(1)
  })

  test('when every waiter aborts, the shared fetch is cut and nothing is stored', async () => {
    const huge = hugeBody(2 ** 30, false)
    const server = await serve(huge.handler)
    const store = new MemoryBlockStore()
    const resolver = createResolver({
      store,
      origins: [createHttpOrigin()],
      limits: { maxBytes: 2 ** 31, timeoutMs: 10_000 },
    })
    const text = `${server.url}/big#integrity=${INTEGRITY}`
    const a = new AbortController()
    const b = new AbortController()
    const pa = resolver.resolve(text, { signal: a.signal })
    const pb = resolver.resolve(text, { signal: b.signal })
    await sleep(100)
    a.abort(new Error('a left'))
    await expect(pa).rejects.toThrow('a left')
    b.abort(new Error('b left'))
    await expect(pb).rejects.toThrow('b left')
    const outcome = await Promise.race([huge.outcome, sleep(5000).then(() => undefined)])
    expect(outcome?.finished).toBe(false)
    expect(await stored(store)).toBe(0)
    expect(server.requests).toHaveLength(1)
  })

  test('a resolve after everyone left starts a fresh fetch', async () => {
    const server = await serve(slowly(200))
    const store = new MemoryBlockStore()
    const resolver = createResolver({ store, origins: [createHttpOrigin()], limits: LIMITS })
    const text = `${server.url}/f#integrity=${INTEGRITY}`
    const controller = new AbortController()
    const first = resolver.resolve(text, { signal: controller.signal })
    await sleep(20)
    controller.abort()
    await expect(first).rejects.toThrow()
    const tree = await resolver.resolve(text)
    expect(tree.root).toEqual(treeOf(DATA).root)
    expect(server.requests).toHaveLength(2)
  })

  test('an already aborted signal rejects at once', async () => {
    const resolver = createResolver({ store: new MemoryBlockStore(), origins: [], limits: LIMITS })
    await expect(
      resolver.resolve(formatContentId(new Uint8Array(32)), { signal: AbortSignal.abort('no') }),
    ).rejects.toBe('no')
  })
})

describe('blake3 pointers', () => {
  test('a stored root is a hit; a missing one without an origin is ORIGIN_NOT_FOUND', async () => {
    const store = new MemoryBlockStore()
    const resolver = createResolver({ store, origins: [createHttpOrigin()], limits: LIMITS })
    const tree = await store.put(
      (async function* () {
        yield DATA
      })(),
    )
    expect(await resolver.resolve({ kind: 'blake3', root: tree.root })).toEqual(tree)
    const e = await resolver.resolve(formatContentId(new Uint8Array(32).fill(9))).catch((x) => x)
    expect(e).toBeInstanceOf(OriginError)
    expect(e.code).toBe('ORIGIN_NOT_FOUND')
  })

  test('an origin that sends other bytes for a root: integrity error, next origin tried', async () => {
    const root = treeOf(DATA).root
    const liar = memoryOrigin('liar', new Uint8Array([1, 2, 3]), ['blake3'])
    const honest = memoryOrigin('honest', DATA, ['blake3'])
    const store = new MemoryBlockStore()
    const fetches: string[] = []
    const resolver = createResolver({
      store,
      origins: [liar.origin, honest.origin],
      limits: LIMITS,
      metrics: {
        originFetch: (name, ok, _bytes, code) => fetches.push(`${name}:${ok ? 'ok' : code}`),
        cacheHit: () => {},
        cacheMiss: () => {},
      },
    })
    expect((await resolver.resolve({ kind: 'blake3', root })).root).toEqual(root)
    expect(fetches).toEqual(['liar:ORIGIN_INTEGRITY', 'honest:ok'])
    expect(await store.getPointer(formatPointer({ kind: 'blake3', root }))).toBeUndefined()
  })

  test('the IPFS gateway is asked for the raw + blake3 CID on a miss', async () => {
    const g = await startGateway()
    servers.push(g)
    const cid = formatContentId(treeOf(DATA).root, 'cid')
    g.blocks.set(cid, DATA)
    const resolver = createResolver({
      store: new MemoryBlockStore(),
      origins: [createHttpOrigin(), createIpfsOrigin({ gateways: [g.url] })],
      limits: LIMITS,
    })
    const tree = await resolver.resolve(cid)
    expect(tree.root).toEqual(treeOf(DATA).root)
    expect(g.requests.map((r) => r.url)).toEqual([`/ipfs/${cid}?format=raw`])
  })
})

describe('origin selection and errors', () => {
  test('no origin for the kind: ORIGIN_UNAVAILABLE', async () => {
    const resolver = createResolver({
      store: new MemoryBlockStore(),
      origins: [createHttpOrigin()],
      limits: LIMITS,
    })
    const e = await resolver.resolve(sha256Cid(DATA)).catch((x) => x)
    expect(e).toBeInstanceOf(OriginError)
    expect(e.code).toBe('ORIGIN_UNAVAILABLE')
    expect(e.message).toContain('ipfs')
  })

  test('a bad pointer string: ORIGIN_BAD_POINTER', async () => {
    const resolver = createResolver({ store: new MemoryBlockStore(), origins: [], limits: LIMITS })
    const e = await resolver.resolve('https://example.com/no-integrity').catch((x) => x)
    expect(e).toMatchObject({ code: 'ORIGIN_BAD_POINTER' })
  })

  test('the first accepting origin is used; on failure the next one', async () => {
    const broken = memoryOrigin('broken', new OriginError('ORIGIN_FETCH_FAILED', 'down'), ['ipfs'])
    const other = memoryOrigin('other', DATA, ['http'])
    const good = memoryOrigin('good', DATA, ['ipfs'])
    const store = new MemoryBlockStore()
    const resolver = createResolver({
      store,
      origins: [broken.origin, other.origin, good.origin],
      limits: LIMITS,
    })
    const pointer = parsePointer(sha256Cid(DATA))
    expect((await resolver.resolve(pointer)).root).toEqual(treeOf(DATA).root)
    expect([broken.calls.length, other.calls.length, good.calls.length]).toEqual([1, 0, 1])
    expect(await store.getPointer(formatPointer(pointer))).toEqual(treeOf(DATA).root)
  })

  test('store errors are not retried on other origins', async () => {
    const a = memoryOrigin('a', DATA, ['ipfs'])
    const b = memoryOrigin('b', DATA, ['ipfs'])
    const resolver = createResolver({
      store: new MemoryBlockStore({ limitBytes: 1000 }),
      origins: [a.origin, b.origin],
      limits: LIMITS,
    })
    const e = await resolver.resolve(sha256Cid(DATA)).catch((x) => x)
    expect(e).toBeInstanceOf(StoreError)
    expect(e.code).toBe('STORE_FULL')
    expect(b.calls).toHaveLength(0)
  })

  test('logs through a pino logger', async () => {
    const server = await serve(slowly(0))
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    })
    const logger: Logger = pino({ level: 'debug' }, sink)
    const resolver = createResolver({
      store: new MemoryBlockStore(),
      origins: [createHttpOrigin()],
      limits: LIMITS,
      logger,
    })
    const text = `${server.url}/f#integrity=${INTEGRITY}`
    await resolver.resolve(text)
    await resolver.resolve(text)
    await sleep(10)
    expect(lines.map((l) => l.msg)).toEqual(['origin fetch stored', 'pointer resolved from store'])
    expect(lines[0]).toMatchObject({
      origin: 'http',
      bytes: DATA.length,
      pointer: formatPointer(parsePointer(text)),
    })
  })
})
