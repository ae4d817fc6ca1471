/**
 * Content summaries: what a node tells its closest peers about the content it is asked for
 * most, and what it knows of theirs. Sans-I/O: no timers, no sockets; the caller passes the
 * time, sends the snapshots and hands in the ones it receives.
 *
 * `PopularContent` counts requests in bounded memory and keeps its `capacity` most requested
 * roots in a cuckoo filter. It is shared only when it has changed enough: when the roots
 * inserted and removed since the last share reach `shareThreshold` of the capacity, and no
 * sooner than `minShareIntervalMs` after it. Fleek's earlier node sent the whole filter on
 * every insert; here a stream of requests for the same popular content sends nothing at all.
 *
 * `PeerSummaries` holds each peer's latest filter. On a miss a node asks `holders(root)` before
 * an origin; a false positive costs one round trip (about 0.1 % per peer asked; see
 * cuckoo-filter.ts), a summary out of date one more miss.
 *
 * Counting is Space-Saving (Metwally, Agrawal, El Abbadi, 2005) over `capacity` members (the
 * filter) and `candidateFactor × capacity` candidates: a root not counted takes the place of
 * the least counted candidate, with its count + 1, so a root requested often enough always gets
 * in. A candidate replaces the least requested member only when the requests it surely had (its
 * count less what it inherited) outnumber the member's count: neither ties nor a one-off
 * request that inherited a high count churn the filter. Every `epochRequests` requests all
 * counts halve, so what was popular once fades.
 *
 * Measured on the stream of content-summary.test.ts (capacity 1,000, Zipf s = 1 over 50,000
 * roots, 300,000 requests): the default epoch of 32 × capacity makes ~4,600 filter inserts and
 * ~80 shares. Tried once on the same stream: an epoch of 8 × capacity follows change faster but
 * churns the tail of the top list (15,300 inserts, 296 shares); 128 × capacity, 2,700 and 44;
 * without the inherited-count rule, 32 × capacity made 7,400 and 138.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  CuckooFilter,
  DEFAULT_FINGERPRINT_BITS,
  decodeCuckooFilter,
  encodeCuckooFilter,
  ROOT_LEN,
} from './cuckoo-filter.ts'
import { RoutingError } from './errors.ts'

/** What a node sends its peers: the encoded filter, and its place in the node's sequence. */
export interface SummarySnapshot {
  /** 1, 2, 3… for each snapshot a node takes: a peer keeps the highest it has seen. */
  readonly seq: number
  /** `encodeCuckooFilter` of the node's filter. */
  readonly bytes: Uint8Array
}

export interface PopularContentOptions {
  /** Roots the filter holds: the most requested ones. */
  readonly capacity: number
  /** Share when the roots inserted plus removed since the last share reach this fraction of
   * `capacity` (default 0.1). */
  readonly shareThreshold?: number
  /** Least time between two shares, in the caller's milliseconds (default 5,000). */
  readonly minShareIntervalMs?: number
  /** Requests per epoch: after each, every count halves (default 32 × capacity). */
  readonly epochRequests?: number
  /** Candidates counted besides the members, as a multiple of `capacity` (default 4). */
  readonly candidateFactor?: number
  /** Fingerprint bits of the filter, 8..16 (default 12). */
  readonly fingerprintBits?: number
}

export const DEFAULT_SHARE_THRESHOLD = 0.1
export const DEFAULT_MIN_SHARE_INTERVAL_MS = 5_000
export const DEFAULT_CANDIDATE_FACTOR = 4
const DEFAULT_EPOCH_FACTOR = 32

interface Counted {
  readonly key: string
  readonly root: Uint8Array
  count: number
  /** Of `count`, what it inherited from the candidate it replaced: at most this much is not
   * its own (Space-Saving's overestimate). */
  error: number
  /** In the filter (the members' heap), or a candidate. */
  member: boolean
  /** Position in its heap. */
  at: number
}

/**
 * A min-heap of counts with each entry's position kept in the entry, so an entry found by key
 * moves in O(log n) when its count changes.
 */
class CountHeap {
  readonly entries: Counted[] = []

  get size(): number {
    return this.entries.length
  }

  least(): Counted | undefined {
    return this.entries[0]
  }

  push(entry: Counted): void {
    entry.at = this.entries.length
    this.entries.push(entry)
    this.up(entry.at)
  }

  /** Takes `entry` out. */
  remove(entry: Counted): void {
    const last = this.entries.pop()!
    if (last === entry) return
    this.entries[entry.at] = last
    last.at = entry.at
    this.up(last.at)
    this.down(last.at)
  }

