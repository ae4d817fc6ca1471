/**
 * A grid of squares, one per 256 KiB block (or per group of blocks for very large content),
 * coloured by the node that served it, with rejected and resumed blocks marked.
 */
import { h } from './dom.ts'

export type BlockState = 'pending' | 'verified' | 'rejected' | 'resumed'

/** More cells than this and each cell stands for several blocks. */
const MAX_CELLS = 2048

export class BlockGrid {
  private readonly cells: HTMLElement[] = []
  private readonly perCell: number

  constructor(host: HTMLElement, blocks: number) {
    this.perCell = Math.max(1, Math.ceil(blocks / MAX_CELLS))
    const count = Math.ceil(blocks / this.perCell)
    for (let i = 0; i < count; i++) {
      const first = i * this.perCell
      const last = Math.min(blocks, first + this.perCell) - 1
      this.cells.push(
        h('i', {
          class: 'b',
          'data-state': 'pending',
          title: first === last ? `block ${first}` : `blocks ${first}–${last}`,
        }),
      )
    }
    host.replaceChildren(...this.cells)
  }

  state(block: number): BlockState | undefined {
    return this.cells[Math.floor(block / this.perCell)]?.dataset.state as BlockState | undefined
  }

  mark(
    block: number,
    state: BlockState,
    node?: { name: string; color: string; peer?: string; role?: string },
  ): void {
    const cell = this.cells[Math.floor(block / this.perCell)]
    if (cell === undefined) return
    cell.dataset.state = state
    if (node === undefined) return
    cell.dataset.node = node.name
    // Which peer, and what kind (full node, liar, browser tab): tabs get a marker of their own.
    if (node.peer !== undefined) cell.dataset.peer = node.peer
    if (node.role !== undefined) cell.dataset.role = node.role
    else delete cell.dataset.role
    cell.style.setProperty('--node', node.color)
    cell.title = `block ${block}: ${state} · ${node.name}`
  }
}
