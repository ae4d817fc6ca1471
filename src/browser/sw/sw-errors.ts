/** Typed errors of the service worker, each with a stable `code` and the HTTP status it maps to. */
import { FulmenError } from '../../core/errors.ts'

export type SwErrorCode =
  /** The URL under the prefix names no pointer the worker can verify (400). */
  | 'SW_BAD_REQUEST'
  /** The `Range` asks for bytes past the end (416). */
  | 'SW_RANGE_NOT_SATISFIABLE'
  /** No node and no gateway is configured (502). */
  | 'SW_NOT_CONFIGURED'
  /** Every source failed (502); the message lists how. */
  | 'SW_UNAVAILABLE'
  /** Every source answered that it does not have the content (404). */
  | 'SW_NOT_FOUND'
  /** A configuration sent by the page is not valid. */
  | 'SW_BAD_CONFIG'

const STATUS: Readonly<Record<SwErrorCode, number>> = {
  SW_BAD_REQUEST: 400,
  SW_RANGE_NOT_SATISFIABLE: 416,
  SW_NOT_CONFIGURED: 502,
  SW_UNAVAILABLE: 502,
  SW_NOT_FOUND: 404,
  SW_BAD_CONFIG: 400,
}

export class SwError extends FulmenError<SwErrorCode> {
  override readonly name = 'SwError'
  /** Content length, for a 416's `Content-Range: bytes *\/length`. */
  readonly length: number | undefined

  constructor(code: SwErrorCode, message: string, options?: ErrorOptions & { length?: number }) {
    super(code, message, options)
    this.length = options?.length
  }

  get status(): number {
    return STATUS[this.code]
  }
}
