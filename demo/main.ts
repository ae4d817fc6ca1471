/**
 * The demo page: verified media through the service worker, a verified download through the
 * browser client, the live network with its delivery acknowledgements, a lying node to switch
 * on, and this tab contributing to the network as a node. Each section lives in sections/; this file starts the shared pieces.
 */
import { ready } from '../src/b3/engine.ts'
import { mountChain } from './chain-panel.ts'
import { byId, setText } from './dom.ts'
import { loadNetwork, type NetworkDescription } from './network.ts'
import { routeFor } from './routing.ts'
import { mountDa } from './sections/da.ts'
import { mountDownload } from './sections/download.ts'
import { mountHero } from './sections/hero.ts'
import { mountLiarSwitch } from './sections/liar-switch.ts'
import { mountLight } from './sections/light.ts'
import { mountLocalFile } from './sections/local-file.ts'
import { mountMedia } from './sections/media.ts'
import { mountNodes } from './sections/nodes.ts'
import { mountTabNode } from './sections/tab-node.ts'
import { DemoState } from './state.ts'
import { PageServiceWorker } from './sw.ts'

/** Counters and node status once a second; pings (latency) and the network file less often. */
const POLL_MS = 1_000
const MEASURE_MS = 10_000

function banner(text: string): void {
  const el = byId('offline-banner')
  el.textContent = text
  el.hidden = false
}

async function startNetworkSections(network: NetworkDescription): Promise<void> {
  const state = new DemoState(network)
  mountHero(state)
  mountLiarSwitch(state)
  mountMedia(state)
  mountDownload(state)
  mountNodes(state)
  mountLight(state)
  mountDa(state)
  mountTabNode(state)
  mountChain(state)
  const route = routeFor(network, false)
  // The worker and the client start side by side; either can fail without the other.
  const worker = PageServiceWorker.start(network, route).then(
    (sw) => {
      state.sw = sw
      state.swState = 'active'
    },
    (error: unknown) => {
      state.swState = 'unavailable'
      banner(`The service worker did not start (${(error as Error).message}): media need it.`)
    },
  )
  const client = state.clients.use(route).catch((error: unknown) => {
    banner(`The client did not start: ${(error as Error).message}`)
  })
  await worker
  state.emit('sw')
  await client
  await state.poll(true)
  setInterval(() => void state.poll(), POLL_MS)
  setInterval(() => {
    void state
      .reloadNetwork()
      .catch(() => {})
      .then(() => state.poll(true))
  }, MEASURE_MS)
}

async function main(): Promise<void> {
  mountLocalFile()
  void ready().then((kernel) => setText(byId('engine'), `engine: ${kernel.name}`))
  let network: NetworkDescription
  try {
    network = await loadNetwork()
  } catch {
    // Served without the local network (plain `vite demo`): the in-browser part still works.
    banner('No Fulmen network is running behind this page: start it with `npm start`.')
    for (const id of ['media', 'download', 'network', 'light', 'chain', 'contribute'])
      byId(id).hidden = true
    byId('liar-card').hidden = true
    return
  }
  await startNetworkSections(network)
}

void main()
