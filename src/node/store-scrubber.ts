/**
 * The store scrubber: re-hashes every stored content in the background, block by block
 * against its tree, at a bounded rate, so corruption on the raw path (which checks a block
 * only the first time it serves it, src/store/checked-store.ts) is found within one pass. What
 * it finds goes to the store guard, which drops the content and reports it (the metric and
 * the log line `corrupt content dropped`), like a reader that finds it.
 *
 * One pass walks the contents the store lists when it starts; a pass begins `intervalMs` after
 * the previous one ended (the first `firstPassDelayMs` after `start`). Between blocks it
 * sleeps as long as it takes to keep under `rateBytesPerSecond`, so it never takes more than
 * its share of the disk and of one core (docs/benchmarks.md, "Store scrubbing").
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { blockLength, blockStart } from '../b3/geometry.ts'
import type { HashTree } from '../b3/tree.ts'
import type { Logger } from '../core/logger.ts'
import { sleep } from '../handshake/deadline.ts'
import { type BlockStore, StoreError } from '../store/block-store.ts'
import type { StoreGuard } from '../store/store-guard.ts'

export interface StoreScrubberOptions {
  /** The store itself, not a checked wrapper (the scrubber does its own checking). */
  readonly store: Pick<BlockStore, 'list' | 'getTree' | 'getBlock' | 'readInto'>
  readonly guard: StoreGuard
  /** Bytes re-hashed per second at most; 0 turns scrubbing off. */
  readonly rateBytesPerSecond: number
  /** Pause between the end of one pass and the start of the next, milliseconds. */
  readonly intervalMs: number
  /** Pause before the first pass (default: `intervalMs`, at most one minute). */
  readonly firstPassDelayMs?: number
  readonly logger?: Logger
  /** Bytes re-hashed (metrics). */
  readonly onScrubbed?: (bytes: number) => void
  /** A pass finished (metrics, tests). */
  readonly onPass?: (pass: ScrubPass) => void
}

export interface ScrubPass {
  readonly contents: number
  readonly bytes: number
  /** Contents found corrupt (and dropped) in this pass. */
  readonly corrupt: number
  readonly ms: number
}

export interface StoreScrubber {
  /** Starts the passes (nothing when the rate is 0). */
  start(): void
  /** Stops after the block in hand; resolves once the scrubber is idle. Safe to call twice. */
  stop(): Promise<void>
  /** One pass now (the scheduled ones keep their schedule). Rejects with the signal's reason. */
  scrubOnce(signal?: AbortSignal): Promise<ScrubPass>
}

function isStoreError(error: unknown, code: string): boolean {
  return error instanceof StoreError && error.code === code
}

export function createStoreScrubber(options: StoreScrubberOptions): StoreScrubber {
  const { store, guard, rateBytesPerSecond: rate, logger } = options
  if (!(Number.isFinite(rate) && rate >= 0))
    throw new RangeError(`rateBytesPerSecond must be a non-negative number, got ${rate}`)
  if (!(Number.isFinite(options.intervalMs) && options.intervalMs >= 0))
    throw new RangeError(`intervalMs must be a non-negative number, got ${options.intervalMs}`)
  const firstDelay = options.firstPassDelayMs ?? Math.min(options.intervalMs, 60_000)
  const readInto = store.readInto?.bind(store)
  const controller = new AbortController()
  let loop: Promise<void> | undefined

  const readBlock = async (
    tree: HashTree,
    k: number,
    buffer: Uint8Array,
    signal: AbortSignal,
  ): Promise<Uint8Array> => {
    if (readInto === undefined) return store.getBlock(tree.root, k, signal)
    const block = buffer.subarray(0, blockLength(tree.length, k))
    if (block.length > 0) await readInto(tree.root, blockStart(k), block, signal)
    return block
  }

  /** Re-hashes one content; true when it was found corrupt (and dropped). */
  const scrubContent = async (
    root: Uint8Array,
    buffer: Uint8Array,
    signal: AbortSignal,
    count: (n: number) => void,
  ): Promise<boolean> => {
    let tree: HashTree | undefined
    try {
      tree = await store.getTree(root)
    } catch (error) {
      if (!isStoreError(error, 'STORE_CORRUPT')) throw error
      await guard.drop(root, -1, 'scrub')
      return true
    }
    if (tree === undefined) return false // gone since the pass listed it
    for (let k = 0; k < tree.blocks; k++) {
      const started = performance.now()
      try {
        const block = await readBlock(tree, k, buffer, signal)
        await guard.check(tree, k, block, 'scrub')
        count(block.length)
        if (rate > 0) {
          const wait = (block.length / rate) * 1000 - (performance.now() - started)
          if (wait >= 1) await sleep(wait, signal)
        }
      } catch (error) {
        if (isStoreError(error, 'STORE_CORRUPT')) return true
        if (isStoreError(error, 'STORE_NOT_FOUND')) return false // deleted meanwhile
        throw error
      }
    }
    return false
  }

  const scrubOnce = async (signal: AbortSignal = controller.signal): Promise<ScrubPass> => {
    const started = performance.now()
    const listed: Uint8Array[] = []
    for await (const content of store.list()) listed.push(content.root)
    // Blocks are read into one buffer of this pass (the store's bytes are not kept).
    const buffer = new Uint8Array(TREE_BLOCK_LEN)
    let bytes = 0
    let corrupt = 0
    const count = (n: number) => {
      bytes += n
      options.onScrubbed?.(n)
    }
    for (const root of listed) {
      signal.throwIfAborted()
      if (await scrubContent(root, buffer, signal, count)) corrupt++
    }
    const names = new Set(listed.map((root) => bytesToHex(root)))
    guard.retain((hex) => names.has(hex))
    const pass: ScrubPass = {
      contents: listed.length,
      bytes,
      corrupt,
      ms: Math.round(performance.now() - started),
    }
    logger?.info({ ...pass }, 'store scrub pass done')
    options.onPass?.(pass)
    return pass
  }

  const run = async () => {
    const { signal } = controller
    let delay = firstDelay
    for (;;) {
      await sleep(delay, signal)
      try {
        await scrubOnce(signal)
      } catch (error) {
        if (signal.aborted) throw error
        // A store error (closed, unreadable): logged, tried again next pass.
        logger?.warn({ err: error }, 'store scrub pass failed')
      }
      delay = options.intervalMs
    }
  }

  return {
    start() {
      if (rate === 0 || loop !== undefined || controller.signal.aborted) return
      loop = run().catch(() => {})
      logger?.debug({ rateBytesPerSecond: rate, intervalMs: options.intervalMs }, 'scrubber on')
    },
    async stop() {
      controller.abort(new Error('the scrubber stopped'))
      await loop
    },
    scrubOnce,
  }
}
