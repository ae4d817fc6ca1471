/**
 * Typed errors of sessions: how a handshake or a session stream ended. `code` is stable and
 * meant for programs; `reason` is the TERMINATE byte that was sent or received, if any.
 */

import { FulmenError } from '../core/errors.ts'
import { WireError } from '../wire/errors.ts'
import { TerminationReason } from './termination.ts'

export type SessionErrorCode =
  /** 0x80: no HELLO/JOIN (or no answer) in time, or a client that stopped acknowledging. */
  | 'SESSION_TIMEOUT'
  /** 0x81: bad signature or key, stale or foreign challenge, unknown retry session. */
  | 'SESSION_INVALID_HANDSHAKE'
  /** 0x82: JOIN with an unknown, expired or foreign token. */
  | 'SESSION_INVALID_TOKEN'
  /** 0x83: a forged or replayed acknowledgement. */
  | 'SESSION_INVALID_ACK'
  /** 0x84: a service the node does not run. */
  | 'SESSION_INVALID_SERVICE'
  /** 0x85: the service failed. */
  | 'SESSION_SERVICE_TERMINATED'
  /** 0x86: a retry while the session's primary stream is alive. */
  | 'SESSION_CONNECTION_IN_USE'
  /** 0x87: a request the session may not make. */
  | 'SESSION_WRONG_PERMISSION'
  /** 0x88: too many sessions for the client key, or streams for the session. */
  | 'SESSION_RESOURCES_UNAVAILABLE'
  /** 0x89: the node is stopping. */
  | 'SESSION_SHUTDOWN'
  /** 0x8a: a frame over the receiver's limit. */
  | 'SESSION_FRAME_TOO_LARGE'
  /** 0x8b: an unknown kind, a payload of the wrong size, a frame out of order. */
  | 'SESSION_MALFORMED_FRAME'
  /** 0xff, or a reason byte outside the table. */
  | 'SESSION_UNKNOWN'
  /** The stream ended (or broke) before the handshake completed, with no TERMINATE. */
  | 'SESSION_CLOSED'
  /** Our caller aborted (AbortSignal). */
  | 'SESSION_ABORTED'

const CODE_OF_REASON = new Map<number, SessionErrorCode>([
  [TerminationReason.TIMEOUT, 'SESSION_TIMEOUT'],
  [TerminationReason.INVALID_HANDSHAKE, 'SESSION_INVALID_HANDSHAKE'],
  [TerminationReason.INVALID_TOKEN, 'SESSION_INVALID_TOKEN'],
  [TerminationReason.INVALID_ACK, 'SESSION_INVALID_ACK'],
  [TerminationReason.INVALID_SERVICE, 'SESSION_INVALID_SERVICE'],
  [TerminationReason.SERVICE_TERMINATED, 'SESSION_SERVICE_TERMINATED'],
  [TerminationReason.CONNECTION_IN_USE, 'SESSION_CONNECTION_IN_USE'],
  [TerminationReason.WRONG_PERMISSION, 'SESSION_WRONG_PERMISSION'],
  [TerminationReason.RESOURCES_UNAVAILABLE, 'SESSION_RESOURCES_UNAVAILABLE'],
  [TerminationReason.SHUTDOWN, 'SESSION_SHUTDOWN'],
  [TerminationReason.FRAME_TOO_LARGE, 'SESSION_FRAME_TOO_LARGE'],
  [TerminationReason.MALFORMED_FRAME, 'SESSION_MALFORMED_FRAME'],
  [TerminationReason.UNKNOWN, 'SESSION_UNKNOWN'],
])

const REASON_OF_CODE = new Map<SessionErrorCode, number>(
  [...CODE_OF_REASON].map(([reason, code]) => [code, reason]),
)

/** The code for a TERMINATE reason byte (SESSION_UNKNOWN outside the table). */
export function sessionCodeOf(reason: number): SessionErrorCode {
  return CODE_OF_REASON.get(reason) ?? 'SESSION_UNKNOWN'
}

export interface SessionErrorOptions {
  /** The peer sent this reason in a TERMINATE (rather than us deciding it). */
  readonly remote?: boolean
  readonly cause?: unknown
}

export class SessionError extends FulmenError<SessionErrorCode> {
  override readonly name = 'SessionError'
  /** The TERMINATE reason sent or received; undefined when the stream just ended or was aborted. */
  readonly reason: number | undefined
  /** True when the peer ended the stream (we received its TERMINATE). */
  readonly remote: boolean

  /** `reason` defaults to the code's own (none for SESSION_CLOSED and SESSION_ABORTED). */
  constructor(
    code: SessionErrorCode,
    message: string,
    reason: number | undefined = REASON_OF_CODE.get(code),
    options: SessionErrorOptions = {},
  ) {
    super(code, message, options)
    this.reason = reason
    this.remote = options.remote ?? false
  }
}

/** The error for a TERMINATE `reason` (received, or about to be sent). */
export function sessionErrorOf(
  reason: number,
  message: string,
  options: SessionErrorOptions = {},
): SessionError {
  return new SessionError(sessionCodeOf(reason), message, reason, options)
}

/** The TERMINATE reason to send for `error`: wire errors are the peer's malformed frames. */
export function reasonOf(error: unknown): number {
  if (error instanceof SessionError) return error.reason ?? TerminationReason.UNKNOWN
  if (error instanceof WireError) {
    switch (error.code) {
      case 'WIRE_FRAME_TOO_LARGE':
        return TerminationReason.FRAME_TOO_LARGE
      case 'WIRE_UNKNOWN_FRAME':
      case 'WIRE_MALFORMED':
      case 'WIRE_TRUNCATED':
        return TerminationReason.MALFORMED_FRAME
      default:
        return TerminationReason.UNKNOWN
    }
  }
  return TerminationReason.UNKNOWN
}
