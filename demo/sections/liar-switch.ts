/**
 * The "lying node" switch: on, the client and the service worker ask the tampering node first
 * (`order: 'given'`), so every fetch shows the lie caught and the failover; off, honest nodes
 * by latency.
 */
import { byId, setText } from '../dom.ts'
import type { DemoState } from '../state.ts'

/** What each lying mode does, in words (src/devnet/lying-node.ts). */
const LIES: Record<string, string> = {
  'flip-byte': 'flips one bit of a block',
  'wrong-proof': 'corrupts a block’s proof',
  truncate: 'closes the stream early',
  stall: 'stops sending halfway',
  'wrong-root': 'announces different content',
  honest: 'forwards everything faithfully',
}

export function mountLiarSwitch(state: DemoState): void {
  const toggle = byId<HTMLInputElement>('lying-switch')
  const status = byId('liar-status')
  const card = byId('liar-card')
  const liar = state.network.liar
  if (liar === undefined) {
    toggle.disabled = true
    setText(status, 'This network has no lying node.')
    return
  }
  const upstream = state.peers.name(liar.upstream)
  const lie = LIES[liar.mode] ?? `lies (${liar.mode})`
  /** The position asked for while the switch is under way. */
  let switching: boolean | undefined

  const render = () => {
    toggle.checked = switching ?? state.liar
    toggle.disabled = switching !== undefined || state.busy
    card.classList.toggle('on', state.liar)
    if (switching !== undefined) return
    setText(
      status,
      state.busy
        ? 'Finish or cancel the download to switch.'
        : state.liar
          ? `On: requests go to ${liar.name} first. It proxies ${upstream} and ${lie}. Browser tabs are not asked meanwhile.`
          : 'Off: honest nodes only, nearest first.',
    )
  }

  toggle.addEventListener('change', () => {
    switching = toggle.checked
    render()
    setText(status, toggle.checked ? `Routing through ${liar.name}…` : 'Back to honest nodes…')
    void state
      .setLiar(toggle.checked)
      .catch((error: unknown) => setText(status, `Could not switch: ${(error as Error).message}`))
      .finally(() => {
        switching = undefined
        render()
      })
  })
  state.addEventListener('route', render)
  state.addEventListener('refresh', render)
  render()
}
