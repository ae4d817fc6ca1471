/**
 * What the chain commands (`tx`, `state`, `chain`) ask a node's HTTP gateway: the head, an entry
 * with its proof, a block, a receipt, and the submission of a signed transaction (the routes of
 * docs/protocol.md, "Chain routes"). A node's own errors (`{"error":{"code","message"}}`) come
 * back as `GatewayError`s carrying the node's code, so `fulmen` prints the code the node gave.
 */
import { FulmenError } from '../../core/errors.ts'
import type { HeadJson } from '../chain/chain-api.ts'

export type ChainClientErrorCode =
  /** The gateway could not be reached: connection refused, DNS, no answer in time. */
  | 'CLI_GATEWAY_UNREACHABLE'
  /** The gateway answered something that is not the route's JSON (another program on the
   * port, a node without a genesis, an HTTP error without a code). */
  | 'CLI_GATEWAY_BAD_ANSWER'
  /** The transaction was still pending when `--timeout` ran out. */
  | 'CLI_TX_TIMEOUT'

export class ChainClientError extends FulmenError<ChainClientErrorCode> {
  override readonly name = 'ChainClientError'
}

/** An error the node answered with its own code (TX_WRONG_CHAIN, CHAIN_BLOCK_UNKNOWN…). */
export class GatewayError extends FulmenError<string> {
  override readonly name = 'GatewayError'
  readonly status: number

  constructor(code: string, message: string, status: number) {
    super(code, message)
    this.status = status
  }
}

export type { HeadJson }

/** `GET /chain/state/<table>/<key>`. */
export interface StateAnswerJson {
  readonly table: string
  readonly key: string
  readonly height: number
  readonly root: string
  readonly value: string | null
  readonly entry: unknown
  readonly proof: string
}

/** `GET /chain/tx/<digest>`: pending, or executed with its receipt. */
export interface ReceiptJson {
  readonly digest: string
  readonly status: string
  readonly height?: number
  readonly index?: number
  readonly message?: string
  readonly events?: readonly unknown[]
}

/** `http://host:port` without a trailing slash; a usage mistake is the caller's to report. */
export function gatewayUrl(text: string): string {
  const url = new URL(text)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${text} is not an http(s) URL`)
  }
  return url.href.replace(/\/+$/, '')
}

export interface ChainClient {
  readonly gateway: string
  head(): Promise<HeadJson>
  state(table: string, key: string): Promise<StateAnswerJson>
  block(height: number): Promise<unknown>
  /** POSTs encoded transaction bytes; resolves to the digest (hex) the node accepted. */
  submit(bytes: Uint8Array): Promise<string>
  receipt(digest: string): Promise<ReceiptJson>
}

/** A client of the node whose gateway is `gateway`; each request gives up after `timeoutMs`. */
export function chainClient(gateway: string, timeoutMs = 10_000): ChainClient {
  const request = async (path: string, init: RequestInit = {}): Promise<unknown> => {
    const url = `${gateway}${path}`
    let res: Response
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause
      const why =
        (e as Error).name === 'TimeoutError'
          ? `no answer in ${timeoutMs} ms`
          : (cause?.code ?? cause?.message ?? (e as Error).message)
      throw new ChainClientError(
        'CLI_GATEWAY_UNREACHABLE',
        `cannot reach the gateway ${gateway} (${why}); is a node running there?`,
        { cause: e, details: { url } },
      )
    }
    const text = await res.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new ChainClientError(
        'CLI_GATEWAY_BAD_ANSWER',
        `${url} answered ${res.status} with no JSON${res.status === 404 ? ' (a node without chain routes?)' : ''}: ${text.slice(0, 120)}`,
        { details: { url, status: res.status } },
      )
    }
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error
    if (!res.ok || error !== undefined) {
      if (typeof error?.code === 'string') {
        throw new GatewayError(
          error.code,
          `${gateway}: ${typeof error.message === 'string' ? error.message : error.code}`,
          res.status,
        )
      }
      throw new ChainClientError(
        'CLI_GATEWAY_BAD_ANSWER',
        `${url} answered ${res.status}: ${text.slice(0, 120)}`,
        { details: { url, status: res.status } },
      )
    }
    return body
  }
  const shape = <T>(value: unknown, fields: readonly string[], what: string): T => {
    for (const f of fields) {
      if (value === null || typeof value !== 'object' || !(f in value)) {
        throw new ChainClientError(
          'CLI_GATEWAY_BAD_ANSWER',
          `${gateway} answered ${what} without '${f}'`,
        )
      }
    }
    return value as T
  }
  return {
    gateway,
    head: async () =>
      shape<HeadJson>(
        await request('/chain/head'),
        ['chainId', 'epoch', 'height', 'hash', 'stateRoot', 'timestampMs'],
        'the head',
      ),
    state: async (table, key) =>
      shape<StateAnswerJson>(
        await request(`/chain/state/${encodeURIComponent(table)}/${encodeURIComponent(key)}`),
        ['root', 'value', 'proof', 'height'],
        'a state entry',
      ),
    block: (height) => request(`/chain/block/${height}`),
    submit: async (bytes) => {
      const answer = shape<{ digest: string }>(
        await request('/chain/tx', {
          method: 'POST',
          headers: { 'content-type': 'application/cbor' },
          body: bytes as Uint8Array<ArrayBuffer>,
        }),
        ['digest'],
        'a submission',
      )
      return answer.digest
    },
    receipt: async (digest) =>
      shape<ReceiptJson>(await request(`/chain/tx/${digest}`), ['status'], 'a receipt'),
  }
}

export interface WaitOptions {
  readonly timeoutMs: number
  readonly everyMs?: number
  /** Progress for people (stderr), now and then while it is pending. */
  readonly progress?: (line: string) => void
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Polls the receipt of `digest` until it leaves "pending". A 404 right after the submission
 * is tolerated briefly (the node may answer before its mempool lists it); after that, the
 * node's CHAIN_TX_UNKNOWN is the answer.
 */
export async function waitForReceipt(
  client: ChainClient,
  digest: string,
  options: WaitOptions,
): Promise<ReceiptJson> {
  const started = Date.now()
  const every = options.everyMs ?? 200
  let lastProgress = started
  for (;;) {
    let receipt: ReceiptJson | undefined
    try {
      receipt = await client.receipt(digest)
    } catch (e) {
      if (!(e instanceof GatewayError && e.status === 404 && Date.now() - started < 2000)) throw e
    }
    if (receipt !== undefined && receipt.status !== 'pending') return receipt
    const waited = Date.now() - started
    if (waited >= options.timeoutMs) {
      throw new ChainClientError(
        'CLI_TX_TIMEOUT',
        `transaction ${digest} still pending after ${Math.round(waited / 1000)} s (it may still be executed: fulmen tx receipt ${digest})`,
        { details: { digest } },
      )
    }
    if (Date.now() - lastProgress >= 2000) {
      lastProgress = Date.now()
      options.progress?.(`still pending after ${Math.round(waited / 1000)} s`)
    }
    await sleep(every)
  }
}
