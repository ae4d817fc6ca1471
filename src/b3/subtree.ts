/**
 * BLAKE3 subtrees over contiguous input: the left-balanced tree of spec §2.1, computed with
 * a kernel for the bulk (whole chunks, then whole levels of parents) and `output.ts` for the
 * edges (a partial last chunk, the node that may become the root).
 */
import { CHUNK_LEN, CHUNKS_PER_TREE_BLOCK } from './constants.ts'
import type { Blake3Kernel } from './kernel.ts'
import { chunkOutput, type NodeOutput, outputCv, parentOutput } from './output.ts'

// Scratch for one batch of chunk CVs: a full 256 KiB tree block at most.
const cvScratch = new Uint8Array(32 * CHUNKS_PER_TREE_BLOCK)

/**
 * Chaining value of `chunks` whole chunks (a power of two, >= 2) at `data[off..]`, the first
 * at chunk counter `counter`: a perfect binary subtree reduced level by level.
 */
function perfectSubtreeCv(
  kernel: Blake3Kernel,
  data: Uint8Array,
  off: number,
  chunks: number,
  counter: number,
  key: Uint32Array,
  flags: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  if (chunks > CHUNKS_PER_TREE_BLOCK) {
    // Bounded scratch: halves are reduced separately then joined.
    const half = chunks / 2
    const pair = new Uint8Array(64)
    perfectSubtreeCv(kernel, data, off, half, counter, key, flags, pair, 0)
    perfectSubtreeCv(
      kernel,
      data,
      off + half * CHUNK_LEN,
      half,
      counter + half,
      key,
      flags,
      pair,
      32,
    )
    kernel.parents(pair, 0, 1, key, flags, dst, dstOff)
    return
  }
  kernel.chunks(data, off, chunks, counter, key, flags, cvScratch, 0)
  for (let n = chunks / 2; n > 1; n /= 2) kernel.parents(cvScratch, 0, n, key, flags, cvScratch, 0)
  kernel.parents(cvScratch, 0, 1, key, flags, dst, dstOff)
}

/** Largest power of two strictly below `n` (n >= 2). */
function leftChunks(n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}

/**
 * Output (not yet finalised) of the subtree over `data[off..off+len)` starting at chunk
 * `counter`. `len` may be anything; an empty input is one empty chunk.
 */
export function subtreeOutput(
  kernel: Blake3Kernel,
  data: Uint8Array,
  off: number,
  len: number,
  counter: number,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  if (len <= CHUNK_LEN) return chunkOutput(data, off, len, counter, key, flags)
  const total = Math.ceil(len / CHUNK_LEN)
  const left = leftChunks(total)
  const leftLen = left * CHUNK_LEN
  const leftCv = new Uint8Array(32)
  if (left === 1) outputCv(chunkOutput(data, off, CHUNK_LEN, counter, key, flags), leftCv)
  else perfectSubtreeCv(kernel, data, off, left, counter, key, flags, leftCv, 0)
  const rightLen = len - leftLen
  const rightCv = new Uint8Array(32)
  if (rightLen === leftLen && left > 1) {
    // Both halves perfect (e.g. a whole 256 KiB tree block): keep the kernel's batches wide.
    perfectSubtreeCv(kernel, data, off + leftLen, left, counter + left, key, flags, rightCv, 0)
  } else {
    const right = subtreeOutput(kernel, data, off + leftLen, rightLen, counter + left, key, flags)
    outputCv(right, rightCv)
  }
  return parentOutput(leftCv, rightCv, key, flags)
}
