/**
 * `--consensus committee` on a full node: the committee orderer (src/consensus/committee-orderer.ts)
 * over libp2p, and, while this node is not in the epoch's committee, a follower of the committee
 * members' gateways with a forwarding orderer for its own transactions. The beacon draws each
 * epoch's committee from every active node, so a node may join or leave at any epoch change:
 *
 * - a member executes the blocks its committee orders; when an epoch change leaves it out, the
 *   orderer says so (`onRole`) and a follower takes over from the head it reached;
 * - an outsider's follower executes the blocks; after each one the orderer looks at the epoch
 *   (`headMoved`), and when the new committee names this node, the follower stops and the
 *   orderer joins the DAG of that epoch.
 *
 * Routes, the claim settler and the epoch duty use one `Orderer` face (`orderer`) that hands each
 * call to whichever side is active now.
 */

import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { bytesToHex } from '@noble/hashes/utils.js'
import { readCommittee } from '../../consensus/chain-reads.ts'
import {
  type CommitteeOrderer,
  type CommitteeOrdererOptions,
  createCommitteeOrderer,
} from '../../consensus/committee-orderer.ts'
import { CONSENSUS_PROTOCOL } from '../../consensus/dag/consensus-frames.ts'
import type { Orderer } from '../../consensus/orderer.ts'
import { OrdererListeners } from '../../consensus/orderer-listeners.ts'
import type { Logger } from '../../core/logger.ts'
import { libp2pMessageTransport } from '../../net/message-transport.ts'
import type { StateExecutor } from '../../state/executor.ts'
import type { ExecutedBlock } from '../../state/model.ts'
import { decodeEntry } from '../../state/tables.ts'
import { decodeTransactionWithDigest } from '../../state/transaction.ts'
import type { ChainFollower } from './chain-follower.ts'
import { createForwardingOrderer, type ForwardingOrderer } from './forwarding-orderer.ts'
import { nodeEd25519DagSigner, nodeEd25519DagVerifier } from './node-ed25519.ts'

/** A committee member's libp2p peer id: its node key is its Ed25519 identity. */
export function peerIdOfNodeKey(nodeKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(nodeKey)).toString()
}

export interface CommitteeChainOptions
  extends Omit<CommitteeOrdererOptions, 'transport' | 'peerOf' | 'prepare' | 'onRole'> {
  readonly executor: StateExecutor
  readonly libp2p: Pick<Libp2p, 'peerId' | 'dial' | 'handle' | 'unhandle'>
  /** A follower of the given gateways, for the epochs this node is outside the committee;
   * undefined when the node was given none to follow (it then waits to be drawn). */
  readonly follower?: () => ChainFollower
  readonly logger: Logger
}

/** The node's one `Orderer` face in committee mode, and the parts behind it. */
export interface CommitteeChain extends Orderer {
  runBeforeEpochChange(epoch: number, signal: AbortSignal): Promise<void>
  readonly committee: CommitteeOrderer
  /** The follower while this node is outside the committee. */
  readonly follower: ChainFollower | undefined
}

interface Outside {
  readonly follower: ChainFollower
  readonly forwarding: ForwardingOrderer
  readonly unsubscribe: () => void
}

