/**
 * Typed errors of the light client (src/light). `code` is stable and meant for programs; a
 * forged or broken answer from one source is recorded under its own code (CHECKPOINT_* for
 * checkpoints, LIGHT_* for state) and the next source is asked; LIGHT_NO_SOURCE says none was
 * left and carries each source's failure in `details.failures`.
 */
import { FulmenError } from '../core/errors.ts'

export type LightErrorCode =
  /** A served state entry's proof does not prove it (or its absence) under the head's root, or
   * is not a proof at all. */
  | 'LIGHT_PROOF_INVALID'
  /** A served state entry is proven against another root or height than the verified head's. */
  | 'LIGHT_WRONG_ROOT'
  /** A served answer that is not of the expected shape: not JSON, fields missing or not hex,
   * another table or key than asked, proven bytes that do not decode as the table's entry. */
  | 'LIGHT_MALFORMED'
  /** A source could not be asked: network error, HTTP error status, an answer too large. */
  | 'LIGHT_SOURCE_FAILED'
  /** Every source failed or was dropped for lying; `details.failures` lists them. */
  | 'LIGHT_NO_SOURCE'
  /** The node is not staked (at least the minimum) and active in the head's epoch. */
  | 'LIGHT_NOT_STAKED'
  /** The stored light-client head does not decode, or is not consistent with itself. */
  | 'LIGHT_STORE_CORRUPT'
  /** The stored light-client head is of another genesis than the one given. */
  | 'LIGHT_STORE_OTHER_CHAIN'

export class LightError extends FulmenError<LightErrorCode> {
  override readonly name = 'LightError'
}
