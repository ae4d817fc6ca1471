/** `fulmen tree FILE [--json]`: the whole blake3-tree of a file. */
import { HASH_LEN } from '../../../b3/constants.ts'
import type { HashTree } from '../../../b3/tree.ts'
import { treeIndex } from '../../../b3/tree-shape.ts'
import { onePositional, parseCommandArgs } from '../command.ts'
import { treeOfFile } from '../file-tree.ts'
import { hex, write, writeLines } from '../output.ts'

/** The hashes of the flat post-order array, in order. */
function* treeHashes(tree: HashTree): Generator<string> {
  for (let off = 0; off < tree.hashes.length; off += HASH_LEN) {
    yield hex(tree.hashes.subarray(off, off + HASH_LEN))
  }
}

/** Per entry of the flat array: `block k` for leaves, `parent` otherwise; the last is the root. */
function* nodeLabels(tree: HashTree): Generator<string> {
  const count = 2 * tree.blocks - 1
  let k = 0
  for (let i = 0; i < count; i++) {
    const label = k < tree.blocks && i === treeIndex(k) ? `block ${k++}` : 'parent'
    yield i === count - 1 ? `${label} (root)` : label
  }
}

function* listing(tree: HashTree): Generator<string> {
  yield `root    ${hex(tree.root)}`
  yield `length  ${tree.length}`
  yield `blocks  ${tree.blocks}`
  yield ''
  const width = String(2 * tree.blocks - 2).length
  const labelWidth = `block ${tree.blocks - 1} (root)`.length
  const labels = nodeLabels(tree)
  let i = 0
  for (const h of treeHashes(tree)) {
    const label = labels.next().value ?? ''
    yield `${String(i++).padStart(width)}  ${label.padEnd(labelWidth)}  ${h}`
  }
}

/** Runs `fulmen tree` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('tree', args, {
    json: { type: 'boolean' },
  })
  const file = onePositional('tree', positionals, 'FILE')
  const tree = await treeOfFile(file, { keepTree: true })
  if (values.json) {
    const json = {
      root: hex(tree.root),
      blocks: tree.blocks,
      length: tree.length,
      tree: [...treeHashes(tree)],
    }
    await write(`${JSON.stringify(json)}\n`)
  } else {
    await writeLines(listing(tree))
  }
  return 0
}
