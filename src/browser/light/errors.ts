/**
 * Typed errors of the browser light client's page side (`fulmen/light`): its worker. What the
 * light client itself refuses comes as LightError (LIGHT_*) and CheckpointError (CHECKPOINT_*),
 * with their codes, across the worker boundary (src/browser/thread-errors.ts).
 */
import { FulmenError } from '../../core/errors.ts'

export type LightWorkerErrorCode =
  /** The light client's Web Worker did not load (a bundler that did not emit it, a CSP) or crashed. */
  | 'LIGHT_WORKER_FAILED'
  /** The light client was closed (or not started). */
  | 'LIGHT_WORKER_CLOSED'

export class LightWorkerError extends FulmenError<LightWorkerErrorCode> {
  override readonly name = 'LightWorkerError'
}
