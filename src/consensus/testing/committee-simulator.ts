/**
 * A whole committee in one process: each member a `NarwhalCore` and a `Bullshark`, joined by a
 * simulated network whose delays, partitions and crashes come from one seed, on a virtual clock.
 * The same seed replays the same run exactly (nothing here reads the real clock or Math.random).
 *
 * Signatures are keyed BLAKE3 MACs, one key per member: they authenticate within the simulation
 * (no member can make another's without its key) at a fraction of Ed25519's cost, so thousands
 * of seeds run in a test; narwhal-core.test.ts runs the core with real Ed25519 keys.
 */
import { keyedHash } from '../../b3/hash.ts'
import { equalBytes } from '../../core/bytes.ts'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { Bullshark, type CommittedSubDag } from '../dag/bullshark.ts'
import { committeeShape, type Member } from '../dag/dag-types.ts'
import {
  type NarwhalAction,
  NarwhalCore,
  type NarwhalCoreOptions,
  type NarwhalEvent,
  type NarwhalRecord,
} from '../dag/narwhal-core.ts'
import {
  type Certificate,
  type DagSigner,
  type DagVerifier,
  digestHex,
  type Header,
  headerDigest,
  signedHeader,
  signerBitfield,
  voteDigest,
} from '../dag/narwhal-messages.ts'
import { NarwhalStore } from '../dag/narwhal-store.ts'

/** xorshift32: the simulation's only randomness. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 2 ** 32
  }
}

function memberKey(member: Member): Uint8Array {
  const key = new Uint8Array(32)
  key[0] = member & 0xff
  key[1] = member >> 8
  key[31] = 0x5a
  return key
}

/** Signatures are 64 bytes, like Ed25519's, so that the codecs (and a NarwhalStore) take them. */
const MAC_BYTES = 64

/**
 * MACs already computed, per message object and member. In one process every member signs and
 * checks the very digest objects the others made (`headerDigest` and `voteDigest` hand out one
 * per header), so a header's MAC is computed once, not once by its author and again by each
 * receiver of the header and of its certificate. Digests are never changed in place.
 */
const macs = new WeakMap<Uint8Array, (Uint8Array | undefined)[]>()

function mac(member: Member, message: Uint8Array): Uint8Array {
  let byMember = macs.get(message)
  if (byMember === undefined) {
    byMember = []
    macs.set(message, byMember)
  }
  let tag = byMember[member]
  if (tag === undefined) {
    tag = keyedHash(memberKey(member), message, MAC_BYTES)
    byMember[member] = tag
  }
  return tag
}

export function macSigner(member: Member): DagSigner {
  return { member, sign: (message) => mac(member, message) }
}

export function macVerifier(size: number): DagVerifier {
  return {
    verify(member, message, signature) {
      if (!Number.isInteger(member) || member < 0 || member >= size) return false
      const tag = mac(member, message)
      // In one process the signature checked is usually the very tag computed.
      return tag === signature || equalBytes(tag, signature)
    },
  }
}

export interface SimulationOptions {
  readonly seed: number
  readonly size: number
  /** Virtual time to run. */
  readonly durationMs: number
  readonly minDelayMs?: number
  readonly maxDelayMs?: number
  /**
   * Members split into groups that cannot reach each other in [fromMs, toMs): messages between
   * groups wait for the heal (links retransmit, as TCP and libp2p streams do).
   */
  readonly partition?: {
    readonly fromMs: number
    readonly toMs: number
    readonly groups: readonly (readonly Member[])[]
  }
  /**
   * Members down in [fromMs, toMs). Paused (the default): they run nothing, and what is sent to
   * them waits until they resume (a stopped process whose peers' links retransmit). With
   * `restart`: the process dies at fromMs and loses everything but its store (what is sent to it
   * while down is lost), and at toMs starts again from its NarwhalStore: `NarwhalCore.recover`
   * over the records it persisted, a Bullshark resumed at the committed round it persisted, the
   * recovered certificates delivered to it again.
   */
  readonly crashes?: readonly {
    readonly member: Member
    readonly fromMs: number
    readonly toMs: number
    readonly restart?: boolean
  }[]
  /**
   * A Byzantine author: each header it broadcasts goes to the lower half of the others, and a
   * twin (another batch, signed by it) to the upper half; the member just above the split gets
   * both, which is evidence of equivocation (so does `doubleVoter`). It also signs a vote for
   * its twin and collects the twin's votes: should they reach a quorum it broadcasts the twin's
   * certificate too (quorum intersection says they cannot while the original is certified).
   */
  readonly equivocator?: Member
  /**
   * A Byzantine voter: when its core refuses a header because it voted for another one of that
   * author and round, it signs a vote for this one too and sends it (it votes for conflicting
   * headers). With `equivocator` it is the second of f = 2 faults of 7; as the equivocator
   * itself it is the one fault of 4.
   */
  readonly doubleVoter?: Member
  /** A member slower than the others: its messages take this much longer. */
  readonly slow?: { readonly member: Member; readonly extraMs: number }
  readonly maxHeaderDelayMs?: number
  /** Narwhal's and Bullshark's garbage-collection depth in rounds (default 50); the stores
   * prune below it too. */
  readonly gcDepth?: number
  readonly tickMs?: number
  readonly batchEveryMs?: number
}

