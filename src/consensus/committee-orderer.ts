/**
 * The committee orderer (`--consensus committee`, DESIGN.md "Consensus"): this node's part in
 * the epoch's committee, behind the same `Orderer` face as the solo orderer.
 *
 * - Admission as every orderer does it (admission.ts); an admitted transaction goes to this
 *   member's CommitteeMember (dag/committee-member.ts), which batches it and orders it with
 *   the others' by Narwhal and Bullshark over a Messenger (libp2p on a node, in memory in
 *   tests). Frames from peers go in, actions come out: sends, persists, timers, commits.
 * - Execution: each committed sub-DAG becomes blocks { height: head + 1, parent: head hash,
 *   timestamp: max(head's, the leader's), transactions de-duplicated by digest, executed ones
 *   left out } executed strictly in commit order, so every member executes the same blocks and
 *   reaches the same state roots. A sub-DAG with no transactions makes a block only during the
 *   beacon's phases (they count blocks), and `emptyBlockMs` after the head.
 * - Epochs: after each block the head's epoch is compared with the member's; at a change the
 *   old DAG's later commits are dropped (on every member alike: they come after the same
 *   block), the new committee is read from the state, and this node's transactions not yet
 *   executed go to the new member. A node outside the committee orders nothing: its
 *   transactions wait in its mempool (the node follows blocks by other means, chain-node.ts).
 * - Its own transactions not executed `refeedMs` after it gave them to the member are given
 *   again (a batch can be lost with a crashed member); the executor answers a second copy with
 *   TX_ALREADY_EXECUTED, so a duplicate costs one receipt.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { deriveKey } from '../b3/hash.ts'
import { equalBytes } from '../core/bytes.ts'
import type { Component } from '../core/lifecycle.ts'
import { type Logger, noopLogger } from '../core/logger.ts'
import type { Metrics } from '../core/metrics.ts'
import type { MessageTransport } from '../net/message-transport.ts'
import { createMessenger, type Messenger } from '../net/messenger.ts'
import { MAX_BLOCK_TRANSACTIONS } from '../state/executor.ts'
import type {
  BlockBody,
  ChainExecutor,
  ChainHead,
  Digest,
  ExecutedBlock,
  Receipt,
  Sender,
} from '../state/model.ts'
import {
  decodeTransactionWithDigest,
  nodeKeyOfSeed,
  type Secp256k1Recover,
  senderId,
} from '../state/transaction.ts'
import { admitTransaction } from './admission.ts'
import { AttestationCollector } from './attestation/attestation-collector.ts'
import type { AttestationStore } from './attestation/attestation-store.ts'
import { type AggregateSignature, signBlockHash } from './attestation/block-attestation.ts'
import { readBlsKeys } from './attestation/committee-keys.ts'
import { readCommittee, readMetadata, readNonce } from './chain-reads.ts'
import {
  CommitteeMember,
  type CommitteeMemberOptions,
  type MemberAction,
  type MemberEvent,
  type OrderedSubDag,
} from './dag/committee-member.ts'
import { CONSENSUS_FRAMES, type ConsensusFrame } from './dag/consensus-frames.ts'
import { committeeShape } from './dag/dag-types.ts'
import {
  type DagSigner,
  type DagVerifier,
  ed25519DagSigner,
  ed25519DagVerifier,
} from './dag/narwhal-messages.ts'
import type { NarwhalStore } from './dag/narwhal-store.ts'
import { PeerRounds, type Position, PositionBook, PositionTally } from './dag-position.ts'
import { ConsensusError } from './errors.ts'
import { Mempool, type MempoolOptions, type PendingTransaction } from './mempool.ts'
import type { Orderer } from './orderer.ts'
import { OrdererListeners } from './orderer-listeners.ts'
import { defaultSetTimer, type SetTimer } from './timer.ts'

/** The member's timing knobs (the rest comes from the state and the node's key). */
export type CommitteeTiming = Pick<
  CommitteeMemberOptions,
  'maxHeaderDelayMs' | 'batchDelayMs' | 'resendMs' | 'maxClockSkewMs' | 'gcDepth' | 'maxBatchBytes'
>

/**
 * What a member persists (a NarwhalStore): its records before what follows them is sent, and the
 * round of the last leader whose sub-DAG was executed, so that a restart resumes there.
 */
export type MemberStore = Pick<
  NarwhalStore,
  'append' | 'load' | 'saveCommittedRound' | 'loadCommittedRound' | 'prune' | 'dropEpochsBelow'
>

