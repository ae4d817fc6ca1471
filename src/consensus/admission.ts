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
  // The reads and the add see one head. A block executed while the reads were in flight (a copy
  // sent to another member too, ordered there) has settled the mempool already: added on reads
  // from before it, the transaction would stay pending for good, and its own copy, ordered
  // later, is skipped as executed. So read again until no block came in between; the add
  // follows the last read synchronously, and a block after it settles the mempool as usual.
  let height: number
  let stateNonce: number
  let executed: Awaited<ReturnType<ChainExecutor['transaction']>>
  do {
    height = executor.head.height
    ;[stateNonce, executed] = await Promise.all([
      readNonce(executor, tx.payload.sender),
      executor.transaction(digest),
    ])
    if (options.stopped()) throw options.stoppedError()
    signal?.throwIfAborted()
  } while (executor.head.height !== height && executed === undefined)
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
