/**
 * Typed errors of node-to-node measurements (src/reputation): what the ping codec throws on
 * bytes that are not a ping or pong, and what checking a pong throws when it does not prove
 * the answer came from the node that was asked. `code` is stable and meant for programs (the
 * pinger counts failures by it); `message` is for people.
 */
import { FulmenError } from '../core/errors.ts'

export type ReputationErrorCode =
  /** Bytes that are not a ping or pong in canonical DAG-CBOR: unknown or missing field, wrong
   * length, a value out of range. */
  | 'PING_MALFORMED'
  /** A pong for another ping: its nonce is not the one sent. */
  | 'PONG_WRONG_NONCE'
  /** A pong from another node than the one pinged (a relay, or a stale address). */
  | 'PONG_WRONG_NODE'
  /** A pong whose signature does not verify against the node key it names. */
  | 'PONG_BAD_SIGNATURE'

export class ReputationError extends FulmenError<ReputationErrorCode> {
  override readonly name = 'ReputationError'
}
