/**
 * Shape of Fleek's blake3-tree over `n` blocks: the flat post-order array of `2n - 1` hashes
 * (leaf k at `2k - popcount(k)`, root last) and the left-balanced split at every node.
 * Pure index arithmetic; no hashing.
 */

// `blockCount` (leaves for a length) is block geometry: geometry.ts; exported here too for
// the callers that have long imported it from the tree's shape.
export { blockCount } from './geometry.ts'

function popcount(k: number): number {
  let c = 0
  // k can exceed 2^32 in principle; stay in floating point integers.
  while (k > 0) {
    c += k % 2
    k = Math.floor(k / 2)
  }
  return c
}

/** Index of block `k`'s hash in the flat tree array. */
export function treeIndex(k: number): number {
  return 2 * k - popcount(k)
}

/** Blocks in the left subtree of a node spanning `size` >= 2 blocks: the largest power of 2 below. */
export function leftSize(size: number): number {
  let p = 1
  while (p * 2 < size) p *= 2
  return p
}

/** A node of the tree: blocks `[lo, lo + size)` and its position in the flat array. */
export interface TreeNode {
  readonly lo: number
  readonly size: number
  readonly index: number
}

export function rootNode(blocks: number): TreeNode {
  return { lo: 0, size: blocks, index: 2 * blocks - 2 }
}

/** The two children of an inner node (size >= 2). */
export function children(node: TreeNode): [TreeNode, TreeNode] {
  const l = leftSize(node.size)
  const r = node.size - l
  const right: TreeNode = { lo: node.lo + l, size: r, index: node.index - 1 }
  const left: TreeNode = { lo: node.lo, size: l, index: node.index - 1 - (2 * r - 1) }
  return [left, right]
}

/** Direction of a proof step: the sibling hash sits left or right of the path. */
export type Side = 'left' | 'right'

/**
 * The walk from `from` down to block `target`: the siblings met on the way, top first.
 * Empty when `from` is the leaf itself.
 */
export function pathSiblings(from: TreeNode, target: number): { side: Side; node: TreeNode }[] {
  const out: { side: Side; node: TreeNode }[] = []
  let node = from
  while (node.size > 1) {
    const [left, right] = children(node)
    if (target < right.lo) {
      out.push({ side: 'right', node: right })
      node = left
    } else {
      out.push({ side: 'left', node: left })
      node = right
    }
  }
  return out
}

/**
 * The node a resume proof for block `k` (k >= 1) starts from: the largest subtree whose
 * leftmost leaf is `k`. After blocks `0..k-1` are verified it is the next pending node.
 */
export function resumeNode(blocks: number, k: number): TreeNode {
  let node = rootNode(blocks)
  while (node.lo !== k) {
    const [left, right] = children(node)
    node = k < right.lo ? left : right
  }
  return node
}
