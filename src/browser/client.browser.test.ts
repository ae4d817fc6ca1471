/**
 * The browser client in real Chromium against real node processes (the project's global
 * setup): the work happens in the client worker, the page gets a verified `Response`, typed
 * errors cross the thread boundary, aborts reach the worker, the key persists in IndexedDB.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, describe, expect, inject, test } from 'vitest'
import { hash } from '../b3/hash.ts'
import { seededContent } from '../b3/testing/content.ts'
import { FetchError } from '../client/errors.ts'
import type { FetchProgress } from '../client/progress.ts'
import { concat } from '../wire/testing/bytes.ts'
import { type BrowserClient, createClient } from './client.ts'
import { deleteClientKey, loadOrCreateClientKey } from './key-store.ts'
import './testing/network.ts'

const network = inject('network')
const content = seededContent(network.content.size, network.content.seed)
const BLOCK = 256 * 1024
const clients: BrowserClient[] = []

async function client(options: Partial<Parameters<typeof createClient>[0]> = {}) {
  const c = await createClient({ bootstrap: network.nodes, keyDatabase: false, ...options })
  clients.push(c)
  return c
}

async function readAll(res: Response): Promise<{ bytes: Uint8Array; error?: unknown }> {
  const chunks: Uint8Array[] = []
  const reader = res.body!.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
    }
  } catch (error) {
    return { bytes: concat(chunks), error }
  }
  return { bytes: concat(chunks) }
}

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
})

describe('browser client (worker) over real nodes', () => {
  test('fetches and verifies the whole content; progress and DAs come back', async () => {
    const c = await client()
    const events: FetchProgress[] = []
    const res = await c.fetch(network.content.hex, { onProgress: (e) => events.push(e) })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(network.content.size))
    expect(res.headers.get('etag')).toBe(`"${network.content.hex}"`)
    const { bytes, error } = await readAll(res)
    expect(error).toBeUndefined()
    expect(bytesToHex(hash(bytes))).toBe(network.content.hex)
    expect(bytes).toEqual(content)
    const blocks = events.filter((e) => e.type === 'block')
    expect(blocks.map((e) => e.block)).toEqual([...Array(33).keys()])
    expect(events.at(-1)?.type).toBe('done')
    const status = await c.status()
    expect(status.map((s) => s.peer).sort()).toEqual(
      network.nodes.map((a) => a.split('/p2p/')[1]).sort(),
    )
    expect(status.every((s) => s.latencyMs === undefined || s.latencyMs >= 0)).toBe(true)
    const served = status.find((s) => s.peer === res.headers.get('x-fulmen-node'))
    expect(served?.acks?.verifiedUnits).toBe(33)
    expect(c.nodes()).toEqual(status)
  })

  test('a range is a 206 with exactly those bytes', async () => {
    const c = await client()
    const range = { start: 3 * BLOCK + 5, end: 7 * BLOCK + 11 }
    const res = await c.fetch(`blake3:${network.content.hex}`, { range })
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe(
      `bytes ${range.start}-${range.end - 1}/${network.content.size}`,
    )
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(
      content.subarray(range.start, range.end),
    )
  })

  test('a lying node is caught in the worker and the fetch completes from another', async () => {
    const c = await client({ bootstrap: [network.liar, ...network.nodes], order: 'given' })
    const events: FetchProgress[] = []
    const res = await c.fetch(network.content.hex, { onProgress: (e) => events.push(e) })
    const { bytes, error } = await readAll(res)
    expect(error).toBeUndefined()
    expect(bytes).toEqual(content)
    const failovers = events.filter((e) => e.type === 'failover')
    expect(failovers).toHaveLength(1)
    expect(failovers[0]).toMatchObject({
      node: network.liarPeer,
      failure: { node: network.liarPeer, code: 'B3_BLOCK_MISMATCH' },
      resumeBlock: 2,
    })
  })

  test('typed errors cross the thread: FetchError with its code and failures', async () => {
    const c = await client({ bootstrap: [network.liar], order: 'given' })
    const res = await c.fetch(network.content.hex)
    const { bytes, error } = await readAll(res)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).code).toBe('FETCH_ALL_NODES_FAILED')
    expect((error as FetchError).failures[0]).toMatchObject({
      node: network.liarPeer,
      code: 'B3_BLOCK_MISMATCH',
    })
    // Only the verified blocks before the lie reached the page.
    expect(bytes).toEqual(content.subarray(0, 2 * BLOCK))

    const missing = 'ab'.repeat(32)
    const notFound = await c.fetch(missing).catch((e: unknown) => e)
    expect(notFound).toBeInstanceOf(FetchError)
    const bad = await c.fetch('not a pointer').catch((e: unknown) => e)
    expect(bad).toMatchObject({ name: 'FetchError', code: 'FETCH_BAD_REQUEST' })
  })

  test('an abort on the page stops the fetch in the worker', async () => {
    const c = await client()
    const controller = new AbortController()
    let seen = 0
    const res = await c.fetch(network.content.hex, {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type === 'block' && ++seen === 3) controller.abort(new Error('enough'))
      },
    })
    const { bytes, error } = await readAll(res)
    expect(error).toMatchObject({ message: 'enough' })
    expect(bytes.length).toBeLessThan(content.length)
    expect(bytes).toEqual(content.subarray(0, bytes.length))
    // The session is fine afterwards.
    const again = await c.fetch(network.content.hex, { range: { start: 0, end: 10 } })
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(content.subarray(0, 10))

    const early = new AbortController()
    early.abort()
    await expect(c.fetch(network.content.hex, { signal: early.signal })).rejects.toMatchObject({
      name: 'AbortError',
    })
  })

  test('the client key persists in IndexedDB across clients', async () => {
    const database = `fulmen-keys-test-${Math.random().toString(36).slice(2)}`
    const a = await client({ keyDatabase: database })
    const b = await client({ keyDatabase: database })
    expect(bytesToHex(a.publicKey)).toBe(bytesToHex(b.publicKey))
    const direct = await loadOrCreateClientKey({ database })
    expect(bytesToHex(direct.publicKey)).toBe(bytesToHex(a.publicKey))
    await deleteClientKey({ database })
    const fresh = await loadOrCreateClientKey({ database })
    expect(bytesToHex(fresh.publicKey)).not.toBe(bytesToHex(a.publicKey))
    // Concurrent creators agree on one key.
    await deleteClientKey({ database })
    const keys = await Promise.all([0, 1, 2, 3].map(() => loadOrCreateClientKey({ database })))
    expect(new Set(keys.map((k) => bytesToHex(k.publicKey))).size).toBe(1)
    indexedDB.deleteDatabase(database)
  })

  test('a client of unreachable nodes fails with a typed error', async () => {
    const c = await client({
      bootstrap: [
        '/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWAtfLqN4QmgjrYN6K2n1hrQ5zPR1p8KuxFmykCgMYnosP',
      ],
    })
    const error = await c.fetch(network.content.hex).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).failures[0]?.code).toBe('CLIENT_UNREACHABLE')
  })
})

describe('a client worker that does not load', () => {
  test('createClient rejects with FETCH_WORKER_FAILED', async () => {
    const missing = new URL('/no-such-fulmen-worker.js', location.href)
    const error = await createClient({
      bootstrap: network.nodes,
      keyDatabase: false,
      worker: () => new Worker(missing, { type: 'module' }),
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).code).toBe('FETCH_WORKER_FAILED')
  })
})
