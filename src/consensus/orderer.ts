/**
 * The seam between ordering and the rest of a node (contract of issue 15): the node's HTTP and
 * libp2p routes submit transactions to an `Orderer` and follow its blocks; the solo orderer
 * (solo-orderer.ts) is one, a committee orderer will be another behind the same face.
 */
import type { Component } from '../core/lifecycle.ts'
import type { ChainHead, Digest, ExecutedBlock, Sender } from '../state/model.ts'

export interface SubmitOptions {
  readonly signal?: AbortSignal
}

export interface Orderer extends Component {
  /** The latest executed block's head (the executor's). */
  readonly head: ChainHead
  /**
   * Admits an encoded transaction: decodes it, checks its size, chain id, signature and nonce,
   * and keeps it for a block. Resolves with its digest; rejects with a TransactionError
   * (TX_MALFORMED, TX_TOO_LARGE, TX_BAD_SIGNATURE) or a ConsensusError (TX_WRONG_CHAIN,
   * TX_NONCE, MEMPOOL_FULL, MEMPOOL_DUPLICATE, MEMPOOL_NONCE_GAP, ORDERER_STOPPED).
   */
  submit(bytes: Uint8Array, options?: SubmitOptions): Promise<Digest>
  /** Is the transaction admitted and not yet executed? */
  pending(digest: Digest): boolean
  /** The nonce `sender`'s next transaction should carry, counting its pending ones. */
  nextNonce(sender: Sender): Promise<number>
  /** Calls `listener` with each block once executed, in height order; returns the unsubscribe. */
  onBlock(listener: (block: ExecutedBlock) => void): () => void
  /**
   * Awaits `listener` before this node signals that `epoch` is over (ChangeEpoch), so that what
   * should land in the epoch (the DA claims) is submitted first. Returns the unsubscribe.
   */
  beforeEpochChange(
    listener: (epoch: number, signal: AbortSignal) => Promise<void> | void,
  ): () => void
}
