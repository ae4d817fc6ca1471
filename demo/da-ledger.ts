/**
 * Running totals of delivery acknowledgements. A client reports the counters of its current
 * sessions only: when a session is replaced (a node restarted, the route switched and the
 * client was recreated), its last counters are kept here so the totals never go backwards.
 */
import type { AckCounters } from '../src/client/node-session.ts'

export interface DaTotals {
  verifiedUnits: number
  acknowledgedUnits: number
  commitments: number
  signMs: number
  hashMs: number
}

const zero = (): DaTotals => ({
  verifiedUnits: 0,
  acknowledgedUnits: 0,
  commitments: 0,
  signMs: 0,
  hashMs: 0,
})

function add(into: DaTotals, a: AckCounters): void {
  into.verifiedUnits += a.verifiedUnits
  into.acknowledgedUnits += a.acknowledgedUnits
  into.commitments += a.commitments
  into.signMs += a.signMs
  into.hashMs += a.hashMs
}

export class DaLedger {
  /** Latest counters of each live session, by `<client>/<peer>`. */
  private readonly live = new Map<string, AckCounters>()
  /** Per peer: sessions that ended. */
  private readonly closed = new Map<string, DaTotals>()

  /** Records what client `source` reports for `peer` now. */
  record(source: string, peer: string, acks: AckCounters | undefined): void {
    if (acks === undefined) return
    const key = `${source}/${peer}`
    const last = this.live.get(key)
    // Counters went down: a new session replaced the one `last` counted.
    if (
      last !== undefined &&
      (acks.verifiedUnits < last.verifiedUnits || acks.commitments < last.commitments)
    )
      this.retire(key, peer, last)
    this.live.set(key, acks)
  }

  /** Client `source` is gone: its sessions' counters become history. */
  retireSource(source: string): void {
    for (const [key, acks] of this.live) {
      if (!key.startsWith(`${source}/`)) continue
      this.retire(key, key.slice(source.length + 1), acks)
    }
  }

  private retire(key: string, peer: string, acks: AckCounters): void {
    const totals = this.closed.get(peer) ?? zero()
    add(totals, acks)
    this.closed.set(peer, totals)
    this.live.delete(key)
  }

  /** Totals for one peer, or for every peer. */
  totals(peer?: string): DaTotals {
    const sum = zero()
    for (const [key, acks] of this.live)
      if (peer === undefined || key.endsWith(`/${peer}`)) add(sum, acks)
    for (const [p, acks] of this.closed) if (peer === undefined || p === peer) add(sum, acks)
    return sum
  }
}
