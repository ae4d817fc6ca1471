/**
 * The tab-node bench page (tab-node-protocol.ts): loaded twice, in two browser contexts. Page A
 * runs a tab node (src/browser/node/tab-node.ts) and caches the content; page B runs two
 * browser clients: one that discovers tabs and fetches from them over WebRTC first, one that
 * fetches from the full node over WebSockets only.
 */
import { type BrowserClient, createClient } from '../../../src/browser/client.ts'
import { startNode, type TabNode } from '../../../src/browser/node/tab-node.ts'
import type { TabBenchPage, TabFetchRun } from '../tab-node-protocol.ts'

let tab: TabNode | undefined
const clients: { tab?: BrowserClient; node?: BrowserClient } = {}

function started(): TabNode {
  if (tab === undefined) throw new Error('startTab first')
  return tab
}

async function timedFetch(client: BrowserClient, hex: string): Promise<TabFetchRun> {
  const t0 = performance.now()
  const res = await client.fetch(hex)
  const headersMs = performance.now() - t0
  if (!res.ok || res.body === null) throw new Error(`status ${res.status}`)
  const reader = res.body.getReader()
  let bytes = 0
  let firstByteMs = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (bytes === 0) firstByteMs = performance.now() - t0
    bytes += value.byteLength
  }
  const ms = performance.now() - t0
  return { bytes, ms, headersMs, firstByteMs, node: res.headers.get('x-fulmen-node') ?? '' }
}

const page: TabBenchPage = {
  async startTab(relays, database) {
    tab = await startNode({ relays, database, keyDatabase: false })
    return { peerId: tab.peerId, addresses: tab.multiaddrs() }
  },
  async cache(hex) {
    const t0 = performance.now()
    const cached = await started().cache(hex)
    return { ms: performance.now() - t0, length: cached.length, fetched: cached.fetched }
  },
  async tabStats() {
    const s = await started().stats()
    return {
      bytesServed: s.bytesServed,
      sessionsTotal: s.sessionsTotal,
      storeBytes: s.store.bytes,
      dasUnits: s.das.units,
    }
  },
  async stopTab() {
    await tab?.stop()
    tab = undefined
  },

  async startClients(bootstrap) {
    clients.tab = await createClient({ bootstrap, discover: true, keyDatabase: false })
    clients.node = await createClient({
      bootstrap,
      discover: false,
      webrtc: false,
      keyDatabase: false,
    })
  },
  fetch(which, hex) {
    const client = clients[which]
    if (client === undefined) throw new Error('startClients first')
    return timedFetch(client, hex)
  },
  async closeClients() {
    await Promise.allSettled([clients.tab?.close(), clients.node?.close()])
    clients.tab = undefined
    clients.node = undefined
  },

  spin(ms) {
    const end = performance.now() + ms
    let n = 0
    while (performance.now() < end) n++
    return n
  },
}

window.fulmenTabBench = page
