/**
 * Delivery acknowledgement totals: every block this page acknowledged, to every node, by its
 * download client and by the service worker's client (the media), each tile saying how much
 * came from which.
 */

import type { DaTotals } from '../da-ledger.ts'
import { byId, h, setText } from '../dom.ts'
import type { DemoState } from '../state.ts'

interface Tile {
  readonly id: string
  /** The label, given the tile's value (singular or plural). */
  readonly label: (n: number) => string
  readonly value: (t: DaTotals) => number
  readonly format?: (n: number) => string
}

const TILES: readonly Tile[] = [
  {
    id: 'da-total',
    label: (n) => (n === 1 ? 'block acknowledged' : 'blocks acknowledged'),
    value: (t) => t.acknowledgedUnits,
  },
  {
    id: 'da-verified',
    label: (n) => (n === 1 ? 'block verified' : 'blocks verified'),
    value: (t) => t.verifiedUnits,
  },
  {
    id: 'da-commitments',
    label: (n) => (n === 1 ? 'commitment signed' : 'commitments signed'),
    value: (t) => t.commitments,
  },
  {
    id: 'da-cost',
    label: () => 'signing + hashing',
    value: (t) => Math.round(t.signMs + t.hashMs),
    format: (n) => `${n.toLocaleString()} ms`,
  },
]

export function mountDa(state: DemoState): void {
  const parts = TILES.map((tile) => {
    const value = byId(tile.id)
    const li = value.parentElement ?? value
    const label = li.querySelector('.tile-label') ?? li
    const split = h('span', { class: 'tile-split', id: `${tile.id}-split` })
    li.append(split)
    return { tile, value, label, split }
  })
  const render = () => {
    const all = state.da.totals()
    const page = state.da.totals(undefined, 'client')
    const worker = state.da.totals(undefined, 'sw')
    for (const { tile, value, label, split } of parts) {
      const n = tile.value(all)
      const show = tile.format ?? ((x: number) => x.toLocaleString())
      setText(value, show(n))
      setText(label, tile.label(n))
      setText(
        split,
        `download ${show(tile.value(page))} · service worker ${show(tile.value(worker))}`,
      )
    }
  }
  state.addEventListener('refresh', render)
  render()
}
