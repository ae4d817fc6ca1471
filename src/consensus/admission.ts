/**
 * Admission, as every orderer does it (solo-orderer.ts, committee-orderer.ts): an encoded
 * transaction is decoded, sized, checked for this chain, its signature verified, its nonce and
 * digest checked against the latest state, and kept in the mempool. Throws TransactionError
 * (TX_MALFORMED, TX_TOO_LARGE, TX_BAD_SIGNATURE) or ConsensusError (TX_WRONG_CHAIN,
 * MEMPOOL_DUPLICATE, and the mempool's own).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import type { ChainExecutor } from '../state/model.ts'
import {
  decodeTransactionWithDigest,
  type Secp256k1Recover,
  senderId,
  TransactionError,
  verifyDigestSignature,
} from '../state/transaction.ts'
import { readNonce } from './chain-reads.ts'
import { ConsensusError } from './errors.ts'
import type { Mempool, PendingTransaction } from './mempool.ts'

export interface AdmitOptions {
  readonly executor: ChainExecutor
  readonly mempool: Mempool
  readonly recover?: Secp256k1Recover | undefined
  readonly signal?: AbortSignal | undefined
  /** Checked again after the state reads: a stopped orderer admits nothing. */
  readonly stopped: () => boolean
  readonly stoppedError: () => Error
}

export async function admitTransaction(
  bytes: Uint8Array,
  options: AdmitOptions,
): Promise<PendingTransaction> {
  const { executor, signal } = options
  if (options.stopped()) throw options.stoppedError()
  signal?.throwIfAborted()
  // Size, shape and signature: TransactionError (TX_TOO_LARGE, TX_MALFORMED, TX_BAD_SIGNATURE).
  const { tx, digest } = decodeTransactionWithDigest(bytes)
  if (tx.payload.chainId !== executor.head.chainId) {
    throw new ConsensusError(
      'TX_WRONG_CHAIN',
      `the transaction is for chain ${tx.payload.chainId}, this is chain ${executor.head.chainId}`,
    )
  }
  if (!verifyDigestSignature(tx, digest, options.recover)) {
    throw new TransactionError('TX_BAD_SIGNATURE', 'the signature does not verify for the sender')
  }
  const [stateNonce, executed] = await Promise.all([
    readNonce(executor, tx.payload.sender),
    executor.transaction(digest),
  ])
  if (options.stopped()) throw options.stoppedError()
  signal?.throwIfAborted()
  if (executed !== undefined) {
    throw new ConsensusError(
      'MEMPOOL_DUPLICATE',
      `transaction ${bytesToHex(digest)} was executed at height ${executed.height}`,
    )
  }
  return options.mempool.add(
    { digest, bytes, sender: senderId(tx.payload.sender), nonce: tx.payload.nonce },
    stateNonce,
  )
}
