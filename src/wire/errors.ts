/** Typed errors of the wire layer: bytes from the network that are not a valid frame. */
import { FulmenError } from '../core/errors.ts'

export type WireErrorCode =
  /** A frame type this version does not know. */
  | 'WIRE_UNKNOWN_FRAME'
  /** A frame larger than the receiver's limit: cut off before it is buffered. */
  | 'WIRE_FRAME_TOO_LARGE'
  /** The byte stream ended inside a frame. */
  | 'WIRE_TRUNCATED'
  /** A frame whose payload is not what its type requires, or frames in an impossible order. */
  | 'WIRE_MALFORMED'
  /** The header names other content than the receiver asked for, or another range. */
  | 'WIRE_WRONG_CONTENT'
  /** The peer reported an error in an error frame. */
  | 'WIRE_REMOTE_ERROR'

export class WireError extends FulmenError<WireErrorCode> {
  override readonly name = 'WireError'
}
