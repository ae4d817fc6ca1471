/**
 * One committee member of the consensus benchmark (issue 16): a `CommitteeMember` fed 256-byte
 * random transactions at a fixed rate, joined to the other members by a messenger carrying
 * `CONSENSUS_FRAMES`, and counting what it orders. The same class runs one per process over
 * libp2p (consensus-bench-node.ts) and all members in one process over the in-memory network
 * (the benchmark's peer figure, and a check that the harness itself is not the bottleneck).
 *
 * What it measures, per wall-clock second: transactions committed (every member orders the
 * same sequence, so each counts all of them), and for the transactions it generated itself the
 * time from generation to its own commit. Each transaction starts with its author's member
 * index and a sequence number, so a member knows its own and the test can compare sequences.
 *
 * Nothing is persisted (the `persist` actions are counted and dropped): this is ordering
 * alone, as the issue's first target asks; a committee node stores its records.
 */

import { ed25519 } from '@noble/curves/ed25519.js'
import { deriveKey } from '../b3/hash.ts'
import { CommitteeMember, type MemberAction } from '../consensus/dag/committee-member.ts'
import type { ConsensusFrame } from '../consensus/dag/consensus-frames.ts'
import type { Member } from '../consensus/dag/dag-types.ts'
import { ed25519DagSigner, ed25519DagVerifier } from '../consensus/dag/narwhal-messages.ts'
import type { Messenger } from '../net/messenger.ts'
import { nodeEd25519DagSigner, nodeEd25519DagVerifier } from '../node/chain/node-ed25519.ts'

export const TRANSACTION_BYTES = 256
/** Bytes of a transaction that name it: author (1 byte) and sequence number (u32be). */
export const TRANSACTION_ID_BYTES = 5

/** The bench committee's member keys: derived from the member index, the same in every process. */
export function benchSecretKey(member: Member): Uint8Array {
  return deriveKey('fulmen 2026 consensus bench member key', new Uint8Array([member & 0xff]))
}

export function benchPublicKeys(size: number): Uint8Array[] {
  return Array.from({ length: size }, (_, m) => ed25519.getPublicKey(benchSecretKey(m)))
}

export const BENCH_LEADER_SEED = deriveKey('fulmen 2026 consensus bench seed', new Uint8Array(0))

/** What a member process is told on its command line (consensus-bench-node.ts). */
export interface BenchNodeJob {
  readonly member: number
  readonly size: number
  readonly ratePerSecond: number
  readonly recordSequence?: boolean
  readonly batchDelayMs?: number
  readonly maxHeaderDelayMs?: number
  /** Who checks Ed25519: Node's OpenSSL (default) or @noble/curves (what a browser has). */
  readonly signatures?: 'node' | 'noble'
  /** Batches on the consensus streams too (default: on streams of their own). */
  readonly oneStream?: boolean
  /** False: no transactions until the parent says `generate`. */
  readonly generate?: boolean
  /** libp2p's transport between members (default 'tcp'). */
  readonly transport?: 'tcp' | 'ws'
  /** A batch is sealed at this many bytes of transactions (the member's default: 512 KiB). */
  readonly maxBatchBytes?: number
}

/**
 * The batches' streams (see `BenchMemberOptions.batchMessenger`): the same frames as
 * `/fulmen/consensus/1.0.0`, on a protocol of their own so they never hold up consensus.
 */
export const BENCH_BATCH_PROTOCOL = '/fulmen/consensus/batches/1.0.0'

/** Frames queued per peer: a round's batches and messages, with room for a slow peer. */
export const BENCH_QUEUE_LIMIT = 8192

/**
 * About one second of a member's run: the counts since its previous report. Reports are timed
 * by the clock, not counted: on a loaded machine a report's timer fires late, and its counts
 * then cover more than a second.
 */
export interface SecondReport {
  readonly member: Member
  /** When the counts start and end (Date.now()). */
  readonly sinceMs: number
  readonly atMs: number
  readonly committed: number
  /** Sub-DAGs committed. */
  readonly commits: number
  /** Generation → own commit, ms, of own transactions committed this second. */
  readonly latenciesMs: readonly number[]
  readonly generated: number
  /** Transactions turned away (own ones uncommitted at `maxPending`). */
  readonly turnedAway: number
  /** CPU time of the whole process over the report, ms (user + system). */
  readonly cpuMs: number
  readonly round: number
  readonly committedRound: number
  /** Own transactions generated and not yet committed, at the end of the second. */
  readonly pending: number
  readonly refused: number
  /** The process's V8 heap in use at the report, MiB. */
  readonly heapMiB: number
}

