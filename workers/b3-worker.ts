/**
 * Worker entry for `createHashPool` (src/b3/parallel.ts): hashes batches of 256 KiB tree
 * blocks with the WebAssembly SIMD kernel where available.
 *
 * Runs as a browser module Web Worker (`src/browser/b3-workers.ts`) and as a Node
 * `worker_threads` worker (`src/node/b3-workers.ts`); the environment is detected at run time
 * and Node built-ins are only imported in the Node branch.
 */
import * as Comlink from 'comlink'
import { blockHash } from '../src/b3/block.ts'
import { HASH_LEN, TREE_BLOCK_LEN } from '../src/b3/constants.ts'
import { readySync } from '../src/b3/engine.ts'
import { B3Error } from '../src/b3/errors.ts'
import type { B3WorkerApi } from '../src/b3/parallel.ts'

// Synchronous compilation is allowed in workers (and in Node).
const kernel = readySync()

const api: B3WorkerApi = {
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

const inBrowserWorker =
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function' &&
  typeof self === 'object'

// Specifiers in variables (and @vite-ignore): bundlers leave the Node branch alone instead of
// shimming `node:worker_threads` into the browser build with a warning.
const NODE_WORKER_THREADS = 'node:worker_threads'
const COMLINK_NODE_ADAPTER = 'comlink/dist/esm/node-adapter.mjs'

if (inBrowserWorker) {
  Comlink.expose(api, self as unknown as Comlink.Endpoint)
} else {
  const { parentPort }: typeof import('node:worker_threads') = await import(
    /* @vite-ignore */ NODE_WORKER_THREADS
  )
  if (parentPort === null) throw new Error('workers/b3-worker.ts must run as a worker thread')
  // comlink ships no .d.mts for its ESM build: typed from the UMD one.
  const adapter: typeof import('comlink/dist/umd/node-adapter.js') = await import(
    /* @vite-ignore */ COMLINK_NODE_ADAPTER
  )
  Comlink.expose(api, adapter.default(parentPort))
}
