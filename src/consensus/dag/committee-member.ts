/**
 * One committee member's whole ordering duty for one epoch, sans-I/O: transactions in, ordered
 * transactions out. It joins the three parts Narwhal separates into processes (Sui's worker,
 * primary and consensus) into one state machine over one stream of frames per peer:
 *
 * - batching (the worker): admitted transactions are sealed into batches (by size, or
 *   `batchDelayMs` after the first), broadcast to every member and referenced by digest in the
 *   member's next header;
 * - availability: a member votes for a header only once it holds every batch it references
 *   (held back, the batches asked of its author, until they arrive), so a certificate's 2f + 1
 *   voters include f + 1 honest members that hold its batches and answer a `batch-request`;
 * - Narwhal (narwhal-core.ts) makes the DAG, Bullshark (bullshark.ts) commits leaders;
 * - output: each committed leader's sub-DAG as its transactions in order (certificate by
 *   certificate, batch by batch), stamped with the leader header's timestamp, in the same
 *   sequence on every honest member. A sub-DAG whose batches are not all here waits (the
 *   missing ones asked of the certificates' authors and signers) and holds back the ones after.
 *
 * Transactions are neither checked nor de-duplicated here: the executor gives every
 * transaction a receipt and the orderer drops digests already executed (committee-orderer.ts).
 */

import { Bullshark, type CommittedSubDag, DEFAULT_GC_DEPTH, leaderSchedule } from './bullshark.ts'
import type { ConsensusFrame } from './consensus-frames.ts'
import { type CommitteeShape, committeeShape, type DagVertex, type Member } from './dag-types.ts'
import {
  batchDigest,
  decodeBatch,
  encodeBatch,
  MAX_BATCH_BYTES,
  MAX_BATCH_TRANSACTIONS,
} from './narwhal-batch.ts'
import {
  type NarwhalAction,
  NarwhalCore,
  type NarwhalEvent,
  type NarwhalMessage,
  type NarwhalRecord,
} from './narwhal-core.ts'
import {
  type Certificate,
  type DagSigner,
  type DagVerifier,
  type Header,
  signersOf,
  toHex,
} from './narwhal-messages.ts'

export interface CommitteeMemberOptions {
  readonly epoch: bigint
  readonly committeeSize: number
  readonly signer: DagSigner
  readonly verifier: DagVerifier
  /** The epoch's seed for Bullshark's leader order (the beacon's output). */
  readonly leaderSeed: Uint8Array
  /** The clock at construction (ms). */
  readonly nowMs: number
  /** How long a member waits for batches (or the leader) before an empty header (default 500). */
  readonly maxHeaderDelayMs?: number
  readonly gcDepth?: number
  /** A batch is sealed at this many bytes of transactions (default MAX_BATCH_BYTES). */
  readonly maxBatchBytes?: number
  /** …or this long after its first transaction (default 50 ms). */
  readonly batchDelayMs?: number
  /** Say our header or certificate again after this long idle (default 2 s). */
  readonly resendMs?: number
  /** Headers stamped further ahead than this get no vote (default 10 s). */
  readonly maxClockSkewMs?: number
  /** Headers held waiting for batches, at most (default 1,000). */
  readonly maxHeldHeaders?: number
  /** Batches kept, at most; the oldest go first (default 20,000). */
  readonly maxBatches?: number
}

export type MemberEvent =
  /** A transaction this member admitted (checked by the orderer). */
  | { readonly kind: 'transaction'; readonly bytes: Uint8Array }
  | { readonly kind: 'frame'; readonly frame: ConsensusFrame; readonly from: Member }
  | { readonly kind: 'tick'; readonly nowMs: number }

/** A committed leader's transactions, in the order every honest member gives them. */
export interface OrderedSubDag {
  readonly leaderRound: number
  readonly leader: Member
  /** The leader header's timestamp (ms). */
  readonly timestampMs: number
  readonly transactions: readonly Uint8Array[]
  /** Certificates it orders (the leader's last). */
  readonly certificates: number
}

