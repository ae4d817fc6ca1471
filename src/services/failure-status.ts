/**
 * Errors → status codes, shared by the HTTP gateway (the response status) and the CDN service
 * (the code of an ERROR frame). Every typed error of the layers below has one status and keeps
 * its stable code and message. Anything untyped is a 500 with a generic message (the details
 * go to the log, not to the client).
 */

export interface GatewayFailure {
  readonly status: number
  readonly code: string
  readonly message: string
  /** Content length, for 416's `Content-Range: bytes *\/len`. */
  readonly length?: number
}

const STATUS: Record<string, number> = {
  B3_BAD_CONTENT_ID: 400,
  B3_INVALID_ARGUMENT: 400,
  WIRE_MALFORMED: 400,
  ORIGIN_BAD_POINTER: 400,
  FORBIDDEN: 403,
  STORE_NOT_FOUND: 404,
  ORIGIN_NOT_FOUND: 404,
  ORIGIN_UNAVAILABLE: 404,
  RANGE_NOT_SATISFIABLE: 416,
  STORE_TOO_LARGE: 413,
  STORE_ROOT_MISMATCH: 400,
  STORE_FULL: 507,
  ORIGIN_FETCH_FAILED: 502,
  ORIGIN_INTEGRITY: 502,
  ORIGIN_TOO_LARGE: 502,
  ORIGIN_TIMEOUT: 504,
  STORE_CLOSED: 503,
  /** Stored bytes that no longer match their tree: dropped; another node (or a retry) serves. */
  STORE_CORRUPT: 503,
}

export function toFailure(error: unknown): GatewayFailure {
  const code =
    typeof (error as { code?: unknown })?.code === 'string'
      ? (error as { code: string }).code
      : undefined
  const status = code === undefined ? undefined : STATUS[code]
  if (status === undefined || code === undefined) {
    return { status: 500, code: 'INTERNAL', message: 'internal error' }
  }
  const length = (error as { length?: unknown }).length
  return {
    status,
    code,
    message: (error as Error).message,
    ...(typeof length === 'number' ? { length } : {}),
  }
}
