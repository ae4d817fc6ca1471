/** `fulmen cid ID [--to hex|blake3|cid]`: one content id, respelled. */
import {
  type ContentIdSpelling,
  contentIdSpellings,
  formatContentId,
  parseContentId,
} from '../../../b3/content-id.ts'
import { type Command, onePositional, parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'

const SPELLINGS: readonly ContentIdSpelling[] = ['hex', 'blake3', 'cid']

function spelling(text: string): ContentIdSpelling {
  const found = SPELLINGS.find((s) => s === text)
  if (found === undefined) {
    throw new UsageError(`--to wants one of ${SPELLINGS.join(', ')}, got '${text}'`, 'cid')
  }
  return found
}

export const cidCommand: Command = {
  name: 'cid',
  summary: 'Convert a content id between hex, blake3:<hex> and CID',
  help: `Usage: fulmen cid ID [--to hex|blake3|cid]

Reads a content id written as 64 hex characters, blake3:<hex>, or a CIDv1 (raw,
blake3) in any multibase (bafkr4..., z..., k...), and prints it in the spelling
asked for. Without --to, prints all three, labelled.

Options:
  --to SPELLING  hex, blake3 or cid (CIDv1 raw blake3, base32)
  -h, --help     Show this help`,

  async run(args) {
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
  },
}
