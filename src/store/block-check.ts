/**
 * Checking stored bytes against the stored tree: a block against its leaf hash, and a tree
 * against itself (every parent the merge of its children, the last entry the root). A store
 * hashed everything on the way in; these catch what changed on disk since (bit rot, a bad
 * sector, a hand that edited a file).
 */
import { blockHash, mergeHashes } from '../b3/block.ts'
import { HASH_LEN } from '../b3/constants.ts'
import { blockLength } from '../b3/geometry.ts'
import type { HashTree } from '../b3/tree.ts'
import { children, rootNode, type TreeNode, treeIndex } from '../b3/tree-shape.ts'
import { equalBytes } from '../core/bytes.ts'

/** Whether `bytes` are block `k` of the content of `tree`: one BLAKE3 hash of the block. */
export function blockMatches(tree: HashTree, k: number, bytes: Uint8Array): boolean {
  if (!Number.isSafeInteger(k) || k < 0 || k >= tree.blocks) return false
  if (bytes.length !== blockLength(tree.length, k) && !(tree.length === 0 && bytes.length === 0))
    return false
  const single = tree.blocks === 1
  const at = treeIndex(k) * HASH_LEN
  const leaf = single ? tree.root : tree.hashes.subarray(at, at + HASH_LEN)
  return equalBytes(blockHash(bytes, k, single), leaf)
}

/**
 * Whether the tree's inner hashes agree with its leaves and its root: `blocks - 1` merges of
 * two hashes, no content read. A damaged tree file would give clients proofs that fail.
 */
export function treeConsistent(tree: HashTree): boolean {
  if (tree.hashes.length !== (2 * tree.blocks - 1) * HASH_LEN) return false
  const at = (i: number) => tree.hashes.subarray(i * HASH_LEN, (i + 1) * HASH_LEN)
  if (!equalBytes(at(2 * tree.blocks - 2), tree.root)) return false
  const check = (node: TreeNode, isRoot: boolean): boolean => {
    if (node.size === 1) return true
    const [left, right] = children(node)
    if (!check(left, false) || !check(right, false)) return false
    return equalBytes(mergeHashes(at(left.index), at(right.index), isRoot), at(node.index))
  }
  return check(rootNode(tree.blocks), true)
}
