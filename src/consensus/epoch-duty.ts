/**
 * A committee member's part in the epoch change (DESIGN.md "Application state"; Lightning's
 * `epoch_change.rs` and its beacon), driven from the state before each block: the solo node is
 * the whole committee, so nobody else would. Each call reads the chain's metadata and the
 * epoch's committee and sends what is due, once per (duty, epoch, round) while the last one
 * sent is pending (an epoch-change signal or a timeout that reverted is sent again; a commit or
 * a reveal is not, its phase's timeout moves the beacon on):
 *
 * - the epoch's time is up and the beacon has not started: `ChangeEpoch { epoch }` (after the
 *   `beforeChangeEpoch` hook, which submits the DA claims that belong in this epoch);
 * - the beacon's commit phase: `BeaconCommit { beaconCommitOf(epoch, round, reveal) }`;
 * - its reveal phase: `BeaconReveal { reveal }`;
 * - a phase that outlasted its blocks (`beaconCommitBlocks`, `beaconRevealBlocks`) after this
 *   node did (or tried) its part: the phase's timeout.
 *
 * The reveal is not drawn at random and remembered: it is derived from the node's secret seed,
 * (BLAKE3 derive-key over seed ‖ epoch ‖ round), as unpredictable to everyone else as random
 * bytes, and the same after a restart between the commit and the reveal, so a restarted node
 * still reveals instead of being slashed for not revealing.
 */
import { deriveKey } from '../b3/hash.ts'
import { equalBytes } from '../core/bytes.ts'
import { type Logger, noopLogger } from '../core/logger.ts'
import { beaconCommitOf } from '../state/beacon.ts'
import type { ChainExecutor, Digest, Method, NodeKey } from '../state/model.ts'
import { u64be } from '../state/tables.ts'
import { readCommittee, readMetadata, readParam } from './chain-reads.ts'
import type { NodeSender } from './node-sender.ts'

const REVEAL_CONTEXT = 'fulmen 2026 beacon reveal'

export interface EpochDutyOptions {
  readonly executor: Pick<ChainExecutor, 'head' | 'get'>
  readonly sender: NodeSender
  /** The node's Ed25519 seed: the reveals derive from it. */
  readonly nodeSeed: Uint8Array
  /** The clock blocks are stamped with (ms). */
  readonly now: () => number
  /** Is a transaction this duty sent still waiting for a block? (The orderer's `pending`.) */
  readonly pending: (digest: Digest) => boolean
  /** Awaited before ChangeEpoch is sent (the claim settler's `settleNow`). */
  readonly beforeChangeEpoch?: (epoch: number, signal: AbortSignal) => Promise<void> | void
  readonly logger?: Logger
}

export interface EpochDutyResult {
  /** Transactions submitted. */
  readonly sent: number
  /** The beacon is in a phase whose length is counted in blocks: the chain needs a block to
   * move on, even one without transactions. */
  readonly needsBlock: boolean
}

export interface EpochDuty {
  run(signal?: AbortSignal): Promise<EpochDutyResult>
}

/** The reveal this node commits to in (epoch, round): a keyed hash of its secret seed. */
export function beaconRevealOf(nodeSeed: Uint8Array, epoch: number, round: number): Uint8Array {
  const material = new Uint8Array(nodeSeed.length + 16)
  material.set(nodeSeed, 0)
  material.set(u64be(epoch), nodeSeed.length)
  material.set(u64be(round), nodeSeed.length + 8)
  return deriveKey(REVEAL_CONTEXT, material)
}

const holds = (list: readonly { readonly node: NodeKey }[], key: NodeKey) =>
  list.some((e) => equalBytes(e.node, key))

