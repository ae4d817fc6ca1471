/**
 * Typed errors across a thread (or any structured-clone) boundary. Structured clone keeps an
 * Error's name and message but drops `code` and every other field, and gives back a bare
 * `Error`: a `FetchError` thrown in a worker would reach the page as one. `toData` turns an
 * error into plain data (its own data fields, `cause` and stack included); `fromData` gives
 * back an instance of the class registered under its name, with the same fields, so
 * `instanceof` and `code` hold on the other side.
 */

/** An error as plain data. */
export interface ErrorData {
  readonly name: string
  readonly message: string
  /** The error's own data fields (`name`, `code`, `block`, `failures`, `details`…). */
  readonly fields?: Readonly<Record<string, unknown>>
  readonly cause?: ErrorData
  readonly stack?: string
}

// biome-ignore lint/suspicious/noExplicitAny: a class of any constructor signature
type ErrorClass = abstract new (...args: any[]) => Error

/** How deep a chain of causes (or nested data) is carried: enough for any real one. */
const MAX_DEPTH = 8

/** `value` as plain data (primitives, arrays, plain objects), or undefined when it is not. */
function plainData(value: unknown, depth = 0): { value: unknown } | undefined {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' || typeof value === 'symbol' ? undefined : { value }
  }
  if (depth >= MAX_DEPTH) return undefined
  if (ArrayBuffer.isView(value)) return { value } // bytes clone as they are
  if (Array.isArray(value)) {
    const items = value.map((v) => plainData(v, depth + 1))
    return items.every((v) => v !== undefined) ? { value: items.map((v) => v!.value) } : undefined
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return undefined
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    const p = plainData(v, depth + 1)
    if (p !== undefined) out[k] = p.value
  }
  return { value: out }
}

/** What signals abort with: kept DOMExceptions, as fetch() rejects with them. */
const DOM_EXCEPTION_NAMES = new Set(['AbortError', 'TimeoutError'])

export class ErrorRegistry {
  private readonly classes = new Map<string, ErrorClass>()

  /** `classes` by the `name` their instances carry: `{ FetchError, TabNodeError }`. */
  constructor(classes: Readonly<Record<string, ErrorClass>> = {}) {
    for (const [name, c] of Object.entries(classes)) this.classes.set(name, c)
  }

  toData(error: unknown, depth = 0): ErrorData {
    if (!(error instanceof Error) && !(error instanceof DOMException)) {
      return { name: 'Error', message: String(error) }
    }
    const fields: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(error)) {
      const p = plainData(v)
      if (p !== undefined) fields[k] = p.value
    }
    const { cause } = error as { cause?: unknown }
    return {
      name: error.name,
      message: error.message,
      ...(Object.keys(fields).length === 0 ? {} : { fields }),
      // Only an Error cause: another value would come back as an Error.
      ...(cause instanceof Error && depth < MAX_DEPTH
        ? { cause: this.toData(cause, depth + 1) }
        : {}),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
    }
  }

  /**
   * The error `data` describes: an instance of its registered class with the same fields, a
   * DOMException for a signal's AbortError or TimeoutError, otherwise an `Error` with its
   * name and fields.
   */
  fromData(data: ErrorData): Error {
    if (DOM_EXCEPTION_NAMES.has(data.name)) return new DOMException(data.message, data.name)
    const c = this.classes.get(data.name)
    // Built without its constructor, whose arguments differ by class: the fields are the state.
    const error: Error = c === undefined ? new Error(data.message) : Object.create(c.prototype)
    const hidden = (key: string, value: unknown) =>
      Object.defineProperty(error, key, { value, writable: true, configurable: true })
    hidden('message', data.message)
    if (c === undefined) error.name = data.name
    Object.assign(error, data.fields)
    if (data.cause !== undefined) hidden('cause', this.fromData(data.cause))
    if (data.stack !== undefined) hidden('stack', data.stack)
    return error
  }
}
