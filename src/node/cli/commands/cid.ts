/** `fulmen cid ID [--to hex|blake3|cid]`: one content id, respelled. */
import {
  type ContentIdSpelling,
  contentIdSpellings,
  formatContentId,
  parseContentId,
} from '../../../b3/content-id.ts'
import { onePositional, parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'

const SPELLINGS: readonly ContentIdSpelling[] = ['hex', 'blake3', 'cid']

function spelling(text: string): ContentIdSpelling {
  const found = SPELLINGS.find((s) => s === text)
  if (found === undefined) {
    throw new UsageError(`--to wants one of ${SPELLINGS.join(', ')}, got '${text}'`, 'cid')
  }
  return found
}

/** Runs `fulmen cid` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('cid', args, {
    to: { type: 'string' },
  })
  const id = onePositional('cid', positionals, 'ID')
  const to = values.to === undefined ? undefined : spelling(values.to)
  const root = parseContentId(id)
  if (to !== undefined) {
    await write(`${formatContentId(root, to)}\n`)
  } else {
    const all = contentIdSpellings(root)
    await write(`hex     ${all.hex}\nblake3  ${all.blake3}\ncid     ${all.cid}\n`)
  }
  return 0
}
