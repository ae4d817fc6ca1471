/** The portable kernel: one compression at a time, in TypeScript. Runs everywhere. */
import { compress } from './compress.ts'
import { BLOCK_LEN, CHUNK_END, CHUNK_LEN, CHUNK_START, PARENT } from './constants.ts'
import type { Blake3Kernel } from './kernel.ts'
import { readBlockWords, readWords, writeWords } from './words.ts'

const cv = new Uint32Array(8)
const block = new Uint32Array(16)
const BLOCKS_PER_CHUNK = CHUNK_LEN / BLOCK_LEN

export const portableKernel: Blake3Kernel = {
  name: 'portable',

  chunks(input, inputOffset, count, counter, key, flags, out, outOffset) {
    for (let c = 0; c < count; c++) {
      cv.set(key)
      const base = inputOffset + c * CHUNK_LEN
      for (let b = 0; b < BLOCKS_PER_CHUNK; b++) {
        readBlockWords(input, base + b * BLOCK_LEN, BLOCK_LEN, block)
        let f = flags
        if (b === 0) f |= CHUNK_START
        if (b === BLOCKS_PER_CHUNK - 1) f |= CHUNK_END
        compress(cv, 0, block, 0, counter + c, BLOCK_LEN, f, cv, 0)
      }
      writeWords(cv, 0, 8, out, outOffset + 32 * c)
    }
  },

  parents(input, inputOffset, count, key, flags, out, outOffset) {
    for (let p = 0; p < count; p++) {
      readWords(input, inputOffset + 64 * p, 16, block, 0)
      compress(key, 0, block, 0, 0, BLOCK_LEN, flags | PARENT, cv, 0)
      writeWords(cv, 0, 8, out, outOffset + 32 * p)
    }
  },
}
