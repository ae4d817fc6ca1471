/**
 * A node's output before its last compression (spec §2.6): the one place where a node is
 * finalised either as a non-root chaining value or as the root, with extendable output.
 */
import { compress } from './compress.ts'
import { BLOCK_LEN, CHUNK_END, CHUNK_START, PARENT, ROOT } from './constants.ts'
import { readBlockWords, readWords, writeWords } from './words.ts'

export interface NodeOutput {
  /** Input chaining value (8 words). */
  readonly cv: Uint32Array
  /** Last message block (16 words). */
  readonly block: Uint32Array
  readonly counter: number
  readonly blockLen: number
  readonly flags: number
}

const scratch = new Uint32Array(16)

/** The 32-byte non-root chaining value of this node. */
export function outputCv(o: NodeOutput, dst = new Uint8Array(32), dstOff = 0): Uint8Array {
  compress(o.cv, 0, o.block, 0, o.counter, o.blockLen, o.flags, scratch, 0)
  writeWords(scratch, 0, 8, dst, dstOff)
  return dst
}

/** `outLen` bytes of root output (BLAKE3's extendable output, 64 bytes per output block). */
export function outputRoot(o: NodeOutput, outLen = 32): Uint8Array {
  const dst = new Uint8Array(outLen)
  for (let t = 0, pos = 0; pos < outLen; t++, pos += 64) {
    compress(o.cv, 0, o.block, 0, t, o.blockLen, o.flags | ROOT, scratch, 0, true)
    const n = Math.min(64, outLen - pos)
    if (n === 64) writeWords(scratch, 0, 16, dst, pos)
    else {
      const tail = new Uint8Array(64)
      writeWords(scratch, 0, 16, tail, 0)
      dst.set(tail.subarray(0, n), pos)
    }
  }
  return dst
}

/** Output of a parent node over two 32-byte chaining values. */
export function parentOutput(
  left: Uint8Array,
  right: Uint8Array,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  const block = new Uint32Array(16)
  readWords(left, 0, 8, block, 0)
  readWords(right, 0, 8, block, 8)
  return { cv: key, block, counter: 0, blockLen: BLOCK_LEN, flags: flags | PARENT }
}

/**
 * Output of one chunk of 0..1024 bytes at `data[off..off+len)`: every block but the last is
 * compressed here, the last is left for finalisation.
 */
export function chunkOutput(
  data: Uint8Array,
  off: number,
  len: number,
  counter: number,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  const cv = Uint32Array.from(key)
  const block = new Uint32Array(16)
  const blocks = Math.max(1, Math.ceil(len / BLOCK_LEN))
  for (let b = 0; b < blocks - 1; b++) {
    readBlockWords(data, off + b * BLOCK_LEN, BLOCK_LEN, block)
    compress(cv, 0, block, 0, counter, BLOCK_LEN, flags | (b === 0 ? CHUNK_START : 0), cv, 0)
  }
  const lastLen = len - (blocks - 1) * BLOCK_LEN
  readBlockWords(data, off + (blocks - 1) * BLOCK_LEN, lastLen, block)
  const first = blocks === 1 ? CHUNK_START : 0
  return { cv, block, counter, blockLen: lastLen, flags: flags | first | CHUNK_END }
}
