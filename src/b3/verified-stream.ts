/**
 * From a trusted root and a stream of proof/data frames to a stream of verified bytes.
 *
 * This is the only road from untrusted input to the application: a byte is enqueued only
 * after the block holding it has been verified. The frames' wire encoding belongs to the
 * transport (src/wire); here they are already decoded.
 */
import { TREE_BLOCK_LEN } from './constants.ts'
import { B3Error } from './errors.ts'
import { type ByteRange, blockStart, blocksOfRange } from './geometry.ts'
import { IncrementalVerifier } from './verifier.ts'

// Their home is geometry.ts; exported here too, where streams' callers have long found them.
export { type ByteRange, blocksOfRange }

/** A proof for the next block: initial before the first block sent, resume after. */
export interface ProofFrame {
  readonly kind: 'proof'
  readonly bytes: Uint8Array
}

/** Content bytes, in order; a block may be split over many frames. */
export interface DataFrame {
  readonly kind: 'data'
  readonly bytes: Uint8Array
}

export type ContentFrame = ProofFrame | DataFrame

export interface BlockVerifiedEvent {
  /** The block just verified. */
  readonly block: number
  /** Blocks of the span verified so far, and in all. */
  readonly verified: number
  readonly total: number
  /** Bytes released to the reader so far. */
  readonly bytes: number
}

export interface VerifyStreamOptions {
  /** Content length from the header. */
  readonly length: number
  /** Only these bytes (the frames must cover the blocks that hold them). */
  readonly range?: ByteRange
  readonly signal?: AbortSignal
  readonly onBlock?: (event: BlockVerifiedEvent) => void
}

/** Verifies `frames` against `root` and yields the verified bytes of the content or range. */
export function verifyStream(
  root: Uint8Array,
  frames: AsyncIterable<ContentFrame>,
  options: VerifyStreamOptions,
): ReadableStream<Uint8Array> {
  const { length, signal, onBlock } = options
  const range = options.range ?? { start: 0, end: length }
  const span = blocksOfRange(length, range)
  const verifier = new IncrementalVerifier(root, { length, start: span.first, end: span.end })
  const iterator = frames[Symbol.asyncIterator]()
  const block = new Uint8Array(TREE_BLOCK_LEN)
  let filled = 0
  let released = 0

  /** Slice of verified block `k` that falls inside the range. */
  const inRange = (k: number, data: Uint8Array): Uint8Array => {
    const base = blockStart(k)
    const from = Math.max(0, range.start - base)
    const to = Math.min(data.length, range.end - base)
    return data.slice(from, Math.max(from, to))
  }

  const verifyBlock = (
    data: Uint8Array,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ) => {
    const k = verifier.feedBlock(data)
    const out = inRange(k, data)
    released += out.length
    if (out.length > 0) controller.enqueue(out)
    onBlock?.({
      block: k,
      verified: k - span.first + 1,
      total: span.end - span.first,
      bytes: released,
    })
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          signal?.throwIfAborted()
          const startBlock = verifier.next
          // Read frames until one more block is verified (or the end).
          while (!verifier.isDone() && verifier.next === startBlock) {
            const { value, done } = await iterator.next()
            signal?.throwIfAborted()
            const emptyBlockDue =
              !verifier.isDone() && filled === 0 && verifier.blockLength(verifier.next) === 0
            if (
              done &&
              emptyBlockDue &&
              (verifier.state === 'awaiting-block' || verifier.proofIsEmpty)
            ) {
              // Empty content: its one block is verified by hashing nothing.
              verifyBlock(new Uint8Array(0), controller)
              continue
            }
            if (done) {
              throw new B3Error(
                'B3_TRUNCATED',
                `stream ended before block ${verifier.next} was complete`,
                verifier.next,
              )
            }
            if (value.kind === 'proof') {
              if (filled !== 0) {
                throw new B3Error(
                  'B3_OUT_OF_ORDER',
                  `proof arrived inside block ${verifier.next}`,
                  verifier.next,
                )
              }
              verifier.feedProof(value.bytes)
              if (verifier.blockLength(verifier.next) === 0)
                verifyBlock(new Uint8Array(0), controller)
              continue
            }
            let bytes = value.bytes
            while (bytes.length > 0 && !verifier.isDone()) {
              const size = verifier.blockLength(verifier.next)
              if (filled === 0 && bytes.length >= size) {
                // Whole block in one frame: verify without copying.
                verifyBlock(bytes.subarray(0, size), controller)
                bytes = bytes.subarray(size)
              } else {
                const n = Math.min(size - filled, bytes.length)
                block.set(bytes.subarray(0, n), filled)
                filled += n
                bytes = bytes.subarray(n)
                if (filled === size) {
                  filled = 0
                  verifyBlock(block.subarray(0, size), controller)
                }
              }
            }
            if (bytes.length > 0)
              throw new B3Error('B3_AFTER_END', `${bytes.length} bytes after the last block`)
          }
          if (verifier.isDone()) {
            const extra = await iterator.next()
            if (!extra.done) throw new B3Error('B3_AFTER_END', 'frames after the last block')
            controller.close()
          }
        } catch (error) {
          await iterator.return?.()
          controller.error(error)
        }
      },
      async cancel() {
        await iterator.return?.()
      },
    },
    { highWaterMark: 0 },
  )
}
