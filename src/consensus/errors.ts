/**
 * Typed errors of ordering (src/consensus): what an orderer answers when it refuses a
 * transaction at admission, or is asked for something after it stopped. `code` is stable and
 * meant for programs (the HTTP route maps it to a status); `message` is for people.
 */
import { FulmenError } from '../core/errors.ts'

export type ConsensusErrorCode =
  /** The mempool holds its most transactions or bytes, or the sender its most slots. */
  | 'MEMPOOL_FULL'
  /** A transaction with this digest is pending already (or was executed), or the sender has
   * another transaction pending with the same nonce. */
  | 'MEMPOOL_DUPLICATE'
  /** The nonce is further ahead of the sender's current nonce than the sender's slots reach. */
  | 'MEMPOOL_NONCE_GAP'
  /** The orderer stopped: it admits nothing more. */
  | 'ORDERER_STOPPED'
  /** Admission refuses what execution would revert without effect (the receipt codes of
   * docs/errors.md, "Transactions and receipts"): another chain id, a nonce already taken. */
  | 'TX_WRONG_CHAIN'
  | 'TX_NONCE'
  /** Bytes that are not a Narwhal header, vote or certificate in canonical form (src/consensus/dag). */
  | 'CONSENSUS_MALFORMED'
  /** A Narwhal record read back from the store does not decode, or is not the record its key
   * names (narwhal-store.ts): the store was written by something else or damaged. */
  | 'CONSENSUS_STORE_CORRUPT'
  /** A block attestation (src/consensus/attestation) that is not well formed: bytes not in
   * canonical form, a signer bitfield with a bit past the committee or a trailing zero byte, a
   * signature or a signer's key that is not a curve point. */
  | 'ATTESTATION_MALFORMED'
  /** A block attestation signed by fewer members than its quorum (n − f of n). */
  | 'ATTESTATION_QUORUM'
  /** A block attestation whose aggregate signature does not verify against its signers' keys. */
  | 'ATTESTATION_INVALID'
  /** A block attestation for another height or block hash than the block it came with. */
  | 'ATTESTATION_WRONG_BLOCK'

export class ConsensusError extends FulmenError<ConsensusErrorCode> {
  override readonly name = 'ConsensusError'
}