export type MemberAction =
  | { readonly kind: 'send'; readonly to: Member; readonly frame: ConsensusFrame }
  | { readonly kind: 'broadcast'; readonly frame: ConsensusFrame }
  /** Store before carrying out the actions after it (narwhal-core.ts `persist`). */
  | { readonly kind: 'persist'; readonly record: NarwhalRecord }
  | { readonly kind: 'timer'; readonly atMs: number }
  | { readonly kind: 'commit'; readonly subDag: OrderedSubDag }
  | { readonly kind: 'equivocation'; readonly first: Header; readonly second: Header }
  | {
      readonly kind: 'refused'
      readonly what: 'header' | 'vote' | 'certificate' | 'batch'
      readonly from: Member
      readonly reason: string
    }

interface StoredBatch {
  readonly encoded: Uint8Array
  transactions?: readonly Uint8Array[]
}

/** A committed sub-DAG with its certificates, waiting for batches. */
interface PendingCommit {
  readonly leader: Certificate
  readonly certificates: readonly Certificate[]
  readonly missing: Set<string>
}

const MAX_BATCHES_PER_ANSWER = 64
/** Certificates in one answer to a range request (a GC window of 300 rounds of 4 is 1,200). */
const MAX_RANGE_CERTIFICATES = 4_096
/** How soon batches a commit waits for are asked for again. */
const ASK_AGAIN_MS = 1_000

export class CommitteeMember {
  readonly #shape: CommitteeShape
  readonly #member: Member
  readonly #core: NarwhalCore
  readonly #bullshark: Bullshark
  readonly #maxBatchBytes: number
  readonly #batchDelayMs: number
  readonly #maxHeld: number
  readonly #maxBatches: number
  #nowMs: number

  /** Transactions not yet sealed, their bytes, and when the first came. */
  #open: Uint8Array[] = []
  #openBytes = 0
  #openSinceMs = 0

  /** Batches by digest hex, oldest first (Map order). */
  readonly #batches = new Map<string, StoredBatch>()
  /** Headers waiting for batches: by header key, and which headers each batch unblocks. */
  readonly #held = new Map<string, { header: Header; from: Member; missing: Set<string> }>()
  readonly #heldOn = new Map<string, Set<string>>()
  /** Committed sub-DAGs in order; the first may wait for batches. */
  readonly #commits: PendingCommit[] = []
  /** Our certified headers not yet committed: round and batches, by digest hex. */
  readonly #ownUncommitted = new Map<string, { round: number; batches: readonly Uint8Array[] }>()
  /** Batches committed, by digest hex → the leader round that committed them. */
  readonly #committedBatches = new Map<string, number>()
  readonly #gcDepth: number
  #askedAtMs = Number.NEGATIVE_INFINITY
  #rangeAskedAtMs = Number.NEGATIVE_INFINITY
  readonly #rangeAnsweredAtMs = new Map<Member, number>()
  /** Salts used so far (see `#seal`). */
  #salt = 0

