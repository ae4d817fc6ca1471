/**
 * "Contribute this tab": an opt-in tab node (`startNode`, src/browser/node/tab-node.ts). It
 * reserves a relay slot on every running full node, caches the download and the video verified
 * into this tab's IndexedDB, announces them, and serves other browsers over WebRTC, earning
 * delivery acknowledgements. The panel shows its identity, what it holds and live counters.
 */
import type { TabNode, TabNodeOptions } from '../../src/browser/node/tab-node.ts'
import type { TabNodeStats } from '../../src/browser/node/tab-node-api.ts'
import { byId, h, setText } from '../dom.ts'
import { formatBytes, plural, shortId } from '../format.ts'
import type { DemoContent } from '../network.ts'
import type { DemoState } from '../state.ts'

type Phase = 'stopped' | 'starting' | 'serving' | 'stopping' | 'error'

const POLL_MS = 1_000

/** What the tab caches when it starts, in this order: the download first, it is what peers ask. */
function toCache(state: DemoState): DemoContent[] {
  const { download, video } = state.network.content
  return [download, video].filter((c): c is DemoContent => c !== undefined)
}

/** A root's name from the network description (`download`, `video`…), when the page knows it. */
function describeRoot(state: DemoState, hex: string): { name: string; detail: string } {
  for (const [kind, c] of Object.entries(state.network.content) as [string, DemoContent][]) {
    if (c?.hex === hex) return { name: c.name, detail: `${kind} · ${formatBytes(c.bytes)}` }
  }
  return { name: shortId(hex, 12, 6), detail: 'content from the network' }
}

/**
 * How many relays a tab is reachable through: one per relay peer, however many of its
 * addresses (WebSockets, WebRTC-direct…) the circuit addresses go through.
 */
export function relayCount(addresses: readonly string[]): number {
  const relays = addresses.map((a) => /\/p2p\/([^/]+)\/p2p-circuit/.exec(a)?.[1])
  return new Set(relays.filter((r) => r !== undefined)).size
}

function errorCode(error: unknown): string {
  return (error as { code?: unknown }).code?.toString() ?? (error as Error).name ?? 'Error'
}