export interface SimulationResult {
  /** Per member: the committed certificates' digests, in order. */
  readonly sequences: readonly (readonly string[])[]
  /** Per member: the committed batch digests (hex), in order. */
  readonly batches: readonly (readonly string[])[]
  /** Per member: the leaders it committed. */
  readonly leaders: readonly (readonly string[])[]
  /** The highest round any member delivered. */
  readonly rounds: number
  readonly refused: number
  /** Refusals by reason (late votes for a header already certified are expected). */
  readonly refusals: Readonly<Record<string, number>>
  readonly equivocations: number
  readonly messages: number
  /** Certificates of an equivocator's twin headers it managed to broadcast. */
  readonly twinCertificates: number
  /** Two different certificates of one (author, round) delivered to one member: must be 0. */
  readonly conflictingCertificates: number
  /**
   * An honest member (neither `equivocator` nor `doubleVoter`) that sent two different headers
   * of one round, or votes for two different headers of one author and round, across its
   * restarts too: must be 0 (what its persisted records are for).
   */
  readonly honestConflicts: number
  /** Each restart from a store: who, when, and how long its committed sequence was then. */
  readonly restarts: readonly {
    readonly member: Member
    readonly atMs: number
    readonly committed: number
  }[]
}

/** What the simulation schedules: a member's event, or its crash and restart. */
type SimEvent = NarwhalEvent | { readonly kind: 'crash' } | { readonly kind: 'restart' }

interface Scheduled {
  readonly at: number
  readonly seq: number
  readonly member: Member
  readonly event: SimEvent
}

/** A binary heap by (at, seq): deterministic order for equal times. */
class Queue {
  readonly #items: Scheduled[] = []
  get size(): number {
    return this.#items.length
  }
  peek(): Scheduled | undefined {
    return this.#items[0]
  }
  push(item: Scheduled): void {
    const a = this.#items
    // Sift up by moving parents down into the hole (no swap arrays: they were a tenth of the
    // simulator's garbage).
    let i = a.length
    a.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = a[parent]!
      if (!before(item, p)) break
      a[i] = p
      i = parent
    }
    a[i] = item
  }
  pop(): Scheduled | undefined {
    const a = this.#items
    const top = a[0]
    const last = a.pop()
    const n = a.length
    if (n > 0 && last !== undefined) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const child = r < n && before(a[r]!, a[l]!) ? r : l
        const c = a[child]!
        if (!before(c, last)) break
        a[i] = c
        i = child
      }
      a[i] = last
    }
    return top
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/** What a step of a member still waits for: its store's write, or nothing (undefined). */
type Later = Promise<void> | undefined

/** The simulated committee's epoch (every member's store files its records under it). */
const EPOCH = 1n

/** One running member: what a crash with restart loses. */
interface Process {
  readonly core: NarwhalCore
  readonly orderer: Bullshark
  /** Delivered certificates by digest, for the batches of committed ones. */
  readonly certificates: Map<string, Certificate>
  /** Per round × size + author, the certificate digest delivered (to catch two of one slot). */
  readonly slots: Map<number, string>
}

