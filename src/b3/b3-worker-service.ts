/**
 * The BLAKE3 worker's program (workers/b3-worker.ts exposes it in a browser Web Worker or a
 * Node worker thread): hashes batches of 256 KiB tree blocks for `createHashPool`
 * (parallel.ts) with the WebAssembly SIMD kernel where available.
 */
import * as Comlink from 'comlink'
import { blockHash } from './block.ts'
import { HASH_LEN, TREE_BLOCK_LEN } from './constants.ts'
import { readySync } from './engine.ts'
import { B3Error } from './errors.ts'
import type { B3WorkerApi } from './parallel.ts'

/** The worker's API over the kernel it compiles now (synchronously: allowed in workers). */
export function createB3WorkerService(): B3WorkerApi {
  const kernel = readySync()
  return {
    hashBlocks(buffer, firstBlock, count, lastIsRoot) {
      const data = new Uint8Array(buffer)
      if (
        !Number.isSafeInteger(count) ||
        count < 0 ||
        !Number.isSafeInteger(firstBlock) ||
        firstBlock < 0
      ) {
        throw new B3Error('B3_INVALID_ARGUMENT', `invalid block range ${firstBlock} + ${count}`)
      }
      if (count > 0 && data.length < (count - 1) * TREE_BLOCK_LEN) {
        throw new B3Error('B3_INVALID_ARGUMENT', `${data.length} bytes cannot hold ${count} blocks`)
      }
      if (lastIsRoot && (firstBlock !== 0 || count !== 1)) {
        throw new B3Error('B3_INVALID_ARGUMENT', 'only a lone block 0 can be the root')
      }
      // The chaining values go back in the buffer that carried the blocks, so the caller can
      // reuse it: value i lands at 32 i, inside block i, which is already hashed (blocks are
      // 256 KiB). Only a tiny lone block needs a buffer of its own.
      const out =
        data.length >= HASH_LEN * count
          ? data.subarray(0, HASH_LEN * count)
          : new Uint8Array(HASH_LEN * count)
      for (let i = 0; i < count; i++) {
        const from = i * TREE_BLOCK_LEN
        const block = data.subarray(from, Math.min(from + TREE_BLOCK_LEN, data.length))
        out.set(blockHash(block, firstBlock + i, lastIsRoot && i === count - 1), HASH_LEN * i)
      }
      return Comlink.transfer(out, [out.buffer])
    },
    kernel: () => kernel.name,
  }
}
