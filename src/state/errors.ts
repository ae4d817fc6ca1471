/**
 * Typed errors of the chain state (src/state). `code` is stable and meant for programs;
 * `message` is for people.
 */
import { FulmenError } from '../core/errors.ts'

export type StateErrorCode =
  /** A caller passed something the state cannot take: a table name that is empty or longer
   * than 255 UTF-8 bytes, a key or value that is not a Uint8Array, a root that is not 32 bytes. */
  | 'STATE_INVALID_ARGUMENT'
  /** Proof bytes that are not a state proof: unknown kind, depth over 256, wrong length,
   * bitmap bits past the depth, an empty sibling written out. */
  | 'STATE_PROOF_MALFORMED'
  /** A well-formed proof that does not prove the claim: another root, another value, presence
   * claimed where it proves absence (or the reverse). */
  | 'STATE_PROOF_MISMATCH'
  /** A version whose root was never committed or has been pruned. */
  | 'STATE_UNKNOWN_VERSION'
  /** A tree node the store should hold is missing or is not a node (pruned under a reader,
   * or another program wrote the store). */
  | 'STATE_CORRUPT'
  /** A genesis file that is not one: not JSON, a field missing or of the wrong type or
   * length, a committee member that is not a genesis node, parameters out of range. */
  | 'STATE_GENESIS_INVALID'
  /** A block body the executor cannot take: another chain, not the next height, another
   * parent, a time before the head's, more transactions than a block holds. */
  | 'STATE_BLOCK_INVALID'
  /** A store that holds another chain's state (its genesis hash differs). */
  | 'STATE_WRONG_GENESIS'

export class StateError extends FulmenError<StateErrorCode> {
  override readonly name = 'StateError'
}
