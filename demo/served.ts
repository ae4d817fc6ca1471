/**
 * Blocks each node served, verified: to this page's download client, and to the service worker
 * (the media). The worker reports totals since it started; a worker the browser restarted
 * starts again from zero, so the totals of earlier instances are kept here.
 */
export class ServedCounter {
  private readonly page = new Map<string, number>()
  /** The current worker instance's totals, and the sum of the instances before it. */
  private worker: { startedAt: number; served: Readonly<Record<string, number>> } | undefined
  private readonly earlierWorkers = new Map<string, number>()

  /** Blocks the page's client verified from `peer`. */
  add(peer: string, count = 1): void {
    this.page.set(peer, (this.page.get(peer) ?? 0) + count)
  }

  /** The service worker's own count (its stats, `served` by peer id or gateway URL). */
  recordWorker(startedAt: number, served: Readonly<Record<string, number>>): void {
    if (this.worker !== undefined && this.worker.startedAt !== startedAt) {
      for (const [who, n] of Object.entries(this.worker.served))
        this.earlierWorkers.set(who, (this.earlierWorkers.get(who) ?? 0) + n)
    }
    this.worker = { startedAt, served }
  }

  /** Blocks `peer` served this page's download client. */
  get(peer: string): number {
    return this.page.get(peer) ?? 0
  }

  /** Blocks the service worker had from any of `names` (a node's peer id and its gateway). */
  byWorker(...names: readonly string[]): number {
    let n = 0
    for (const who of names)
      n += (this.earlierWorkers.get(who) ?? 0) + (this.worker?.served[who] ?? 0)
    return n
  }
}
