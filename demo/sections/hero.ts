/** The hero's live status chips: service worker, client key, nodes reachable. */
import { byId, setText } from '../dom.ts'
import { fingerprint } from '../format.ts'
import type { DemoState } from '../state.ts'

type Tone = 'ok' | 'warn' | 'bad' | 'idle'

function chip(id: string, text: string, tone: Tone, title?: string): void {
  const el = byId(id)
  el.dataset.tone = tone
  setText(el.querySelector('span') ?? el, text)
  if (title !== undefined) el.title = title
}

export function mountHero(state: DemoState): void {
  const render = () => {
    const sw = state.swState
    chip(
      'chip-sw',
      sw === 'active'
        ? 'service worker active'
        : sw === 'starting'
          ? 'service worker starting…'
          : 'no service worker',
      sw === 'active' ? 'ok' : sw === 'starting' ? 'idle' : 'bad',
    )
    const client = state.clients.current
    if (client === undefined) chip('chip-key', 'client starting…', 'idle')
    else {
      const hex = Array.from(client.publicKey, (b) => b.toString(16).padStart(2, '0')).join('')
      chip(
        'chip-key',
        `client key ${fingerprint(client.publicKey)}`,
        'ok',
        `EdDSA-Poseidon public key ${hex}`,
      )
    }
    // Staked nodes: the unstaked one is refused by design (the nodes panel says so).
    const full = state.peers.all.filter(
      (p) => p.role === 'node' && state.network.nodes[p.index ?? -1]?.role !== 'unstaked',
    )
    const reachable = full.filter(
      (p) =>
        !state.stopped.has(p.index ?? -1) && state.statuses.get(p.peerId)?.latencyMs !== undefined,
    ).length
    chip(
      'chip-nodes',
      `${reachable}/${full.length} nodes reachable`,
      reachable === full.length ? 'ok' : reachable > 0 ? 'warn' : 'bad',
    )
  }
  state.addEventListener('refresh', render)
  state.addEventListener('route', render)
  render()
}
