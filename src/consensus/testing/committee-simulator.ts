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
import { Bullshark, type CommittedSubDag } from '../dag/bullshark.ts'
import { committeeShape, type Member } from '../dag/dag-types.ts'
import { type NarwhalAction, NarwhalCore, type NarwhalEvent } from '../dag/narwhal-core.ts'
import { type DagSigner, type DagVerifier, headerDigest, toHex } from '../dag/narwhal-messages.ts'

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

export function macSigner(member: Member): DagSigner {
  const key = memberKey(member)
  return { member, sign: (message) => keyedHash(key, message, MAC_BYTES) }
}

export function macVerifier(size: number): DagVerifier {
  const keys = Array.from({ length: size }, (_, m) => memberKey(m))
  return {
    verify(member, message, signature) {
      const key = keys[member]
      return key !== undefined && equalBytes(keyedHash(key, message, MAC_BYTES), signature)
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
   * Members paused in [fromMs, toMs): they run nothing, and what is sent to them waits until they
   * resume (a stopped process whose peers' links retransmit). A restart from a persisted store
   * is not modelled yet.
   */
  readonly crashes?: readonly {
    readonly member: Member
    readonly fromMs: number
    readonly toMs: number
  }[]
  /**
   * A Byzantine author: each header it broadcasts goes to the lower half of the others, and a
   * twin (one more batch, signed by it) to the upper half; the member just above the split gets
   * both, which is evidence of equivocation.
   */
  readonly equivocator?: Member
  /** A member slower than the others: its messages take this much longer. */
  readonly slow?: { readonly member: Member; readonly extraMs: number }
  readonly maxHeaderDelayMs?: number
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
}

interface Scheduled {
  readonly at: number
  readonly seq: number
  readonly member: Member
  readonly event: NarwhalEvent
}

/** A binary heap by (at, seq): deterministic order for equal times. */
class Queue {
  readonly #items: Scheduled[] = []
  get size(): number {
    return this.#items.length
  }
  push(item: Scheduled): void {
    const a = this.#items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(a[i]!, a[parent]!)) break
      ;[a[i], a[parent]] = [a[parent]!, a[i]!]
      i = parent
    }
  }
  pop(): Scheduled | undefined {
    const a = this.#items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l]!, a[m]!)) m = l
        if (r < a.length && before(a[r]!, a[m]!)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m]!, a[i]!]
        i = m
      }
    }
    return top
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/** Runs a committee for `durationMs` of virtual time. */
export function simulate(options: SimulationOptions): SimulationResult {
  const { size, durationMs } = options
  const random = seededRandom(options.seed)
  const minDelay = options.minDelayMs ?? 5
  const maxDelay = options.maxDelayMs ?? 50
  const tickMs = options.tickMs ?? 10
  const batchEveryMs = options.batchEveryMs ?? 20
  const verifier = macVerifier(size)
  const shape = committeeShape(size)
  const leaderOf = (round: number) => (round / 2 - 1) % size
  const cores = Array.from(
    { length: size },
    (_, m) =>
      new NarwhalCore({
        epoch: 1n,
        committeeSize: size,
        signer: macSigner(m),
        verifier,
        maxHeaderDelayMs: options.maxHeaderDelayMs ?? 50,
        gcDepth: 50,
        nowMs: 0,
      }),
  )
  const orderers = Array.from(
    { length: size },
    () => new Bullshark({ committee: shape, leaderOf, gcDepth: 50 }),
  )
  const sequences: string[][] = cores.map(() => [])
  const batches: string[][] = cores.map(() => [])
  const leaders: string[][] = cores.map(() => [])
  const queue = new Queue()
  let seq = 0
  let rounds = 0
  let refused = 0
  let equivocations = 0
  let messages = 0
  let batchCounter = 0

  /** When a paused member resumes, or undefined if it is running at `at`. */
  const resumesAt = (member: Member, at: number) =>
    (options.crashes ?? []).find((c) => c.member === member && at >= c.fromMs && at < c.toMs)?.toMs
  const apart = (a: Member, b: Member, at: number) => {
    const p = options.partition
    if (p === undefined || at < p.fromMs || at >= p.toMs) return false
    return p.groups.findIndex((g) => g.includes(a)) !== p.groups.findIndex((g) => g.includes(b))
  }
  const refusals: Record<string, number> = {}
  const schedule = (at: number, member: Member, event: NarwhalEvent) => {
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

  const commitAll = (now: number, member: Member, commits: readonly CommittedSubDag[]) => {
    for (const c of commits) {
      leaders[member]!.push(c.leader.digest)
      for (const v of c.vertices) {
        sequences[member]!.push(v.digest)
        const certificate = certificates[member]!.get(v.digest)
        for (const b of certificate?.header.batches ?? []) batches[member]!.push(toHex(b))
      }
    }
    if (commits.length > 0) {
      run(now, member, { kind: 'committed', round: commits.at(-1)!.leader.round })
    }
  }
  const certificates = cores.map(
    () => new Map<string, Extract<NarwhalAction, { kind: 'deliver' }>['certificate']>(),
  )

  const run = (now: number, member: Member, event: NarwhalEvent): void => {
    for (const action of cores[member]!.handle(event)) {
      switch (action.kind) {
        case 'broadcast': {
          const message = action.message
          if (member === options.equivocator && message.type === 'header') {
            const others = Array.from({ length: size }, (_, m) => m).filter((m) => m !== member)
            const split = others.length >> 1
            const body = {
              ...message.header,
              batches: [
                ...message.header.batches,
                keyedHash(memberKey(254), headerDigest(message.header)),
              ],
            }
            const twin = { ...body, signature: macSigner(member).sign(headerDigest(body)) }
            others.forEach((to, i) => {
              if (i <= split)
                transmit(now, member, to, { kind: 'header', header: message.header, from: member })
              if (i >= split)
                transmit(now, member, to, { kind: 'header', header: twin, from: member })
            })
            break
          }
          for (let to = 0; to < size; to++) {
            if (to !== member) transmit(now, member, to, eventOf(message, member))
          }
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
        case 'deliver':
          rounds = Math.max(rounds, action.vertex.round)
          certificates[member]!.set(action.vertex.digest, action.certificate)
          commitAll(now, member, orderers[member]!.add(action.vertex))
          break
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
  }

  for (let m = 0; m < size; m++) {
    schedule(0, m, { kind: 'tick', nowMs: 0 })
  }
  for (let t = tickMs; t < durationMs; t += tickMs) {
    for (let m = 0; m < size; m++) schedule(t, m, { kind: 'tick', nowMs: t })
  }
  for (let t = 1; t < durationMs; t += batchEveryMs) {
    const member = Math.floor(random() * size)
    const digest = keyedHash(
      memberKey(255),
      Uint8Array.of(batchCounter & 0xff, batchCounter >> 8, batchCounter >> 16),
    )
    batchCounter++
    schedule(t, member, { kind: 'batch', digest })
  }
  for (let item = queue.pop(); item !== undefined; item = queue.pop()) {
    if (item.at >= durationMs) break
    const resume = resumesAt(item.member, item.at)
    if (resume !== undefined) {
      // Paused: its own ticks and batches are lost, what peers sent waits for it.
      if (item.event.kind !== 'tick' && item.event.kind !== 'batch') {
        schedule(resume, item.member, item.event)
      }
      continue
    }
    run(
      item.at,
      item.member,
      item.event.kind === 'tick' ? { kind: 'tick', nowMs: item.at } : item.event,
    )
  }
  return { sequences, batches, leaders, rounds, refused, refusals, equivocations, messages }
}
