/**
 * One committee member's Narwhal primary, sans-I/O (like src/b3/verifier.ts): `handle(event)`
 * returns what to do, and the caller owns the clock, the transport and the keys. Modelled on
 * Sui's `narwhal/primary` (core.rs, proposer.rs, synchronizer.rs), folded into one state
 * machine:
 *
 * - propose: a header for round r once 2f + 1 certificates of round r − 1 are delivered (round
 *   1 needs none), carrying the pending batch digests, or empty once `maxHeaderDelayMs` passed;
 * - vote: at most once per (author, round), for a header of this epoch whose signature checks
 *   and whose parents are 2f + 1 delivered certificates of distinct authors of the round before;
 * - certify: 2f + 1 distinct valid votes for our own header make a certificate, broadcast;
 * - deliver: a certificate (2f + 1 valid vote signatures, a valid header signature) is
 *   delivered once all its parents were, each exactly once; one with unknown parents waits in a
 *   buffer and its missing parents are requested from whoever sent it;
 * - equivocation: two signed headers of one author and round are evidence, reported once;
 * - garbage collection: `committed` rounds drop everything below round − gcDepth.
 *
 * Invalid input never throws: it yields a `refused` action naming why (the caller may count
 * it against the sender).
 */
import { equalBytes } from '../../core/bytes.ts'
import { type CommitteeShape, committeeShape, type DagVertex, type Member } from './dag-types.ts'
import {
  type Certificate,
  compareBytes,
  type DagSigner,
  type DagVerifier,
  digestHex,
  type Header,
  headerDigest,
  MAX_COMMITTEE,
  MAX_HEADER_BATCHES,
  signedHeader,
  signerBitfield,
  signersOf,
  type Vote,
  voteDigest,
} from './narwhal-messages.ts'

export type NarwhalEvent =
  /** A batch of transactions (by digest) to reference in our next header. */
  | { readonly kind: 'batch'; readonly digest: Uint8Array }
  | { readonly kind: 'header'; readonly header: Header; readonly from: Member }
  | { readonly kind: 'vote'; readonly vote: Vote }
  | { readonly kind: 'certificate'; readonly certificate: Certificate; readonly from: Member }
  /** A peer asks for certificates by digest (it is missing parents). */
  | { readonly kind: 'request'; readonly digests: readonly Uint8Array[]; readonly from: Member }
  | { readonly kind: 'tick'; readonly nowMs: number }
  /** Ordering committed up to this round: collect garbage below round − gcDepth. */
  | { readonly kind: 'committed'; readonly round: number }

export type NarwhalMessage =
  | { readonly type: 'header'; readonly header: Header }
  | { readonly type: 'vote'; readonly vote: Vote }
  | { readonly type: 'certificate'; readonly certificate: Certificate }

export type NarwhalAction =
  | { readonly kind: 'broadcast'; readonly message: NarwhalMessage }
  | { readonly kind: 'send'; readonly to: Member; readonly message: NarwhalMessage }
  /** A certificate whose parents were all delivered before it; each exactly once. */
  | {
      readonly kind: 'deliver'
      readonly certificate: Certificate
      readonly vertex: DagVertex
    }
  | { readonly kind: 'request'; readonly to: Member; readonly digests: readonly Uint8Array[] }
  /** Two differently signed headers of one author and round: evidence against the author. */
  | { readonly kind: 'equivocation'; readonly first: Header; readonly second: Header }
  /**
   * Store this before carrying out the actions after it (a vote before it is sent, our header
   * before it is broadcast, a certificate before it is delivered): after a crash,
   * `NarwhalCore.recover` rebuilds from these, so the member neither votes for two headers of
   * one author and round nor proposes two headers of one round, and keeps its DAG.
   */
  | { readonly kind: 'persist'; readonly record: NarwhalRecord }
  /**
   * Send a `tick` at (or after) this time: the proposer is waiting for its delay to pass. Said
   * once per deadline; ticks at other times are harmless.
   */
  | { readonly kind: 'timer'; readonly atMs: number }
  | {
      readonly kind: 'refused'
      readonly what: 'header' | 'vote' | 'certificate'
      readonly from: Member
      readonly reason: string
    }

export type NarwhalRecord =
  | { readonly type: 'vote'; readonly vote: Vote }
  | { readonly type: 'header'; readonly header: Header }
  | { readonly type: 'certificate'; readonly certificate: Certificate }

