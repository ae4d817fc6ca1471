/**
 * `pauseWhenHidden` in real Chromium: while the page is hidden the tab node takes no new
 * handshake streams (a client's fetch from it fails), and serves again once visible. Headless
 * pages are always visible, so the test makes `document.visibilityState` report `hidden` and
 * fires `visibilitychange`, which is what the node listens to.
 */
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { seededContent } from '../../b3/testing/content.ts'
import { createClient, type FulmenClient } from '../../client/client.ts'
import { FetchError } from '../../client/errors.ts'
import type { ClientLibp2p } from '../../net/client-libp2p.ts'
import { createWindowLibp2p, type WindowLibp2p } from '../../net/window-libp2p.ts'
import { startNode, type TabNode } from './tab-node.ts'
import '../testing/network.ts'

const network = inject('network')
const content = seededContent(network.content.size, network.content.seed)
let tab: TabNode
let dialer: WindowLibp2p
const clients: FulmenClient[] = []

function setVisibility(state: 'hidden' | 'visible'): void {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
  document.dispatchEvent(new Event('visibilitychange'))
}

/** A fresh client of the tab alone (a new session each time: new streams are what pause). */
async function fetchFromTab(): Promise<Uint8Array | FetchError> {
  const client = await createClient({
    bootstrap: [tab.multiaddrs()[0]!],
    libp2p: dialer as unknown as ClientLibp2p,
    // A WebRTC dial through the relay takes ~0.6 s here, several under a full test run's load;
    // a hidden tab refuses the stream at once, whatever the timeout.
    handshakeTimeoutMs: 20_000,
    stallTimeoutMs: 10_000,
  })
  clients.push(client)
  try {
    const res = await client.fetch(network.content.hex, { range: { start: 0, end: 1000 } })
    return new Uint8Array(await res.arrayBuffer())
  } catch (error) {
    if (error instanceof FetchError) return error
    throw error
  } finally {
    await client.close()
  }
}

beforeAll(async () => {
  tab = await startNode({
    relays: [network.nodes[0]!],
    database: `tab-visibility-${crypto.randomUUID()}`,
    keyDatabase: false,
    pauseWhenHidden: true,
  })
  await tab.cache(network.content.hex)
  dialer = await createWindowLibp2p()
})

afterAll(async () => {
  setVisibility('visible')
  await Promise.allSettled(clients.map((c) => c.close()))
  await tab?.stop()
  await dialer?.stop()
})

test('hidden: no new streams; visible again: serving again', async () => {
  expect(await fetchFromTab()).toEqual(content.subarray(0, 1000))
  setVisibility('hidden')
  await expect.poll(fetchFromTab, { timeout: 60_000, interval: 200 }).toBeInstanceOf(FetchError)
  const refused = (await fetchFromTab()) as FetchError
  expect(refused.failures[0]?.node).toBe(tab.peerId)
  setVisibility('visible')
  await expect
    .poll(fetchFromTab, { timeout: 60_000, interval: 200 })
    .toEqual(content.subarray(0, 1000))
})
