/**
 * Turning an error into the one line `fulmen: <message>` and an exit code: 2 for usage
 * errors, 1 for everything else. Expected failures (bad input, missing files, B3Error) never
 * show a stack; anything else is a bug and keeps its stack.
 */
import * as util from 'node:util'
import { UsageError } from './command.ts'

export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

/** An error from the operating system (ENOENT, EISDIR, EACCES...). */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return (
    e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).code === 'string' &&
    typeof (e as NodeJS.ErrnoException).errno === 'number'
  )
}

/** libuv's text from a system error's message: "<CODE>: <text>, <syscall> '<path>'". */
export function messageText(message: string): string {
  return /^[A-Z0-9_]+: (.+?)(?:, \w+(?: '.*')?)?$/s.exec(message)?.[1] ?? message
}

/** "no such file or directory" rather than "ENOENT: no such file or directory, open 'x'". */
export function systemErrorMessage(e: NodeJS.ErrnoException): string {
  // libuv says "illegal operation on a directory".
  if (e.code === 'EISDIR') return 'is a directory'
  // Node 22.12 and later; on 22.0-22.11 a named import of it failed every command at load.
  const describe = (util as Partial<typeof util>).getSystemErrorMessage
  try {
    if (describe !== undefined) return describe(e.errno!)
  } catch {}
  return messageText(e.message)
}

/**
 * Fulmen's own typed errors (B3Error, WireError, StoreError, OriginError, ConfigError, …): an Error
 * with an upper-case `code` and no `errno` (which would make it a system error).
 */
export function isTypedError(e: unknown): e is Error & { code: string } {
  return (
    e instanceof Error &&
    typeof (e as { code?: unknown }).code === 'string' &&
    /^[A-Z][A-Z0-9_]+$/.test((e as unknown as { code: string }).code) &&
    (e as NodeJS.ErrnoException).errno === undefined
  )
}

/** The stderr text (one line for expected errors) and the exit code for `e`. */
export function describeFailure(e: unknown): { text: string; exitCode: number } {
  if (e instanceof UsageError) {
    const hint = e.command === undefined ? 'fulmen --help' : `fulmen ${e.command} --help`
    return { text: `fulmen: ${e.message} (see '${hint}')`, exitCode: EXIT_USAGE }
  }
  if (isTypedError(e)) {
    return { text: `fulmen: ${e.message} (${e.code})`, exitCode: EXIT_FAILURE }
  }
  if (isSystemError(e)) {
    const where = e.path === undefined ? '' : `${e.path}: `
    return { text: `fulmen: ${where}${systemErrorMessage(e)}`, exitCode: EXIT_FAILURE }
  }
  const detail = e instanceof Error ? (e.stack ?? e.message) : String(e)
  return { text: `fulmen: internal error: ${detail}`, exitCode: EXIT_FAILURE }
}
