/** `fulmen hash FILE...`: BLAKE3 of each file, printed exactly like b3sum. */
import { type Command, parseCommandArgs } from '../command.ts'
import { EXIT_FAILURE, isSystemError, systemErrorMessage } from '../failure.ts'
import { STDIN, treeOfFile } from '../file-tree.ts'
import { checksumLine, write } from '../output.ts'

export const hashCommand: Command = {
  name: 'hash',
  summary: 'Print the BLAKE3 hash (content id) of files, like b3sum',
  help: `Usage: fulmen hash [FILE]...

Prints "<hex>  <name>" for each FILE, exactly like b3sum. With no FILE, or when FILE
is -, reads standard input. A file that cannot be read is reported on stderr and
the others are still hashed; the exit code is then 1.

Options:
  -h, --help  Show this help`,

  async run(args) {
    const { positionals } = parseCommandArgs('hash', args, {})
    const files = positionals.length === 0 ? [STDIN] : positionals
    let failed = false
    for (const file of files) {
      try {
        const tree = await treeOfFile(file, { keepTree: false })
        await write(`${checksumLine(tree.root, file)}\n`)
      } catch (e) {
        if (!isSystemError(e)) throw e
        failed = true
        process.stderr.write(`fulmen: ${file}: ${systemErrorMessage(e)}\n`)
      }
    }
    return failed ? EXIT_FAILURE : 0
  },
}
