/** Hashing one 256 KiB tree block: its chaining value at chunk offset `k * 256`, or the root. */
import { CHUNKS_PER_TREE_BLOCK, IV, TREE_BLOCK_LEN } from './constants.ts'
import { activeKernel } from './engine.ts'
import { B3Error } from './errors.ts'
import { outputCv, outputRoot, parentOutput } from './output.ts'
import { subtreeOutput } from './subtree.ts'

/**
 * The hash of block `k` as it appears in the tree: its non-root chaining value, or when the
 * content is this single block (`root`), the BLAKE3 root hash itself.
 */
export function blockHash(data: Uint8Array, k: number, root: boolean): Uint8Array {
  if (data.length > TREE_BLOCK_LEN) {
    throw new B3Error(
      'B3_INVALID_ARGUMENT',
      `a tree block holds at most ${TREE_BLOCK_LEN} bytes, got ${data.length}`,
      k,
    )
  }
  if (root && k !== 0) throw new B3Error('B3_INVALID_ARGUMENT', 'only block 0 can be the root', k)
  const out = subtreeOutput(
    activeKernel(),
    data,
    0,
    data.length,
    k * CHUNKS_PER_TREE_BLOCK,
    IV as Uint32Array,
    0,
  )
  return root ? outputRoot(out) : outputCv(out)
}

/** Chaining value (or root, when `root`) of a parent over two child chaining values. */
export function mergeHashes(left: Uint8Array, right: Uint8Array, root: boolean): Uint8Array {
  const out = parentOutput(left, right, IV as Uint32Array, 0)
  return root ? outputRoot(out) : outputCv(out)
}