  /**
   * A member restarted from what it persisted (narwhal-store.ts): its Narwhal records and the
   * round of the last leader whose sub-DAG was handed on. The actions re-broadcast what peers
   * may need and hand on the commits after that round (asking for their batches).
   */
  static recover(
    options: CommitteeMemberOptions,
    records: readonly NarwhalRecord[],
    committedRound: number,
  ): { member: CommitteeMember; actions: MemberAction[] } {
    const member = new CommitteeMember(options, { records, committedRound })
    const actions: MemberAction[] = []
    for (const action of member.#recovered) member.#onNarwhal(action, actions)
    member.#recovered = []
    member.#askForRange(actions)
    return { member, actions }
  }

  /** What NarwhalCore.recover returned, until `recover` carries it out. */
  #recovered: NarwhalAction[] = []

  constructor(
    options: CommitteeMemberOptions,
    resume?: { readonly records: readonly NarwhalRecord[]; readonly committedRound: number },
  ) {
    this.#shape = committeeShape(options.committeeSize)
    this.#member = options.signer.member
    this.#nowMs = options.nowMs
    this.#maxBatchBytes = Math.min(options.maxBatchBytes ?? MAX_BATCH_BYTES, MAX_BATCH_BYTES)
    this.#batchDelayMs = options.batchDelayMs ?? 50
    this.#maxHeld = options.maxHeldHeaders ?? 1_000
    this.#maxBatches = options.maxBatches ?? 20_000
    const leaderOf = leaderSchedule(options.committeeSize, options.leaderSeed)
    const gcDepth = options.gcDepth ?? DEFAULT_GC_DEPTH
    this.#gcDepth = gcDepth
    const coreOptions = {
      epoch: options.epoch,
      committeeSize: options.committeeSize,
      signer: options.signer,
      verifier: options.verifier,
      maxHeaderDelayMs: options.maxHeaderDelayMs ?? 500,
      // Narwhal keeps twice what Bullshark needs: a member rejoining at a committed round a
      // little behind ours still finds here every certificate Bullshark orders after it.
      gcDepth: 2 * gcDepth,
      nowMs: options.nowMs,
      leaderOf,
      resendMs: options.resendMs ?? 2_000,
      maxClockSkewMs: options.maxClockSkewMs ?? 10_000,
      // A restart loses the batches (their transactions come again from the mempool).
      canRepropose: (batch: Uint8Array) => {
        const hex = toHex(batch)
        return this.#batches.has(hex) && !this.#committedBatches.has(hex)
      },
    }
    if (resume === undefined) {
      this.#core = new NarwhalCore(coreOptions)
    } else {
      const recovered = NarwhalCore.recover(coreOptions, resume.records)
      this.#core = recovered.core
      this.#recovered = recovered.actions
    }
    this.#bullshark = new Bullshark({
      committee: this.#shape,
      leaderOf,
      gcDepth,
      lastCommittedRound: resume?.committedRound ?? 0,
    })
    // Resumed at a committed leader: Narwhal needs no rounds below Bullshark's GC round after
    // it, so a member rejoining with no records of them does not ask for them. (Narwhal
    // collects below `round − 2 gcDepth`.)
    if (resume !== undefined && resume.committedRound > 0) {
      const round = resume.committedRound + gcDepth
      this.#recovered.push(...this.#core.handle({ kind: 'committed', round }))
    }
  }

  get member(): Member {
    return this.#member
  }

  /** The highest round this member proposed. */
  get round(): number {
    return this.#core.round
  }

  /**
   * Narwhal keeps nothing below this round: collected, or, for a member that rejoined the DAG
   * at a committed round, never had.
   */
  get floorRound(): number {
    return this.#core.gcRound
  }

  /** The highest round with certificates of a quorum delivered here. */
  get quorumRound(): number {
    return this.#core.quorumRound
  }

  /** The round of the last committed leader (0 before any). */
  get committedRound(): number {
    return this.#bullshark.lastCommittedRound
  }

  /** Transactions admitted and not yet sealed into a batch. */
  get unsealed(): number {
    return this.#open.length
  }

  /** Committed sub-DAGs waiting for batches. */
  get waitingCommits(): number {
    return this.#commits.length
  }

  handle(event: MemberEvent): MemberAction[] {
    const out: MemberAction[] = []
    switch (event.kind) {
      case 'transaction':
        this.#addTransaction(event.bytes, out)
        break
      case 'tick':
        this.#nowMs = Math.max(this.#nowMs, event.nowMs)
        if (this.#open.length > 0 && this.#nowMs - this.#openSinceMs >= this.#batchDelayMs) {
          this.#seal(out)
        }
        this.#narwhal({ kind: 'tick', nowMs: this.#nowMs }, out)
        // The batches a commit waits for were asked of peers that may have lost the request.
        if (this.#commits.length > 0 && this.#nowMs - this.#askedAtMs >= ASK_AGAIN_MS) {
          this.#askFor(this.#commits[0] as PendingCommit, out)
        }
        if (this.#nowMs - this.#rangeAskedAtMs >= ASK_AGAIN_MS) this.#askForRange(out)
        break
      case 'frame':
        this.#onFrame(event.frame, event.from, out)
        break
    }
    return out
  }

  // --- batching -------------------------------------------------------------------------------

  #addTransaction(bytes: Uint8Array, out: MemberAction[]): void {
    if (this.#openBytes + bytes.length > this.#maxBatchBytes) this.#seal(out)
    if (this.#open.length === 0) {
      this.#openSinceMs = this.#nowMs
      out.push({ kind: 'timer', atMs: this.#nowMs + this.#batchDelayMs })
    }
    this.#open.push(bytes)
    this.#openBytes += bytes.length
    if (this.#openBytes >= this.#maxBatchBytes || this.#open.length >= MAX_BATCH_TRANSACTIONS) {
      this.#seal(out)
    }
  }

  #seal(out: MemberAction[]): void {
    if (this.#open.length === 0) return
    const transactions = this.#open
    this.#open = []
    this.#openBytes = 0
    let encoded = encodeBatch(transactions)
    let digest = batchDigest(encoded)
    // The same transactions again (given again after they failed, TX_NONCE) would be the same
    // batch, which a member commits once: a salt element makes it another.
    while (this.#batches.has(toHex(digest)) || this.#committedBatches.has(toHex(digest))) {
      encoded = encodeBatch([...transactions, batchSalt(this.#salt++)])
      digest = batchDigest(encoded)
    }
    this.#keepBatch(toHex(digest), { encoded })
    out.push({ kind: 'broadcast', frame: { kind: 'batch', encoded } })
    this.#narwhal({ kind: 'batch', digest }, out)
  }

  #keepBatch(digest: string, batch: StoredBatch): void {
    if (this.#batches.has(digest)) return
    this.#batches.set(digest, batch)
    while (this.#batches.size > this.#maxBatches) {
      this.#batches.delete(this.#batches.keys().next().value as string)
    }
  }

  #onBatch(encoded: Uint8Array, out: MemberAction[]): void {
    const digest = toHex(batchDigest(encoded))
    if (this.#batches.has(digest)) return
    // Kept as bytes (the frame codec checked that they parse) and decoded when committed: most
    // of a busy member's batches are its peers', and decoding each on arrival cost ~4 % of it.
    this.#keepBatch(digest, { encoded })
    const unblocked = this.#heldOn.get(digest)
    if (unblocked !== undefined) {
      this.#heldOn.delete(digest)
      for (const key of unblocked) {
        const held = this.#held.get(key)
        if (held === undefined) continue
        held.missing.delete(digest)
        if (held.missing.size === 0) {
          this.#held.delete(key)
          this.#narwhal({ kind: 'header', header: held.header, from: held.from }, out)
        }
      }
    }
    if (this.#commits[0]?.missing.has(digest)) {
      for (const c of this.#commits) c.missing.delete(digest)
      this.#drainCommits(out)
    } else {
      for (const c of this.#commits) c.missing.delete(digest)
    }
  }

  #onBatchRequest(digests: readonly Uint8Array[], from: Member, out: MemberAction[]): void {
    let answered = 0
    for (const d of digests) {
      const batch = this.#batches.get(toHex(d))
      if (batch === undefined) continue
      out.push({ kind: 'send', to: from, frame: { kind: 'batch', encoded: batch.encoded } })
      if (++answered >= MAX_BATCHES_PER_ANSWER) break
    }
  }

  // --- frames ---------------------------------------------------------------------------------

  #onFrame(frame: ConsensusFrame, from: Member, out: MemberAction[]): void {
    if (!Number.isInteger(from) || from < 0 || from >= this.#shape.size || from === this.#member) {
      return
    }
    switch (frame.kind) {
      case 'batch':
        this.#onBatch(frame.encoded, out)
        break
      case 'batch-request':
        this.#onBatchRequest(frame.digests, from, out)
        break
      case 'header':
        this.#onHeader(frame.header, from, out)
        break
      case 'vote':
        this.#narwhal({ kind: 'vote', vote: frame.vote }, out)
        break
      case 'certificate':
        this.#narwhal({ kind: 'certificate', certificate: frame.certificate, from }, out)
        break
      case 'certificate-request':
        this.#narwhal({ kind: 'request', digests: frame.digests, from }, out)
        break
      case 'certificate-range':
        this.#onRangeRequest(frame.fromRound, from, out)
        break
    }
  }

  /**
   * Resumed above every round we hold (rejoining the DAG at a committed round the committee
   * gave): ask every peer for all it keeps from our floor up, at once. Walking down one round
   * of missing parents per round trip, the rejoining member would fall behind the others'
   * garbage collection faster than it caught up.
   */
  #askForRange(out: MemberAction[]): void {
    const gcRound = this.#core.gcRound
    if (gcRound === 0 || this.#core.quorumRound >= gcRound) return
    this.#rangeAskedAtMs = this.#nowMs
    out.push({ kind: 'broadcast', frame: { kind: 'certificate-range', fromRound: gcRound } })
  }

  /** A peer's range request: what we keep from that round, parents first, once a second. */
  #onRangeRequest(fromRound: number, from: Member, out: MemberAction[]): void {
    const last = this.#rangeAnsweredAtMs.get(from) ?? Number.NEGATIVE_INFINITY
    if (this.#nowMs - last < ASK_AGAIN_MS) return
    this.#rangeAnsweredAtMs.set(from, this.#nowMs)
    for (const certificate of this.#core.certificatesFrom(fromRound, MAX_RANGE_CERTIFICATES)) {
      out.push({ kind: 'send', to: from, frame: { kind: 'certificate', certificate } })
    }
  }

  /** A header is voted on only with its batches here: hold it and ask its author for them. */
  #onHeader(header: Header, from: Member, out: MemberAction[]): void {
    const missing = header.batches.map(toHex).filter((d) => !this.#batches.has(d))
    if (missing.length === 0) {
      this.#narwhal({ kind: 'header', header, from }, out)
      return
    }
    const key = `${header.round}:${header.author}:${toHex(header.signature)}`
    const wanted = header.batches.filter((d) => !this.#batches.has(toHex(d)))
    // Held already: the author said it again (its resend), so our request may have been lost.
    if (!this.#held.has(key)) {
      // Full: the oldest goes (its author says it again if it still matters).
      if (this.#held.size >= this.#maxHeld) this.#dropHeld(this.#held.keys().next().value as string)
      this.#held.set(key, { header, from, missing: new Set(missing) })
    }
    for (const d of missing) {
      let keys = this.#heldOn.get(d)
      if (keys === undefined) {
        keys = new Set()
        this.#heldOn.set(d, keys)
      }
      keys.add(key)
    }
    out.push({ kind: 'send', to: from, frame: { kind: 'batch-request', digests: wanted } })
  }

  #dropHeld(key: string): void {
    const held = this.#held.get(key)
    if (held === undefined) return
    this.#held.delete(key)
    for (const d of held.missing) {
      const keys = this.#heldOn.get(d)
      keys?.delete(key)
      if (keys?.size === 0) this.#heldOn.delete(d)
    }
  }

  // --- Narwhal and Bullshark ------------------------------------------------------------------

  #narwhal(event: NarwhalEvent, out: MemberAction[]): void {
    for (const action of this.#core.handle(event)) this.#onNarwhal(action, out)
  }

  #onNarwhal(action: NarwhalAction, out: MemberAction[]): void {
    switch (action.kind) {
      case 'broadcast':
        out.push({ kind: 'broadcast', frame: frameOf(action.message) })
        break
      case 'send':
        out.push({ kind: 'send', to: action.to, frame: frameOf(action.message) })
        break
      case 'request':
        out.push({
          kind: 'send',
          to: action.to,
          frame: { kind: 'certificate-request', digests: action.digests },
        })
        break
      case 'deliver':
        this.#order(action.vertex, action.certificate, out)
        break
      case 'persist':
      case 'timer':
      case 'equivocation':
      case 'refused':
        out.push(action)
        break
    }
  }

  #order(vertex: DagVertex, certificate: Certificate, out: MemberAction[]): void {
    // Ours, and still one Bullshark can commit: at or below its GC round (our records re-read
    // after a restart, or from before we rejoined) it never commits here again, and was most
    // likely committed by the others long ago.
    if (
      vertex.author === this.#member &&
      certificate.header.batches.length > 0 &&
      vertex.round > this.#bullshark.gcRound
    ) {
      this.#ownUncommitted.set(vertex.digest, {
        round: vertex.round,
        batches: certificate.header.batches,
      })
    }
    const committed = this.#bullshark.add(vertex)
    this.#markResumed(vertex, certificate)
    if (committed.length === 0) return
    // Certificates are read now: the garbage collection the commit allows may drop them.
    for (const subDag of committed) {
      for (const v of subDag.vertices) this.#ownUncommitted.delete(v.digest)
      this.#commits.push(this.#pending(subDag, vertex, certificate))
    }
    const round = this.#bullshark.lastCommittedRound
    this.#reproposeOrphans(round, out)
    this.#drainCommits(out)
    this.#narwhal({ kind: 'committed', round }, out)
  }

  /**
   * Resumed at the last committed leader (a restart, or rejoining the DAG at a position the
   * committee gave): its history was committed before, so its batches count as committed and a
   * second certificate naming one (a re-proposal) is skipped here as on every other member.
   */
  #markResumed(last: DagVertex, lastCertificate: Certificate): void {
    const resumed = this.#bullshark.takeResumed()
    if (resumed.length === 0) return
    const round = last.round
    for (const v of resumed) {
      this.#ownUncommitted.delete(v.digest)
      const c = this.#certificateOf(v, last, lastCertificate)
      for (const d of c?.header.batches ?? []) this.#committedBatches.set(toHex(d), round)
    }
  }

  /** A vertex's certificate: the one just added, or one Narwhal still holds. */
  #certificateOf(
    v: DagVertex,
    last: DagVertex,
    lastCertificate: Certificate,
  ): Certificate | undefined {
    return v.digest === last.digest ? lastCertificate : this.#core.certificate(v.digest)
  }

  /**
   * A certificate that no header of the next round referenced is in no leader's history yet,
   * and may never be: its batches would be lost. Ours that a leader two rounds later left out
   * go into our next header again (as Sui's proposer does). Should the first one commit after
   * all, the batches' second commit is skipped (`#committedBatches`), on every member alike.
   */
  #reproposeOrphans(committedRound: number, out: MemberAction[]): void {
    for (const [digest, own] of this.#ownUncommitted) {
      if (own.round > committedRound - 2) continue
      this.#ownUncommitted.delete(digest)
      for (const batch of own.batches) {
        const hex = toHex(batch)
        // Only batches we still hold (a restart loses them, their transactions come again from
        // the mempool): a header naming one nobody can send would never get a vote.
        if (!this.#committedBatches.has(hex) && this.#batches.has(hex)) {
          this.#narwhal({ kind: 'batch', digest: batch }, out)
        }
      }
    }
  }

  #pending(subDag: CommittedSubDag, last: DagVertex, lastCertificate: Certificate): PendingCommit {
    const certificateOf = (v: DagVertex) =>
      this.#certificateOf(v, last, lastCertificate) as Certificate
    const certificates = subDag.vertices.map(certificateOf)
    const missing = new Set<string>()
    for (const c of certificates) {
      for (const d of c.header.batches) {
        const hex = toHex(d)
        if (!this.#batches.has(hex) && !this.#committedBatches.has(hex)) missing.add(hex)
      }
    }
    return { leader: certificateOf(subDag.leader), certificates, missing }
  }

  /** Emits committed sub-DAGs in order while their batches are here; asks for the first's. */
  #drainCommits(out: MemberAction[]): void {
    while (this.#commits.length > 0) {
      const next = this.#commits[0] as PendingCommit
      if (next.missing.size > 0) {
        this.#askFor(next, out)
        return
      }
      this.#commits.shift()
      const leader = next.leader.header
      const transactions: Uint8Array[] = []
      for (const c of next.certificates) {
        for (const d of c.header.batches) {
          const hex = toHex(d)
          if (this.#committedBatches.has(hex)) continue
          this.#committedBatches.set(hex, leader.round)
          const batch = this.#batches.get(hex) as StoredBatch
          for (const tx of batchTransactions(batch)) transactions.push(tx)
          // Kept a while: a member that lags (or restarted) asks for the batches it commits.
          batch.transactions = undefined
        }
      }
      // A batch can come again only in a certificate Bullshark still takes (above its GC round).
      for (const [hex, round] of this.#committedBatches) {
        if (round >= leader.round - 2 * this.#gcDepth) break
        this.#committedBatches.delete(hex)
        this.#batches.delete(hex)
      }
      out.push({
        kind: 'commit',
        subDag: {
          leaderRound: leader.round,
          leader: leader.author,
          timestampMs: leader.timestampMs,
          transactions,
          certificates: next.certificates.length,
        },
      })
    }
  }

  /** Asks the authors and signers of the certificates referencing missing batches for them. */
  #askFor(commit: PendingCommit, out: MemberAction[]): void {
    this.#askedAtMs = this.#nowMs
    out.push({ kind: 'timer', atMs: this.#nowMs + ASK_AGAIN_MS })
    const byPeer = new Map<Member, Uint8Array[]>()
    for (const c of commit.certificates) {
      const wanted = c.header.batches.filter((d) => commit.missing.has(toHex(d)))
      if (wanted.length === 0) continue
      for (const peer of new Set([c.header.author, ...signersOf(c.signers)])) {
        if (peer === this.#member || peer >= this.#shape.size) continue
        byPeer.set(peer, [...(byPeer.get(peer) ?? []), ...wanted])
      }
    }
    for (const [to, digests] of byPeer) {
      out.push({ kind: 'send', to, frame: { kind: 'batch-request', digests } })
    }
  }
}

/**
 * A batch's transactions. Bytes that are no batch (never from the frame codec, which checks
 * them) give none: the digest names these bytes, so every member decides alike.
 */
function batchTransactions(batch: StoredBatch): readonly Uint8Array[] {
  if (batch.transactions !== undefined) return batch.transactions
  try {
    return decodeBatch(batch.encoded).filter((tx) => !isBatchSalt(tx))
  } catch {
    return []
  }
}

/**
 * A batch salt: 0x00 then a u64. No transaction starts with 0x00 (an encoded transaction is a
 * DAG-CBOR map, 0xa0–0xbb), so members drop salts from what they commit, all alike.
 */
export function batchSalt(n: number): Uint8Array {
  const salt = new Uint8Array(9)
  new DataView(salt.buffer).setBigUint64(1, BigInt(n))
  return salt
}

export function isBatchSalt(element: Uint8Array): boolean {
  return element.length === 9 && element[0] === 0
}

function frameOf(message: NarwhalMessage): ConsensusFrame {
  switch (message.type) {
    case 'header':
      return { kind: 'header', header: message.header }
    case 'vote':
      return { kind: 'vote', vote: message.vote }
    case 'certificate':
      return { kind: 'certificate', certificate: message.certificate }
  }
}