export interface CommitteeOrdererOptions {
  readonly executor: ChainExecutor
  readonly recover?: Secp256k1Recover
  /** The node's Ed25519 seed: its node key names it in the committee; it signs headers, votes. */
  readonly nodeSeed: Uint8Array
  /** The committee's message network (one protocol id), and a member's peer id by node key. */
  readonly transport: MessageTransport
  readonly peerOf: (nodeKey: Uint8Array) => string
  /** Called with the epoch's committee before its messenger starts (to learn addresses). */
  readonly prepare?: (members: readonly Uint8Array[]) => Promise<void>
  /**
   * Told at every epoch whether this node is in its committee. Outside it, the node follows the
   * chain by other means (chain-node.ts) and calls `headMoved` after each block it executes.
   */
  readonly onRole?: (member: boolean, epoch: number) => void | Promise<void>
  /** The DAG's signatures (default @noble/curves Ed25519; a node passes a faster one). */
  readonly signerOf?: (member: number, nodeSeed: Uint8Array) => DagSigner
  readonly verifierOf?: (publicKeys: readonly Uint8Array[]) => DagVerifier
  readonly timing?: CommitteeTiming
  /** An empty sub-DAG makes a block when the head is at least this old (default 1,000 ms). */
  readonly emptyBlockMs?: number
  /** Our transactions not executed this long after they went to the member go again. */
  readonly refeedMs?: number
  readonly maxBlockTransactions?: number
  readonly mempool?: MempoolOptions
  readonly store?: MemberStore
  /** The node's BLS secret key: as a member it signs every block it executes (attestations). */
  readonly blsSecretKey?: Uint8Array
  /** Where assembled attestations go (served with the blocks). */
  readonly attestations?: Pick<AttestationStore, 'put'>
  /** Checkpoints: a member with a BLS key also signs the checkpoint each executed block
   * completes, and the aggregates assembled go here (src/checkpoint). */
  readonly checkpoints?: CheckpointSigning
  readonly now?: () => number
  readonly setTimer?: SetTimer
  readonly logger?: Logger
  readonly metrics?: Metrics
}

/**
 * What the orderer needs of checkpoints (src/checkpoint's book implements it in the node): which
 * executed block completes one and its hash, the tag partials are signed under, and where an
 * aggregate of n − f partials goes. Checkpoints sit above consensus; this is their seam.
 */
export interface CheckpointSigning {
  /** The hash of the checkpoint taken after `block`, or undefined when none is. */
  checkpointOf(block: ExecutedBlock): Promise<Uint8Array | undefined>
  readonly dst: string
  signed(height: number, aggregate: AggregateSignature): Promise<void>
}

export interface CommitteeOrderer extends Orderer, Component {
  /** The epoch the member orders for, its index in the committee (-1: not a member), round. */
  readonly status: {
    readonly epoch: number
    readonly member: number
    readonly committee: number
    readonly round: number
    readonly committedRound: number
  }
  readonly mempoolSize: number
  /**
   * Out of the DAG (not in this epoch's committee, or left it): the admitted transactions not
   * executed yet, each sender's in nonce order, taken out of the mempool so that the node
   * passes them on to the committee (its forwarding orderer). Kept here they would wait
   * until this node orders again, perhaps epochs later.
   */
  takePending(): Uint8Array[]
  /** Runs what `beforeEpochChange` registered (the claim settler): the node's epoch duty calls
   * it before it signals an epoch change. */
  runBeforeEpochChange(epoch: number, signal: AbortSignal): Promise<void>
  /**
   * The head moved by other means (a follower executed `block`): what it executed leaves the
   * mempool (a transaction admitted here meanwhile would otherwise be pending for good), and
   * when this node is not in the committee and the epoch changed, it reads the new committee
   * (and may join it).
   */
  headMoved(block?: ExecutedBlock): Promise<void>
}

/** The epoch's leader order: from the chain, the epoch and its committee, on every member alike. */
export function leaderSeedOf(
  chainId: number,
  epoch: number,
  members: readonly Uint8Array[],
): Uint8Array {
  const material = new Uint8Array(16 + 32 * members.length)
  const view = new DataView(material.buffer)
  view.setBigUint64(0, BigInt(chainId))
  view.setBigUint64(8, BigInt(epoch))
  members.forEach((m, i) => {
    material.set(m, 16 + 32 * i)
  })
  return deriveKey('fulmen 2026 leader seed', material)
}

interface Epoch {
  readonly epoch: number
  readonly members: readonly Uint8Array[]
  readonly index: number
  readonly member: CommitteeMember | undefined
  readonly memberOfPeer: ReadonlyMap<string, number>
  readonly peerOfMember: readonly string[]
  /** The committee's BLS keys and the partial signatures of its blocks (members with a key). */
  readonly collector: AttestationCollector | undefined
  /** The same for the checkpoints of its blocks (with `checkpoints`). */
  readonly checkpointCollector: AttestationCollector | undefined
}

/** How long the last committee's members stay peers after an epoch change: they finish
 * attesting the blocks of their epoch (the last one is executed just before the change). */
const RETIRE_AFTER_MS = 15_000
/** Out of the DAG: how often the peers are asked where it stood after our head. */
const REJOIN_ASK_MS = 1_000

/** A member out of its epoch's DAG, asking its way back in. */
interface Rejoin {
  readonly epoch: Epoch
  readonly tally: PositionTally
  /** f + 1 agreed: the follower is stopping and the member is being made. */
  joining: boolean
  /** The highest round seen in the others' headers and certificates since we left. */
  seenRound: number
  disarm: () => void
}
/** Partials for heights not executed here yet, at most (they wait for the block). */
const MAX_EARLY_PARTIALS = 4_096
/** Heights whose ordering epoch is remembered (attestations come within these). */
const ATTESTED_HEIGHTS = 256
/** How often our partials for blocks still unattested here are said again. */
const PARTIAL_RESEND_MS = 2_000
/** How long a transaction that came before its predecessor waits for it. */
const TOO_EARLY_MS = 60_000

/** The sender a mempool id names: a 20-byte account address or a 32-byte node key. */
function senderOf(id: Uint8Array): Sender {
  return id.length === 20 ? { kind: 'account', address: id } : { kind: 'node', key: id }
}

/**
 * Rounds kept below the last commit. Larger than Narwhal's usual 50: a member that restarts
 * (or lags) rebuilds what it missed from its peers' DAG and batches, which they keep this long.
 */