/**
 * Runs a committee for `durationMs` of virtual time. Asynchronous because members write their
 * records to a `NarwhalStore` (a `KvStore` is asynchronous) before carrying out what follows
 * them; nothing else waits, so a seed still replays exactly.
 */
export async function simulate(options: SimulationOptions): Promise<SimulationResult> {
  const { size, durationMs } = options
  const random = seededRandom(options.seed)
  const minDelay = options.minDelayMs ?? 5
  const maxDelay = options.maxDelayMs ?? 50
  const tickMs = options.tickMs ?? 10
  const batchEveryMs = options.batchEveryMs ?? 20
  const verifier = macVerifier(size)
  const shape = committeeShape(size)
  const leaderOf = (round: number) => (round / 2 - 1) % size
  const crashes = options.crashes ?? []
  const gcDepth = options.gcDepth ?? 50
  // Stores only where a restart reads them: the members that restart (nothing else reads a
  // store, and writing one has no other effect on the run).
  const stores = Array.from({ length: size }, (_, m) =>
    crashes.some((c) => c.restart === true && c.member === m)
      ? new NarwhalStore(new MemoryKvStore(), 'narwhal/')
      : undefined,
  )
  const coreOptions = (m: Member, nowMs: number): NarwhalCoreOptions => ({
    epoch: EPOCH,
    committeeSize: size,
    signer: macSigner(m),
    verifier,
    maxHeaderDelayMs: options.maxHeaderDelayMs ?? 50,
    gcDepth,
    nowMs,
  })
  const fresh = (core: NarwhalCore, lastCommittedRound = 0): Process => ({
    core,
    orderer: new Bullshark({ committee: shape, leaderOf, gcDepth, lastCommittedRound }),
    certificates: new Map(),
    slots: new Map(),
  })
  /** undefined while crashed (its memory is gone). */
  const processes: (Process | undefined)[] = Array.from({ length: size }, (_, m) =>
    fresh(new NarwhalCore(coreOptions(m, 0))),
  )
  const sequences: string[][] = processes.map(() => [])
  const batches: string[][] = processes.map(() => [])
  const leaders: string[][] = processes.map(() => [])
  const queue = new Queue()
  let seq = 0
  let rounds = 0
  let refused = 0
  let equivocations = 0
  let messages = 0
  let batchCounter = 0
  let twinCertificates = 0
  let conflictingCertificates = 0
  let honestConflicts = 0
  /**
   * What each honest member signed: per member, by round × (size + 1) + author for a vote and
   * + size for its own header, the header digest (numbers, not strings: one per message sent).
   */
  const signed = Array.from({ length: size }, () => new Map<number, string>())
  const noteSigned = (member: Member, message: NarwhalAction & { kind: 'broadcast' | 'send' }) => {
    if (member === options.equivocator || member === options.doubleVoter) return
    const m = message.message
    let key: number
    let digest: string
    if (m.type === 'header' && m.header.author === member) {
      key = m.header.round * (size + 1) + size
      digest = digestHex(headerDigest(m.header))
    } else if (m.type === 'vote' && m.vote.voter === member) {
      key = m.vote.round * (size + 1) + m.vote.author
      digest = digestHex(m.vote.headerDigest)
    } else return
    const mine = signed[member]!
    const before = mine.get(key)
    if (before !== undefined && before !== digest) honestConflicts++
    mine.set(key, digest)
    // Killed right after it, before anything else it would do.
    if (dying.get(member) === 'signed') dying.set(member, 0)
  }
  const restarts: { member: Member; atMs: number; committed: number }[] = []

  /** The crash covering `member` at `at`, if any. */
  const crashAt = (member: Member, at: number) =>
    crashes.find((c) => c.member === member && at >= c.fromMs && at < c.toMs)
  const apart = (a: Member, b: Member, at: number) => {
    const p = options.partition
    if (p === undefined || at < p.fromMs || at >= p.toMs) return false
    return p.groups.findIndex((g) => g.includes(a)) !== p.groups.findIndex((g) => g.includes(b))
  }
  const refusals: Record<string, number> = {}
  const schedule = (at: number, member: Member, event: SimEvent) => {
    queue.push({ at, seq: seq++, member, event })
  }
  const transmit = (now: number, from: Member, to: Member, event: NarwhalEvent) => {
    let delay = minDelay + random() * (maxDelay - minDelay)
    if (options.slow?.member === from || options.slow?.member === to) delay += options.slow.extraMs
    // Across a partition, the message goes once it heals.
    const start = apart(from, to, now) ? options.partition!.toMs : now
    messages++
    schedule(start + delay, to, event)
  }
  const eventOf = (
    message: Extract<NarwhalAction, { kind: 'broadcast' }>['message'],
    from: Member,
  ): NarwhalEvent =>
    message.type === 'header'
      ? { kind: 'header', header: message.header, from }
      : message.type === 'vote'
        ? { kind: 'vote', vote: message.vote }
        : { kind: 'certificate', certificate: message.certificate, from }
  /** Per member, the others, in member order. */
  const others = Array.from({ length: size }, (_, member) =>
    Array.from({ length: size }, (_, m) => m).filter((m) => m !== member),
  )

  // --- the Byzantine equivocator: twins, their votes, their certificates ---------------------
  const twins = new Map<string, { header: Header; votes: Map<Member, Uint8Array> }>()
  const makeTwin = (header: Header): Header => {
    // Other batches than the original's: should the twin be certified instead, the original's
    // batches go into the author's next header and still commit once (a Byzantine author that
    // repeats batch digests is the executor's to de-duplicate, not the simulator's to show).
    const body = { ...header, batches: [keyedHash(memberKey(254), headerDigest(header))] }
    const twin = signedHeader(body, macSigner(header.author).sign(headerDigest(body)))
    const digest = headerDigest(twin)
    // Its author votes for it as for its original.
    const own = macSigner(header.author).sign(voteDigest(digest, twin.round, twin.author))
    twins.set(digestHex(digest), { header: twin, votes: new Map([[header.author, own]]) })
    return twin
  }
  /** A vote for a twin, at the equivocator: kept, and a quorum makes a certificate. */
  const twinVote = (now: number, member: Member, event: NarwhalEvent): boolean => {
    if (event.kind !== 'vote') return false
    const twin = twins.get(digestHex(event.vote.headerDigest))
    if (twin === undefined) return false
    const had = twin.votes.size
    twin.votes.set(event.vote.voter, event.vote.signature)
    if (had < shape.quorum && twin.votes.size >= shape.quorum) {
      const signers = [...twin.votes.keys()].sort((a, b) => a - b).slice(0, shape.quorum)
      const certificate: Certificate = {
        header: twin.header,
        signers: signerBitfield(signers),
        signatures: signers.map((v) => twin.votes.get(v)!),
      }
      twinCertificates++
      for (const to of others[member]!) {
        transmit(now, member, to, { kind: 'certificate', certificate, from: member })
      }
    }
    return true
  }

  // --- running a member -----------------------------------------------------------------------
  //
  // Synchronous unless a store is written: each step returns the promise of its write when there
  // is one (then the rest runs after it), undefined when done. Everything runs one event at a
  // time, so this is the order an `await` at each step gives, without a promise per action.

  const commitAll = (now: number, member: Member, commits: readonly CommittedSubDag[]): Later => {
    if (commits.length === 0) return
    const proc = processes[member]!
    const round = commits.at(-1)!.leader.round
    const store = stores[member]
    const handOut = (): Later => {
      for (const c of commits) {
        leaders[member]!.push(c.leader.digest)
        for (const v of c.vertices) {
          sequences[member]!.push(v.digest)
          const certificate = proc.certificates.get(v.digest)
          for (const b of certificate?.header.batches ?? []) batches[member]!.push(digestHex(b))
        }
      }
      const ran = run(now, member, { kind: 'committed', round })
      if (store === undefined) return ran
      // What the core collected, the store drops too (unless the member died meanwhile).
      const prune = () =>
        processes[member] === proc ? store.prune(EPOCH, round - gcDepth) : undefined
      return ran === undefined ? prune() : ran.then(prune)
    }
    // The position first: a crash after it loses this hand-out, never repeats it.
    return store === undefined ? handOut() : store.saveCommittedRound(EPOCH, round).then(handOut)
  }

  /**
   * Members killed in the middle of what they do: how many more actions each carries out. The
   * kill lands between any two actions (a record written or not yet, a vote persisted and not
   * sent), which is what the write-before rule of `persist` is for.
   */
  const dying = new Map<Member, number | 'signed'>()
  /** Whether `member` (running `proc`) is dead, or dies now, before its next action. */
  const killed = (member: Member, proc: Process): boolean => {
    if (processes[member] !== proc) return true
    const left = dying.get(member)
    if (left === undefined || left === 'signed') return false
    if (left > 0) {
      dying.set(member, left - 1)
      return false
    }
    dying.delete(member)
    processes[member] = undefined
    return true
  }

  /** Writes a run of a member's records (nothing to wait for without a store). */
  const write = (member: Member, records: NarwhalRecord[]): Later =>
    stores[member]?.append(EPOCH, records)

  /** Carries out a member's actions in order; its records are written before what follows. */
  const carryOut = (now: number, member: Member, actions: readonly NarwhalAction[]): Later =>
    carryOutFrom(now, member, processes[member]!, actions, 0, false)

  /**
   * `actions` from index `from` on, by `proc`; `resumed`: the kill check of `actions[from]` was
   * made before the write this resumes after.
   */
  const carryOutFrom = (
    now: number,
    member: Member,
    proc: Process,
    actions: readonly NarwhalAction[],
    from: number,
    resumed: boolean,
  ): Later => {
    let pending: NarwhalRecord[] | undefined
    for (let i = from; i < actions.length; i++) {
      const action = actions[i]!
      // Killed here: what it had not written yet is lost with the rest.
      if (!(resumed && i === from) && killed(member, proc)) return
      if (action.kind === 'persist') {
        // Kept only where a store writes it (the kill check above counts it either way).
        if (stores[member] !== undefined) {
          pending ??= []
          pending.push(action.record)
        }
        continue
      }
      if (pending !== undefined && pending.length > 0) {
        const written = write(member, pending)
        pending = undefined
        if (written !== undefined) {
          const at = i
          return written.then(() => carryOutFrom(now, member, proc, actions, at, true))
        }
      }
      if (action.kind === 'broadcast' || action.kind === 'send') noteSigned(member, action)
      switch (action.kind) {
        case 'broadcast': {
          const message = action.message
          if (member === options.equivocator && message.type === 'header') {
            const twin = makeTwin(message.header)
            const targets = others[member]!
            const split = targets.length >> 1
            targets.forEach((to, i) => {
              // The double voter gets both, so that it can vote for both.
              const both = to === options.doubleVoter
              if (i <= split || both)
                transmit(now, member, to, { kind: 'header', header: message.header, from: member })
              if (i >= split || both)
                transmit(now, member, to, { kind: 'header', header: twin, from: member })
            })
            break
          }
          const event = eventOf(message, member)
          for (const to of others[member]!) transmit(now, member, to, event)
          break
        }
        case 'send':
          transmit(now, member, action.to, eventOf(action.message, member))
          break
        case 'request':
          transmit(now, member, action.to, {
            kind: 'request',
            digests: action.digests,
            from: member,
          })
          break
        case 'deliver': {
          rounds = Math.max(rounds, action.vertex.round)
          const { vertex } = action
          const slot = vertex.round * size + vertex.author
          const before = proc.slots.get(slot)
          if (before !== undefined && before !== vertex.digest) conflictingCertificates++
          proc.slots.set(slot, vertex.digest)
          proc.certificates.set(vertex.digest, action.certificate)
          const committed = commitAll(now, member, proc.orderer.add(vertex))
          if (committed !== undefined) {
            const next = i + 1
            return committed.then(() =>
              processes[member] === proc
                ? carryOutFrom(now, member, proc, actions, next, false)
                : undefined,
            )
          }
          if (processes[member] !== proc) return
          break
        }
        case 'equivocation':
          equivocations++
          break
        case 'refused': {
          refused++
          const reason = `${action.what}: ${action.reason.replace(/[0-9a-f]{16,}|\d+/g, '…')}`
          refusals[reason] = (refusals[reason] ?? 0) + 1
          break
        }
      }
    }
    if (!killed(member, proc) && pending !== undefined && pending.length > 0) {
      return write(member, pending)
    }
  }

  const run = (now: number, member: Member, event: NarwhalEvent): Later => {
    if (member === options.equivocator && twinVote(now, member, event)) return
    const proc = processes[member]!
    const actions = proc.core.handle(event)
    const done = carryOut(now, member, actions)
    if (done !== undefined) return done.then(() => doubleVote(now, member, proc, event, actions))
    doubleVote(now, member, proc, event, actions)
  }

  /** The double voter's second vote, after a header its core refused for its first. */
  const doubleVote = (
    now: number,
    member: Member,
    proc: Process,
    event: NarwhalEvent,
    actions: readonly NarwhalAction[],
  ): void => {
    if (processes[member] !== proc) return
    if (member === options.doubleVoter && event.kind === 'header') {
      const { header } = event
      const conflicting = actions.some(
        (a) => a.kind === 'refused' && a.reason === 'voted for another header',
      )
      if (conflicting && header.author !== member) {
        const digest = headerDigest(header)
        const vote = {
          headerDigest: digest,
          round: header.round,
          author: header.author,
          voter: member,
          signature: macSigner(member).sign(voteDigest(digest, header.round, header.author)),
        }
        transmit(now, member, header.author, { kind: 'vote', vote })
      }
    }
  }

  /** A crashed member starts again from its store. */
  const restart = async (now: number, member: Member) => {
    const store = stores[member]!
    const records = await store.load(EPOCH)
    const committed = await store.loadCommittedRound(EPOCH)
    dying.delete(member)
    const { core, actions } = NarwhalCore.recover(coreOptions(member, now), records)
    processes[member] = fresh(core, committed)
    restarts.push({ member, atMs: now, committed: sequences[member]!.length })
    await carryOut(now, member, actions)
  }

  // Every member ticks every tickMs: nearly half the events. Instead of sitting in the queue they
  // come from a cursor, taken before the queue's next item exactly when they would have been
  // popped before it had they been queued first, member by member (tick i has seq i).
  let tickCount = size
  for (let t = tickMs; t < durationMs; t += tickMs) tickCount += size
  let tickAt = 0
  let tickMember = 0
  let tickSeq = 0
  seq = tickCount
  for (let t = 1; t < durationMs; t += batchEveryMs) {
    const member = Math.floor(random() * size)
    const digest = keyedHash(
      memberKey(255),
      Uint8Array.of(batchCounter & 0xff, batchCounter >> 8, batchCounter >> 16),
    )
    batchCounter++
    schedule(t, member, { kind: 'batch', digest })
  }
  for (const c of crashes) {
    if (c.restart !== true) continue
    schedule(c.fromMs, c.member, { kind: 'crash' })
    schedule(c.toMs, c.member, { kind: 'restart' })
  }
  for (;;) {
    const top = queue.peek()
    let at: number
    let member: Member
    let event: SimEvent
    if (
      tickSeq < tickCount &&
      (top === undefined || tickAt < top.at || (tickAt === top.at && tickSeq < top.seq))
    ) {
      at = tickAt
      member = tickMember
      event = { kind: 'tick', nowMs: tickAt }
      tickSeq++
      if (++tickMember === size) {
        tickMember = 0
        tickAt += tickMs
      }
    } else if (top !== undefined) {
      queue.pop()
      at = top.at
      member = top.member
      event = top.event
    } else break
    if (at >= durationMs) break
    if (event.kind === 'crash') {
      // Killed within its next event after 0 to 7 more actions, or (one crash in two) right
      // after the next header or vote it sends; then its memory is gone (its store stays), and
      // so is whatever reaches it until the restart.
      if (processes[member] !== undefined) {
        dying.set(member, random() < 0.5 ? 'signed' : Math.floor(random() * 8))
      }
      continue
    }
    if (event.kind === 'restart') {
      await restart(at, member)
      continue
    }
    if (processes[member] === undefined) continue
    if (dying.has(member)) {
      // The event it is killed in (at the end of it, if it has fewer actions).
      const ran = run(at, member, event)
      if (ran !== undefined) await ran
      if (dying.get(member) !== 'signed') {
        dying.delete(member)
        processes[member] = undefined
      }
      continue
    }
    const crash = crashes.length === 0 ? undefined : crashAt(member, at)
    if (crash !== undefined) {
      // Paused: its own ticks and batches are lost, what peers sent waits for it. (A killed
      // member is dead by now, see above.)
      const waits = crash.restart !== true && event.kind !== 'tick' && event.kind !== 'batch'
      if (waits) schedule(crash.toMs, member, event)
      continue
    }
    const ran = run(at, member, event)
    if (ran !== undefined) await ran
  }
  return {
    sequences,
    batches,
    leaders,
    rounds,
    refused,
    refusals,
    equivocations,
    messages,
    twinCertificates,
    conflictingCertificates,
    honestConflicts,
    restarts,
  }
}

