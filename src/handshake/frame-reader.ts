/**
 * Reads frames from a transport on demand: the next chunk is pulled only when a frame
 * is asked for, so a peer that floods the stream is held back by the transport's flow control
 * instead of filling our memory. One read is in flight at a time and shared by every caller,
 * so a read abandoned by a timed-out caller is picked up by the next one, never lost.
 */
import type { RawFrame } from '../wire/frame-splitter.ts'
import { SessionError } from './errors.ts'

/** Bytes in, frames out (a FrameSplitter, a CodecDecoder); throws WireError on a bad frame. */
export interface FrameSource<T> {
  push(chunk: Uint8Array): T[]
  end(): void
}

/**
 * A session stream's frames are split here and decoded later, by the handshake's codec or the
 * service's: which service a stream carries is known only once its HELLO or JOIN is read, and
 * frames pipelined behind it may arrive in the same chunk.
 */
export class FrameReader<T = RawFrame> {
  private readonly iterator: AsyncIterator<Uint8Array>
  private readonly decoder: FrameSource<T>
  private readonly queue: T[] = []
  private inflight: Promise<void> | undefined
  private done = false
  private failure: unknown

  constructor(source: AsyncIterable<Uint8Array>, decoder: FrameSource<T>) {
    this.iterator = source[Symbol.asyncIterator]()
    this.decoder = decoder
  }

  /**
   * The next frame, or undefined at the end of the stream. Throws WireError for a bad frame
   * and SessionError SESSION_CLOSED when the transport fails; both are final.
   */
  async next(): Promise<T | undefined> {
    for (;;) {
      const frame = this.queue.shift()
      if (frame !== undefined) return frame
      if (this.failure !== undefined) throw this.failure
      if (this.done) return undefined
      await this.pull()
    }
  }

  /** Reads and discards everything up to the end of the stream; never throws. */
  async drain(): Promise<void> {
    this.queue.length = 0
    while (!this.done) await this.pull()
    this.queue.length = 0
  }

  private pull(): Promise<void> {
    this.inflight ??= this.read().finally(() => {
      this.inflight = undefined
    })
    return this.inflight
  }

  private async read(): Promise<void> {
    let chunk: IteratorResult<Uint8Array>
    try {
      chunk = await this.iterator.next()
    } catch (error) {
      this.done = true
      this.failure = new SessionError(
        'SESSION_CLOSED',
        `stream failed: ${messageOf(error)}`,
        undefined,
        {
          cause: error,
        },
      )
      return
    }
    try {
      if (chunk.done) {
        this.done = true
        this.decoder.end()
      } else {
        this.queue.push(...this.decoder.push(chunk.value))
      }
    } catch (error) {
      // A bad frame ends the stream for us: nothing after it can be trusted to line up.
      this.done = true
      this.failure = error
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