export function createCommitteeChain(options: CommitteeChainOptions): CommitteeChain {
  const { executor, logger } = options
  /** Peer id → the multiaddrs the state gives for that node. */
  const addresses = new Map<string, string>()
  const listeners = new OrdererListeners(logger)
  let outside: Outside | undefined
  /** Role changes, one after another. */
  let switching: Promise<void> = Promise.resolve()
  let stopped = false

  const emit = (block: ExecutedBlock) => listeners.emitBlock(block)

  const transport = libp2pMessageTransport({
    libp2p: options.libp2p,
    protocol: CONSENSUS_PROTOCOL,
    addressOf: (peer) => addresses.get(peer) ?? peer,
  })

  const committee = createCommitteeOrderer({
    // Headers and votes by Node's OpenSSL: the same signatures, ~20x faster to verify.
    signerOf: nodeEd25519DagSigner,
    verifierOf: nodeEd25519DagVerifier,
    ...options,
    transport,
    peerOf: peerIdOfNodeKey,
    async prepare(members) {
      for (const key of members) {
        const bytes = await executor.get('nodes', key)
        const address = bytes === undefined ? undefined : decodeEntry('nodes', bytes).addresses[0]
        if (address !== undefined) addresses.set(peerIdOfNodeKey(key), address)
      }
    },
    // Settles once the switch is made (a member rejoining its DAG waits for the follower to stop).
    onRole(member, epoch) {
      switching = switching
        .then(() => (member ? leaveOutside() : goOutside(epoch)))
        .catch((e: unknown) => logger.error({ err: e }, 'switching the committee role failed'))
      return switching
    },
  })
  committee.onBlock(emit)

  async function goOutside(epoch: number): Promise<void> {
    if (stopped || outside !== undefined || options.follower === undefined) return
    const follower = options.follower()
    const forwarding = createForwardingOrderer({ executor, follower })
    const unsubscribe = follower.onBlock((block) => {
      emit(block)
      void committee.headMoved(block)
    })
    outside = { follower, forwarding, unsubscribe }
    forwarding.start()
    await follower.start()
    logger.info({ epoch, following: follower.following }, 'following the committee')
    // What this node admitted as a member and did not see executed goes to the committee now.
    const stranded = committee.takePending()
    if (stranded.length > 0) void passOn(forwarding, stranded)
  }

  /** One after the other (a sender's nonces in order); one refused does not stop the rest. */
  async function passOn(forwarding: Orderer, transactions: readonly Uint8Array[]): Promise<void> {
    let refused = 0
    for (const bytes of transactions) {
      if (stopped) return
      await forwarding.submit(bytes).catch(() => {
        refused++
      })
    }
    logger.info(
      { transactions: transactions.length, refused },
      'passed the transactions admitted as a member on to the committee',
    )
  }

  async function leaveOutside(): Promise<void> {
    const was = outside
    if (was === undefined) return
    outside = undefined
    was.unsubscribe()
    await was.follower.stop()
    was.forwarding.stop()
  }

  /** The side that takes transactions now: the forwarding orderer outside, else the member. */
  const active = (): Orderer => outside?.forwarding ?? committee

  return {
    name: 'committee chain',
    get committee() {
      return committee
    },
    get follower() {
      return outside?.follower
    },
    get head() {
      return executor.head
    },
    // A role change may stop the side a submission went to while it is in flight (the
    // follower of a node drawn into the committee aborts its forward): the side active now
    // takes it (a copy that did reach the committee is the same digest: pending there, or
    // refused as executed once it is).
    async submit(bytes, submitOptions) {
      const side = active()
      try {
        return await side.submit(bytes, submitOptions)
      } catch (error) {
        if (active() === side) throw error
        // The role switched under the call: the other side takes it. MEMPOOL_DUPLICATE there
        // for this very transaction (the first side admitted it and passed it on, or it has
        // executed meanwhile) is the submission succeeding, not failing.
        try {
          return await active().submit(bytes, submitOptions)
        } catch (again) {
          if ((again as { code?: unknown }).code !== 'MEMPOOL_DUPLICATE') throw again
          const { digest } = decodeTransactionWithDigest(bytes)
          if (active().pending(digest) || (await executor.transaction(digest)) !== undefined) {
            return digest
          }
          throw again
        }
      }
    },
    pending: (digest) => active().pending(digest),
    nextNonce: (sender) => active().nextNonce(sender),
    onBlock: (listener) => listeners.onBlock(listener),
    beforeEpochChange: (listener) => listeners.beforeEpochChange(listener),
    runBeforeEpochChange: (epoch, signal) => listeners.runBeforeEpochChange(epoch, signal),
    async start() {
      // Who the first committee is, for the log line; the orderer reads it again itself.
      const first = await readCommittee(executor, executor.head.epoch)
      logger.info(
        {
          epoch: executor.head.epoch,
          committee: first?.members.map((m) => bytesToHex(m).slice(0, 16)),
        },
        'starting committee consensus',
      )
      await committee.start()
    },
    async stop() {
      stopped = true
      await committee.stop()
      await switching
      await leaveOutside()
    },
  }
}