export interface BenchMemberOptions {
  readonly member: Member
  readonly size: number
  /** Transactions generated per second. */
  readonly ratePerSecond: number
  readonly messenger: Messenger<ConsensusFrame>
  /**
   * Batches (with requests for them, and headers: see ON_BATCH_STREAMS) on streams of their
   * own, as Narwhal's workers have: on one ordered stream a vote or a certificate waits behind
   * every batch queued before it, and at 10,000 transactions a second that is megabytes (the
   * committee then stalled at round 1 on a loaded machine). Same peer ids as `messenger`;
   * without it everything shares one.
   */
  readonly batchMessenger?: Messenger<ConsensusFrame>
  /** The messenger's peer id of each member (index = member). */
  readonly peerIds: readonly string[]
  /** Called once a second with the second just ended. */
  readonly onReport?: (report: SecondReport) => void
  /** Keep the ids of every committed transaction, in order (for tests). */
  readonly recordSequence?: boolean
  readonly batchDelayMs?: number
  readonly maxHeaderDelayMs?: number
  readonly maxBatchBytes?: number
  /** Who checks Ed25519 (default 'node': OpenSSL, node-ed25519.ts; 'noble': @noble/curves). */
  readonly signatures?: 'node' | 'noble'
  /**
   * Own transactions uncommitted at most (default: 2 seconds of the rate); more are turned
   * away, as a full mempool does.
   */
  readonly maxPending?: number
  /** Whether to report the process's CPU time (false in one-process runs of several members). */
  readonly processCpu?: boolean
}

const KINDS: readonly ConsensusFrame['kind'][] = [
  'header',
  'vote',
  'certificate',
  'certificate-request',
  'batch',
  'batch-request',
]

/**
 * Frames that go on the batch streams: batches, requests for them, and headers. A header
 * follows its own batches on the same ordered stream, so it never arrives before them: ahead
 * of them (on the consensus streams) a header makes its receivers ask for batches already on
 * their way, and the author sends them again (48 requests in 30 s at 11,000/s offered, none
 * this way). Votes and certificates never wait behind batches. Which way is faster was not
 * settled: on this shared machine the CPU the processes get moves the figures more.
 */
const ON_BATCH_STREAMS: ReadonlySet<ConsensusFrame['kind']> = new Set([
  'batch',
  'batch-request',
  'header',
])

/** How often transactions are generated (each time, the ones due since the last). */
const GENERATE_EVERY_MS = 5

export class BenchMember {
  readonly #options: BenchMemberOptions
  readonly #core: CommitteeMember
  readonly #memberOf = new Map<string, Member>()
  /** Generation time (performance.now()) of own transactions not yet committed, by sequence. */
  readonly #born = new Map<number, number>()
  readonly #sequence: string[] = []
  #nextSequence = 0
  #generatedSince = 0
  #startedAt = 0
  #stopped = false
  #generator: ReturnType<typeof setInterval> | undefined
  #reporter: ReturnType<typeof setTimeout> | undefined
  /** Pending timer deadlines (ms since the epoch), and the one armed. */
  readonly #deadlines = new Set<number>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerAt = Number.POSITIVE_INFINITY
  // Counts since the last report, and when it was.
  #sinceMs = 0
  #committed = 0
  #commits = 0
  #latencies: number[] = []
  #generated = 0
  #turnedAway = 0
  /** Frames received, by kind (for the debug line). */
  readonly #framesIn = new Map<string, number>()
  readonly #maxPending: number
  #refused = 0
  #cpu = process.cpuUsage()
  /** Random bytes for the transactions' bodies, refilled when used up. */
  #pool = new Uint8Array(0)
  #poolAt = 0

