/**
 * Why a session stream ended: the reason byte of TERMINATE (docs/protocol.md, Lightning's
 * codes plus ours). Either end may send one; the node is the one that usually does.
 */

export const TerminationReason = {
  /** No HELLO/JOIN within the handshake timeout, or a client that stops acknowledging. */
  TIMEOUT: 0x80,
  /** Bad signature, bad key, stale or foreign challenge, unknown retry session. */
  INVALID_HANDSHAKE: 0x81,
  /** JOIN with an unknown, expired or foreign token. */
  INVALID_TOKEN: 0x82,
  /** Forged commitment, a reveal that does not chain, a replay, wrong node/session/epoch. */
  INVALID_ACK: 0x83,
  /** A service id the node does not run. */
  INVALID_SERVICE: 0x84,
  /** The service failed. */
  SERVICE_TERMINATED: 0x85,
  /** A retry for a session whose primary stream is still alive. */
  CONNECTION_IN_USE: 0x86,
  /** A request the session may not make. */
  WRONG_PERMISSION: 0x87,
  /** Too many sessions for this client key, or streams for this session. */
  RESOURCES_UNAVAILABLE: 0x88,
  /** The node is stopping. */
  SHUTDOWN: 0x89,
  /** A frame over `maxRequest`, cut off at its prefix. */
  FRAME_TOO_LARGE: 0x8a,
  /** An unknown kind, a payload of the wrong size, a frame out of order. */
  MALFORMED_FRAME: 0x8b,
  /** Anything else. */
  UNKNOWN: 0xff,
} as const

export type TerminationReason = (typeof TerminationReason)[keyof typeof TerminationReason]
export type TerminationReasonName = keyof typeof TerminationReason

const NAMES = new Map<number, TerminationReasonName>(
  Object.entries(TerminationReason).map(([name, code]) => [code, name as TerminationReasonName]),
)

/** Whether `reason` is one of the codes above (a peer may send any byte). */
export function isTerminationReason(reason: number): reason is TerminationReason {
  return NAMES.has(reason)
}

/** The name of `reason`; 'UNKNOWN' for a byte outside the table. */
export function terminationReasonName(reason: number): TerminationReasonName {
  return NAMES.get(reason) ?? 'UNKNOWN'
}

/** For logs and messages: `invalid handshake (0x81)`. */
export function describeReason(reason: number): string {
  const name = terminationReasonName(reason).toLowerCase().replaceAll('_', ' ')
  return `${name} (0x${reason.toString(16).padStart(2, '0')})`
}
