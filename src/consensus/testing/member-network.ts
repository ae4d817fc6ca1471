/**
 * A committee of CommitteeMembers (committee-member.ts) in one process, over a seeded network
 * that delays and reorders every frame, on a virtual clock; every frame goes through the real
 * codec. The member-level counterpart of committee-simulator.ts (which runs the bare cores):
 * its tests check that batches, availability and ordering agree across members.
 */
import { CommitteeMember, type MemberAction, type OrderedSubDag } from '../dag/committee-member.ts'
import { CONSENSUS_FRAMES, type ConsensusFrame } from '../dag/consensus-frames.ts'
import type { Member } from '../dag/dag-types.ts'
import type { NarwhalRecord } from '../dag/narwhal-core.ts'
import { toHex } from '../dag/narwhal-messages.ts'
import { macSigner, macVerifier, seededRandom } from './committee-simulator.ts'

export interface Net {
  /** Drop this frame (from → to)? */
  drop?(from: Member, to: Member, frame: ConsensusFrame, nowMs: number): boolean
}

export interface MemberRun {
  readonly commits: OrderedSubDag[][]
  readonly submitted: string[]
  readonly batchRequests: number
  /** By member: how many commits it had handed on when it came back (restart or rejoin). */
  readonly rejoinedAt: readonly number[]
}

/**
 * A committee of CommitteeMembers over a seeded, delaying, reordering network on a virtual
 * clock. Every frame goes through the real codec (encode, decode), as it would on a stream.
 */
