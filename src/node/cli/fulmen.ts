#!/usr/bin/env node
/**
 * `fulmen`: BLAKE3 content ids, trees and proofs from the command line. Runs as TypeScript
 * under Node 24's type stripping, and compiled from the package. This file only dispatches,
 * and turns failures into one `fulmen: ...` line and an exit code; each command's
 * implementation (./commands) is imported when it runs, so `--help` and `hash` start fast.
 */
import { asksForHelp, type Command, UsageError } from './command.ts'
import { commands } from './command-list.ts'
import { describeFailure, EXIT_USAGE } from './failure.ts'
import { write } from './output.ts'
import { fulmenVersion } from './version.ts'

function generalHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 'help'.length)
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  return `fulmen ${fulmenVersion()}: verified content delivery: BLAKE3 trees and proofs, and the full node

Usage: fulmen <command> [options] [arguments]

Commands:
${lines.join('\n')}
  ${'help'.padEnd(width)}  Show help for a command

Options:
  -h, --help     Show this help
  -V, --version  Print the version

Run 'fulmen help <command>' for the options of a command.
`
}

function findCommand(name: string): Command {
  const command = commands.find((c) => c.name === name)
  if (command === undefined) throw new UsageError(`unknown command '${name}'`)
  return command
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined) {
    process.stderr.write(generalHelp())
    return EXIT_USAGE
  }
  if (first === '--help' || first === '-h') {
    await write(generalHelp())
    return 0
  }
  if (first === '--version' || first === '-V') {
    await write(`fulmen ${fulmenVersion()}\n`)
    return 0
  }
  if (first === 'help') {
    if (rest.length === 0) {
      await write(generalHelp())
      return 0
    }
    if (rest.length > 1) throw new UsageError('help takes one command name')
    await write(`${findCommand(rest[0]!).help}\n`)
    return 0
  }
  if (first.startsWith('-'))
    throw new UsageError(`unknown option '${first}'; a command comes first`)
  const command = findCommand(first)
  if (asksForHelp(rest)) {
    await write(`${command.help}\n`)
    return 0
  }
  const [{ readySync }, implementation] = await Promise.all([
    import('../../b3/engine.ts'),
    command.load(),
  ])
  // The WebAssembly SIMD kernel where this runtime has it, else the portable one.
  readySync()
  return implementation.run(rest)
}

// Output cut short by the reader (`fulmen tree big | head`): stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(1)
  throw e
})

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (e) {
  const { text, exitCode } = describeFailure(e)
  process.stderr.write(`${text}\n`)
  process.exitCode = exitCode
}
