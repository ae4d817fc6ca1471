/**
 * What a node with a genesis answers about its chain, once for both doors: the HTTP routes
 * (chain-routes.ts, `/chain/...`) and the libp2p protocol (chain-protocol.ts,
 * `/fulmen/chain/1.0.0`). A request is one of five; the answer is the JSON-shaped object that
 * docs/protocol.md ("Chain") shows, the same over both doors (hex strings, no 0x, amounts as
 * decimal strings), and every refusal is a typed error with a stable code and an HTTP status.
 */
import { FulmenError } from '../../core/errors.ts'

export type ChainErrorCode =
  /** The node runs no chain (started without a genesis). */
  | 'CHAIN_NOT_ENABLED'
  /** No transaction with that digest is pending or executed here. */
  | 'CHAIN_TX_UNKNOWN'
  /** No block at that height (above the head, or 0). */
  | 'CHAIN_BLOCK_UNKNOWN'
  /** A state key the table cannot read (parseTableKey refused it). */
  | 'CHAIN_BAD_KEY'
  /** A table name the state does not have. */
  | 'CHAIN_UNKNOWN_TABLE'
  /** A request the node cannot read: a digest that is not 64 hex, a height that is not a
   * number, a libp2p request that is not one of the six. */
  | 'CHAIN_BAD_REQUEST'
  /** The body of a POST did not arrive within the node's timeout. */
  | 'CHAIN_BODY_TIMEOUT'
  /** An answer larger than the libp2p protocol carries. */
  | 'CHAIN_RESPONSE_TOO_LARGE'
  /** A following node could not reach the node it follows (submit is forwarded to it). */
  | 'CHAIN_UPSTREAM'
  /** The chain is starting or stopping. */
  | 'CHAIN_UNAVAILABLE'

/** The largest transaction a node takes (MAX_TRANSACTION_BYTES in src/state/transaction.ts). */
export const MAX_CHAIN_BODY = 128 * 1024

export class ChainError extends FulmenError<ChainErrorCode> {
  override readonly name = 'ChainError'
}

/**
 * A refusal another node gave (a following node forwards transactions): its code and status
 * as that node answered them, whatever layer they came from there.
 */
export class RemoteChainError extends Error {
  override readonly name = 'RemoteChainError'
  readonly code: string
  readonly status: number

  constructor(code: string, message: string, status: number) {
    super(message)
    this.code = code
    this.status = status
  }
}

/** One request, as both doors read it. */
export type ChainRequest =
  | { readonly op: 'head' }
  | { readonly op: 'tx'; readonly digest: Uint8Array }
  | { readonly op: 'submit'; readonly tx: Uint8Array }
  | { readonly op: 'block'; readonly height: number }
  | {
      readonly op: 'state'
      readonly table: string
      readonly key: string
      /** The state after this block (default: the head's). */
      readonly height?: number
    }
  /** The signed handoffs after epoch `from`, then the newest checkpoint (src/checkpoint). */
  | { readonly op: 'checkpoints'; readonly from: number }

export interface HeadJson {
  readonly chainId: number
  readonly epoch: number
  readonly height: number
  readonly hash: string
  readonly stateRoot: string
  readonly timestampMs: number
  /** How this node orders: `solo`, `follow` (re-executes another node's blocks) or `committee`. */
  readonly consensus: 'solo' | 'follow' | 'committee'
  /** The head epoch's committee as the state holds it (`committees/<epoch>`): node keys, hex,
   * in committee order; empty when the state has none for that epoch. */
  readonly committee: readonly string[]
  /** Committee nodes only: this node's index in the committee it orders for, -1 outside it. */
  readonly member?: number
  /** Committee nodes only: the DAG round this node is at, 0 outside the committee. */
  readonly round?: number
  /** Committee nodes only: the last leader round this node committed, 0 outside the committee. */
  readonly committedRound?: number
}

export interface StateJson {
  readonly table: string
  readonly key: string
  readonly height: number
  readonly root: string
  readonly value: string | null
  readonly entry: unknown
  readonly proof: string
}

