/**
 * The `Orderer` face of a following node: it orders nothing itself. What it is given goes to
 * the followed node (chain-follower.ts) and shows up in the blocks the follower re-executes.
 * It exists so that the node's own duties run unchanged in follow mode: the claim settler
 * submits the DA pool's claims through it, the epoch duty (when the node is in the committee)
 * its epoch-change and beacon transactions, and the node's nonces count what it forwarded and
 * has not seen executed yet.
 *
 * What it forwarded is remembered by digest, with the sender and nonce, until a block the
 * follower executed carries it, the sender's nonce in the state passes it, or `forgetAfterMs`
 * goes by (the followed node may drop a transaction without a word).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { readNonce } from '../../consensus/chain-reads.ts'
import type { Orderer } from '../../consensus/orderer.ts'
import type { StateExecutor } from '../../state/executor.ts'
import type { ExecutedBlock, Sender } from '../../state/model.ts'
import { decodeTransactionWithDigest, senderId } from '../../state/transaction.ts'
import type { ChainFollower } from './chain-follower.ts'

interface Forwarded {
  readonly sender: string
  readonly nonce: number
  readonly at: number
}

export interface ForwardingOrdererOptions {
  readonly executor: StateExecutor
  readonly follower: ChainFollower
  /** How long a forwarded transaction counts as pending without a block carrying it (60 s). */
  readonly forgetAfterMs?: number
  readonly now?: () => number
}

export interface ForwardingOrderer extends Orderer {
  /** Runs what `beforeEpochChange` registered (the claim settler): the node's epoch duty calls
   * it before it signals an epoch change, as the solo orderer does for its own duty. */
  runBeforeEpochChange(epoch: number, signal: AbortSignal): Promise<void>
}

export function createForwardingOrderer(options: ForwardingOrdererOptions): ForwardingOrderer {
  const { executor, follower } = options
  const forgetAfterMs = options.forgetAfterMs ?? 60_000
  const now = options.now ?? Date.now
  const forwarded = new Map<string, Forwarded>()
  let unsubscribe: (() => void) | undefined
  const epochListeners = new Set<(epoch: number, signal: AbortSignal) => Promise<void> | void>()

  const expire = () => {
    const oldest = now() - forgetAfterMs
    for (const [digest, f] of forwarded) if (f.at < oldest) forwarded.delete(digest)
  }

  const onBlock = (block: ExecutedBlock) => {
    for (const receipt of block.receipts)
      if (receipt.digest !== undefined) forwarded.delete(bytesToHex(receipt.digest))
  }

  return {
    name: 'forwarding orderer',
    get head() {
      return executor.head
    },
    async submit(bytes, submitOptions = {}) {
      // Decoded here only to remember sender and nonce; the followed node admits or refuses.
      const { tx, digest } = decodeTransactionWithDigest(bytes)
      const digestHex = bytesToHex(digest)
      // Remembered before it is sent: the block carrying it may be executed here before the
      // followed node's answer arrives, and a digest remembered after that block would count
      // as pending until it expires.
      const entry = {
        sender: bytesToHex(senderId(tx.payload.sender)),
        nonce: tx.payload.nonce,
        at: now(),
      }
      const already = forwarded.get(digestHex)
      forwarded.set(digestHex, entry)
      try {
        await follower.submit(bytes, submitOptions.signal)
      } catch (error) {
        // Refused or not delivered: not pending because of this call (an earlier forward of
        // the same bytes still is).
        if (forwarded.get(digestHex) === entry) {
          if (already === undefined) forwarded.delete(digestHex)
          else forwarded.set(digestHex, already)
        }
        throw error
      }
      return digest
    },
    pending(digest) {
      expire()
      return forwarded.has(bytesToHex(digest))
    },
    async nextNonce(sender: Sender) {
      expire()
      const state = await readNonce(executor, sender)
      const id = bytesToHex(senderId(sender))
      let nonce = state
      for (const [digest, f] of forwarded) {
        if (f.sender !== id) continue
        // Passed by the state: executed (or skipped) already.
        if (f.nonce <= state) forwarded.delete(digest)
        else nonce = Math.max(nonce, f.nonce)
      }
      return nonce + 1
    },
    onBlock(listener) {
      return follower.onBlock(listener)
    },
    beforeEpochChange(listener) {
      epochListeners.add(listener)
      return () => epochListeners.delete(listener)
    },
    async runBeforeEpochChange(epoch, signal) {
      for (const listener of [...epochListeners]) await listener(epoch, signal)
    },
    start() {
      unsubscribe = follower.onBlock(onBlock)
    },
    stop() {
      unsubscribe?.()
      unsubscribe = undefined
      forwarded.clear()
    },
  }
}
