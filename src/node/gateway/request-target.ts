/**
 * Reading a request's target, where the gateway's input starts. A target that is not a URL
 * (`GET http://[ HTTP/1.1`) and a path segment that is not percent-encoded UTF-8 (`%ZZ`,
 * `%C0%AF`) are the client's mistakes: they throw a typed 400, never a bare URIError/TypeError.
 */
import { FulmenError } from '../../core/errors.ts'

export type RequestErrorCode = 'BAD_REQUEST_TARGET' | 'BAD_PERCENT_ENCODING'

/** A request the gateway cannot read; answered 400 with its code. */
export class RequestError extends FulmenError<RequestErrorCode> {
  override readonly name = 'RequestError'
  readonly status = 400
}

/** Echoed in messages: enough to recognise the input, never a whole header's worth of it. */
function excerpt(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)
}

/**
 * `target` (origin-form `/path?query`, or absolute-form `http://host/path`) as a URL. Only its
 * path and query are used: an absolute-form host names nothing here.
 */
export function parseTarget(target: string): URL {
  try {
    return new URL(target, 'http://gateway')
  } catch {
    throw new RequestError(
      'BAD_REQUEST_TARGET',
      `the request target ${excerpt(target)} is not a URL`,
    )
  }
}

/** One path segment, percent-decoded. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new RequestError(
      'BAD_PERCENT_ENCODING',
      `the path segment ${excerpt(segment)} is not percent-encoded UTF-8`,
    )
  }
}
