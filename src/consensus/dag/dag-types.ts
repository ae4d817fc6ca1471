/**
 * The DAG that Narwhal builds and Bullshark orders (DESIGN.md "Consensus"), as the two halves
 * share it: a committee of n = 3f + 1 equal-weight members indexed 0..n-1 (the epoch's committee
 * in state order), rounds numbered from 1, certificates named by their header's digest.
 *
 * Narwhal (narwhal-core.ts) makes and checks headers, votes and certificates and delivers each
 * certificate once its parents have been delivered (causal order); Bullshark (bullshark.ts)
 * takes certificates in that order and commits leaders' sub-DAGs.
 */

/** A committee member's position in the epoch's committee. */
export type Member = number

/** Sizes of a committee of n equal-weight members tolerating f faults (n ≥ 3f + 1). */
export interface CommitteeShape {
  readonly size: number
  /** f = ⌊(n − 1) / 3⌋ */
  readonly faults: number
  /** n − f (2f + 1 when n = 3f + 1): votes that certify a header, certificates that advance a
   * round. */
  readonly quorum: number
  /** f + 1: certificates of the next round that commit a leader. */
  readonly validity: number
}

export function committeeShape(size: number): CommitteeShape {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`a committee has at least one member, got ${size}`)
  }
  const faults = Math.floor((size - 1) / 3)
  // n − f, not 2f + 1: equal when n = 3f + 1, but for other sizes (5 members: f = 1) two sets
  // of 2f + 1 could meet only in a faulty member; two sets of n − f always meet in f + 1.
  return { size, faults, quorum: size - faults, validity: faults + 1 }
}

/**
 * What ordering needs of a certificate: who, which round, which certificates of the round
 * before it references, and its name. `digest` is the lowercase hex of the header digest.
 */
export interface DagVertex {
  readonly digest: string
  readonly author: Member
  readonly round: number
  /** Digests of certificates of round − 1 (none in round 1). */
  readonly parents: readonly string[]
}