  /** Restores the order after `entry`'s count grew. */
  grew(entry: Counted): void {
    this.down(entry.at)
  }

  /** Halves every count and error (order kept: a ≤ b ⇒ ⌊a/2⌋ ≤ ⌊b/2⌋). */
  halve(): void {
    for (const entry of this.entries) {
      entry.count >>>= 1
      entry.error >>>= 1
    }
  }

  private up(at: number): void {
    const { entries } = this
    const entry = entries[at]!
    while (at > 0) {
      const parent = (at - 1) >> 1
      if (entries[parent]!.count <= entry.count) break
      this.put(entries[parent]!, at)
      at = parent
    }
    this.put(entry, at)
  }

  private down(at: number): void {
    const { entries } = this
    const entry = entries[at]!
    for (;;) {
      let child = 2 * at + 1
      if (child >= entries.length) break
      if (child + 1 < entries.length && entries[child + 1]!.count < entries[child]!.count) child++
      if (entries[child]!.count >= entry.count) break
      this.put(entries[child]!, at)
      at = child
    }
    this.put(entry, at)
  }

  private put(entry: Counted, at: number): void {
    this.entries[at] = entry
    entry.at = at
  }
}

function checkRoot(root: Uint8Array): void {
  if (!(root instanceof Uint8Array) || root.length !== ROOT_LEN)
    throw new RoutingError('ROUTING_INVALID_ARGUMENT', `a root must be ${ROOT_LEN} bytes`)
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RoutingError('ROUTING_INVALID_ARGUMENT', `${name} must be a positive integer`)
  return value
}

/** A node's most requested content, as a cuckoo filter shared when it has changed enough. */
export class PopularContent {
  readonly capacity: number
  readonly shareThreshold: number
  readonly minShareIntervalMs: number
  readonly epochRequests: number
  private readonly maxCandidates: number
  private readonly filter: CuckooFilter
  private readonly members = new CountHeap()
  private readonly candidates = new CountHeap()
  private readonly byKey = new Map<string, Counted>()
  private requestsInEpoch = 0
  private changes = 0
  private lastShareMs: number | undefined
  private seq = 0

  constructor(options: PopularContentOptions) {
    this.capacity = positiveInteger('capacity', options.capacity)
    const threshold = options.shareThreshold ?? DEFAULT_SHARE_THRESHOLD
    if (!(threshold > 0 && threshold <= 1))
      throw new RoutingError('ROUTING_INVALID_ARGUMENT', 'shareThreshold must be in (0, 1]')
    this.shareThreshold = threshold
    const interval = options.minShareIntervalMs ?? DEFAULT_MIN_SHARE_INTERVAL_MS
    if (!(interval >= 0 && Number.isFinite(interval)))
      throw new RoutingError('ROUTING_INVALID_ARGUMENT', 'minShareIntervalMs must be ≥ 0')
    this.minShareIntervalMs = interval
    this.epochRequests = positiveInteger(
      'epochRequests',
      options.epochRequests ?? DEFAULT_EPOCH_FACTOR * this.capacity,
    )
    const factor = positiveInteger(
      'candidateFactor',
      options.candidateFactor ?? DEFAULT_CANDIDATE_FACTOR,
    )
    this.maxCandidates = factor * this.capacity
    this.filter = new CuckooFilter({
      capacity: this.capacity,
      fingerprintBits: options.fingerprintBits ?? DEFAULT_FINGERPRINT_BITS,
    })
  }

  /** Roots in the filter now. */
  get size(): number {
    return this.members.size
  }

  /** Roots counted, members and candidates: at most (1 + candidateFactor) × capacity. */
  get tracked(): number {
    return this.byKey.size
  }

  /** Whether `root` is among the roots in the filter (exactly: not the filter's answer). */
  has(root: Uint8Array): boolean {
    checkRoot(root)
    return this.byKey.get(bytesToHex(root))?.member === true
  }

  /** Counts one request for `root`; the filter follows the most requested roots. */
  recordRequest(root: Uint8Array): void {
    checkRoot(root)
    const key = bytesToHex(root)
    let entry = this.byKey.get(key)
    if (entry?.member === true) {
      entry.count++
      this.members.grew(entry)
    } else {
      if (entry !== undefined) {
        entry.count++
        this.candidates.grew(entry)
      } else {
        entry = this.countNew(key, root)
      }
      this.promote(entry)
    }
    if (++this.requestsInEpoch >= this.epochRequests) this.endEpoch()
  }

