/**
 * The one shape of Fulmen's typed errors: a class per layer (`B3Error`, `SessionError`…) whose
 * `name` says which, a stable `code` for programs, a `message` for people, the `cause` when
 * another error led to it, and `details` for structured facts a caller or a log may want.
 * Every code is listed in docs/errors.md.
 */

export interface FulmenErrorOptions {
  /** The error that led to this one (Error's own `cause`). */
  readonly cause?: unknown
  /** Structured facts about the failure: plain data, so it survives a thread boundary. */
  readonly details?: Readonly<Record<string, unknown>>
}

/**
 * Base of the typed errors. A subclass names itself with a `name` field (a literal: bundlers
 * minify class names) and narrows `code` through the type parameter; its own extra fields
 * (`block`, `reason`, `failures`…) stay plain data, which is what `ErrorRegistry` carries
 * across threads.
 */
export class FulmenError<Code extends string = string> extends Error {
  readonly code: Code
  /** Absent unless given: errors without details keep the properties they always had. */
  declare readonly details?: Readonly<Record<string, unknown>>

  constructor(code: Code, message: string, options: FulmenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options.details !== undefined) this.details = options.details
  }
}
