/**
 * A libp2p stream as a ByteChannel (src/wire/byte-channel.ts), with backpressure both ways.
 *
 * Reading: libp2p's own async iterator queues without limit, so a slow reader (a page that
 * does not read its Response) would buffer the whole content. Here the stream is paused once
 * `highWaterMark` bytes wait to be read, which makes Yamux stop granting window to the sender,
 * and resumed below half of it. The read buffer limit is raised above Yamux's largest window
 * (16 MiB) because a paused stream may still receive one window's worth.
 */
import type { Stream } from '@libp2p/interface'
import type { ByteChannel } from '../wire/byte-channel.ts'

const DEFAULT_HIGH_WATER_MARK = 4 * 1024 * 1024
const READ_BUFFER_LIMIT = 24 * 1024 * 1024

export interface StreamChannelOptions {
  /** Bytes queued for the reader before the sender is held back. */
  readonly highWaterMark?: number
}

export function streamChannel(
  stream: Stream,
  remotePeer: string,
  options: StreamChannelOptions = {},
): ByteChannel {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, READ_BUFFER_LIMIT)
  const queue: Uint8Array[] = []
  let queued = 0
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined

  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  stream.addEventListener('message', (event) => {
    const data = event.data
    const bytes = data instanceof Uint8Array ? data : data.subarray()
    queue.push(bytes)
    queued += bytes.length
    if (queued > highWaterMark && stream.readStatus === 'readable') stream.pause()
    notify()
  })
  stream.addEventListener('remoteCloseWrite', () => {
    ended = true
    notify()
  })
  stream.addEventListener('close', (event) => {
    ended = true
    if (event.error !== undefined) failure = event.error
    notify()
  })

  async function* source(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = queue.shift()
      if (chunk !== undefined) {
        queued -= chunk.length
        if (stream.readStatus === 'paused' && queued < highWaterMark / 2) stream.resume()
        yield chunk
        continue
      }
      if (failure !== undefined) throw failure
      if (ended) return
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  }

  return {
    source: source(),
    remotePeer,
    async write(bytes) {
      if (!stream.send(bytes)) await stream.onDrain()
    },
    async close() {
      await stream.close()
    },
    abort(reason) {
      stream.abort(reason)
    },
  }
}