export function mountTabNode(state: DemoState): void {
  const start = byId<HTMLButtonElement>('tab-node-start')
  const stop = byId<HTMLButtonElement>('tab-node-stop')
  const quota = byId<HTMLSelectElement>('tab-node-quota')
  const upload = byId<HTMLSelectElement>('tab-node-upload')
  const pauseHidden = byId<HTMLInputElement>('tab-node-pause-hidden')
  const statusEl = byId('tab-node-status')
  const cacheEl = byId('tab-node-cache')
  const card = byId('tab-node-card')

  let phase: Phase = 'stopped'
  let node: TabNode | undefined
  let failure: unknown
  let stats: TabNodeStats | undefined
  let roots: string[] = []
  let caching: AbortController | undefined
  let timer: ReturnType<typeof setInterval> | undefined

  const cacheLine = (text: string, tone: '' | 'ok' | 'bad' | 'busy' = '') => {
    cacheEl.className = `status ${tone}`
    setText(cacheEl, text)
  }

  const renderStatus = () => {
    const paused = phase === 'serving' && pauseHidden.checked && document.hidden
    const shown = paused ? 'paused' : phase
    statusEl.dataset.state = shown
    card.dataset.state = shown
    const code = phase === 'error' ? errorCode(failure) : undefined
    if (code === undefined) delete statusEl.dataset.code
    else statusEl.dataset.code = code
    const relays = relayCount(node?.multiaddrs() ?? [])
    const text: Record<typeof shown, string> = {
      stopped:
        stats === undefined
          ? 'Off: this tab only downloads.'
          : `Stopped. It served ${formatBytes(stats.bytesServed)} while on.`,
      starting: 'Starting: reserving a relay slot on the full nodes…',
      serving: `Serving: other browsers reach this tab over WebRTC through ${plural(relays, 'relay')}.`,
      paused: 'Paused while this tab is hidden: no new sessions until it is visible again.',
      stopping: 'Stopping: ending the sessions…',
      error: `Error ${code}: ${(failure as Error)?.message ?? String(failure)}`,
    }
    setText(statusEl.querySelector('span') ?? statusEl, text[shown])
    statusEl.title = phase === 'error' ? String((failure as Error)?.message ?? failure) : ''
    const off = phase === 'stopped' || phase === 'error'
    start.disabled = !off
    stop.disabled = phase !== 'serving'
    for (const input of [quota, upload, pauseHidden]) input.disabled = !off
  }

  const renderIdentity = () => {
    const peer = byId('tab-node-peer')
    const address = byId('tab-node-address')
    if (node === undefined) {
      if (phase !== 'stopped' && phase !== 'error') return
      delete peer.dataset.peer
      delete address.dataset.addresses
      setText(peer, '—')
      setText(address, '—')
      return
    }
    peer.dataset.peer = node.peerId
    peer.replaceChildren(h('code', { text: shortId(node.peerId, 8, 6), title: node.peerId }))
    const [first, ...more] = node.multiaddrs()
    // Re-rendered every second: only when the list changed, or an opened list would close.
    const key = [first, ...more].join(' ')
    if (address.dataset.addresses === key) return
    address.dataset.addresses = key
    if (first === undefined) {
      address.replaceChildren('—')
      return
    }
    if (more.length === 0) {
      address.replaceChildren(h('code', { class: 'address', text: first }))
      return
    }
    // Every address, one click away: a summary with the first, the rest below it.
    address.replaceChildren(
      h(
        'details',
        { class: 'addresses' },
        h(
          'summary',
          {},
          h('code', { class: 'address', text: first }),
          h('span', { class: 'muted', text: ` (+${more.length} more)` }),
        ),
        h('ul', {}, ...more.map((a) => h('li', {}, h('code', { class: 'address', text: a })))),
      ),
    )
  }

  const renderCounters = () => {
    const s = stats
    const served = byId('tab-node-served')
    served.dataset.bytes = String(s?.bytesServed ?? 0)
    setText(served.querySelector('.tile-value') ?? served, formatBytes(s?.bytesServed ?? 0))
    const sessions = byId('tab-node-sessions')
    setText(
      sessions.querySelector('.tile-value') ?? sessions,
      `${s?.sessionsOpen ?? 0} / ${s?.sessionsTotal ?? 0}`,
    )
    const das = byId('tab-node-das')
    das.dataset.claims = String(s?.das.claims ?? 0)
    das.dataset.units = String(s?.das.units ?? 0)
    setText(das.querySelector('.tile-value') ?? das, (s?.das.units ?? 0).toLocaleString())
    setText(
      das.querySelector('.tile-label') ?? das,
      `blocks acknowledged · ${plural(s?.das.claims ?? 0, 'claim')}`,
    )
    const refused = byId('tab-node-refused')
    refused.dataset.count = String(s?.refused ?? 0)
    setText(refused.querySelector('.tile-value') ?? refused, String(s?.refused ?? 0))
    refused.title = Object.entries(s?.refusedByCode ?? {})
      .map(([code, n]) => `${code}: ${n}`)
      .join('\n')
    const store = byId('tab-node-store')
    setText(store.querySelector('.tile-value') ?? store, formatBytes(s?.store.bytes ?? 0))
    setText(
      store.querySelector('.tile-label') ?? store,
      `stored of ${formatBytes(s?.store.quota ?? Number(quota.value))}`,
    )
  }

  const renderRoots = () => {
    const list = byId('tab-node-roots')
    if (roots.length === 0) {
      list.replaceChildren(h('li', { class: 'empty', text: 'Nothing yet.' }))
      return
    }
    list.replaceChildren(
      ...roots.map((hex) => {
        const { name, detail } = describeRoot(state, hex)
        return h(
          'li',
          { 'data-root': hex },
          h('strong', { text: name }),
          h('span', { class: 'muted', text: ` · ${detail} · ` }),
          h('code', { text: shortId(hex, 10, 6), title: hex }),
        )
      }),
    )
  }

  const render = () => {
    renderStatus()
    renderIdentity()
    renderCounters()
    renderRoots()
  }

  const poll = async () => {
    const current = node
    if (current === undefined) return
    try {
      const [s, r] = await Promise.all([current.stats(), current.roots()])
      if (current !== node) return
      stats = s
      roots = r
    } catch (error) {
      // Stopped meanwhile, or the worker died: only the latter is news.
      if (current !== node || errorCode(error) === 'TAB_NODE_STOPPED') return
      failure = error
      phase = 'error'
      void halt()
    }
    render()
  }

  /** Caches the demo content one after the other; the panel says how far along it is. */
  const cacheAll = async (current: TabNode, signal: AbortSignal) => {
    for (const content of toCache(state)) {
      try {
        cacheLine(`Caching ${content.name}…`, 'busy')
        const cached = await current.cache(content.hex, {
          signal,
          onProgress: (e) =>
            cacheLine(
              `Caching ${content.name}: ${formatBytes(e.bytes)} of ${formatBytes(e.total)} verified…`,
              'busy',
            ),
        })
        if (!cached.fetched) cacheLine(`${content.name} was held already.`)
        await poll()
      } catch (error) {
        if (signal.aborted) return
        cacheLine(
          `Could not cache ${content.name}: ${errorCode(error)}: ${(error as Error).message}`,
          'bad',
        )
        return
      }
    }
    cacheLine(
      `Holding ${plural(roots.length, 'item')}: peers that ask the network for them may be served by this tab.`,
      'ok',
    )
  }

  /** Stops the node (if any) and the polling; the phase is set by the caller. */
  const halt = async () => {
    caching?.abort()
    caching = undefined
    clearInterval(timer)
    timer = undefined
    const current = node
    node = undefined
    state.ownTab = undefined
    state.emit('refresh')
    await current?.stop().catch(() => {})
  }

  start.addEventListener('click', () => {
    void (async () => {
      phase = 'starting'
      failure = undefined
      stats = undefined
      roots = []
      cacheLine('')
      render()
      const options: TabNodeOptions = {
        relays: state.network.nodes.filter((n) => n.running).map((n) => n.multiaddr),
        quota: Number(quota.value),
        pauseWhenHidden: pauseHidden.checked,
        ...(upload.value === '' ? {} : { maxUpload: Number(upload.value) }),
      }
      try {
        // Loaded on demand: most visitors never contribute, the page stays light for them.
        const { startNode } = await import('../../src/browser/node/tab-node.ts')
        node = await startNode(options)
      } catch (error) {
        failure = error
        phase = 'error'
        render()
        return
      }
      phase = 'serving'
      state.ownTab = node.peerId
      state.emit('refresh')
      caching = new AbortController()
      timer = setInterval(() => void poll(), POLL_MS)
      await poll()
      await cacheAll(node, caching.signal)
    })()
  })

  stop.addEventListener('click', () => {
    phase = 'stopping'
    render()
    void halt().then(() => {
      phase = 'stopped'
      cacheLine('')
      render()
    })
  })

  // Leaving the page ends every session cleanly (startNode listens too; stop is idempotent).
  addEventListener('pagehide', () => void node?.stop())
  document.addEventListener('visibilitychange', renderStatus)
  render()
}
