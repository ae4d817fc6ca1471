/**
 * Typed errors of content routing and the network topology (src/routing). `code` is stable and
 * meant for programs; `message` is for people.
 */
import { FulmenError } from '../core/errors.ts'

export type RoutingErrorCode =
  /** A caller passed something out of its domain: a root that is not 32 bytes; a capacity,
   * fingerprint width, threshold or `seq` out of range; a filter that would encode to over
   * 1 MiB; a latency matrix of no nodes, a latency that is NaN, infinite or negative, a seed of
   * no bytes, topology parameters out of range. */
  | 'ROUTING_INVALID_ARGUMENT'
  /** A content summary over 1 MiB, or whose header names a table over it. */
  | 'ROUTING_SUMMARY_TOO_LARGE'
  /** A content summary that ends inside its header or its fingerprint table. */
  | 'ROUTING_SUMMARY_TRUNCATED'
  /** A content summary of a format version this one does not read. */
  | 'ROUTING_SUMMARY_UNKNOWN_VERSION'
  /** A content summary whose fingerprint width or bucket count is out of range, whose count
   * differs from its table's, or with bytes after the table. */
  | 'ROUTING_SUMMARY_MALFORMED'
  /** The chain state lacks what the epoch's topology is read from (its metadata or the
   * epoch's committee entry): a store that is not a chain's, or a height it does not hold. */
  | 'ROUTING_STATE_MISSING'

export class RoutingError extends FulmenError<RoutingErrorCode> {
  override readonly name = 'RoutingError'
}
