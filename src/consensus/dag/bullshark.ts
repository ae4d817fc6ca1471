/**
 * Bullshark's commit rule over Narwhal's DAG (the partially synchronous version, as Sui's
 * `bullshark.rs` and the paper have it), sans-I/O: certificates go in in causal order (each
 * after its parents), committed sub-DAGs come out in the order every honest member computes.
 *
 *   - Leaders sit on even rounds (2, 4, …), one per round, from a per-epoch order.
 *   - A leader of round r is committed when f + 1 certificates of round r + 1 reference it.
 *   - Before it, the earlier uncommitted leaders it reaches by a path are committed, oldest
 *     first: a leader with f + 1 supporters is reached by every later leader's 2f + 1 parents
 *     (quorum intersection), so members that committed it directly and members that reach it
 *     through a later leader agree.
 *   - A leader's sub-DAG is its causal history not committed before, ordered by (round,
 *     author); a certificate is committed once and never again.
 *
 * Rounds more than `gcDepth` below the last committed leader are forgotten, certificates
 * arriving for them are ignored (Narwhal's garbage collection makes the same cut).
 */
import { deriveKey } from '../../b3/hash.ts'
import type { CommitteeShape, DagVertex, Member } from './dag-types.ts'

/** One leader's commit: the leader and the certificates it orders (the leader last). */
export interface CommittedSubDag {
  readonly leader: DagVertex
  readonly vertices: readonly DagVertex[]
}

export interface BullsharkOptions {
  readonly committee: CommitteeShape
  /** The leader of an even round (2, 4, …). */
  readonly leaderOf: (round: number) => Member
  /** Rounds kept below the last committed leader's (default 50). */
  readonly gcDepth?: number
  /**
   * Resume after a restart: the round of the last leader committed before it (persisted with
   * the DAG, narwhal-store.ts). Leaders at or below it never commit again, and when that leader's
   * certificate is added again (a recovered member re-delivers its DAG) its causal history counts
   * as committed: that is exactly what was committed before (each committed leader's history
   * holds every earlier commit, see `#tryCommit`), so later leaders order the same certificates
   * the other members do. Not "every certificate at or below the round": one of an earlier round
   * that the leader does not reach is still to be committed by a later leader. Until that
   * certificate is added, nothing commits (it is in the recovered DAG: it was stored before it
   * was delivered). Default 0: a fresh start.
   */
  readonly lastCommittedRound?: number
}

export const DEFAULT_GC_DEPTH = 50

export class Bullshark {
  readonly #committee: CommitteeShape
  readonly #leaderOf: (round: number) => Member
  readonly #gcDepth: number
  /** round → author → certificate. */
  readonly #dag = new Map<number, Map<Member, DagVertex>>()
  readonly #byDigest = new Map<string, DagVertex>()
  readonly #committed = new Set<string>()
  #lastCommittedRound = 0
  /** Resuming: the committed leader round whose certificate has not been added again yet. */
  #resumeRound = 0
  /** The resumed leader's history, until `takeResumed` hands it out. */
  #resumed: DagVertex[] = []