export const DEFAULT_ORDERER_GC_DEPTH = 300
const PRUNE_EVERY_ROUNDS = 50

type AttestationFrame = Extract<ConsensusFrame, { kind: 'attestation' }>
type CheckpointFrame = Extract<ConsensusFrame, { kind: 'checkpoint-signature' }>
/** A member's partial signature: of a block, or of the checkpoint after it. */
type PartialFrame = AttestationFrame | CheckpointFrame
/** Checkpoint heights collected at once (a handoff and an interval checkpoint may overlap). */
const CHECKPOINT_WINDOW = 4_096

export function createCommitteeOrderer(options: CommitteeOrdererOptions): CommitteeOrderer {
  const { executor } = options
  const now = options.now ?? Date.now
  const setTimer = options.setTimer ?? defaultSetTimer
  const logger = options.logger ?? noopLogger
  const emptyBlockMs = options.emptyBlockMs ?? 1_000
  const refeedMs = options.refeedMs ?? 10_000
  const maxBlockTransactions = options.maxBlockTransactions ?? MAX_BLOCK_TRANSACTIONS
  const nodeKey = nodeKeyOfSeed(options.nodeSeed)
  const mempool = new Mempool(options.mempool)
  const listeners = new OrdererListeners(logger)
  const stopping = new AbortController()
  let stopped = false
  let started = false
  let current: Epoch | undefined
  /** Where the DAG stood after each recent block we executed as a member (for a rejoiner). */
  const positions = new PositionBook()
  let rejoin: Rejoin | undefined
  /** The node's one committee messenger; its peers follow the epochs' committees. */
  let messenger: Messenger<ConsensusFrame> | undefined
  /** Height → the epoch that ordered it, for the partial signatures of that block. */
  const orderedIn = new Map<number, Epoch>()
  /** Partials that came before we executed their block: height → [peer, frame]. */
  const earlyPartials = new Map<number, [string, PartialFrame][]>()
  let earlyCount = 0
  /** Our own partials of recent blocks not yet attested here: said again until they are. */
  const ownPartials = new Map<number, AttestationFrame>()
  const ownCheckpointPartials = new Map<number, CheckpointFrame>()
  let partialTimer:
    | (() => void)
    | undefined /** Our transactions given to the member: digest hex → when. */
  const fed = new Map<string, number>()
  /** Events for the member, handled one at a time (persists are awaited in between). */
  const inbox: MemberEvent[] = []
  let pumping: Promise<void> | undefined
  /** Committed sub-DAGs waiting to execute, and the chain of executions. */
  let executing: Promise<unknown> = Promise.resolve()
  const timers = new Map<number, () => void>()
  const gcDepth = options.timing?.gcDepth ?? DEFAULT_ORDERER_GC_DEPTH
  /** The store holds no records below this round (of the current epoch). */
  let prunedBelow = 0
  let refeedTimer: (() => void) | undefined
  const retireTimers = new Set<() => void>()
  /** Our transactions that executed before their predecessor (TX_NONCE), waiting for it. */
  const tooEarly = new Map<string, { tx: PendingTransaction; since: number }>()
  const attested = options.metrics?.counter({
    name: 'fulmen_chain_attested_blocks_total',
    help: 'Blocks whose committee attestation (n − f BLS signatures) this member assembled',
  })

  const blocksMade = options.metrics?.counter({
    name: 'fulmen_chain_blocks_total',
    help: 'Blocks this node ordered and executed',
  })
  options.metrics?.gauge({
    name: 'fulmen_mempool_transactions',
    help: 'Transactions waiting in the mempool',
    collect: () => mempool.size,
  })
  options.metrics?.gauge({
    name: 'fulmen_consensus_round',
    help: 'The highest Narwhal round this member proposed',
    collect: () => current?.member?.round ?? 0,
  })

  const stoppedError = () => new ConsensusError('ORDERER_STOPPED', 'the orderer has stopped')

  // --- the member's events and actions --------------------------------------------------------

  function post(event: MemberEvent): void {
    if (stopped || current?.member === undefined) return
    inbox.push(event)
    pumping ??= pump().finally(() => {
      pumping = undefined
    })
  }

  async function pump(): Promise<void> {
    while (inbox.length > 0 && !stopped) {
      const epoch = current
      const member = epoch?.member
      if (epoch === undefined || member === undefined) {
        inbox.length = 0
        return
      }
      // Everything queued, at once; records persisted before any send they precede.
      const events = inbox.splice(0, inbox.length)
      const actions: MemberAction[] = []
      for (const event of events) {
        try {
          for (const a of member.handle(event)) actions.push(a)
        } catch (error) {
          // A bug, not an input: the member refuses bad input with `refused` actions.
          logger.error({ err: error, event: event.kind }, 'the committee member failed an event')
        }
      }
      const records = actions.flatMap((a) => (a.kind === 'persist' ? [a.record] : []))
      if (records.length > 0 && options.store !== undefined) {
        await options.store.append(BigInt(epoch.epoch), records)
      }
      if (current !== epoch) continue
      carryOut(epoch, actions)
    }
  }

  function carryOut(epoch: Epoch, actions: readonly MemberAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'broadcast':
          broadcast(action.frame)
          break
        case 'send': {
          const peer = epoch.peerOfMember[action.to]
          if (peer !== undefined && peer !== '') sendTo(peer, action.frame)
          break
        }
        case 'timer':
          arm(action.atMs)
          break
        case 'commit':
          enqueueCommit(epoch, action.subDag)
          break
        case 'equivocation':
          logger.warn(
            { author: action.first.author, round: action.first.round, epoch: epoch.epoch },
            'a committee member signed two headers of one round',
          )
          break
        case 'refused':
          logger.debug(
            { what: action.what, from: action.from, reason: action.reason },
            'refused a consensus message',
          )
          break
        case 'persist':
          break
      }
    }
  }

  /** Frames go out only while the messenger runs (a stop can land between two actions). */
  function broadcast(frame: ConsensusFrame): void {
    if (messenger?.running) messenger.broadcast(frame)
  }

  function sendTo(peer: string, frame: ConsensusFrame): void {
    if (messenger?.running && messenger.peers.includes(peer)) messenger.send(peer, frame)
  }

  function arm(atMs: number): void {
    if (stopped || timers.has(atMs)) return
    const disarm = setTimer(
      () => {
        timers.delete(atMs)
        // At least `atMs`: a timer may fire a little before the wall clock reaches it (Node's
        // timers run on a loop time cached at the start of a busy iteration), and a member
        // that sees its deadline not quite reached asks for no second timer at the same time:
        // it would wait for the next frame or tick, and an idle one for ever.
        post({ kind: 'tick', nowMs: Math.max(now(), atMs) })
      },
      Math.max(0, atMs - now()),
    )
    timers.set(atMs, disarm)
  }

  // --- execution ------------------------------------------------------------------------------

  function enqueueCommit(epoch: Epoch, subDag: OrderedSubDag): void {
    executing = executing
      .then(() => (current === epoch ? execute(epoch, subDag) : undefined))
      .catch((error: unknown) => {
        if (!stopped) logger.error({ err: error }, 'executing a committed sub-DAG failed')
      })
  }

  async function execute(epoch: Epoch, subDag: OrderedSubDag): Promise<void> {
    const changed = await executeBlocks(epoch, subDag)
    if (changed !== undefined) {
      await enterEpoch(changed)
      return
    }
    if (stopped || current !== epoch) return // cut short: the head is no position
    const head = executor.head
    positions.record({
      height: head.height,
      blockHash: head.hash,
      committedRound: subDag.leaderRound,
    })
    const store = options.store
    if (store === undefined) return
    // After the blocks: a crash before this re-executes the sub-DAG, whose transactions are
    // executed by then and left out (nothing runs twice).
    const epochId = BigInt(epoch.epoch)
    await store.saveCommittedRound(epochId, subDag.leaderRound)
    const below = subDag.leaderRound - 2 * gcDepth
    if (below > prunedBelow + PRUNE_EVERY_ROUNDS) {
      prunedBelow = below
      await store.prune(epochId, below)
    }
  }

  /** Executes the sub-DAG's blocks; returns the new epoch if one of them changed it. */
  async function executeBlocks(epoch: Epoch, subDag: OrderedSubDag): Promise<number | undefined> {
    const seen = new Set<string>()
    const transactions: Uint8Array[] = []
    const verified = new Set<string>()
    for (const bytes of subDag.transactions) {
      let digest: Digest
      try {
        digest = decodeTransactionWithDigest(bytes).digest
      } catch {
        // Not a transaction: the executor gives it a TX_MALFORMED receipt, on every member.
        transactions.push(bytes)
        continue
      }
      const hex = bytesToHex(digest)
      if (seen.has(hex)) continue
      seen.add(hex)
      if ((await executor.transaction(digest)) !== undefined) {
        // Executed already (a block this node followed while out of the DAG, or another copy):
        // a copy still held here would answer "pending" for good.
        mempool.drop([digest])
        fed.delete(hex)
        continue
      }
      transactions.push(bytes)
      if (mempool.has(digest)) verified.add(hex)
    }
    if (transactions.length === 0) {
      // Only the beacon's phases count blocks: an idle chain between them makes none. Read from
      // the state, so every member decides alike.
      const head = executor.head
      if (subDag.timestampMs - head.timestampMs < emptyBlockMs) return undefined
      if ((await readMetadata(executor)).beacon.kind === 'none') return undefined
    }
    for (let from = 0; from === 0 || from < transactions.length; from += maxBlockTransactions) {
      if (stopped || current !== epoch) return undefined
      const at = executor.head
      const body: BlockBody = {
        chainId: at.chainId,
        height: at.height + 1,
        parent: at.hash,
        timestampMs: Math.max(at.timestampMs, subDag.timestampMs),
        transactions: transactions.slice(from, from + maxBlockTransactions),
      }
      const block = await executor.execute(body, { verified })
      attest(epoch, block)
      await settleReceipts(block.receipts)
      blocksMade?.inc()
      listeners.emitBlock(block)
      if (block.header.epoch !== epoch.epoch) return block.header.epoch
    }
    return undefined
  }

  /**
   * After a block: what executed leaves the mempool, except our transactions that came too
   * early (TX_NONCE with a nonce past the sender's: a re-proposed batch can land behind a later
   * one of the same sender). Those did not take their nonce nor count as executed, so they wait
   * and go to the member again once their predecessor executed.
   */
  async function settleReceipts(receipts: readonly Receipt[]): Promise<void> {
    const settled: Receipt[] = []
    for (const r of receipts) {
      if (r.digest === undefined) continue
      const hex = bytesToHex(r.digest)
      fed.delete(hex)
      const mine = r.status === 'TX_NONCE' ? mempool.get(r.digest) : undefined
      if (mine === undefined) settled.push(r)
      else tooEarly.set(hex, { tx: mine, since: now() })
    }
    mempool.applyReceipts(settled)
    for (const [hex, { tx, since }] of tooEarly) {
      const stateNonce = await readNonce(executor, senderOf(tx.sender))
      if (tx.nonce === stateNonce + 1) {
        tooEarly.delete(hex)
        feed(tx.bytes, tx.digest)
      } else if (tx.nonce <= stateNonce || now() - since > TOO_EARLY_MS) {
        // Passed (another transaction took the nonce), or its predecessor never came.
        tooEarly.delete(hex)
        mempool.drop([tx.digest])
      }
    }
  }

  // --- epochs ---------------------------------------------------------------------------------

  async function enterEpoch(epochNumber: number): Promise<void> {
    const previous = current
    current = undefined
    inbox.length = 0
    for (const disarm of timers.values()) disarm()
    timers.clear()
    if (stopped) return
    const committee = await readCommittee(executor, epochNumber)
    const members = committee?.members ?? []
    const keyHex = bytesToHex(nodeKey)
    const index = members.findIndex((m) => bytesToHex(m) === keyHex)
    if (index >= 0) await options.prepare?.(members)
    const peerOfMember = members.map((m, i) => (i === index ? '' : options.peerOf(m)))
    const memberOfPeer = new Map(peerOfMember.map((p, i) => [p, i] as const))
    const store = options.store
    prunedBelow = 0
    positions.clear()
    stopRejoin()
    if (store !== undefined) await store.dropEpochsBelow(BigInt(epochNumber))
    const made = index >= 0 ? await makeMember(epochNumber, index, members) : undefined
    const member = made?.member
    const collector = made?.collector
    const checkpointCollector = made?.checkpointCollector
    const recovered = made?.actions ?? []
    const epoch: Epoch = {
      epoch: epochNumber,
      members,
      index,
      member,
      memberOfPeer,
      peerOfMember,
      collector,
      checkpointCollector,
    }
    current = epoch
    syncPeers(epoch, previous)
    logger.info(
      { epoch: epochNumber, member: index, committee: members.length },
      index >= 0 ? 'ordering as a committee member' : 'not in the committee this epoch',
    )
    beginOrdering(epoch, recovered)
    options.onRole?.(index >= 0, epochNumber)
  }

  /** `epoch` is current: its member's first actions, a tick, and what we admitted, again. */
  function beginOrdering(epoch: Epoch, actions: readonly MemberAction[]): void {
    current = epoch
    carryOut(epoch, actions)
    post({ kind: 'tick', nowMs: now() })
    // What we admitted and did not see executed goes to the new member.
    fed.clear()
    refeed(true)
  }

  /**
   * This node's member of the epoch: new; from its records after a restart (resuming at the
   * committed round it saved); or, rejoining the DAG mid-epoch, from its records but resuming
   * at `rejoinRound`, the committee's position after the block its head is at.
   */
  async function makeMember(
    epochNumber: number,
    index: number,
    members: readonly Uint8Array[],
    rejoinRound?: number,
  ): Promise<{
    member: CommitteeMember
    collector: AttestationCollector | undefined
    checkpointCollector: AttestationCollector | undefined
    actions: MemberAction[]
  }> {
    const store = options.store
    const epochId = BigInt(epochNumber)
    const memberOptions: CommitteeMemberOptions = {
      ...options.timing,
      gcDepth,
      epoch: epochId,
      committeeSize: members.length,
      signer: (options.signerOf ?? ed25519DagSigner)(index, options.nodeSeed),
      verifier: (options.verifierOf ?? ed25519DagVerifier)(members),
      leaderSeed: leaderSeedOf(executor.head.chainId, epochNumber, members),
      nowMs: now(),
    }
    const records = store === undefined ? [] : await store.load(epochId)
    let member: CommitteeMember
    let actions: MemberAction[] = []
    if (rejoinRound !== undefined || (records.length > 0 && store !== undefined)) {
      const committedRound =
        rejoinRound ?? (await (store as MemberStore).loadCommittedRound(epochId))
      const restarted = CommitteeMember.recover(memberOptions, records, committedRound)
      member = restarted.member
      actions = restarted.actions
      // A crash from here resumes where the member now stands, not where it left the DAG.
      if (rejoinRound !== undefined) await store?.saveCommittedRound(epochId, rejoinRound)
      logger.info(
        { epoch: epochNumber, records: records.length, committedRound },
        rejoinRound === undefined
          ? 'the committee member restarts from its records'
          : 'the committee member rejoins the DAG at the committed round its peers gave',
      )
    } else {
      member = new CommitteeMember(memberOptions)
    }
    const keys =
      options.blsSecretKey === undefined ? undefined : await readBlsKeys(executor, members)
    const collector =
      keys === undefined
        ? undefined
        : new AttestationCollector({
            committeeBlsKeys: keys,
            floor: executor.head.height + 1,
            deferVerification: true,
          })
    const checkpointCollector =
      keys === undefined || options.checkpoints === undefined
        ? undefined
        : new AttestationCollector({
            committeeBlsKeys: keys,
            floor: executor.head.height + 1,
            window: CHECKPOINT_WINDOW,
            deferVerification: true,
            dst: options.checkpoints.dst,
          })
    return { member, collector, checkpointCollector, actions }
  }

  /**
   * The messenger's peers become this epoch's other members (if we are one); the last
   * epoch's leave after RETIRE_AFTER_MS, once they could finish attesting their blocks.
   */
  function syncPeers(epoch: Epoch, previous: Epoch | undefined): void {
    const m = messenger
    if (m === undefined) return
    const wanted = new Set(epoch.index >= 0 ? epoch.peerOfMember.filter((p) => p !== '') : [])
    for (const p of wanted) if (!m.peers.includes(p)) m.addPeer(p)
    const leaving = (previous?.peerOfMember ?? []).filter((p) => p !== '' && !wanted.has(p))
    if (leaving.length === 0) return
    const disarm = setTimer(() => {
      for (const p of leaving) {
        const stillWanted =
          current?.index !== undefined && current.index >= 0 && current.peerOfMember.includes(p)
        if (!stillWanted && m.peers.includes(p)) m.removePeer(p)
      }
    }, RETIRE_AFTER_MS)
    retireTimers.add(disarm)
  }

  const FRAME_KINDS = [
    'header',
    'vote',
    'certificate',
    'certificate-request',
    'batch',
    'batch-request',
    'attestation',
    'checkpoint-signature',
    'certificate-range',
    'position-request',
    'position',
  ] as const satisfies readonly ConsensusFrame['kind'][]

  /** This epoch's rounds as the peers' frames name them (a new epoch starts over). */
  let peerRounds = { epoch: -1, rounds: new PeerRounds() }
  function peerRoundsOf(epoch: number): PeerRounds {
    if (peerRounds.epoch !== epoch) peerRounds = { epoch, rounds: new PeerRounds() }
    return peerRounds.rounds
  }

  function onFrame(frame: ConsensusFrame, from: string): void {
    if (frame.kind === 'attestation' || frame.kind === 'checkpoint-signature') {
      onPartial(from, frame)
      return
    }
    const epoch = current
    const m = epoch?.memberOfPeer.get(from)
    if (m === undefined || epoch === undefined) return
    if (frame.kind === 'position-request') {
      const p = epoch.member === undefined ? undefined : positions.at(frame.height)
      if (frame.epoch === epoch.epoch && p !== undefined) {
        sendTo(from, { kind: 'position', epoch: epoch.epoch, ...p })
      }
      return
    }
    if (frame.kind === 'position') {
      onPosition(epoch, m, frame)
      return
    }
    const round =
      frame.kind === 'certificate'
        ? frame.certificate.header.round
        : frame.kind === 'header'
          ? frame.header.round
          : 0
    // What we still need from the others: from our round, or, rejoined above our records,
    // from our floor, or from the highest round we hold a quorum of once the range came. They
    // keep 2 gcDepth rounds below their committed leader (committee-member.ts): past that the
    // parents we would ask for are gone and we cannot catch up in this DAG. A frame is not
    // verified yet: how far ahead the committee is goes by what f + 1 members named.
    const rounds = peerRoundsOf(epoch.epoch)
    const raised = round > 0 && rounds.record(m, round)
    const own = epoch.member
    const ours = own === undefined ? 0 : Math.max(own.round, own.floorRound, own.quorumRound)
    if (own !== undefined && round > ours + 2 * gcDepth) {
      const reached = rounds.reachedBy(committeeShape(epoch.members.length).validity)
      if (reached > ours + 2 * gcDepth) leaveDag(epoch, reached)
      // Else one member (or f) names a round we could not build on: dropped, as it is useless.
      return
    }
    // What f + 1 reached moves only when some member's highest round does.
    if (raised && rejoin !== undefined && rejoin.epoch === epoch) {
      const reached = rounds.reachedBy(committeeShape(epoch.members.length).validity)
      rejoin.seenRound = Math.max(rejoin.seenRound, reached)
    }
    post({ kind: 'frame', frame, from: m })
  }

  /**
   * A member too far behind its committee (down longer than the others keep their DAG) stops
   * voting and proposing and follows the chain by blocks instead, as a node outside the
   * committee does; once its head is a block the others executed recently, it rejoins the DAG
   * at their position after that block (`startRejoin`), or else at the next epoch.
   */
  function leaveDag(epoch: Epoch, theirRound: number): void {
    logger.warn(
      { epoch: epoch.epoch, round: epoch.member?.round ?? 0, theirRound, gcDepth },
      'too far behind the committee to catch up in its DAG: following by blocks, then rejoining',
    )
    inbox.length = 0
    for (const disarm of timers.values()) disarm()
    timers.clear()
    current = { ...epoch, member: undefined, collector: undefined, checkpointCollector: undefined }
    void options.onRole?.(false, epoch.epoch)
    startRejoin(current, theirRound)
  }

  // --- rejoining the DAG ------------------------------------------------------------------------

  /**
   * Out of the DAG but in the committee (`leaveDag`): while the follower executes the blocks,
   * ask the peers every REJOIN_ASK_MS where the DAG stood after our head (dag-position.ts).
   */
  function startRejoin(epoch: Epoch, seenRound: number): void {
    stopRejoin()
    const tally = new PositionTally(committeeShape(epoch.members.length).validity)
    const r: Rejoin = { epoch, tally, joining: false, seenRound, disarm: () => {} }
    const ask = () => {
      if (stopped || rejoin !== r) return
      if (!r.joining && current === epoch) {
        const head = executor.head
        tally.ask(head.height, head.hash)
        broadcast({ kind: 'position-request', epoch: epoch.epoch, height: head.height })
      }
      r.disarm = setTimer(ask, REJOIN_ASK_MS)
    }
    rejoin = r
    r.disarm = setTimer(ask, REJOIN_ASK_MS)
  }

  function stopRejoin(): void {
    rejoin?.disarm()
    rejoin = undefined
  }

  function onPosition(epoch: Epoch, from: number, answer: Position & { epoch: number }): void {
    const r = rejoin
    if (r === undefined || r.joining || r.epoch !== epoch || answer.epoch !== epoch.epoch) return
    const round = r.tally.add(from, answer)
    // Our head's block is older than what the others keep of their DAG (an idle chain makes
    // no blocks for many rounds): we would only leave again. The next block brings us closer.
    if (round !== undefined && round + gcDepth >= r.seenRound) void joinAt(r, answer, round)
  }

  /** f + 1 peers agree: stop following, and if the head is still theirs, order again. */
  async function joinAt(r: Rejoin, at: Position, round: number): Promise<void> {
    r.joining = true
    const epoch = r.epoch
    try {
      await options.onRole?.(true, epoch.epoch)
      if (stopped || rejoin !== r || current !== epoch) return
      const head = executor.head
      if (head.height !== at.height || !equalBytes(head.hash, at.blockHash)) {
        // The follower executed another block before it stopped: follow on, ask again.
        r.joining = false
        void options.onRole?.(false, epoch.epoch)
        return
      }
      const made = await makeMember(epoch.epoch, epoch.index, epoch.members, round)
      if (stopped || rejoin !== r || current !== epoch) return
      stopRejoin()
      beginOrdering(
        {
          ...epoch,
          member: made.member,
          collector: made.collector,
          checkpointCollector: made.checkpointCollector,
        },
        made.actions,
      )
    } catch (error) {
      logger.error({ err: error }, 'rejoining the DAG failed')
      if (rejoin === r) r.joining = false
    }
  }

  // --- attestations ---------------------------------------------------------------------------

  /** After executing `block` in `epoch` as a member: our partial, to us and to the others. */
  function attest(epoch: Epoch, block: ExecutedBlock): void {
    const height = block.header.height
    orderedIn.set(height, epoch)
    orderedIn.delete(height - ATTESTED_HEIGHTS)
    const secret = options.blsSecretKey
    if (epoch.collector !== undefined && secret !== undefined && epoch.index >= 0) {
      const frame: AttestationFrame = {
        kind: 'attestation',
        height,
        blockHash: block.hash,
        signature: signBlockHash(secret, height, block.hash),
      }
      ownPartials.set(height, frame)
      addPartial(epoch, epoch.index, frame)
      broadcast(frame)
      if (epoch.checkpointCollector !== undefined) void signCheckpoint(epoch, block, secret)
    }
    const early = earlyPartials.get(height)
    if (early !== undefined) {
      earlyPartials.delete(height)
      earlyCount -= early.length
      for (const [peer, frame] of early) onPartial(peer, frame)
    }
  }

  /** Our partial of the checkpoint `block` completes, if it completes one. */
  async function signCheckpoint(epoch: Epoch, block: ExecutedBlock, secret: Uint8Array) {
    const signing = options.checkpoints as CheckpointSigning
    let hash: Uint8Array | undefined
    try {
      hash = await signing.checkpointOf(block)
    } catch (error) {
      logger.warn({ err: error, height: block.header.height }, 'taking a checkpoint failed')
      return
    }
    if (hash === undefined || stopped) return
    const height = block.header.height
    const frame: CheckpointFrame = {
      kind: 'checkpoint-signature',
      height,
      checkpointHash: hash,
      signature: signBlockHash(secret, height, hash, signing.dst),
    }
    ownCheckpointPartials.set(height, frame)
    addPartial(epoch, epoch.index, frame)
    broadcast(frame)
  }

  function onPartial(from: string, frame: PartialFrame): void {
    const epoch = orderedIn.get(frame.height)
    if (epoch === undefined) {
      // Not executed here yet (a faster member), or long ago: keep a bounded few for later.
      if (frame.height > executor.head.height && earlyCount < MAX_EARLY_PARTIALS) {
        const list = earlyPartials.get(frame.height) ?? []
        list.push([from, frame])
        earlyPartials.set(frame.height, list)
        earlyCount++
      }
      return
    }
    const member = epoch.memberOfPeer.get(from)
    if (member !== undefined) addPartial(epoch, member, frame)
  }

  function addPartial(epoch: Epoch, member: number, frame: PartialFrame): void {
    if (frame.kind === 'checkpoint-signature') {
      addCheckpointPartial(epoch, member, frame)
      return
    }
    const collector = epoch.collector
    if (collector === undefined) return
    const result = collector.add(member, frame.height, frame.blockHash, frame.signature)
    if (result.kind === 'attested') {
      ownPartials.delete(frame.height)
      collector.prune(Math.max(0, frame.height - 16))
      attested?.inc()
      options.attestations
        ?.put(result.attestation)
        .catch((e: unknown) =>
          logger.warn({ err: e, height: frame.height }, 'storing an attestation failed'),
        )
    } else if (result.kind === 'equivocation') {
      logger.warn(
        { member, height: frame.height, epoch: epoch.epoch },
        'a committee member signed two blocks of one height',
      )
    } else if (result.kind === 'refused') {
      logger.debug(
        { member, height: frame.height, err: result.error },
        'refused a partial signature',
      )
    }
  }

  function addCheckpointPartial(epoch: Epoch, member: number, frame: CheckpointFrame): void {
    const collector = epoch.checkpointCollector
    if (collector === undefined) return
    const result = collector.add(member, frame.height, frame.checkpointHash, frame.signature)
    if (result.kind === 'attested') {
      ownCheckpointPartials.delete(frame.height)
      collector.prune(Math.max(0, frame.height - 64))
      const { signers, signature } = result.attestation
      options.checkpoints
        ?.signed(frame.height, { signers, signature })
        .catch((e: unknown) =>
          logger.warn({ err: e, height: frame.height }, 'storing a checkpoint failed'),
        )
    } else if (result.kind === 'equivocation') {
      logger.warn(
        { member, height: frame.height, epoch: epoch.epoch },
        'a committee member signed two checkpoints of one height',
      )
    } else if (result.kind === 'refused') {
      logger.debug(
        { member, height: frame.height, err: result.error },
        'refused a checkpoint signature',
      )
    }
  }

  /** Says our partials again for blocks this node has no attestation of yet. */
  function armPartials(): void {
    if (stopped) return
    partialTimer = setTimer(() => {
      partialTimer = undefined
      const head = executor.head.height
      for (const own of [ownPartials, ownCheckpointPartials] as Map<number, PartialFrame>[]) {
        for (const [height, frame] of own) {
          if (height < head - ATTESTED_HEIGHTS) own.delete(height)
          else broadcast(frame)
        }
      }
      armPartials()
    }, PARTIAL_RESEND_MS)
  }

  function feed(bytes: Uint8Array, digest: Digest): void {
    if (current?.member === undefined) return
    fed.set(bytesToHex(digest), now())
    post({ kind: 'transaction', bytes })
  }

  /** Gives the member again what it was given `refeedMs` ago and did not execute (all: `all`). */
  function refeed(all: boolean): void {
    const cutoff = now() - refeedMs
    for (const tx of mempool.take(mempool.size, Number.MAX_SAFE_INTEGER)) {
      const at = fed.get(bytesToHex(tx.digest))
      if (all || at === undefined || at <= cutoff) feed(tx.bytes, tx.digest)
    }
  }

  function armRefeed(): void {
    if (stopped) return
    refeedTimer = setTimer(() => {
      refeedTimer = undefined
      refeed(false)
      armRefeed()
    }, refeedMs)
  }

  // --- the Orderer face -----------------------------------------------------------------------

  const orderer: CommitteeOrderer = {
    name: 'orderer',

    get head(): ChainHead {
      return executor.head
    },

    takePending() {
      if (current?.member !== undefined) return []
      const taken = mempool.take(mempool.size, Number.MAX_SAFE_INTEGER)
      mempool.drop(taken.map((tx) => tx.digest))
      for (const tx of taken) fed.delete(bytesToHex(tx.digest))
      return taken.map((tx) => tx.bytes)
    },

    get mempoolSize() {
      return mempool.size
    },

    get status() {
      return {
        epoch: current?.epoch ?? executor.head.epoch,
        member: current?.index ?? -1,
        committee: current?.members.length ?? 0,
        round: current?.member?.round ?? 0,
        committedRound: current?.member?.committedRound ?? 0,
      }
    },

    async submit(bytes, submitOptions = {}) {
      const admitted = await admitTransaction(bytes, {
        executor,
        mempool,
        recover: options.recover,
        signal: submitOptions.signal,
        stopped: () => stopped,
        stoppedError,
      })
      feed(admitted.bytes, admitted.digest)
      return admitted.digest
    },

    pending: (digest: Digest) => mempool.has(digest),

    async nextNonce(sender) {
      return mempool.nextNonce(senderId(sender), await readNonce(executor, sender))
    },

    onBlock: (listener) => listeners.onBlock(listener),

    beforeEpochChange: (listener) => listeners.beforeEpochChange(listener),

    runBeforeEpochChange: (epoch, signal) => listeners.runBeforeEpochChange(epoch, signal),

    async headMoved(block) {
      if (block !== undefined) {
        for (const r of block.receipts) if (r.digest !== undefined) fed.delete(bytesToHex(r.digest))
        mempool.applyReceipts(block.receipts)
      }
      const epoch = current
      if (stopped || !started || epoch === undefined || epoch.member !== undefined) return
      if (executor.head.epoch !== epoch.epoch) {
        executing = executing.then(() =>
          current === epoch && executor.head.epoch !== epoch.epoch
            ? enterEpoch(executor.head.epoch)
            : undefined,
        )
        await executing
      }
    },

    async start() {
      if (started || stopped) return
      started = true
      const m = createMessenger({
        transport: options.transport,
        codec: CONSENSUS_FRAMES,
        // Batches and certificates matter more than latency: a full queue drops the newest
        // and the member asks again (resend, batch and certificate requests).
        queueLimit: 4096,
        signal: stopping.signal,
        logger,
        onPeerError: (peer, error) =>
          logger.warn({ peer, err: error }, 'a committee peer sent a bad frame'),
      })
      for (const kind of FRAME_KINDS) m.on(kind, (frame, from) => onFrame(frame, from))
      await m.start()
      messenger = m
      await enterEpoch(executor.head.epoch)
      armRefeed()
      armPartials()
    },

    async stop() {
      if (stopped) return
      stopped = true
      stopping.abort(stoppedError())
      for (const disarm of timers.values()) disarm()
      timers.clear()
      refeedTimer?.()
      partialTimer?.()
      for (const disarm of retireTimers) disarm()
      await pumping
      await executing
      await messenger?.stop()
      current = undefined
    },
  }

  return orderer
}
