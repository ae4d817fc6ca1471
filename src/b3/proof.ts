/**
 * Lightning's proof encoding (fleek-network/lightning, lib/blake3-tree).
 *
 * A proof is the path from a known node down to a target block, read leaf first: the target's
 * hash, then each sibling up to (not including) the known node. Hashes are grouped in segments
 * of a sign byte and up to 8 hashes; the first segment is the partial one. In a segment, hash
 * `i` owns bit `7 - i` of the sign byte, set when that hash sits on the left of the path.
 * A proof is empty when the known node already is the target leaf, else it has >= 2 hashes.
 */
import { HASH_LEN } from './constants.ts'
import { B3Error } from './errors.ts'
import type { HashTree } from './tree.ts'
import { pathSiblings, resumeNode, rootNode, type Side, treeIndex } from './tree-shape.ts'

const SEGMENT_HASHES = 8
const SEGMENT_LEN = 1 + SEGMENT_HASHES * HASH_LEN
/** Lightning's bound: 47 hashes (trees of up to 2^46 blocks). */
export const MAX_PROOF_HASHES = 47

export interface DecodedProof {
  /** The hashes in wire order: target first, then siblings bottom-up. */
  readonly hashes: Uint8Array[]
  /** Per hash: sign bit set (the hash sits left of the path). */
  readonly left: boolean[]
}

/** Bytes of a proof carrying `n` hashes. */
export function proofLength(n: number): number {
  return n === 0 ? 0 : n * HASH_LEN + Math.ceil(n / SEGMENT_HASHES)
}

/** Encodes hashes (wire order) with their sides. */
export function encodeProof(hashes: readonly Uint8Array[], left: readonly boolean[]): Uint8Array {
  const n = hashes.length
  const out = new Uint8Array(proofLength(n))
  let pos = 0
  let i = 0
  let segment = n % SEGMENT_HASHES || SEGMENT_HASHES
  while (i < n) {
    const signAt = pos++
    let sign = 0
    for (let j = 0; j < segment; j++, i++) {
      if (left[i]) sign |= 1 << (7 - j)
      out.set(hashes[i]!, pos)
      pos += HASH_LEN
    }
    out[signAt] = sign
    segment = SEGMENT_HASHES
  }
  return out
}

/** Decodes a proof, checking only its framing. Errors: B3_PROOF_LENGTH. */
export function decodeProof(proof: Uint8Array): DecodedProof {
  const len = proof.length
  const signs = Math.ceil(len / SEGMENT_LEN)
  const n = (len - signs) / HASH_LEN
  if (
    len !== 0 &&
    (!Number.isInteger(n) || n < 2 || n > MAX_PROOF_HASHES || proofLength(n) !== len)
  ) {
    throw new B3Error('B3_PROOF_LENGTH', `${len} bytes is not a valid proof length`)
  }
  const hashes: Uint8Array[] = []
  const left: boolean[] = []
  let pos = 0
  let segment = n % SEGMENT_HASHES || SEGMENT_HASHES
  while (hashes.length < n) {
    const sign = proof[pos++]!
    for (let j = 0; j < segment; j++) {
      left.push((sign & (1 << (7 - j))) !== 0)
      hashes.push(proof.subarray(pos, pos + HASH_LEN))
      pos += HASH_LEN
    }
    // Unused low bits of a partial segment must be clear: one encoding per proof.
    if (segment < SEGMENT_HASHES && (sign & ((1 << (8 - segment)) - 1)) !== 0) {
      throw new B3Error('B3_PROOF_MISMATCH', 'sign byte has bits set beyond its hashes')
    }
    segment = SEGMENT_HASHES
  }
  return { hashes, left }
}

function hashAt(tree: HashTree, index: number): Uint8Array {
  return tree.hashes.subarray(index * HASH_LEN, (index + 1) * HASH_LEN)
}

function proofFrom(tree: HashTree, from: ReturnType<typeof rootNode>, k: number): Uint8Array {
  const path = pathSiblings(from, k)
  if (path.length === 0) return new Uint8Array(0)
  const hashes = [hashAt(tree, treeIndex(k))]
  const left = [false]
  for (let i = path.length - 1; i >= 0; i--) {
    const { side, node } = path[i] as { side: Side; node: { index: number } }
    hashes.push(hashAt(tree, node.index))
    left.push(side === 'left')
  }
  return encodeProof(hashes, left)
}

function checkBlock(tree: HashTree, k: number): void {
  if (!Number.isSafeInteger(k) || k < 0 || k >= tree.blocks) {
    throw new B3Error('B3_INVALID_ARGUMENT', `block ${k} is outside 0..${tree.blocks - 1}`, k)
  }
}

/** The proof that lets a stream start at block `k` knowing only the root. */
export function initialProof(tree: HashTree, k: number): Uint8Array {
  checkBlock(tree, k)
  return proofFrom(tree, rootNode(tree.blocks), k)
}

/** The proof sent before block `k` (k >= 1) once blocks before it were verified. */
export function resumeProof(tree: HashTree, k: number): Uint8Array {
  checkBlock(tree, k)
  if (k === 0)
    throw new B3Error('B3_INVALID_ARGUMENT', 'block 0 has no resume proof; use initialProof', k)
  return proofFrom(tree, resumeNode(tree.blocks, k), k)
}
