/**
 * The one logger every part of Fulmen writes to: pino's shape, the subset the code uses, so a
 * pino `Logger` is one as it is (the full node's, src/node/logger.ts), and a tab node's console
 * wrapper is one too. Structured first: the fields in `obj`, then a short message.
 */

/** One level's method: fields then a message, or a message alone (pino's two forms). */
export interface LogFn {
  (obj: object, msg?: string): void
  (msg: string): void
}

export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  /** A logger that adds `bindings` to every line (`{ component: 'store' }`). */
  child(bindings: Record<string, unknown>): Logger
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent']

const ignore: LogFn = () => {}

/** Writes nothing: for parts given no logger, and for tests. */
export const noopLogger: Logger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => noopLogger,
}

export interface ConsoleLoggerOptions {
  /** Lines below it are dropped (default `warn`: a browser console is for what went wrong). */
  readonly level?: LogLevel
  /** Starts every message (`fulmen tab node: `). */
  readonly prefix?: string
  readonly bindings?: Readonly<Record<string, unknown>>
}

/**
 * A logger over the console, for runtimes without pino (a page, a worker): the message (after
 * `prefix`) then the fields, bindings included, as one object the console can expand.
 */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const { level = 'warn', prefix = '', bindings = {} } = options
  const threshold = LEVELS.indexOf(level)
  const method = (at: Exclude<LogLevel, 'silent'>): LogFn => {
    if (LEVELS.indexOf(at) < threshold) return ignore
    return (objOrMsg: object | string, msg?: string) => {
      const [fields, text] = typeof objOrMsg === 'string' ? [{}, objOrMsg] : [objOrMsg, msg ?? '']
      console[at](`${prefix}${text}`, { ...bindings, ...fields })
    }
  }
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    child: (more) => createConsoleLogger({ level, prefix, bindings: { ...bindings, ...more } }),
  }
}
