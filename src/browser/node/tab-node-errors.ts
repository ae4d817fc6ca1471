/** Typed errors of the tab node, with stable codes. */
import { FulmenError } from '../../core/errors.ts'

export type TabNodeErrorCode =
  /** A call on a node that is not (or no longer) running. */
  | 'TAB_NODE_STOPPED'
  /** `start` on a node that runs already. */
  | 'TAB_NODE_RUNNING'
  /** `cache` of something that is not a pointer (src/origin/pointer.ts). */
  | 'TAB_NODE_BAD_POINTER'
  /** No relay gave the tab a reservation (a circuit WebRTC address) in time. */
  | 'TAB_NODE_NO_RESERVATION'
  /** Options that make no sense (no relays, a negative quota…). */
  | 'TAB_NODE_BAD_OPTIONS'
  /** The node's worker failed to load or crashed. */
  | 'TAB_NODE_WORKER_FAILED'

export class TabNodeError extends FulmenError<TabNodeErrorCode> {
  override readonly name = 'TabNodeError'
}
