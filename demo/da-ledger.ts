/**
 * Running totals of delivery acknowledgements. A client reports the counters of its current
 * sessions only: when a session is replaced (a node restarted, the route switched and the
 * client was recreated), its last counters are kept here so the totals never go backwards.
 * Sources are named `client-<n>` (the page's download clients) and `sw-…` (the service
 * worker's), so the totals can be split between the two.
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

/** `client-3/<peer>` → `client`, `sw-…/<peer>` → `sw`. */
function kindOf(key: string): string {
  return key.slice(0, key.search(/[-/]/))
}

export class DaLedger {
  /** Latest counters of each live session, by `<client>/<peer>`. */
  private readonly live = new Map<string, AckCounters>()
  /** Per `<source kind>/<peer>`: sessions that ended. */
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
    const closedKey = `${kindOf(key)}/${peer}`
    const totals = this.closed.get(closedKey) ?? zero()
    add(totals, acks)
    this.closed.set(closedKey, totals)
    this.live.delete(key)
  }

  /** Totals for one peer, or for every peer; of one kind of source (`client`, `sw`), or all. */
  totals(peer?: string, kind?: string): DaTotals {
    const sum = zero()
    const wanted = (key: string) =>
      (peer === undefined || key.endsWith(`/${peer}`)) &&
      (kind === undefined || kindOf(key) === kind)
    for (const [key, acks] of this.live) if (wanted(key)) add(sum, acks)
    for (const [key, acks] of this.closed) if (wanted(key)) add(sum, acks)
    return sum
  }
}