// --- the seed sweep ------------------------------------------------------------------------

/**
 * What is wrong with a run, for the seed sweep (scripts/consensus-sweep.ts) and its bench
 * (bench/node/consensus-sim.ts), or undefined: every member's committed sequence a prefix of the
 * longest, nothing twice on a member (across its restart too), never two certificates of one
 * author and round delivered to a member, an honest member never signing two headers of a round
 * or two votes of a slot, every member committing, a restarted one committing again after it.
 */
export function sweepProblem(result: SimulationResult): string | undefined {
  const longest = result.sequences.reduce((a, b) => (b.length > a.length ? b : a))
  for (const [m, s] of result.sequences.entries()) {
    if (!s.every((d, i) => longest[i] === d))
      return `member ${m} diverges from the longest sequence`
    if (new Set(s).size !== s.length) return `member ${m} commits a certificate twice`
  }
  if (result.conflictingCertificates > 0) {
    return `${result.conflictingCertificates} times two certificates of one author and round`
  }
  if (result.honestConflicts > 0) {
    return `an honest member signed two headers of a round or two votes of a slot (${result.honestConflicts})`
  }
  if (result.sequences.some((s) => s.length === 0)) return 'a member committed nothing'
  for (const r of result.restarts) {
    if (result.sequences[r.member]!.length <= r.committed) {
      return `member ${r.member} commits nothing after its restart at ${r.atMs} ms`
    }
  }
  return undefined
}

