/** Typed errors of the messenger (messenger.ts). */
import { FulmenError } from '../core/errors.ts'

export type MessengerErrorCode =
  /** `send` to a peer that is not in the messenger's set. */
  | 'MESSENGER_UNKNOWN_PEER'
  /** `send` or `broadcast` before `start` or after `stop`. */
  | 'MESSENGER_NOT_RUNNING'

export class MessengerError extends FulmenError<MessengerErrorCode> {
  override readonly name = 'MessengerError'
}
