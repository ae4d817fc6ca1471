/**
 * A tab node with `maxSessions: 3` in real Chromium serves three clients at once, each
 * fetching a dozen contents at once from it (more than a session's streams: the client queues
 * for them). The three sessions stay open (idle streams kept), so a fourth client is refused
 * for load by the tab, and its fetches complete from a full node instead: a busy node is not
 * a failed fetch; a client that knows only the tab waits for it (busy, not failed) up to its
 * `busyTimeoutMs`. The clients are page clients with their work in workers, given the tab's
 * address first and the full nodes after it; the page dials the tab over WebRTC for them.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { hash } from '../../b3/hash.ts'
import { FetchError } from '../../client/errors.ts'
import { type BrowserClient, createClient } from '../client.ts'
import '../testing/network.ts'
import { startNode, type TabNode } from './tab-node.ts'

const network = inject('network')
const MAX_SESSIONS = 3
/** Contents each client asks for at once: more than the 8 streams a session may have. */
const contents = network.images.slice(0, 12)
const fullNodes = network.nodes.map((a) => a.split('/p2p/')[1]!)
const clients: BrowserClient[] = []
let tab: TabNode

/** A page client that tries the tab first (over WebRTC, dialled by the page), then the full nodes. */
async function tabFirstClient(): Promise<BrowserClient> {
  const c = await createClient({
    bootstrap: [tab.multiaddrs()[0]!, ...network.nodes],
    order: 'given',
    keyDatabase: false,
  })
  clients.push(c)
  return c
}

/** Every content at once; per content, who served it, or what went wrong; nodes dropped. */
async function fetchAll(
  c: BrowserClient,
): Promise<{ servedBy: string[]; failed: string[]; dropped: string[] }> {
  const dropped: string[] = []
  const outcomes = await Promise.allSettled(
    contents.map(async (content) => {
      const res = await c.fetch(content.hex, {
        onProgress: (e) => {
          if (e.type === 'failover')
            dropped.push(`${e.node === tab.peerId ? 'tab' : 'full'}:${e.failure.code}`)
        },
      })
      const bytes = new Uint8Array(await res.arrayBuffer())
      if (bytes.length !== content.size || bytesToHex(hash(bytes)) !== content.hex)
        throw new Error(`wrong bytes: ${bytes.length} of ${content.size}`)
      return res.headers.get('x-fulmen-node') ?? ''
    }),
  )
  const failed = outcomes.flatMap((o, i) => {
    if (o.status === 'fulfilled') return []
    const e = o.reason as unknown
    const why =
      e instanceof FetchError
        ? `${e.code} (${e.failures.map((f) => `${f.node.slice(-6)}:${f.code}`).join(',')})`
        : String((e as Error)?.message ?? e)
    return [`${contents[i]!.hex.slice(0, 8)}: ${why}`]
  })
  const servedBy = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
  return { servedBy, failed, dropped }
}

beforeAll(async () => {
  tab = await startNode({
    relays: [network.nodes[0]!],
    maxSessions: MAX_SESSIONS,
    database: `tab-sessions-test-${crypto.randomUUID()}`,
    keyDatabase: false,
  })
  // One at a time: this suite is about the clients of the tab, not the tab's own client.
  for (const content of contents) await tab.cache(content.hex)
  expect(await tab.roots()).toEqual(contents.map((c) => c.hex).sort())
})

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await tab?.stop()
})

describe('a tab node serves several clients at once within maxSessions', () => {
  test('three clients at once, a dozen fetches each: all served by the tab', async () => {
    const three = await Promise.all([...Array(MAX_SESSIONS)].map(() => tabFirstClient()))
    const results = await Promise.all(three.map((c) => fetchAll(c)))
    expect(results.flatMap((r) => r.failed)).toEqual([])
    expect(results.flatMap((r) => r.dropped)).toEqual([])
    expect(new Set(results.flatMap((r) => r.servedBy))).toEqual(new Set([tab.peerId]))
    const stats = await tab.stats()
    expect(stats.sessionsTotal).toBe(MAX_SESSIONS)
    // Each client keeps its session (its idle streams) open: the tab is full now.
    expect(stats.sessionsOpen).toBe(MAX_SESSIONS)
    expect(stats.refusedByCode.SESSION_RESOURCES_UNAVAILABLE ?? 0).toBe(0)
  })

  test('a fourth client is refused for load by the tab and served by a full node', async () => {
    const before = await tab.stats()
    expect(before.sessionsOpen).toBe(MAX_SESSIONS)
    const fourth = await tabFirstClient()
    const { servedBy, failed } = await fetchAll(fourth)
    expect(failed).toEqual([])
    expect(servedBy).toHaveLength(contents.length)
    for (const peer of servedBy) expect(fullNodes).toContain(peer)
    const after = await tab.stats()
    expect(after.refusedByCode.SESSION_RESOURCES_UNAVAILABLE ?? 0).toBeGreaterThan(0)
    // Never more sessions than the cap, and no new one for the fourth client.
    expect(after.sessionsTotal).toBe(MAX_SESSIONS)
    expect(after.sessionsOpen).toBeLessThanOrEqual(MAX_SESSIONS)
    // The tab was busy, not at fault: the first three still fetch from it.
    const again = await fetchAll(clients[0]!)
    expect(again.failed).toEqual([])
    expect(new Set(again.servedBy)).toEqual(new Set([tab.peerId]))
  })

  // The test's own timeout is far below the client's default busyTimeoutMs (60 s): it passes
  // only if the page's option reaches the client in the worker.
  test('a client that knows only the full tab waits for it, then gives up past busyTimeoutMs', {
    timeout: 30_000,
  }, async () => {
    const c = await createClient({
      bootstrap: [tab.multiaddrs()[0]!],
      busyTimeoutMs: 1_500,
      keyDatabase: false,
    })
    clients.push(c)
    const busy: string[] = []
    const error = await c
      .fetch(contents[0]!.hex, {
        onProgress: (e) => {
          if (e.type === 'busy') busy.push(`${e.node}:${e.failure.code}`)
        },
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).code).toBe('FETCH_ALL_NODES_FAILED')
    expect((error as FetchError).failures).toMatchObject([
      { node: tab.peerId, code: 'SESSION_RESOURCES_UNAVAILABLE' },
    ])
    expect(busy.length).toBeGreaterThan(0)
    expect(new Set(busy)).toEqual(new Set([`${tab.peerId}:SESSION_RESOURCES_UNAVAILABLE`]))
  })
})
