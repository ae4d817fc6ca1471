/** Typed errors of the client API. */
import { FulmenError } from '../core/errors.ts'

export type FetchErrorCode =
  /** Not one node could be reached (dial, handshake). */
  | 'FETCH_NO_NODES'
  /** Every node was tried and failed; `failures` says how each one did. */
  | 'FETCH_ALL_NODES_FAILED'
  /** Every node that answered said the content does not exist. */
  | 'FETCH_NOT_FOUND'
  /** The pointer or the options are not valid. */
  | 'FETCH_BAD_REQUEST'
  /**
   * A body held until its pointer's digest is checked could not be kept: over the memory
   * bound with no spill given (`holding.spill`), or the spill failed.
   */
  | 'FETCH_HOLD_FAILED'
  /** The client was closed. */
  | 'FETCH_CLOSED'
  /** The browser client's Web Worker did not load (a bundler that did not emit it, a CSP) or crashed. */
  | 'FETCH_WORKER_FAILED'

/** How one node failed a fetch: which node, and the typed error it caused. */
export interface NodeFailure {
  /** The node's peer id. */
  readonly node: string
  /** The error's stable code (`B3_BLOCK_MISMATCH`, `SESSION_TIMEOUT`, `CLIENT_STALLED`…). */
  readonly code: string
  readonly message: string
}

export class FetchError extends FulmenError<FetchErrorCode> {
  override readonly name = 'FetchError'
  readonly failures: readonly NodeFailure[]

  constructor(code: FetchErrorCode, message: string, failures: readonly NodeFailure[] = []) {
    super(code, message)
    this.failures = failures
  }
}

/** Why a node was dropped when its own transport or protocol gave no typed error. */
export type NodeFailureCode =
  /** No frame for longer than the stall timeout. */
  | 'CLIENT_STALLED'
  /** The stream ended before the body did. */
  | 'CLIENT_TRUNCATED'
  /** The node sent frames the CDN body cannot contain (a DATA frame larger than its block). */
  | 'CLIENT_PROTOCOL'
  /** The node could not be dialled. */
  | 'CLIENT_UNREACHABLE'
  /**
   * The body verified against the root the node announced for an IPFS or HTTP pointer, but
   * not against the pointer's own digest: the node maps the pointer to other content.
   */
  | 'CLIENT_WRONG_DIGEST'
  /** The length the node claims does not verify: its last block does not fit the root. */
  | 'CLIENT_WRONG_LENGTH'
  /**
   * With `chain.verifyChain`: the node is not proven staked and active in the verified head's
   * epoch (not registered, not active, under the minimum stake, or a peer id with no Ed25519
   * key). It is refused before it is dialled, whatever it would serve.
   */
  | 'CLIENT_NOT_STAKED'
  /**
   * With `chain.verifyChain`: the node's record could not be proven either way (the light
   * client could not sync or get a proof that verifies from any gateway); `details.code` is
   * the light client's code. Not used; asked again on the next fetch.
   */
  | 'CLIENT_CHAIN_UNVERIFIED'

export class NodeFailureError extends FulmenError<NodeFailureCode> {
  override readonly name = 'NodeFailureError'
}

export type ClientOptionsErrorCode =
  /** A bootstrap address that is not a multiaddr, or has no `/p2p/<peer id>`. */
  | 'CLIENT_BAD_ADDRESS'
  /** Another option out of its domain (a negative timeout, an unknown order…). */
  | 'CLIENT_BAD_OPTION'

/** `createClient` refused its options: thrown before anything is started. */
export class ClientOptionsError extends FulmenError<ClientOptionsErrorCode> {
  override readonly name = 'ClientOptionsError'
  /** The option at fault (`bootstrap`, `stallTimeoutMs`…). */
  readonly option: string
  /** The offending value as given (for `bootstrap`, the address). */
  readonly value: string

  constructor(code: ClientOptionsErrorCode, option: string, value: string, message: string) {
    super(code, message)
    this.option = option
    this.value = value
  }
}

/**
 * A readable message for anything thrown: transports reject with `ErrorEvent`s and other
 * non-Errors whose `String()` is `[object ErrorEvent]`.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message
  const e = error as { message?: unknown; error?: unknown; type?: unknown } | undefined
  if (typeof e?.message === 'string' && e.message !== '') return e.message
  if (e?.error instanceof Error) return e.error.message
  if (typeof e?.type === 'string') return `${e.type} event`
  return String(error)
}

/** The failure record of `error` caused by `node`. */
export function nodeFailure(node: string, error: unknown): NodeFailure {
  const code = (error as { code?: unknown })?.code
  const name = error instanceof Error && error.name !== 'Error' ? error.name : undefined
  return {
    node,
    code: typeof code === 'string' ? code : (name ?? 'UNKNOWN'),
    message: describeError(error),
  }
}
