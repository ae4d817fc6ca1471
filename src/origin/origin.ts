/**
 * Origins: where content named by a pointer comes from. An origin streams the bytes while
 * verifying them against the pointer; the resolver pipes that stream into a block store, which
 * commits only once the stream completed. Because a mismatch is thrown after the last byte (and
 * a size overrun as soon as it happens), a consumer that commits on completion never keeps
 * bytes an origin lied about.
 *
 * Also here: `fetchVerified`, the one HTTP fetch loop both the HTTP(S) and the IPFS gateway
 * origins use (status, size limit, deadline, abort, connection cut-off, verification).
 */
import { OriginError, type Pointer } from './pointer.ts'

export interface OriginFetchOptions {
  /** Aborting stops the fetch (the connection is cut) and rejects with the signal's reason. */
  readonly signal?: AbortSignal
  /** More bytes than this is `ORIGIN_TOO_LARGE`. */
  readonly maxBytes: number
  /** Deadline for the whole fetch, headers and body (`Infinity` for none). */
  readonly timeoutMs: number
  /** The peer id of whoever asked (a session's remote peer), when known: the peer origin asks
   * no peer on a peer's behalf. */
  readonly requester?: string
}

export interface Origin {
  /** Short name for logs and metrics (`http`, `ipfs`…). */
  readonly name: string
  /** Whether this origin can fetch content for this pointer (cheap, no I/O). */
  accepts(pointer: Pointer): boolean
  /**
   * The content's bytes, verified on the way: the iterable throws `ORIGIN_TOO_LARGE` as soon as
   * more than `maxBytes` arrived (and stops reading), `ORIGIN_INTEGRITY` after the last byte if
   * they do not match the pointer, `ORIGIN_TIMEOUT`, `ORIGIN_FETCH_FAILED` (status ≠ 200,
   * connection errors), `ORIGIN_UNAVAILABLE` (this pointer cannot be served by this origin),
   * or the signal's reason. Nothing happens until it is iterated; breaking out of the loop
   * cancels the fetch.
   */
  fetch(pointer: Pointer, options: OriginFetchOptions): AsyncIterable<Uint8Array>
}

/** Checks bytes as they stream by. */
export interface BodyVerifier {
  update(chunk: Uint8Array): void
  /** After the last byte: throws `ORIGIN_INTEGRITY` unless the bytes match. */
  check(): void
}

export type FetchFunction = typeof globalThis.fetch

export interface VerifiedRequest extends OriginFetchOptions {
  /** For messages: the origin's name. */
  readonly origin: string
  readonly url: string
  readonly headers?: Record<string, string>
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchFunction
}

/** `host/path` of a URL, shortened, for messages (never the query: it may hold tokens). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    const where = `${u.host}${u.pathname}`
    return where.length > 120 ? `${where.slice(0, 117)}...` : where
  } catch {
    return JSON.stringify(url.slice(0, 120))
  }
}

/** Validates `maxBytes` / `timeoutMs` (non-negative; `Infinity` allowed). */
export function checkLimits(options: { maxBytes: number; timeoutMs: number }): void {
  const { maxBytes, timeoutMs } = options
  if (!(typeof maxBytes === 'number' && maxBytes >= 0)) {
    throw new RangeError(`maxBytes must be a non-negative number, got ${maxBytes}`)
  }
  if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw new RangeError(`timeoutMs must be a non-negative number, got ${timeoutMs}`)
  }
}

/** The declared body length, when it is the length of the bytes we will read. */
function declaredLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding')
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined
  const header = response.headers.get('content-length')
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined
  return Number(header)
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e)
  const cause = (e as { cause?: unknown }).cause
  if (cause instanceof Error && cause.message !== '') return `${e.message}: ${cause.message}`
  return e.message
}

/**
 * GETs `url` and streams its body through `verifier`: the loop behind `Origin.fetch` for
 * HTTP-based origins. A 200 is required; a `Content-Length` above `maxBytes` is refused before
 * reading; counting stops the body once it passes `maxBytes`; `timeoutMs` bounds the whole
 * fetch. On any early exit (error, limit, abort, the consumer breaking off) the request is
 * aborted, which closes the connection. Credentials (cookies) are never sent.
 */
export async function* fetchVerified(
  request: VerifiedRequest,
  verifier: BodyVerifier,
): AsyncGenerator<Uint8Array, void, undefined> {
  checkLimits(request)
  const { origin, url, maxBytes, timeoutMs, signal } = request
  const where = describeUrl(url)
  signal?.throwIfAborted()

  const controller = new AbortController()
  const onAbort = (): void => controller.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  const timer = Number.isFinite(timeoutMs)
    ? setTimeout(() => {
        controller.abort(
          new OriginError('ORIGIN_TIMEOUT', `${origin}: ${where} took longer than ${timeoutMs} ms`),
        )
      }, timeoutMs)
    : undefined
  /** What to throw for an error of fetch or of a body read. */
  const failure = (e: unknown): unknown => {
    if (controller.signal.aborted) return controller.signal.reason
    return new OriginError('ORIGIN_FETCH_FAILED', `${origin}: GET ${where}: ${errorText(e)}`, {
      cause: e,
    })
  }

  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  let complete = false
  let pending: unknown
  try {
    let response: Response
    try {
      response = await (request.fetch ?? globalThis.fetch)(url, {
        method: 'GET',
        headers: request.headers,
        signal: controller.signal,
        redirect: 'follow',
        credentials: 'omit',
      })
    } catch (e) {
      throw failure(e)
    }
    const body = response.body
    if (body !== null) reader = body.getReader()
    if (response.status !== 200) {
      const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`
      throw new OriginError('ORIGIN_FETCH_FAILED', `${origin}: GET ${where} answered ${status}`)
    }
    const declared = declaredLength(response)
    if (declared !== undefined && declared > maxBytes) {
      throw new OriginError(
        'ORIGIN_TOO_LARGE',
        `${origin}: ${where} is ${declared} bytes, more than the limit of ${maxBytes}`,
      )
    }
    let received = 0
    while (reader !== undefined) {
      let step: ReadableStreamReadResult<Uint8Array>
      try {
        step = await reader.read()
      } catch (e) {
        throw failure(e)
      }
      if (step.done) break
      received += step.value.length
      if (received > maxBytes) {
        throw new OriginError(
          'ORIGIN_TOO_LARGE',
          `${origin}: ${where} sent more than the limit of ${maxBytes} bytes`,
        )
      }
      verifier.update(step.value)
      yield step.value
    }
    complete = true
    verifier.check()
  } catch (e) {
    pending = e
    throw e
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
    if (!complete) {
      // Cut the connection: the rest of the body is not wanted.
      if (!controller.signal.aborted) {
        controller.abort(pending ?? new OriginError('ORIGIN_FETCH_FAILED', 'fetch abandoned'))
      }
      reader?.cancel(controller.signal.reason).catch(() => {})
    }
  }
}
