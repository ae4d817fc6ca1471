/** The logger a block store writes to: the part of a pino logger it uses. */

/** A log method in pino's shape: a bindings object, then a message. */
export type StoreLogFn = (obj: object, msg?: string) => void

/** The part of a pino logger the store uses (a pino `Logger` fits). */
export interface StoreLogger {
  child(bindings: Record<string, unknown>): StoreLogger
  debug: StoreLogFn
  info: StoreLogFn
  warn: StoreLogFn
  error: StoreLogFn
}