export function runMembers(options: {
  seed: number
  size?: number
  transactions?: number
  durationMs?: number
  net?: Net
  /**
   * `member` crashes at `atMs` (loses everything but what it persisted: its Narwhal records
   * and the round of the last commit it handed on) and restarts `downMs` later through
   * CommitteeMember.recover. Transactions go to the other members.
   */
  restart?: {
    readonly member: Member
    readonly atMs: number
    readonly downMs: number
    /**
     * Its last batch never leaves it: given a transaction 300 ms before the crash, its batch
     * frames of the last 500 ms are lost, so its last headers name a batch only it held. The
     * transaction is not counted as submitted (the orderer's mempool gives it again, as a new
     * batch). It takes transactions again once it is back.
     */
    readonly loseLastBatch?: boolean
  }
  /**
   * The same crash, but down longer than the others keep their DAG: it comes back with its own
   * records and, as the committed round, the one member `from` handed on last (what the
   * committee orderer asks its peers for once it followed the chain by blocks up to there).
   */
  rejoin?: {
    readonly member: Member
    readonly atMs: number
    readonly downMs: number
    readonly from: Member
  }
  /** Narwhal's and Bullshark's GC depth (the member's default otherwise). */
  gcDepth?: number
}): MemberRun {
  const size = options.size ?? 4
  const random = seededRandom(options.seed)
  const verifier = macVerifier(size)
  const leaderSeed = new Uint8Array(32).fill(options.seed & 0xff)
  const optionsOf = (m: Member, nowMs: number) => ({
    epoch: 3n,
    committeeSize: size,
    signer: macSigner(m),
    verifier,
    leaderSeed,
    nowMs,
    maxHeaderDelayMs: 100,
    batchDelayMs: 20,
    resendMs: 1_000,
    gcDepth: options.gcDepth,
  })
  const members: (CommitteeMember | undefined)[] = Array.from(
    { length: size },
    (_, m) => new CommitteeMember(optionsOf(m, 0)),
  )
  /** What each member persisted, and the leader round of its last commit. */
  const records: NarwhalRecord[][] = members.map(() => [])
  const handedOn: number[] = members.map(() => 0)
  /** Bumped at a crash: the crashed incarnation's timers and frames die with it. */
  const incarnation: number[] = members.map(() => 0)
  type Item = { at: number; seq: number; run: () => void }
  const queue: Item[] = []
  let seq = 0
  let now = 0
  const schedule = (at: number, fn: () => void) => {
    queue.push({ at, seq: seq++, run: fn })
  }
  const commits: OrderedSubDag[][] = members.map(() => [])
  let batchRequests = 0
  const restart = options.restart
  const lostBatch = (from: Member, frame: ConsensusFrame) =>
    restart?.loseLastBatch === true &&
    from === restart.member &&
    frame.kind === 'batch' &&
    now >= restart.atMs - 500 &&
    now < restart.atMs
  const deliver = (from: Member, to: Member, frame: ConsensusFrame) => {
    if (options.net?.drop?.(from, to, frame, now) || lostBatch(from, frame)) return
    if (frame.kind === 'batch-request') batchRequests++
    const bytes = CONSENSUS_FRAMES.encode(frame)
    const delay = 5 + Math.floor(random() * 60)
    schedule(now + delay, () => {
      // The 5-byte prefix, then the payload: what a stream would hand the decoder.
      const decoded = CONSENSUS_FRAMES.decode(bytes[0] as number, bytes.subarray(5))
      act(to, members[to]?.handle({ kind: 'frame', frame: decoded, from }) ?? [])
    })
  }
  const act = (m: Member, actions: MemberAction[]) => {
    for (const a of actions) {
      if (a.kind === 'broadcast') {
        for (let to = 0; to < size; to++) if (to !== m) deliver(m, to, a.frame)
      } else if (a.kind === 'send') deliver(m, a.to, a.frame)
      else if (a.kind === 'timer') {
        const alive = incarnation[m]
        schedule(Math.max(a.atMs, now), () => {
          if (incarnation[m] === alive)
            act(m, members[m]?.handle({ kind: 'tick', nowMs: now }) ?? [])
        })
      } else if (a.kind === 'persist') records[m]?.push(a.record)
      else if (a.kind === 'commit') {
        commits[m]?.push(a.subDag)
        handedOn[m] = a.subDag.leaderRound
      }
    }
  }
  const submitted: string[] = []
  const count = options.transactions ?? 200
  const durationMs = options.durationMs ?? 20_000
  for (let i = 0; i < count; i++) {
    const tx = new Uint8Array(40)
    tx.fill(i & 0xff)
    new DataView(tx.buffer).setUint32(0, i)
    new DataView(tx.buffer).setUint32(4, options.seed)
    let to = Math.floor(random() * size)
    const at = random() * (durationMs / 2)
    if (
      restart !== undefined &&
      to === restart.member &&
      (restart.loseLastBatch !== true || at < restart.atMs + restart.downMs + 500)
    ) {
      to = (to + 1) % size
    }
    // The rejoining member takes transactions before it goes down (a second for them to
    // commit) and after it is back: its own batches must commit after the rejoin too.
    const rejoin = options.rejoin
    if (
      rejoin !== undefined &&
      to === rejoin.member &&
      at > rejoin.atMs - 1_000 &&
      at < rejoin.atMs + rejoin.downMs + 1_000
    ) {
      to = (to + 1) % size
    }
    submitted.push(toHex(tx))
    schedule(at, () => act(to, members[to]?.handle({ kind: 'transaction', bytes: tx }) ?? []))
  }
  if (restart?.loseLastBatch === true) {
    const lost = new Uint8Array(40).fill(0xee)
    new DataView(lost.buffer).setUint32(4, options.seed)
    const m = restart.member
    schedule(restart.atMs - 300, () =>
      act(m, members[m]?.handle({ kind: 'transaction', bytes: lost }) ?? []),
    )
  }
  for (let m = 0; m < size; m++)
    schedule(0, () => act(m, members[m]?.handle({ kind: 'tick', nowMs: 0 }) ?? []))
  const rejoinedAt: number[] = []
  for (const down of [options.restart, options.rejoin]) {
    if (down === undefined) continue
    const m = down.member
    schedule(down.atMs, () => {
      members[m] = undefined
      incarnation[m] = (incarnation[m] ?? 0) + 1
    })
    schedule(down.atMs + down.downMs, () => {
      const from = down === options.rejoin ? options.rejoin.from : m
      const committedRound = handedOn[from] ?? 0
      rejoinedAt[m] = commits[m]?.length ?? 0
      const { member, actions } = CommitteeMember.recover(
        optionsOf(m, now),
        records[m] ?? [],
        committedRound,
      )
      members[m] = member
      act(m, actions)
      act(m, member.handle({ kind: 'tick', nowMs: now }))
    })
  }
  while (queue.length > 0) {
    let best = 0
    for (let i = 1; i < queue.length; i++) {
      const a = queue[i] as Item
      const b = queue[best] as Item
      if (a.at < b.at || (a.at === b.at && a.seq < b.seq)) best = i
    }
    const item = queue.splice(best, 1)[0] as Item
    if (item.at > durationMs) break
    now = item.at
    item.run()
  }
  return { commits, submitted, batchRequests, rejoinedAt }
}