export interface NarwhalCoreOptions {
  readonly epoch: bigint
  readonly committeeSize: number
  readonly signer: DagSigner
  readonly verifier: DagVerifier
  /** How long to wait for batches before proposing an empty header. */
  readonly maxHeaderDelayMs: number
  /** Rounds kept below the highest committed round. */
  readonly gcDepth: number
  /** The clock at construction. */
  readonly nowMs: number
  /** The most batch digests in one header (default MAX_HEADER_BATCHES). */
  readonly maxHeaderBatches?: number
  /** The most certificates and headers waiting for parents (default DEFAULT_MAX_WAITING):
   * a peer cannot fill memory with certificates of rounds far ahead. */
  readonly maxWaiting?: number
  /**
   * Bullshark's leader of each even round (its `leaderSchedule`). With it, the proposer waits
   * (up to `maxHeaderDelayMs`) for what lets a leader commit, as Sui's proposer does: after an
   * even round, for the leader's certificate, so our header references it; after an odd round,
   * for f + 1 certificates referencing the leader before (enough to commit it) or 2f + 1 not
   * referencing it (it cannot commit). Without it, rounds advance on any 2f + 1 certificates.
   */
  readonly leaderOf?: (round: number) => Member
  /**
   * Headers stamped further than this ahead of our clock get no vote (a leader's timestamp
   * becomes its block's and times the epoch). Default: no bound (the simulator's clocks agree).
   */
  readonly maxClockSkewMs?: number
  /**
   * When nothing moved for this long, say again what peers may have lost: our header while it
   * is not certified, else its certificate. Delivery is at most once (a stream that fails loses
   * what was on it, a peer that restarts lost what it held); without this a committee whose
   * messages were lost waits forever. Default: never.
   */
  readonly resendMs?: number
  /**
   * Whether a batch of our previous header, never certified, can still be sent to a peer that
   * asks for it (we hold it, and it is not committed yet). Only those go into the next header:
   * a batch lost with a crash, or committed and then collected, would keep every later header
   * of ours from a vote. Default: all of them.
   */
  readonly canRepropose?: (batch: Uint8Array) => boolean
}

export const DEFAULT_MAX_WAITING = 10_000

interface Stored {
  readonly certificate: Certificate
  readonly vertex: DagVertex
}

/** A certificate waiting for parents. */
interface Waiting {
  readonly stored: Stored
  readonly missing: Set<string>
}

/** A header (for a vote) waiting for parents. */
interface WaitingHeader {
  readonly header: Header
  readonly digest: string
  readonly from: Member
  readonly missing: Set<string>
}

export class NarwhalCore {
  readonly #epoch: bigint
  readonly #shape: CommitteeShape
  readonly #signer: DagSigner
  readonly #verifier: DagVerifier
  readonly #maxDelayMs: number
  readonly #gcDepth: number
  readonly #maxBatches: number
  readonly #maxWaiting: number
  readonly #leaderOf: ((round: number) => Member) | undefined
  readonly #maxSkewMs: number
  readonly #resendMs: number
  readonly #canRepropose: (batch: Uint8Array) => boolean
  #nowMs: number
  /** When we last proposed or said our header or certificate again. */
  #lastSaidMs: number

  /** Delivered certificates by digest hex, and the digests of each round. */
  readonly #delivered = new Map<string, Stored>()
  readonly #byRound = new Map<number, Set<string>>()
  /** Certificates waiting for parents, and which waiting ones each missing digest unblocks. */
  readonly #waiting = new Map<string, Waiting>()
  readonly #waitingHeaders = new Map<string, WaitingHeader>()
  readonly #blockedOn = new Map<string, Set<string>>()
  /** The first signed header seen of each slot (`slotKey`), and which ones equivocated. */
  readonly #firstHeader = new Map<Slot, { digest: string; header: Header }>()
  readonly #equivocated = new Set<Slot>()
  /** The header digest we voted for, per slot (`slotKey`). */
  readonly #votedFor = new Map<Slot, { digest: string; vote: Vote }>()
  /** Rounds below this are collected: their certificates count as delivered parents. */
  #gcRound = 0
  /** Rounds below this have no keys left in the per-(round, author) maps. */
  #keysFrom = 0
  /** The highest round whose 2f + 1 certificates were delivered (0 before any); it only grows. */
  #quorumRound = 0

  /** Per author, the number of the last parent check that saw it (see `#parentProblem`). */
  readonly #authorMarks: Float64Array
  #checks = 0

