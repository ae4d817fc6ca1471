/** `fulmen proof FILE --block K [--resume]`: the proof for one block, in Lightning's encoding. */
import { B3Error } from '../../../b3/errors.ts'
import { initialProof, resumeProof } from '../../../b3/proof.ts'
import { onePositional, parseCommandArgs, UsageError } from '../command.ts'
import { knownBlockCount, treeOfFile } from '../file-tree.ts'
import { hex, write } from '../output.ts'

function blockIndex(text: string | undefined): number {
  if (text === undefined) throw new UsageError('missing --block K', 'proof')
  const k = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(k)) {
    throw new UsageError(`--block wants a block index (0, 1, 2...), got '${text}'`, 'proof')
  }
  return k
}

/** Runs `fulmen proof` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('proof', args, {
    block: { type: 'string' },
    resume: { type: 'boolean' },
  })
  const file = onePositional('proof', positionals, 'FILE')
  const k = blockIndex(values.block)
  if (values.resume && k === 0) {
    throw new UsageError(
      'block 0 has no resume proof; drop --resume for its initial proof',
      'proof',
    )
  }
  // Refuse an index past the end before hashing what may be a very large file.
  const blocks = await knownBlockCount(file)
  if (blocks !== undefined && k >= blocks) {
    throw new B3Error(
      'B3_INVALID_ARGUMENT',
      `block ${k} is outside 0..${blocks - 1} (${file} has ${blocks} blocks)`,
      k,
    )
  }
  const tree = await treeOfFile(file, { keepTree: true })
  const proof = values.resume ? resumeProof(tree, k) : initialProof(tree, k)
  await write(`${hex(proof)}\n`)
  return 0
}
