import { afterEach, describe, expect, test } from 'vitest'
import { formatContentId } from '../b3/content-id.ts'
import { treeOf } from '../b3/tree.ts'
import { MemoryBlockStore } from '../store/memory-block-store.ts'
import { createIpfsOrigin, IPLD_RAW } from './ipfs-origin.ts'
import { OriginError, parsePointer } from './pointer.ts'
import { createResolver } from './resolver.ts'
import {
  blake3Cid,
  dagPbCid,
  deadUrl,
  type FakeGateway,
  sha256Cid,
  startGateway,
  startServer,
  type TestServer,
} from './testing/servers.node.ts'

const BLOCK = new Uint8Array(300_000).map((_, i) => (i * 7 + (i >> 11)) & 0xff)
const SMALL = new TextEncoder().encode('hello, trustless gateway\n')

const servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function gateway(options: { lie?: boolean; delayMs?: number } = {}): Promise<FakeGateway> {
  const g = await startGateway(options)
  servers.push(g)
  return g
}

function setup(gateways: string[], limits: { maxBytes?: number; timeoutMs?: number } = {}) {
  const store = new MemoryBlockStore()
  const resolver = createResolver({
    store,
    origins: [createIpfsOrigin({ gateway: gateways })],
    limits: { maxBytes: limits.maxBytes ?? 2 ** 20, timeoutMs: limits.timeoutMs ?? 5000 },
  })
  return { store, resolver }
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

describe('IPFS origin (trustless gateway)', () => {
  test('a raw sha2-256 CID is fetched as a raw block and verified', async () => {
    const g = await gateway()
    const cid = sha256Cid(BLOCK)
    g.blocks.set(cid, BLOCK)
    const { store, resolver } = setup([g.url])
    const tree = await resolver.resolve(`ipfs://${cid}`)
    expect(tree).toEqual(treeOf(BLOCK))
    expect(await store.getPointer(`ipfs://${cid}`)).toEqual(tree.root)
    expect(g.requests).toHaveLength(1)
    expect(g.requests[0]).toMatchObject({ method: 'GET', url: `/ipfs/${cid}?format=raw` })
    expect(g.requests[0]!.headers.accept).toBe(IPLD_RAW)
    // Cached now: the bare CID and /ipfs/ forms are the same pointer.
    await resolver.resolve(cid)
    await resolver.resolve(`/ipfs/${cid}`)
    expect(g.requests).toHaveLength(1)
  })

  test('a raw blake3 CID: a store miss is fetched from the gateway, checked against the root', async () => {
    const g = await gateway()
    const cid = blake3Cid(SMALL)
    g.blocks.set(cid, SMALL)
    const { store, resolver } = setup([`${g.url}/`])
    const root = treeOf(SMALL).root
    expect(formatContentId(root, 'cid')).toBe(cid)
    expect(parsePointer(cid)).toEqual({ kind: 'blake3', root })
    const tree = await resolver.resolve(formatContentId(root, 'hex'))
    expect(tree.root).toEqual(root)
    expect(await store.stat(root)).toMatchObject({ length: SMALL.length })
    expect(g.requests.map((r) => r.url)).toEqual([`/ipfs/${cid}?format=raw`])
    await resolver.resolve(`ipfs://${cid}`)
    expect(g.requests).toHaveLength(1)
  })

  test('a gateway that lies is ORIGIN_INTEGRITY and nothing is stored', async () => {
    for (const cidOf of [sha256Cid, blake3Cid]) {
      const g = await gateway({ lie: true })
      const cid = cidOf(BLOCK)
      g.blocks.set(cid, BLOCK)
      const { store, resolver } = setup([g.url])
      const e = await originError(resolver.resolve(`ipfs://${cid}`))
      expect(e.code).toBe('ORIGIN_INTEGRITY')
      expect(e.message).toContain(cid)
      expect(await stored(store)).toBe(0)
      expect(await store.getPointer(`ipfs://${cid}`)).toBeUndefined()
    }
  })

  test('failover: the first gateway down, the second answers', async () => {
    const down = await deadUrl()
    const g = await gateway()
    const cid = sha256Cid(BLOCK)
    g.blocks.set(cid, BLOCK)
    const { resolver } = setup([down, g.url])
    expect((await resolver.resolve(cid)).root).toEqual(treeOf(BLOCK).root)
    expect(g.requests).toHaveLength(1)
  })

  test('failover past a 404 and a gateway that times out', async () => {
    const empty = await gateway()
    const slow = await startServer(() => {})
    servers.push(slow)
    const g = await gateway()
    const cid = sha256Cid(SMALL)
    g.blocks.set(cid, SMALL)
    const { resolver } = setup([empty.url, slow.url, g.url], { timeoutMs: 300 })
    expect((await resolver.resolve(cid)).length).toBe(SMALL.length)
    expect([empty.requests.length, slow.requests.length, g.requests.length]).toEqual([1, 1, 1])
  })

  test('every gateway failing is reported with each failure', async () => {
    const a = await gateway()
    const b = await gateway()
    const cid = sha256Cid(SMALL)
    const { store, resolver } = setup([a.url, b.url])
    const e = await originError(resolver.resolve(cid))
    expect(e.code).toBe('ORIGIN_FETCH_FAILED')
    expect(e.message).toContain('all 2 gateways failed')
    expect(e.message).toContain(new URL(a.url).host)
    expect(e.message).toContain(new URL(b.url).host)
    expect(e.message).toContain('404')
    expect(await stored(store)).toBe(0)
  })

  test('a block larger than the limit is ORIGIN_TOO_LARGE', async () => {
    const g = await gateway()
    const cid = sha256Cid(BLOCK)
    g.blocks.set(cid, BLOCK)
    const { store, resolver } = setup([g.url], { maxBytes: 1000 })
    expect((await originError(resolver.resolve(cid))).code).toBe('ORIGIN_TOO_LARGE')
    expect(await stored(store)).toBe(0)
  })

  test('dag-pb (UnixFS) is refused as unavailable, without a request', async () => {
    const g = await gateway()
    const cid = dagPbCid(SMALL)
    g.blocks.set(cid, SMALL)
    const { resolver } = setup([g.url])
    const e = await originError(resolver.resolve(`ipfs://${cid}`))
    expect(e.code).toBe('ORIGIN_UNAVAILABLE')
    expect(e.message).toMatch(/UnixFS is not supported yet/)
    expect(g.requests).toHaveLength(0)
  })

  test('http pointers are not for this origin', () => {
    const origin = createIpfsOrigin({ gateway: 'http://127.0.0.1:8080' })
    expect(origin.accepts(parsePointer(sha256Cid(SMALL)))).toBe(true)
    expect(origin.accepts(parsePointer(formatContentId(treeOf(SMALL).root)))).toBe(true)
    expect(
      origin.accepts(parsePointer(`https://x.test/#integrity=sha256-${'A'.repeat(43)}=`)),
    ).toBe(false)
    expect(() => createIpfsOrigin({ gateway: [] })).toThrow(TypeError)
    expect(() => createIpfsOrigin({ gateway: 'ftp://x' })).toThrow(TypeError)
  })
})