  /**
   * Whether a snapshot is due: the filter has changed by `shareThreshold` of its capacity since
   * the last one (never shared: since it was empty), and `minShareIntervalMs` have passed.
   */
  shouldShare(nowMs: number): boolean {
    if (this.changes < Math.max(1, Math.ceil(this.shareThreshold * this.capacity))) return false
    return this.lastShareMs === undefined || nowMs - this.lastShareMs >= this.minShareIntervalMs
  }

  /** The filter's bytes under the next sequence number; the change count starts over. */
  takeSnapshot(nowMs: number): SummarySnapshot {
    this.changes = 0
    this.lastShareMs = nowMs
    return { seq: ++this.seq, bytes: encodeCuckooFilter(this.filter) }
  }

  /** A root counted for the first time: a free candidate place, or the least one's. */
  private countNew(key: string, root: Uint8Array): Counted {
    let count = 1
    if (this.candidates.size >= this.maxCandidates) {
      const least = this.candidates.least()!
      this.candidates.remove(least)
      this.byKey.delete(least.key)
      count = least.count + 1
    }
    const entry: Counted = { key, root, count, error: count - 1, member: false, at: 0 }
    this.byKey.set(key, entry)
    this.candidates.push(entry)
    return entry
  }

  /**
   * Moves the candidate `entry` into the filter if there is room, or if it has more requests
   * than the least requested member, which becomes a candidate in its place.
   */
  private promote(entry: Counted): void {
    const least = this.members.size >= this.capacity ? this.members.least()! : undefined
    if (least !== undefined && entry.count - entry.error <= least.count) return
    if (least !== undefined) this.filter.delete(least.root)
    if (!this.filter.insert(entry.root)) {
      // Its buckets are crowded (rare; or roots ground to collide): it stays a candidate, and
      // the member goes back into the slot it just left, which an undone insert kept free.
      if (least !== undefined) this.filter.insert(least.root)
      return
    }
    this.candidates.remove(entry)
    if (least !== undefined) {
      this.members.remove(least)
      least.member = false
      this.candidates.push(least)
      this.changes++
    }
    entry.member = true
    this.members.push(entry)
    this.changes++
  }

  private endEpoch(): void {
    this.requestsInEpoch = 0
    this.members.halve()
    this.candidates.halve()
    // Candidates down to 0 free their places; members stay until something beats them.
    for (const entry of [...this.candidates.entries])
      if (entry.count === 0) {
        this.candidates.remove(entry)
        this.byKey.delete(entry.key)
      }
  }
}

/**
 * The latest summary of each peer. A snapshot replaces a peer's summary only if its `seq` is
 * higher, so one delayed in flight never overwrites a newer one. A peer that restarts counts
 * from 1 again: `remove` it when its connection closes, so its next summary is taken.
 */
export class PeerSummaries {
  private readonly byPeer = new Map<string, { readonly seq: number; filter: CuckooFilter }>()

  /** Peers with a summary. */
  get size(): number {
    return this.byPeer.size
  }

  /**
   * Takes `snapshot` as `peerId`'s summary if it is newer than the one held: true if taken,
   * false if stale. Bytes that are not a summary throw a `RoutingError` (`ROUTING_SUMMARY_*`)
   * and leave the held summary as it was.
   */
  update(peerId: string, snapshot: SummarySnapshot): boolean {
    const { seq } = snapshot
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new RoutingError('ROUTING_INVALID_ARGUMENT', 'seq must be a non-negative integer')
    const held = this.byPeer.get(peerId)
    if (held !== undefined && seq <= held.seq) return false
    this.byPeer.set(peerId, { seq, filter: decodeCuckooFilter(snapshot.bytes) })
    return true
  }

  /** Whether `peerId` sent a summary that is held. */
  has(peerId: string): boolean {
    return this.byPeer.has(peerId)
  }

  /** Forgets `peerId`'s summary (it disconnected, or left the closest peers). */
  remove(peerId: string): boolean {
    return this.byPeer.delete(peerId)
  }

  /** Peers whose summary holds `root` (maybe: filters have false positives), in the order their
   * first summaries came. */
  holders(root: Uint8Array): string[] {
    checkRoot(root)
    const peers: string[] = []
    for (const [peerId, { filter }] of this.byPeer) if (filter.has(root)) peers.push(peerId)
    return peers
  }
}