  constructor(options: BenchMemberOptions) {
    this.#options = options
    this.#maxPending = options.maxPending ?? Math.max(1, Math.round(options.ratePerSecond * 2))
    options.peerIds.forEach((id, m) => {
      this.#memberOf.set(id, m)
    })
    this.#core = new CommitteeMember({
      epoch: 1n,
      committeeSize: options.size,
      ...(options.signatures === 'noble'
        ? {
            signer: ed25519DagSigner(options.member, benchSecretKey(options.member)),
            verifier: ed25519DagVerifier(benchPublicKeys(options.size)),
          }
        : {
            signer: nodeEd25519DagSigner(options.member, benchSecretKey(options.member)),
            verifier: nodeEd25519DagVerifier(benchPublicKeys(options.size)),
          }),
      leaderSeed: BENCH_LEADER_SEED,
      nowMs: Date.now(),
      ...(options.batchDelayMs === undefined ? {} : { batchDelayMs: options.batchDelayMs }),
      ...(options.maxHeaderDelayMs === undefined
        ? {}
        : { maxHeaderDelayMs: options.maxHeaderDelayMs }),
      ...(options.maxBatchBytes === undefined ? {} : { maxBatchBytes: options.maxBatchBytes }),
    })
    for (const kind of KINDS) {
      options.messenger.on(kind, (frame, from) => this.#onFrame(frame, from))
      options.batchMessenger?.on(kind, (frame, from) => this.#onFrame(frame, from))
    }
  }

  /** Ids (hex of author and sequence) of the transactions committed so far, in order. */
  get sequence(): readonly string[] {
    return this.#sequence
  }

  /** Starts generating and reporting; the messenger must be running. */
  /**
   * Starts the member and its reports; transactions too unless `generate` is false (then
   * `generate()` starts them: the bench lets the committee connect and commit empty rounds
   * first, so that its first seconds over cold connections leave no backlog behind).
   */
  start(options: { generate?: boolean } = {}): void {
    this.#sinceMs = Date.now()
    this.#cpu = process.cpuUsage()
    this.#apply(this.#core.handle({ kind: 'tick', nowMs: Date.now() }))
    this.#scheduleReport()
    if (options.generate !== false) this.generate()
  }

  /** Starts generating transactions at the member's rate (once). */
  generate(): void {
    if (this.#generator !== undefined || this.#stopped) return
    this.#startedAt = performance.now()
    this.#generator = setInterval(() => this.#generate(), GENERATE_EVERY_MS)
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#generator)
    clearTimeout(this.#reporter)
    clearTimeout(this.#timer)
  }

  // --- transactions ---------------------------------------------------------------------------

  #generate(): void {
    if (this.#stopped) return
    const elapsedS = (performance.now() - this.#startedAt) / 1000
    let due = Math.floor(elapsedS * this.#options.ratePerSecond) - this.#generatedSince
    if (due <= 0) return
    this.#generatedSince += due
    // A full mempool turns transactions away (what MEMPOOL_FULL does for clients): past it the
    // backlog only grows, and with it every latency, until the committee stalls altogether.
    const room = this.#maxPending - this.#born.size
    if (room < due) {
      this.#turnedAway += due - Math.max(0, room)
      due = Math.max(0, room)
      if (due === 0) return
    }
    const now = performance.now()
    const actions: MemberAction[] = []
    for (let i = 0; i < due; i++) {
      const seq = this.#nextSequence++
      const tx = this.#randomBody()
      tx[0] = this.#options.member
      tx[1] = seq >>> 24
      tx[2] = (seq >>> 16) & 0xff
      tx[3] = (seq >>> 8) & 0xff
      tx[4] = seq & 0xff
      this.#born.set(seq, now)
      for (const a of this.#core.handle({ kind: 'transaction', bytes: tx })) actions.push(a)
    }
    this.#generated += due
    this.#apply(actions)
  }

  /** A fresh 256-byte transaction of random bytes (crypto.getRandomValues, 64 KiB at a time). */
  #randomBody(): Uint8Array {
    if (this.#poolAt + TRANSACTION_BYTES > this.#pool.length) {
      this.#pool = crypto.getRandomValues(new Uint8Array(65_536))
      this.#poolAt = 0
    }
    const tx = this.#pool.slice(this.#poolAt, this.#poolAt + TRANSACTION_BYTES)
    this.#poolAt += TRANSACTION_BYTES
    return tx
  }

  // --- the member's I/O -----------------------------------------------------------------------

  #onFrame(frame: ConsensusFrame, peer: string): void {
    if (this.#stopped) return
    const from = this.#memberOf.get(peer)
    if (from === undefined) return
    this.#framesIn.set(frame.kind, (this.#framesIn.get(frame.kind) ?? 0) + 1)
    this.#apply(this.#core.handle({ kind: 'frame', frame, from }))
  }

  #apply(actions: readonly MemberAction[]): void {
    const { peerIds } = this.#options
    for (const action of actions) {
      switch (action.kind) {
        case 'send': {
          const peer = peerIds[action.to]
          if (peer !== undefined) this.#messengerFor(action.frame).send(peer, action.frame)
          break
        }
        case 'broadcast':
          this.#messengerFor(action.frame).broadcast(action.frame)
          break
        case 'timer':
          this.#arm(action.atMs)
          break
        case 'commit':
          this.#onCommit(action.subDag.transactions)
          break
        case 'refused':
        case 'equivocation':
          this.#refused++
          if (process.env.CONSENSUS_BENCH_DEBUG) {
            process.stderr.write(
              `${action.kind}: ${JSON.stringify(action, (_k, v) => (v instanceof Uint8Array ? v.length : typeof v === 'bigint' ? String(v) : v))}\n`,
            )
          }
          break
        case 'persist':
          break // ordering alone: nothing stored (see the header)
      }
    }
  }

  #messengerFor(frame: ConsensusFrame): Messenger<ConsensusFrame> {
    const { messenger, batchMessenger } = this.#options
    return batchMessenger !== undefined && ON_BATCH_STREAMS.has(frame.kind)
      ? batchMessenger
      : messenger
  }

  #onCommit(transactions: readonly Uint8Array[]): void {
    const now = performance.now()
    const me = this.#options.member
    this.#committed += transactions.length
    this.#commits++
    for (const tx of transactions) {
      if (this.#options.recordSequence) {
        let id = ''
        for (let i = 0; i < TRANSACTION_ID_BYTES; i++) {
          id += (tx[i] as number).toString(16).padStart(2, '0')
        }
        this.#sequence.push(id)
      }
      if (tx[0] !== me) continue
      const seq =
        (((tx[1] as number) << 24) |
          ((tx[2] as number) << 16) |
          ((tx[3] as number) << 8) |
          (tx[4] as number)) >>>
        0
      const born = this.#born.get(seq)
      if (born === undefined) continue // committed again (it cannot be, but count it once)
      this.#born.delete(seq)
      this.#latencies.push(Math.round(now - born))
    }
  }

  // --- timers ---------------------------------------------------------------------------------

  /** Ticks the member at `atMs` (and at every other deadline asked for, each once). */
  #arm(atMs: number): void {
    this.#deadlines.add(atMs)
    if (atMs >= this.#timerAt) return
    clearTimeout(this.#timer)
    this.#timerAt = atMs
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, atMs - Date.now()))
  }

  #fire(): void {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    if (this.#stopped) return
    const now = Date.now()
    for (const d of this.#deadlines) if (d <= now) this.#deadlines.delete(d)
    this.#apply(this.#core.handle({ kind: 'tick', nowMs: now }))
    let next = Number.POSITIVE_INFINITY
    for (const d of this.#deadlines) next = Math.min(next, d)
    if (next < Number.POSITIVE_INFINITY && next < this.#timerAt) {
      this.#deadlines.delete(next)
      this.#arm(next)
    }
  }

  // --- reports --------------------------------------------------------------------------------

  /** At the next whole second of the clock (the members' reports then line up). */
  #scheduleReport(): void {
    const nextSecondMs = (Math.floor(Date.now() / 1000) + 1) * 1000
    this.#reporter = setTimeout(() => this.#report(), Math.max(1, nextSecondMs - Date.now()))
  }

  #report(): void {
    if (this.#stopped) return
    // A tick at least once a second: a member whose timers were all lost still moves on.
    this.#apply(this.#core.handle({ kind: 'tick', nowMs: Date.now() }))
    const cpu = process.cpuUsage(this.#cpu)
    this.#cpu = process.cpuUsage()
    const now = Date.now()
    const report: SecondReport = {
      member: this.#options.member,
      sinceMs: this.#sinceMs,
      atMs: now,
      committed: this.#committed,
      commits: this.#commits,
      latenciesMs: this.#latencies,
      generated: this.#generated,
      turnedAway: this.#turnedAway,
      cpuMs: this.#options.processCpu === false ? 0 : (cpu.user + cpu.system) / 1000,
      round: this.#core.round,
      committedRound: this.#core.committedRound,
      pending: this.#born.size,
      refused: this.#refused,
      heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
    }
    this.#sinceMs = now
    this.#committed = 0
    this.#commits = 0
    this.#latencies = []
    this.#generated = 0
    this.#turnedAway = 0
    this.#refused = 0
    if (process.env.CONSENSUS_BENCH_DEBUG) {
      const link = (messenger: Messenger<ConsensusFrame> | undefined, p: string) => {
        const st = messenger?.stats(p)
        return st === undefined
          ? ''
          : `q${st.queued}/s${st.sent}/d${st.dropped}${st.connected ? '' : '/down'}`
      }
      const { messenger, batchMessenger } = this.#options
      const links = messenger.peers.map(
        (p) => `${this.#memberOf.get(p)}:${link(messenger, p)},${link(batchMessenger, p)}`,
      )
      process.stderr.write(
        `in ${[...this.#framesIn].map(([k, n]) => `${k} ${n}`).join(', ')}; round ${this.#core.round} committed ${this.#core.committedRound} unsealed ${this.#core.unsealed} waiting ${this.#core.waitingCommits} links ${links.join(' ')}\n`,
      )
    }
    this.#options.onReport?.(report)
    this.#scheduleReport()
  }
}
