/** Delivery acknowledgement totals: every block this page acknowledged, to every node. */
import { byId, setText } from '../dom.ts'
import type { DemoState } from '../state.ts'

export function mountDa(state: DemoState): void {
  const render = () => {
    const t = state.da.totals()
    setText(byId('da-total'), t.acknowledgedUnits.toLocaleString())
    setText(byId('da-verified'), t.verifiedUnits.toLocaleString())
    setText(byId('da-commitments'), t.commitments.toLocaleString())
    setText(byId('da-cost'), `${Math.round(t.signMs + t.hashMs).toLocaleString()} ms`)
  }
  state.addEventListener('refresh', render)
  render()
}
