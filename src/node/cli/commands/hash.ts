/** `fulmen hash FILE...`: BLAKE3 of each file, printed exactly like b3sum. */
import { parseCommandArgs } from '../command.ts'
import { EXIT_FAILURE, isSystemError, systemErrorMessage } from '../failure.ts'
import { STDIN, treeOfFile } from '../file-tree.ts'
import { checksumLine, write } from '../output.ts'

/** Runs `fulmen hash` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
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
}
