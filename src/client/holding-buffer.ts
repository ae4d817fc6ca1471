/**
 * Where a verified body waits until its pointer's digest is checked (IPFS and HTTP pointers:
 * their root is a node's claim until the whole content matched the pointer). The first
 * `memoryLimit` bytes stay in memory; the rest goes to a spill, a seam the runtime fills: a
 * temporary file on Node (temp-file-spill.node.ts), IndexedDB in a browser
 * (src/browser/idb-spill.ts). Nothing is released before `release()`, which the fetch calls
 * only once the digest matched; `discard()` forgets everything (a node lied: start over).
 */
import { FetchError } from './errors.ts'

/** The part of a held body beyond the memory bound. */
export interface Spill {
  /** Appends `bytes` (the spill may keep the array: the caller does not reuse it). */
  append(bytes: Uint8Array): Promise<void>
  /** Everything appended, in order (called once, after the last append). */
  read(): AsyncIterable<Uint8Array>
  /** Frees what the spill holds (idempotent). */
  discard(): Promise<void>
}

/** Makes a new, empty spill for one held body. */
export type OpenSpill = () => Promise<Spill>

/** The memory bound by default: a body past it spills, or fails without a spill. */
export const DEFAULT_HOLD_MEMORY = 32 * 2 ** 20

export interface HoldingOptions {
  /** Bytes kept in memory before spilling (default 32 MiB). */
  readonly memoryLimit?: number
  /** Where bytes beyond `memoryLimit` go; without one, a larger body fails the fetch. */
  readonly spill?: OpenSpill
}

export class HoldingBuffer {
  private readonly memoryLimit: number
  private readonly openSpill: OpenSpill | undefined
  private memory: Uint8Array[] = []
  private inMemory = 0
  private spill: Spill | undefined
  private opening: Promise<Spill> | undefined
  private total = 0
  private state: 'holding' | 'released' | 'discarded' = 'holding'

  constructor(options: HoldingOptions = {}) {
    this.memoryLimit = options.memoryLimit ?? DEFAULT_HOLD_MEMORY
    this.openSpill = options.spill
  }

  /** Bytes held so far. */
  get size(): number {
    return this.total
  }

  /** Whether some of the body went to the spill. */
  get spilled(): boolean {
    return this.opening !== undefined
  }

  /** Holds `bytes` after the ones before (kept as given: the caller hands them over). */
  async append(bytes: Uint8Array): Promise<void> {
    if (this.state !== 'holding') throw new Error(`append to a ${this.state} holding buffer`)
    this.total += bytes.length
    // Memory holds a prefix of the body and the spill the rest, so reading stays in order.
    if (this.opening === undefined && this.inMemory + bytes.length <= this.memoryLimit) {
      this.memory.push(bytes)
      this.inMemory += bytes.length
      return
    }
    if (this.openSpill === undefined)
      throw new FetchError(
        'FETCH_HOLD_FAILED',
        `the body is held until its digest is checked and exceeds ${this.memoryLimit} bytes in memory, with no spill to hold the rest`,
      )
    try {
      this.opening ??= this.openSpill().then((s) => (this.spill = s))
      await (await this.opening).append(bytes)
    } catch (error) {
      if (error instanceof FetchError) throw error
      throw new FetchError(
        'FETCH_HOLD_FAILED',
        `the held body could not be spilled: ${(error as Error).message}`,
      )
    }
  }

  /**
   * Ends holding: the bytes as a stream, memory first, then the spill, which is discarded
   * once read or cancelled.
   */
  release(): ReadableStream<Uint8Array> {
    if (this.state !== 'holding') throw new Error(`release of a ${this.state} holding buffer`)
    this.state = 'released'
    const memory = this.memory
    this.memory = []
    const opening = this.opening
    let spilled: AsyncIterator<Uint8Array> | undefined
    const discard = () => opening?.then((s) => s.discard()).catch(() => {})
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const next = memory.shift()
          if (next !== undefined) return controller.enqueue(next)
          if (opening === undefined) return controller.close()
          try {
            spilled ??= (await opening).read()[Symbol.asyncIterator]()
            const chunk = await spilled.next()
            if (chunk.done) {
              await discard()
              controller.close()
            } else controller.enqueue(chunk.value)
          } catch (error) {
            await discard()
            controller.error(
              new FetchError(
                'FETCH_HOLD_FAILED',
                `the held body could not be read back: ${(error as Error).message}`,
              ),
            )
          }
        },
        async cancel() {
          memory.length = 0
          await spilled?.return?.()
          await discard()
        },
      },
      { highWaterMark: 0 },
    )
  }

  /** Forgets everything held (idempotent). */
  async discard(): Promise<void> {
    if (this.state === 'discarded') return
    const wasHolding = this.state === 'holding'
    this.state = 'discarded'
    this.memory = []
    this.inMemory = 0
    this.total = 0
    // Released bytes belong to the reader's stream, which discards the spill itself.
    if (wasHolding) await this.opening?.then((s) => s.discard()).catch(() => {})
  }
}