  constructor(options: BullsharkOptions) {
    this.#committee = options.committee
    this.#leaderOf = options.leaderOf
    this.#gcDepth = options.gcDepth ?? DEFAULT_GC_DEPTH
    if (!Number.isInteger(this.#gcDepth) || this.#gcDepth < 2) {
      throw new RangeError(`gcDepth must be an integer ≥ 2, got ${options.gcDepth}`)
    }
    const resume = options.lastCommittedRound ?? 0
    if (!Number.isInteger(resume) || resume < 0 || resume % 2 !== 0) {
      throw new RangeError(`lastCommittedRound is an even round ≥ 0 (a leader's), got ${resume}`)
    }
    this.#lastCommittedRound = resume
    this.#resumeRound = resume
  }

  /** The round of the last committed leader (0 before any). */
  get lastCommittedRound(): number {
    return this.#lastCommittedRound
  }

  /** Rounds below this are forgotten. */
  get gcRound(): number {
    return Math.max(0, this.#lastCommittedRound - this.#gcDepth)
  }

  /**
   * Adds a certificate (its parents added before, or below the GC round) and returns what it
   * lets commit, in order. A second certificate of one author and round is ignored: Narwhal
   * certifies at most one (2f + 1 votes of members that vote once intersect in an honest one).
   */
  add(vertex: DagVertex): CommittedSubDag[] {
    if (vertex.round <= this.gcRound) return []
    let round = this.#dag.get(vertex.round)
    if (round === undefined) {
      round = new Map()
      this.#dag.set(vertex.round, round)
    }
    if (round.has(vertex.author) || this.#byDigest.has(vertex.digest)) return []
    round.set(vertex.author, vertex)
    this.#byDigest.set(vertex.digest, vertex)
    if (this.#resumeRound > 0) {
      if (vertex.round !== this.#resumeRound || vertex.author !== this.#leaderOf(vertex.round)) {
        return []
      }
      // The leader we had committed before the restart: its history is what we committed.
      this.#resumed = this.#orderDag(vertex)
      this.#resumeRound = 0
      // Later rounds added before it (a re-delivery is causal, so none reference it) may
      // already support later leaders.
      const out: CommittedSubDag[] = []
      for (const r of [...this.#dag.keys()].sort((a, b) => a - b)) {
        if (r > vertex.round) out.push(...this.#tryCommit(r - 1))
      }
      return out
    }
    return this.#tryCommit(vertex.round - 1)
  }

  /**
   * Once resumed (the last committed leader's certificate added again): the certificates that
   * counted as committed then, once; empty before and after. A member marks their batches
   * committed, as they were before the restart or before it rejoined the DAG.
   */
  takeResumed(): readonly DagVertex[] {
    const resumed = this.#resumed
    this.#resumed = []
    return resumed
  }

  #vertex(round: number, author: Member): DagVertex | undefined {
    return this.#dag.get(round)?.get(author)
  }

  #leader(round: number): DagVertex | undefined {
    return this.#vertex(round, this.#leaderOf(round))
  }

  #tryCommit(leaderRound: number): CommittedSubDag[] {
    if (leaderRound < 2 || leaderRound % 2 !== 0 || leaderRound <= this.#lastCommittedRound) {
      return []
    }
    const leader = this.#leader(leaderRound)
    if (leader === undefined) return []
    let support = 0
    for (const v of this.#dag.get(leaderRound + 1)?.values() ?? []) {
      if (v.parents.includes(leader.digest)) support++
    }
    if (support < this.#committee.validity) return []
    // The earlier leaders this one reaches, newest first.
    const leaders = [leader]
    let current = leader
    for (let r = leaderRound - 2; r > this.#lastCommittedRound; r -= 2) {
      const earlier = this.#leader(r)
      if (earlier !== undefined && this.#linked(current, earlier)) {
        leaders.push(earlier)
        current = earlier
      }
    }
    const out: CommittedSubDag[] = []
    for (const l of leaders.reverse()) {
      out.push({ leader: l, vertices: this.#orderDag(l) })
      this.#lastCommittedRound = l.round
    }
    this.#collect()
    return out
  }

  /** Whether `to` is in `from`'s causal history (a path of parent links). */
  #linked(from: DagVertex, to: DagVertex): boolean {
    let frontier = new Set([from.digest])
    for (let r = from.round; r > to.round; r--) {
      const next = new Set<string>()
      for (const digest of frontier) {
        for (const p of this.#byDigest.get(digest)?.parents ?? []) next.add(p)
      }
      frontier = next
      if (frontier.size === 0) return false
    }
    return frontier.has(to.digest)
  }

  /** The leader's causal history not committed before (above the GC round), by (round, author). */
  #orderDag(leader: DagVertex): DagVertex[] {
    const gcRound = this.gcRound
    const found: DagVertex[] = []
    const seen = new Set<string>([leader.digest])
    const stack = [leader]
    while (stack.length > 0) {
      const v = stack.pop()!
      if (this.#committed.has(v.digest)) continue
      found.push(v)
      if (v.round - 1 <= gcRound) continue
      for (const p of v.parents) {
        if (seen.has(p)) continue
        seen.add(p)
        const parent = this.#byDigest.get(p)
        if (parent !== undefined) stack.push(parent)
      }
    }
    found.sort((a, b) => a.round - b.round || a.author - b.author)
    for (const v of found) this.#committed.add(v.digest)
    return found
  }

  /** Forgets the rounds at or below the GC round. */
  #collect(): void {
    const gcRound = this.gcRound
    for (const [round, vertices] of this.#dag) {
      if (round > gcRound) continue
      for (const v of vertices.values()) {
        this.#committed.delete(v.digest)
        this.#byDigest.delete(v.digest)
      }
      this.#dag.delete(round)
    }
  }
}

/**
 * A per-epoch leader order: the committee's members shuffled by the epoch's seed (the beacon),
 * then round-robin over even rounds: `leaderOf(2k) = order[(k - 1) mod n]`. Every member computes
 * the same order from the same seed.
 */
export function leaderSchedule(size: number, seed: Uint8Array): (round: number) => Member {
  const order = Array.from({ length: size }, (_, i) => i)
  // Fisher–Yates with BLAKE3 output as the randomness: 4 bytes a draw, rejection-free for the
  // committee sizes here (bias < size / 2^32).
  const stream = deriveKey('fulmen 2026 leader schedule', seed, 4 * Math.max(1, size))
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength)
  for (let i = size - 1; i > 0; i--) {
    const j = view.getUint32(4 * i) % (i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return (round: number) => {
    if (!Number.isInteger(round) || round < 2 || round % 2 !== 0) {
      throw new RangeError(`leaders sit on even rounds ≥ 2, got ${round}`)
    }
    return order[(round / 2 - 1) % size]!
  }
}