  /** Batches not yet in a header. */
  #pendingBatches: Uint8Array[] = []
  /** The round we last proposed (0: none yet), its header and the votes it gathered. */
  #proposedRound = 0
  #ownHeader:
    | { header: Header; digest: Uint8Array; hex: string; votes: Map<Member, Uint8Array> }
    | undefined
  /** When the parents of the next round became available (the empty-header delay starts). */
  #readySinceMs: number
  /** The last deadline announced by a `timer` action. */
  #timerAtMs = Number.NaN

  constructor(options: NarwhalCoreOptions) {
    this.#epoch = options.epoch
    this.#shape = committeeShape(options.committeeSize)
    this.#signer = options.signer
    this.#verifier = options.verifier
    this.#maxDelayMs = options.maxHeaderDelayMs
    this.#gcDepth = options.gcDepth
    this.#maxBatches = options.maxHeaderBatches ?? MAX_HEADER_BATCHES
    this.#maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING
    this.#leaderOf = options.leaderOf
    this.#maxSkewMs = options.maxClockSkewMs ?? Number.POSITIVE_INFINITY
    this.#resendMs = options.resendMs ?? Number.POSITIVE_INFINITY
    this.#canRepropose = options.canRepropose ?? (() => true)
    this.#nowMs = options.nowMs
    this.#lastSaidMs = options.nowMs
    this.#readySinceMs = options.nowMs
    this.#authorMarks = new Float64Array(this.#shape.size)
    if (!Number.isInteger(this.#signer.member) || this.#signer.member >= this.#shape.size) {
      throw new RangeError(
        `member ${this.#signer.member} is not in a committee of ${options.committeeSize}`,
      )
    }
  }

  /**
   * A member restarted from what it persisted (in any order). Its certificates are its own
   * store's, checked when they were first accepted, so they are not checked again; the actions
   * returned deliver them again in causal order (for ordering to rebuild from) and re-broadcast
   * the last header we proposed, whose votes were lost with the crash: voters who voted for it
   * send the same vote again.
   */
  static recover(
    options: NarwhalCoreOptions,
    records: readonly NarwhalRecord[],
  ): { core: NarwhalCore; actions: NarwhalAction[] } {
    const core = new NarwhalCore(options)
    const actions: NarwhalAction[] = []
    const certificates = records
      .flatMap((r) => (r.type === 'certificate' ? [r.certificate] : []))
      .sort((a, b) => a.header.round - b.header.round)
    // Round by round, so parents come first; the lowest round present counts as the floor
    // below which the store was garbage-collected.
    const floor = certificates[0]?.header.round ?? 0
    if (floor > 1) core.#gcRound = floor
    for (const c of certificates) {
      const digest = digestHex(headerDigest(c.header))
      core.#firstHeader.set(slotKey(c.header.round, c.header.author), { digest, header: c.header })
      core.#accept(core.#stored(c, digest), actions)
    }
    for (const r of records) {
      if (r.type !== 'vote') continue
      const digest = digestHex(r.vote.headerDigest)
      core.#votedFor.set(slotKey(r.vote.round, r.vote.author), { digest, vote: r.vote })
    }
    let own: Header | undefined
    for (const r of records) {
      if (r.type === 'header' && (own === undefined || r.header.round > own.round)) own = r.header
    }
    if (own !== undefined) {
      const digest = headerDigest(own)
      core.#proposedRound = own.round
      core.#ownHeader = { header: own, digest, hex: digestHex(digest), votes: new Map() }
      const key = slotKey(own.round, own.author)
      if (!core.#firstHeader.has(key))
        core.#firstHeader.set(key, { digest: digestHex(digest), header: own })
      const ownVote = core.#votedFor.get(key)
      if (ownVote !== undefined) core.#ownHeader.votes.set(core.member, ownVote.vote.signature)
      // Certified before the crash: its certificate went out then (peers that missed it ask).
      if (!core.#delivered.has(digestHex(digest))) {
        actions.push({ kind: 'broadcast', message: { type: 'header', header: own } })
      }
    }
    // Persisting again what was just read is pointless: leave only deliveries and broadcasts.
    return { core, actions: actions.filter((a) => a.kind !== 'persist') }
  }

  get member(): Member {
    return this.#signer.member
  }

  /** The highest round we proposed a header for. */
  get round(): number {
    return this.#proposedRound
  }

  /** A delivered certificate by digest (hex), while not garbage-collected. */
  certificate(digest: string): Certificate | undefined {
    return this.#delivered.get(digest)?.certificate
  }

  /**
   * Delivered certificates of rounds ≥ `fromRound`, parents before children (by round), at
   * most `max`: what a member that rejoins the DAG above its own records asks for at once,
   * instead of walking down one round of missing parents per round trip while the others'
   * garbage collection moves away from it.
   */
  certificatesFrom(fromRound: number, max: number): Certificate[] {
    const out: Certificate[] = []
    const rounds = [...this.#byRound.keys()].filter((r) => r >= fromRound).sort((a, b) => a - b)
    for (const r of rounds) {
      for (const d of this.#byRound.get(r) ?? []) {
        if (out.length >= max) return out
        const stored = this.#delivered.get(d)
        if (stored !== undefined) out.push(stored.certificate)
      }
    }
    return out
  }

  /** The round below which nothing is kept (garbage-collected, or never had: a rejoin). */
  get gcRound(): number {
    return this.#gcRound
  }

  /** The highest round with certificates of a quorum of authors delivered. */
  get quorumRound(): number {
    return this.#quorumRound
  }

  /** How many certificates wait for parents (for tests and metrics). */
  get waitingCount(): number {
    return this.#waiting.size
  }

  handle(event: NarwhalEvent): NarwhalAction[] {
    const out: NarwhalAction[] = []
    switch (event.kind) {
      case 'batch':
        this.#pendingBatches.push(event.digest)
        break
      case 'tick':
        this.#nowMs = Math.max(this.#nowMs, event.nowMs)
        this.#maybeResend(out)
        break
      case 'header':
        this.#onHeader(event.header, event.from, out)
        break
      case 'vote':
        this.#onVote(event.vote, out)
        break
      case 'certificate':
        this.#onCertificate(event.certificate, event.from, out)
        break
      case 'request':
        this.#onRequest(event.digests, event.from, out)
        break
      case 'committed':
        this.#collect(event.round - this.#gcDepth, out)
        break
    }
    this.#maybePropose(out)
    return out
  }

  // --- proposing ------------------------------------------------------------------------------

  /** Our header again while uncertified, else its certificate, once `resendMs` passed idle. */
  #maybeResend(out: NarwhalAction[]): void {
    const own = this.#ownHeader
    if (own === undefined || this.#nowMs - this.#lastSaidMs < this.#resendMs) return
    this.#lastSaidMs = this.#nowMs
    const certified = this.#delivered.get(own.hex)
    out.push({
      kind: 'broadcast',
      message:
        certified === undefined
          ? { type: 'header', header: own.header }
          : { type: 'certificate', certificate: certified.certificate },
    })
    out.push({ kind: 'timer', atMs: this.#nowMs + this.#resendMs })
  }

  #maybePropose(out: NarwhalAction[]): void {
    const parentsRound = this.#quorumRound
    const round = parentsRound + 1
    if (round <= this.#proposedRound) return
    // Resumed above collected rounds (a member rejoining): nothing to propose on until a
    // quorum of a round we keep is here.
    if (parentsRound < this.#gcRound) return
    // Batches go out at once (once the leader rule is met); an empty header waits, so a quiet
    // committee does not spin; after the delay nothing waits any more.
    const waited = this.#nowMs - this.#readySinceMs >= this.#maxDelayMs
    if (!waited && (this.#pendingBatches.length === 0 || !this.#leaderReady(parentsRound))) {
      const atMs = this.#readySinceMs + this.#maxDelayMs
      if (atMs !== this.#timerAtMs) {
        this.#timerAtMs = atMs
        out.push({ kind: 'timer', atMs })
      }
      return
    }
    // Our previous header, never certified, can no longer be (we moved on and ignore its votes):
    // its batches go into this one, ahead of newer ones, so no batch is lost. Not one that no
    // peer could get (lost in a crash, or committed and collected): that header gets no vote.
    const previous = this.#ownHeader
    if (previous !== undefined && !this.#delivered.has(previous.hex)) {
      const again = previous.header.batches.filter(this.#canRepropose)
      this.#pendingBatches = [...again, ...this.#pendingBatches]
    }
    // The parents' own digest objects (not copies decoded from hex): their hex is known.
    const parentHeaders: Header[] = []
    for (const hex of parentsRound === 0 ? [] : (this.#byRound.get(parentsRound) as Set<string>)) {
      parentHeaders.push((this.#delivered.get(hex) as Stored).certificate.header)
    }
    const parents = parentHeaders.map(headerDigest).sort(compareBytes)
    const batches = this.#pendingBatches.slice(0, this.#maxBatches)
    this.#pendingBatches = this.#pendingBatches.slice(batches.length)
    // Whole milliseconds: the encoding carries an unsigned integer.
    let timestampMs = Math.floor(this.#nowMs)
    for (const parent of parentHeaders) timestampMs = Math.max(timestampMs, parent.timestampMs)
    const body = { epoch: this.#epoch, round, author: this.member, parents, batches, timestampMs }
    const digest = headerDigest(body)
    const header = signedHeader(body, this.#signer.sign(digest))
    this.#proposedRound = round
    this.#ownHeader = { header, digest, hex: digestHex(digest), votes: new Map() }
    this.#readySinceMs = this.#nowMs
    this.#lastSaidMs = this.#nowMs
    if (Number.isFinite(this.#resendMs)) {
      out.push({ kind: 'timer', atMs: this.#nowMs + this.#resendMs })
    }
    out.push({ kind: 'persist', record: { type: 'header', header } })
    out.push({ kind: 'broadcast', message: { type: 'header', header } })
    // We vote for our own header like anyone else (the same checks pass by construction).
    this.#onHeader(header, this.member, out)
  }

  /** Whether the leader rule (see `leaderOf`) lets us propose on `parentsRound`'s certificates. */
  #leaderReady(parentsRound: number): boolean {
    const leaderOf = this.#leaderOf
    if (leaderOf === undefined || parentsRound === 0) return true
    const certificateOf = (round: number, author: Member): string | undefined => {
      const first = this.#firstHeader.get(slotKey(round, author))
      return first !== undefined && this.#delivered.has(first.digest) ? first.digest : undefined
    }
    if (parentsRound % 2 === 0)
      return certificateOf(parentsRound, leaderOf(parentsRound)) !== undefined
    // After an odd round: the next leader does not wait for support of the previous one, and
    // after round 1 there is no previous one.
    if (parentsRound === 1 || leaderOf(parentsRound + 1) === this.member) return true
    const leader = certificateOf(parentsRound - 1, leaderOf(parentsRound - 1))
    if (leader === undefined) return true
    let support = 0
    let against = 0
    for (const digest of this.#byRound.get(parentsRound) ?? []) {
      const parents = (this.#delivered.get(digest) as Stored).vertex.parents
      if (parents.includes(leader)) support++
      else against++
    }
    return support >= this.#shape.validity || against >= this.#shape.quorum
  }

  // --- headers and votes ----------------------------------------------------------------------

  /** Checks that need no DAG: epoch, author, round, parent count, signature. */
  #headerProblem(header: Header, digest: Uint8Array, hex: string): string | undefined {
    if (header.epoch !== this.#epoch) return `epoch ${header.epoch} is not ${this.#epoch}`
    if (header.author >= this.#shape.size) return `author ${header.author} is not a member`
    if (header.round < 1) return 'round 0'
    if (header.round === 1 && header.parents.length !== 0) return 'round-1 header has parents'
    if (header.round > 1 && header.parents.length < this.#shape.quorum) {
      return `${header.parents.length} parents, fewer than ${this.#shape.quorum}`
    }
    if (header.parents.length > this.#shape.size) return 'more parents than members'
    if (header.author !== this.member && header.timestampMs > this.#nowMs + this.#maxSkewMs) {
      return `stamped ${header.timestampMs - this.#nowMs} ms ahead of our clock`
    }
    for (let i = 1; i < header.parents.length; i++) {
      if (compareBytes(header.parents[i - 1] as Uint8Array, header.parents[i] as Uint8Array) >= 0) {
        return 'parents not sorted and unique'
      }
    }
    // A header seen before under this digest had its signature checked then; the digest does
    // not cover the signature, so compare it too (a different signature is checked afresh).
    const seen = this.#firstHeader.get(slotKey(header.round, header.author))
    if (
      seen !== undefined &&
      equalBytes(seen.header.signature, header.signature) &&
      seen.digest === hex
    ) {
      return undefined
    }
    if (!this.#verifier.verify(header.author, digest, header.signature)) return 'bad signature'
    return undefined
  }

  /** Reports the second distinct header of one (round, author), once. */
  #noteHeader(header: Header, digest: string, out: NarwhalAction[]): void {
    const key = slotKey(header.round, header.author)
    const first = this.#firstHeader.get(key)
    if (first === undefined) {
      this.#firstHeader.set(key, { digest, header })
    } else if (first.digest !== digest && !this.#equivocated.has(key)) {
      this.#equivocated.add(key)
      out.push({ kind: 'equivocation', first: first.header, second: header })
    }
  }

  #onHeader(header: Header, from: Member, out: NarwhalAction[]): void {
    const refuse = (reason: string) => out.push({ kind: 'refused', what: 'header', from, reason })
    if (header.round < this.#gcRound) return void refuse('round below garbage collection')
    const digestBytes = headerDigest(header)
    const digest = digestHex(digestBytes)
    const problem = this.#headerProblem(header, digestBytes, digest)
    if (problem !== undefined) return void refuse(problem)
    this.#noteHeader(header, digest, out)
    const missing = this.#missingParents(header)
    if (missing.length > 0) {
      if (this.#waitingHeaders.size + this.#waiting.size >= this.#maxWaiting) {
        return void refuse('too many waiting for parents')
      }
      // Wait for the parents (a header can overtake the certificates it references).
      const waiting: WaitingHeader = { header, digest, from, missing: new Set(missing) }
      this.#waitingHeaders.set(digest, waiting)
      for (const m of missing) this.#block(m, `h:${digest}`)
      out.push({ kind: 'request', to: from, digests: parentDigests(header, missing) })
      return
    }
    this.#vote(header, digest, digestBytes, from, out)
  }

  #vote(
    header: Header,
    digest: string,
    digestBytes: Uint8Array,
    from: Member,
    out: NarwhalAction[],
  ): void {
    const refuse = (reason: string) => out.push({ kind: 'refused', what: 'header', from, reason })
    const parentProblem = this.#parentProblem(header)
    if (parentProblem !== undefined) return void refuse(parentProblem)
    const key = slotKey(header.round, header.author)
    const voted = this.#votedFor.get(key)
    if (voted !== undefined && voted.digest !== digest) {
      return void refuse('voted for another header')
    }
    if (voted !== undefined) {
      // The same header again (its author lost our vote, or restarted): the same vote again,
      // never a second one. Our own header is counted once anyway.
      if (header.author !== this.member) {
        out.push({ kind: 'send', to: header.author, message: { type: 'vote', vote: voted.vote } })
      }
      return
    }
    const vote: Vote = {
      headerDigest: digestBytes,
      round: header.round,
      author: header.author,
      voter: this.member,
      signature: this.#signer.sign(voteDigest(digestBytes, header.round, header.author)),
    }
    this.#votedFor.set(key, { digest, vote })
    out.push({ kind: 'persist', record: { type: 'vote', vote } })
    if (header.author === this.member) this.#onVote(vote, out)
    else out.push({ kind: 'send', to: header.author, message: { type: 'vote', vote } })
  }

  /** Parents neither delivered nor collected, as hex. */
  #missingParents(header: Header): string[] {
    if (header.round - 1 < this.#gcRound) return []
    return parentsHex(header).filter((p) => !this.#delivered.has(p))
  }

  /** With all parents delivered: are they of the round before, by distinct authors? */
  #parentProblem(header: Header): string | undefined {
    if (header.round - 1 < this.#gcRound) return undefined
    // Authors seen are marked with this check's number (no set per check: this runs for every
    // header voted on and every certificate accepted).
    const mark = ++this.#checks
    const marks = this.#authorMarks
    let twice = false
    for (const p of parentsHex(header)) {
      const parent = this.#delivered.get(p) as Stored
      if (parent.vertex.round !== header.round - 1) return 'a parent is not of the round before'
      if (parent.certificate.header.timestampMs > header.timestampMs) {
        return 'stamped before a parent'
      }
      if (marks[parent.vertex.author] === mark) twice = true
      marks[parent.vertex.author] = mark
    }
    if (twice) return 'two parents by one author'
    return undefined
  }

  #onVote(vote: Vote, out: NarwhalAction[]): void {
    const from = vote.voter
    const refuse = (reason: string) => out.push({ kind: 'refused', what: 'vote', from, reason })
    const own = this.#ownHeader
    // A vote for a header we proposed before and moved on from (the round advanced on others'
    // certificates) arrives late through no fault of the voter.
    if (own !== undefined && vote.author === this.member && vote.round < own.header.round) return
    if (own === undefined || vote.author !== this.member || vote.round !== own.header.round) {
      return void refuse('not for our current header')
    }
    if (vote.headerDigest !== own.digest && !equalBytes(vote.headerDigest, own.digest)) {
      return void refuse('for another header')
    }
    if (vote.voter >= this.#shape.size) return void refuse('voter is not a member')
    if (own.votes.has(vote.voter)) return void refuse('duplicate vote')
    // Certified before a restart: votes re-sent for it are no fault, and make nothing new.
    if (this.#delivered.has(own.hex)) return
    if (own.votes.size >= this.#shape.quorum) return // certified already: a late vote is no fault
    const message = voteDigest(own.digest, vote.round, vote.author)
    if (!this.#verifier.verify(vote.voter, message, vote.signature)) {
      return void refuse('bad signature')
    }
    own.votes.set(vote.voter, vote.signature)
    if (own.votes.size < this.#shape.quorum) return
    const signers = [...own.votes.keys()].sort((a, b) => a - b)
    const certificate: Certificate = {
      header: own.header,
      signers: signerBitfield(signers),
      signatures: signers.map((m) => own.votes.get(m) as Uint8Array),
    }
    out.push({ kind: 'broadcast', message: { type: 'certificate', certificate } })
    this.#accept(this.#stored(certificate, own.hex), out)
  }

  // --- certificates ---------------------------------------------------------------------------

  #stored(certificate: Certificate, digest: string): Stored {
    const h = certificate.header
    return {
      certificate,
      vertex: { digest, author: h.author, round: h.round, parents: parentsHex(h) },
    }
  }

  #certificateProblem(
    certificate: Certificate,
    digestBytes: Uint8Array,
    digest: string,
  ): string | undefined {
    const problem = this.#headerProblem(certificate.header, digestBytes, digest)
    if (problem !== undefined) return `header: ${problem}`
    const signers = signersOf(certificate.signers)
    if (signers.length !== certificate.signatures.length) return 'signers and signatures differ'
    if (signers.length < this.#shape.quorum) {
      return `${signers.length} votes, fewer than ${this.#shape.quorum}`
    }
    if ((signers.at(-1) as Member) >= this.#shape.size) return 'a signer is not a member'
    const h = certificate.header
    const message = voteDigest(digestBytes, h.round, h.author)
    for (let i = 0; i < signers.length; i++) {
      const sig = certificate.signatures[i] as Uint8Array
      if (!this.#verifier.verify(signers[i] as Member, message, sig)) {
        return `bad vote signature of member ${signers[i]}`
      }
    }
    return undefined
  }

  #onCertificate(certificate: Certificate, from: Member, out: NarwhalAction[]): void {
    const refuse = (reason: string) =>
      out.push({ kind: 'refused', what: 'certificate', from, reason })
    const h = certificate.header
    if (h.round < this.#gcRound) return // old news, not a fault
    const digestBytes = headerDigest(h)
    const digest = digestHex(digestBytes)
    if (this.#delivered.has(digest) || this.#waiting.has(digest)) return
    const problem = this.#certificateProblem(certificate, digestBytes, digest)
    if (problem !== undefined) return void refuse(problem)
    this.#noteHeader(h, digest, out)
    const stored = this.#stored(certificate, digest)
    const missing = this.#missingParents(h)
    if (missing.length === 0) {
      const parentProblem = this.#parentProblem(h)
      if (parentProblem !== undefined) return void refuse(parentProblem)
      this.#accept(stored, out)
      return
    }
    if (this.#waitingHeaders.size + this.#waiting.size >= this.#maxWaiting) {
      return void refuse('too many waiting for parents')
    }
    this.#waiting.set(digest, { stored, missing: new Set(missing) })
    for (const m of missing) this.#block(m, `c:${digest}`)
    // Ask for what nobody is fetching yet: the rest are requested (or waiting) already.
    const unknown = missing.filter((m) => !this.#waiting.has(m))
    if (unknown.length > 0) {
      out.push({ kind: 'request', to: from, digests: parentDigests(h, unknown) })
    }
  }

  #block(missing: string, waiter: string): void {
    const set = this.#blockedOn.get(missing) ?? new Set<string>()
    this.#blockedOn.set(missing, set)
    set.add(waiter)
  }

  /** Delivers `first` and then every waiting certificate or header it unblocks. */
  #accept(first: Stored, out: NarwhalAction[]): void {
    const queue: Stored[] = [first]
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const { vertex } = next
      if (this.#delivered.has(vertex.digest)) continue
      this.#delivered.set(vertex.digest, next)
      const round = this.#byRound.get(vertex.round) ?? new Set<string>()
      this.#byRound.set(vertex.round, round)
      const hadQuorum = round.size >= this.#shape.quorum
      round.add(vertex.digest)
      if (!hadQuorum && round.size >= this.#shape.quorum && vertex.round > this.#quorumRound) {
        this.#quorumRound = vertex.round
        if (vertex.round >= this.#proposedRound) this.#readySinceMs = this.#nowMs
      }
      out.push({ kind: 'persist', record: { type: 'certificate', certificate: next.certificate } })
      out.push({ kind: 'deliver', certificate: next.certificate, vertex })
      const waiters = this.#blockedOn.get(vertex.digest)
      if (waiters === undefined) continue
      this.#blockedOn.delete(vertex.digest)
      for (const w of waiters) {
        const digest = w.slice(2)
        if (w.startsWith('c:')) {
          const waiting = this.#waiting.get(digest)
          if (waiting === undefined) continue
          waiting.missing.delete(vertex.digest)
          if (waiting.missing.size > 0) continue
          this.#waiting.delete(digest)
          const problem = this.#parentProblem(waiting.stored.certificate.header)
          if (problem === undefined) queue.push(waiting.stored)
          else out.push({ kind: 'refused', what: 'certificate', from: -1, reason: problem })
        } else {
          const waiting = this.#waitingHeaders.get(digest)
          if (waiting === undefined) continue
          waiting.missing.delete(vertex.digest)
          if (waiting.missing.size > 0) continue
          this.#waitingHeaders.delete(digest)
          this.#vote(waiting.header, digest, headerDigest(waiting.header), waiting.from, out)
        }
      }
    }
  }

  #onRequest(digests: readonly Uint8Array[], from: Member, out: NarwhalAction[]): void {
    for (const d of digests) {
      const stored = this.#delivered.get(digestHex(d))
      if (stored === undefined) continue
      out.push({
        kind: 'send',
        to: from,
        message: { type: 'certificate', certificate: stored.certificate },
      })
    }
  }

  // --- garbage collection ---------------------------------------------------------------------

  #collect(below: number, out: NarwhalAction[]): void {
    if (below <= this.#gcRound) return
    this.#gcRound = below
    for (const [round, digests] of this.#byRound) {
      if (round >= below) continue
      for (const d of digests) this.#delivered.delete(d)
      this.#byRound.delete(round)
    }
    // Keys are slots of authors < n (set only for checked headers): drop the
    // collected rounds' keys by name instead of parsing every key at every commit.
    for (let round = this.#keysFrom; round < below; round++) {
      for (let author = 0; author < this.#shape.size; author++) {
        const key = slotKey(round, author)
        this.#firstHeader.delete(key)
        this.#votedFor.delete(key)
        this.#equivocated.delete(key)
      }
    }
    this.#keysFrom = below
    // Waiting certificates and headers at or above `below` whose missing parents are now below
    // it are unblocked: collected rounds count as delivered.
    const ready: Stored[] = []
    for (const [digest, w] of this.#waiting) {
      const round = w.stored.vertex.round
      if (round < below) this.#waiting.delete(digest)
      else if (round - 1 < below) {
        this.#waiting.delete(digest)
        ready.push(w.stored)
      }
    }
    for (const [digest, w] of this.#waitingHeaders) {
      if (w.header.round - 1 < below) this.#waitingHeaders.delete(digest)
    }
    for (const [missing, waiters] of this.#blockedOn) {
      for (const w of waiters) {
        const d = w.slice(2)
        if (!this.#waiting.has(d) && !this.#waitingHeaders.has(d)) waiters.delete(w)
      }
      if (waiters.size === 0) this.#blockedOn.delete(missing)
    }
    for (const s of ready) this.#accept(s, out)
  }
}

/** Rounds whose slots are exact as numbers (round × MAX_COMMITTEE + author ≤ 2^53 − 1). */
const MAX_NUMBER_SLOT_ROUND = Math.floor(Number.MAX_SAFE_INTEGER / MAX_COMMITTEE) - 1

/**
 * A (round, author) slot as one number (authors are below MAX_COMMITTEE): the per-slot maps are
 * looked up for every header, vote and certificate, and a string key was built for each. A
 * round too large for that (only a hostile header's) keeps a string key, which no number equals.
 */
function slotKey(round: number, author: Member): Slot {
  return round <= MAX_NUMBER_SLOT_ROUND ? round * MAX_COMMITTEE + author : `${round}:${author}`
}

type Slot = number | string

/** A header's parents as hex, computed once per header object (checks and delivery use them). */
const parentsHexOf = new WeakMap<Header, readonly string[]>()

function parentsHex(header: Header): readonly string[] {
  let hex = parentsHexOf.get(header)
  if (hex === undefined) {
    hex = header.parents.map(digestHex)
    parentsHexOf.set(header, hex)
  }
  return hex
}

/** The header's own digests of `hexes` (some of its parents): no copies decoded from hex. */
function parentDigests(header: Header, hexes: readonly string[]): Uint8Array[] {
  const all = parentsHex(header)
  return hexes.map((hex) => header.parents[all.indexOf(hex)] as Uint8Array)
}
