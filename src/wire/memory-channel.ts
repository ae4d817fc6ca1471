/**
 * Two ByteChannels joined back to back in memory: a real transport for transport-agnostic
 * code (handshake, services) in tests, in Node and in browsers, and the streams of the
 * messenger's in-memory transport (src/net/memory-transport.ts). Bytes are copied on write, as
 * a network would; `close` half-closes; `abort` resets both directions, and the peer sees an
 * error rather than a clean end.
 */
import type { ByteChannel } from './byte-channel.ts'

export interface ChannelPairOptions {
  /** `remotePeer` of each end: what the first end sees, then what the second sees. */
  readonly peers?: readonly [string, string]
  /**
   * Backpressure: when set, `write` resolves only once the peer holds at most this many
   * unread bytes. Unset, writes never wait.
   */
  readonly highWaterMark?: number
}

interface Waiter {
  resolve(): void
  reject(error: Error): void
}

/** One direction: a queue of chunks with one reader. */
class Pipe {
  private readonly highWaterMark: number
  private readonly chunks: Uint8Array[] = []
  private queued = 0
  private ended = false
  private error: Error | undefined
  private wakeReader: (() => void) | undefined
  private writers: Waiter[] = []
  readonly source: AsyncGenerator<Uint8Array>

  constructor(highWaterMark: number) {
    this.highWaterMark = highWaterMark
    this.source = this.read()
  }

  write(bytes: Uint8Array): Promise<void> {
    // A writer learns that the stream is gone, not why the other end tore it down.
    if (this.error !== undefined) return Promise.reject(new Error('stream is reset'))
    if (this.ended) return Promise.reject(new Error('channel closed for writing'))
    if (bytes.length === 0) return Promise.resolve()
    this.chunks.push(bytes.slice())
    this.queued += bytes.length
    this.wake()
    if (this.queued <= this.highWaterMark) return Promise.resolve()
    return new Promise((resolve, reject) => this.writers.push({ resolve, reject }))
  }

  end(): void {
    this.ended = true
    this.wake()
  }

  fail(error: Error): void {
    if (this.error !== undefined) return
    this.error = error
    this.chunks.length = 0
    this.queued = 0
    for (const w of this.writers.splice(0)) w.reject(new Error('stream is reset'))
    this.wake()
  }

  private wake(): void {
    const wake = this.wakeReader
    this.wakeReader = undefined
    wake?.()
  }

  private async *read(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.error !== undefined) throw this.error
      const chunk = this.chunks.shift()
      if (chunk !== undefined) {
        this.queued -= chunk.length
        if (this.queued <= this.highWaterMark) for (const w of this.writers.splice(0)) w.resolve()
        yield chunk
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve
      })
    }
  }
}

class PipeEnd implements ByteChannel {
  private readonly outgoing: Pipe
  private readonly incoming: Pipe
  readonly remotePeer: string

  constructor(outgoing: Pipe, incoming: Pipe, remotePeer: string) {
    this.outgoing = outgoing
    this.incoming = incoming
    this.remotePeer = remotePeer
  }

  get source(): AsyncIterable<Uint8Array> {
    return this.incoming.source
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.outgoing.write(bytes)
  }

  async close(): Promise<void> {
    this.outgoing.end()
  }

  abort(reason: Error): void {
    this.outgoing.fail(new Error('stream reset by peer', { cause: reason }))
    this.incoming.fail(reason)
  }
}

/** Two connected channels: bytes written to one come out of the other's `source`. */
export function channelPair(options: ChannelPairOptions = {}): [ByteChannel, ByteChannel] {
  const [peerOfA, peerOfB] = options.peers ?? ['peer-b', 'peer-a']
  const hwm = options.highWaterMark ?? Number.POSITIVE_INFINITY
  const aToB = new Pipe(hwm)
  const bToA = new Pipe(hwm)
  return [new PipeEnd(aToB, bToA, peerOfA), new PipeEnd(bToA, aToB, peerOfB)]
}