export function createEpochDuty(options: EpochDutyOptions): EpochDuty {
  const { executor, sender, nodeSeed, now, pending, beforeChangeEpoch } = options
  const logger = options.logger ?? noopLogger
  const key = sender.key
  /** Duties sent, by `kind:epoch:round`, with the transaction that carried each. */
  const done = new Map<string, Digest>()
  let warnedNotMember = -1
  let dutiesEpoch = -1

  const send = async (duty: string, method: Method, signal: AbortSignal): Promise<number> => {
    done.set(duty, await sender.send(method, signal))
    logger.info({ duty }, 'epoch duty sent')
    return 1
  }
  /** Sent once, whatever became of it: a commit or reveal (its phase's timeout follows). */
  const sendOnce = (duty: string, method: Method, signal: AbortSignal) =>
    done.has(duty) ? Promise.resolve(0) : send(duty, method, signal)
  /**
   * Sent again while the state still asks for it and the last one is no longer pending: an
   * epoch-change signal or a timeout that reverted (a clock that stepped back stamps a block
   * before the epoch's end) would otherwise leave a one-node chain in its epoch for good.
   */
  const sendUntilDone = (duty: string, method: Method, signal: AbortSignal) => {
    const last = done.get(duty)
    return last !== undefined && pending(last) ? Promise.resolve(0) : send(duty, method, signal)
  }

  return {
    async run(signal = new AbortController().signal) {
      const meta = await readMetadata(executor)
      const { epoch, beacon } = meta
      // Duties of past epochs can never be due again.
      if (epoch !== dutiesEpoch) {
        done.clear()
        dutiesEpoch = epoch
      }
      const committee = await readCommittee(executor, epoch)
      if (committee === undefined || !committee.members.some((m) => equalBytes(m, key))) {
        if (warnedNotMember !== epoch) {
          warnedNotMember = epoch
          logger.info({ epoch }, 'not in the committee: no epoch duty this epoch')
        }
        // Not a member, but the node that orders still makes the blocks that count a beacon
        // phase's length (the members may all be other nodes).
        return { sent: 0, needsBlock: beacon.kind !== 'none' }
      }
      if (beacon.kind === 'none') {
        const epochTimeMs = Number((await readParam(executor, 'epochTimeMs')) ?? 0n)
        const ready = committee.readyToChange.some((m) => equalBytes(m, key))
        if (ready || now() - meta.epochStartMs < epochTimeMs) return { sent: 0, needsBlock: false }
        const duty = `change:${epoch}`
        const last = done.get(duty)
        if (last !== undefined && pending(last)) return { sent: 0, needsBlock: false }
        await beforeChangeEpoch?.(epoch, signal)
        return {
          sent: await sendUntilDone(duty, { type: 'ChangeEpoch', epoch }, signal),
          needsBlock: false,
        }
      }
      const { round, startHeight } = beacon
      // Blocks of the phase by the next block, which is where a timeout would land (the chain
      // takes one at height ≥ startHeight + the phase's blocks).
      const elapsed = executor.head.height + 1 - startHeight
      // A commit or reveal is sent once per round; if it came too late (the phase over), the
      // phase's timeout is what moves the beacon on, so the timeout is never skipped for it.
      if (beacon.kind === 'commit') {
        const duty = `commit:${epoch}:${round}`
        if (!holds(committee.beaconCommits, key) && !done.has(duty)) {
          const commit = beaconCommitOf(epoch, round, beaconRevealOf(nodeSeed, epoch, round))
          const sent = await sendOnce(duty, { type: 'BeaconCommit', commit }, signal)
          return { sent, needsBlock: true }
        }
        const blocks = Number((await readParam(executor, 'beaconCommitBlocks')) ?? 0n)
        if (elapsed < blocks) return { sent: 0, needsBlock: true }
        const sent = await sendUntilDone(
          `commitTimeout:${epoch}:${round}`,
          { type: 'BeaconCommitTimeout', epoch, round },
          signal,
        )
        return { sent, needsBlock: true }
      }
      // The reveal phase. Only a node that committed reveals; one that did not waits for the
      // timeout with the others.
      const duty = `reveal:${epoch}:${round}`
      if (
        !holds(committee.beaconReveals, key) &&
        holds(committee.beaconCommits, key) &&
        !done.has(duty)
      ) {
        const reveal = beaconRevealOf(nodeSeed, epoch, round)
        const sent = await sendOnce(duty, { type: 'BeaconReveal', reveal }, signal)
        return { sent, needsBlock: true }
      }
      const blocks = Number((await readParam(executor, 'beaconRevealBlocks')) ?? 0n)
      if (elapsed < blocks) return { sent: 0, needsBlock: true }
      const sent = await sendUntilDone(
        `revealTimeout:${epoch}:${round}`,
        { type: 'BeaconRevealTimeout', epoch, round },
        signal,
      )
      return { sent, needsBlock: true }
    },
  }
}
