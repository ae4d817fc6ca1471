/**
 * Errors of a pool of delivery-acknowledgement claims, whichever stores it: LevelDB on a full
 * node (src/node/das/da-pool.ts), IndexedDB on a tab node (src/browser/node/idb-da-pool.ts).
 */
import { FulmenError } from '../core/errors.ts'

export type DaPoolErrorCode =
  /** Another process (the running node) holds the pool's lock. */
  | 'DAS_LOCKED'
  /** A write to a pool opened read-only. */
  | 'DAS_READ_ONLY'
  /** A claim for a session and seq whose stored claim is for another commitment. */
  | 'DAS_CONFLICT'
  /** The pool is closed. */
  | 'DAS_CLOSED'
  /** A stored record is not a claim (another program wrote the database). */
  | 'DAS_CORRUPT'

export class DaPoolError extends FulmenError<DaPoolErrorCode> {
  override readonly name = 'DaPoolError'
}