/**
 * The sweep's six scenarios of one seed and committee size, `durationMs` of virtual time each
 * (see scripts/consensus-sweep.ts).
 */
export function sweepScenarios(
  seed: number,
  size: number,
  durationMs: number,
): Record<string, SimulationOptions> {
  const halves = [
    Array.from({ length: size >> 1 }, (_, i) => i),
    Array.from({ length: size - (size >> 1) }, (_, i) => i + (size >> 1)),
  ]
  const equivocator = (seed + 1) % size
  return {
    // The slow member's links need time too (see the simulator test).
    delays: {
      seed,
      size,
      durationMs: durationMs + 25 * (1 + (seed % 120) + 100),
      minDelayMs: 1,
      maxDelayMs: 1 + (seed % 120),
      slow: { member: seed % size, extraMs: 100 },
    },
    partition: {
      seed,
      size,
      durationMs,
      partition: { fromMs: durationMs / 5, toMs: durationMs / 2, groups: halves },
    },
    equivocator: { seed, size, durationMs, equivocator },
    pause: {
      seed,
      size,
      durationMs,
      crashes: [{ member: seed % size, fromMs: durationMs / 5, toMs: durationMs / 2 }],
    },
    // Down for 0.2 to 0.5 of the run from a seeded instant; a second of virtual time after it.
    restart: {
      seed,
      size,
      durationMs: durationMs + 1_000,
      crashes: [
        {
          member: seed % size,
          fromMs: ((seed * 37) % 500) + 100,
          toMs: ((seed * 37) % 500) + 100 + durationMs * (0.2 + ((seed * 13) % 30) / 100),
          restart: true,
        },
      ],
    },
    'conflicting-votes': {
      seed,
      size,
      durationMs,
      equivocator,
      doubleVoter: size < 7 ? equivocator : (equivocator + 3) % size,
    },
  }
}
