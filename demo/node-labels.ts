/**
 * What the nodes panel says went wrong with each node, by kind: it lied (content that failed
 * verification), was unreachable, closed (dropped the session), stalled, or failed otherwise.
 * Fed by the page's downloads and by the service worker's fetches (media), so a lie shows
 * wherever it was caught. A label goes stale: a clean download from that node clears it, and a
 * restart clears any label but a lie (a node that lied is not trusted for having restarted).
 */
import { type FailureKind, failureKind } from '../src/browser/sw/failure-kind.ts'

export type { FailureKind }

/** Where a failure was caught: the page's download client, or the service worker. */
export type CaughtBy = 'download' | 'service worker'

export interface NodeLabel {
  readonly kind: FailureKind
  readonly code: string
  readonly message: string
  readonly by: CaughtBy
  readonly at: number
}

export class NodeLabels {
  private readonly labels = new Map<string, NodeLabel>()

  /** `peer` failed as `code` says; a lie is not overwritten by a lesser failure. */
  note(
    peer: string,
    failure: { code: string; message: string; status?: number },
    by: CaughtBy,
  ): void {
    const kind = failureKind(failure.code, failure.status)
    // Not having the content is not the node's fault, nor is the page closing its client.
    if (kind === 'not-found' || failure.code === 'FETCH_CLOSED') return
    const old = this.labels.get(peer)
    if (old?.kind === 'lied' && kind !== 'lied') return
    this.labels.set(peer, {
      kind,
      code: failure.code,
      message: failure.message,
      by,
      at: Date.now(),
    })
  }

  /** A download from `peer` went through without a failure of it: what it did before is past. */
  servedCleanly(peer: string): void {
    this.labels.delete(peer)
  }

  /** `peer` was started again: only a lie outlives a restart. */
  restarted(peer: string): void {
    if (this.labels.get(peer)?.kind !== 'lied') this.labels.delete(peer)
  }

  get(peer: string): NodeLabel | undefined {
    return this.labels.get(peer)
  }
}