/** The chain as the doors see it (chain-node.ts implements it over the executor). */
export interface ChainApi {
  /** Async: the committee is a state read. */
  head(): Promise<HeadJson>
  /** Admits an encoded transaction; resolves with its digest (hex). */
  submit(bytes: Uint8Array, signal?: AbortSignal): Promise<{ readonly digest: string }>
  /** `{ digest, status: 'pending' }`, or where it executed with its receipt. */
  transaction(digest: Uint8Array): Promise<unknown>
  /** blockToJson of the block at `height` (1…head). */
  block(height: number): Promise<unknown>
  /** The entry under `key` (the table's text syntax) with its proof against the root of the
   * state after block `height` (default: the head's; 0 is the genesis state). */
  state(table: string, key: string, height?: number): Promise<StateJson>
  /** CheckpointRunJson (src/checkpoint/checkpoint-codec.ts) from the epoch `from` on. */
  checkpoints(from: number): Promise<unknown>
  /** This node's peers in the epoch's topology (TopologyAssignmentJson), null before the
   * first is computed or with measurements off; HTTP only (`GET /chain/topology`). */
  topology?(): Promise<unknown>
}

/** The answer to one request. */
export function answerChainRequest(
  api: ChainApi,
  request: ChainRequest,
  signal?: AbortSignal,
): Promise<unknown> {
  switch (request.op) {
    case 'head':
      return api.head()
    case 'tx':
      return api.transaction(request.digest)
    case 'submit':
      return api.submit(request.tx, signal)
    case 'block':
      return api.block(request.height)
    case 'state':
      return api.state(request.table, request.key, request.height)
    case 'checkpoints':
      return api.checkpoints(request.from)
  }
}

/** HTTP status of each code a chain request may be refused with (other layers' included). */
const STATUS: Readonly<Record<string, number>> = {
  CHAIN_NOT_ENABLED: 404,
  CHAIN_TX_UNKNOWN: 404,
  CHAIN_BLOCK_UNKNOWN: 404,
  CHAIN_UNKNOWN_TABLE: 404,
  CHAIN_BAD_KEY: 400,
  CHAIN_BAD_REQUEST: 400,
  CHAIN_BODY_TIMEOUT: 408,
  CHAIN_RESPONSE_TOO_LARGE: 413,
  CHAIN_UPSTREAM: 502,
  CHAIN_UNAVAILABLE: 503,
  TX_MALFORMED: 400,
  TX_BAD_SIGNATURE: 400,
  TX_WRONG_CHAIN: 400,
  TX_NONCE: 400,
  TX_TOO_LARGE: 413,
  MEMPOOL_FULL: 503,
  MEMPOOL_DUPLICATE: 409,
  MEMPOOL_NONCE_GAP: 409,
  ORDERER_STOPPED: 503,
}

export interface ChainFailure {
  readonly status: number
  readonly code: string
  readonly message: string
}

/**
 * The status, code and message a refusal is answered with. Anything untyped is a 500 INTERNAL
 * whose details go to the log, not to the peer.
 */
export function chainFailureOf(error: unknown): ChainFailure {
  if (error instanceof RemoteChainError)
    return { status: error.status, code: error.code, message: error.message }
  const code = (error as { code?: unknown } | undefined)?.code
  const status = typeof code === 'string' ? STATUS[code] : undefined
  if (status === undefined || typeof code !== 'string')
    return { status: 500, code: 'INTERNAL', message: 'internal error' }
  return { status, code, message: (error as Error).message }
}

const DIGEST_HEX = /^[0-9a-f]{64}$/i

/** A transaction digest as the routes name it: 64 hex digits (a 0x prefix is tolerated). */
export function parseDigest(text: string): Uint8Array {
  const hex = text.startsWith('0x') ? text.slice(2) : text
  if (!DIGEST_HEX.test(hex))
    throw new ChainError('CHAIN_BAD_REQUEST', 'a transaction digest is 64 hex digits')
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** A block height as the routes name it: a decimal safe integer. */
export function parseHeight(text: string): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(n))
    throw new ChainError('CHAIN_BAD_REQUEST', `'${text.slice(0, 40)}' is not a block height`)
  return n
}
