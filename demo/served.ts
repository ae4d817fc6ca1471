/** Blocks each node served to this page (verified ones only), for the nodes panel. */
export class ServedCounter {
  private readonly blocks = new Map<string, number>()

  add(peer: string, count = 1): void {
    this.blocks.set(peer, (this.blocks.get(peer) ?? 0) + count)
  }

  get(peer: string): number {
    return this.blocks.get(peer) ?? 0
  }
}
