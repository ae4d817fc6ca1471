/**
 * Typed errors of delivery acknowledgements (docs/protocol.md, "Delivery acknowledgements").
 * Each names the rule a commitment, reveal or claim broke; `code` is stable and meant for
 * programs (a node ends the session on any of them), `message` is for people.
 */
import { FulmenError } from '../core/errors.ts'

export type AckErrorCode =
  /** Bytes that are not a commitment or claim of this version (length, version, zero fields). */
  | 'ACK_MALFORMED'
  /** The commitment's signature does not verify under the client key it names. */
  | 'ACK_FORGED_COMMITMENT'
  /** The commitment names another node. */
  | 'ACK_WRONG_NODE'
  /** The commitment names another session. */
  | 'ACK_WRONG_SESSION'
  /** The commitment names another epoch. */
  | 'ACK_WRONG_EPOCH'
  /** The commitment is signed for another client key than the session's. */
  | 'ACK_WRONG_CLIENT'
  /** The commitment is for another service, commodity or unit than this session delivers. */
  | 'ACK_WRONG_SERVICE'
  /** A commitment whose `seq` is not the next one of the session. */
  | 'ACK_SEQUENCE'
  /** A reveal for a `seq` that was never committed. */
  | 'ACK_NO_COMMITMENT'
  /** A reveal that does not hash to the last accepted value (or to the anchor). */
  | 'ACK_BAD_REVEAL'
  /** An index beyond the chain's length, or more units acknowledged than delivered. */
  | 'ACK_OVERCLAIM'
  /** More claims than a batch proof has slots. */
  | 'ACK_BATCH_TOO_LARGE'
  /** A batch proof, verification key or public signal that cannot be what it claims. */
  | 'ACK_PROOF_MALFORMED'
  /** The DA batch prover's circuit artifacts are missing or not the ones artifacts.json names. */
  | 'ACK_PROVER_ARTIFACTS'
  /** The DA batch prover made no proof (it crashed, or its output does not match the claims). */
  | 'ACK_PROVER_FAILED'
  /** A prove before the DA batch prover started, after it stopped, or queued when it stopped. */
  | 'ACK_PROVER_STOPPED'
  /** A batch proof that does not verify for the claims it came with. */
  | 'ACK_PROOF_INVALID'

export class AckError extends FulmenError<AckErrorCode> {
  override readonly name = 'AckError'
}
