/**
 * What a `fulmen` subcommand is, and how it reads its arguments (`node:util` parseArgs,
 * strict). Mistakes in the command line are `UsageError`s: exit code 2.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'

/**
 * What the dispatcher knows of a command without loading it: `fulmen --help` and
 * `fulmen help <name>` print from this alone, so they never load libp2p, LevelDB or the
 * BLAKE3 engine.
 */
export interface Command {
  readonly name: string
  /** One line for `fulmen --help`. */
  readonly summary: string
  /** The full text of `fulmen help <name>`. */
  readonly help: string
  /** Imports the implementation, and with it only what this command needs. */
  load(): Promise<CommandModule>
}

/** A command's implementation: the module `Command.load` imports. */
export interface CommandModule {
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: readonly string[]): Promise<number>
}

/** A command line fulmen cannot make sense of. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  /** The command whose help to point at, if any. */
  readonly command: string | undefined

  constructor(message: string, command?: string) {
    super(message)
    this.command = command
  }
}

function isParseArgsError(e: unknown): e is Error & { code: string } {
  return e instanceof Error && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')
}

/** Node's messages, first sentence only, starting in lowercase like the rest of ours. */
function shortParseArgsMessage(message: string): string {
  const first = message.split('. ')[0] ?? message
  return first.charAt(0).toLowerCase() + first.slice(1)
}

/** parseArgs with positionals allowed and unknown options rejected as usage errors. */
export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(
  command: string,
  args: readonly string[],
  options: O,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (e) {
    if (isParseArgsError(e)) throw new UsageError(shortParseArgsMessage(e.message), command)
    throw e
  }
}

/** Whether the arguments ask for help (`-h` or `--help` before any `--`). */
export function asksForHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false
    if (arg === '--help' || arg === '-h') return true
  }
  return false
}

/** Exactly one positional argument, named `what` in the error. */
export function onePositional(
  command: string,
  positionals: readonly string[],
  what: string,
): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`, command)
  if (positionals.length > 1) {
    throw new UsageError(`expected one ${what}, got ${positionals.length} arguments`, command)
  }
  return positionals[0]!
}
