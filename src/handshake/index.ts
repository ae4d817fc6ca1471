/**
 * Sessions over `/fulmen/handshake/2.0.0` (docs/protocol.md "Sessions"): the node's and the
 * client's handshake over any ByteChannel, the node's session table, and typed endings.
 */
export { HANDSHAKE_CONTEXT, type HandshakeBinding, handshakeMessage } from './challenge.ts'
export {
  type Challenge,
  type ClientStream,
  DEFAULT_CLIENT_TIMEOUT_MS,
  type JoinSessionOptions,
  joinSession,
  type OpenSessionOptions,
  openSession,
  type Pipeline,
} from './client-handshake.ts'
export {
  reasonOf,
  SessionError,
  type SessionErrorCode,
  type SessionErrorOptions,
  sessionCodeOf,
  sessionErrorOf,
} from './errors.ts'
export {
  type AcceptSessionOptions,
  acceptSession,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  type NodeStream,
} from './node-handshake.ts'
export {
  type JoinRequest,
  type OpenRequest,
  type Session,
  type SessionInfo,
  SessionTable,
  type SessionTableOptions,
  type StreamKind,
  type StreamLease,
} from './session-table.ts'
export {
  describeReason,
  isTerminationReason,
  TerminationReason,
  type TerminationReasonName,
  terminationReasonName,
} from './termination.ts'
