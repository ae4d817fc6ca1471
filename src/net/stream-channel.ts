/**
 * A libp2p stream as a ByteChannel (src/wire/byte-channel.ts), with backpressure both ways.
 *
 * Reading: libp2p's own async iterator queues without limit, so a slow reader (a page that
 * does not read its Response) would buffer the whole content. Here the stream is paused once
 * `highWaterMark` bytes wait to be read, which makes Yamux stop granting window to the sender,
 * and resumed below half of it. The read buffer limit is raised above Yamux's largest window
 * (16 MiB) because a paused stream may still receive one window's worth.
 */
import type { Stream, StreamCloseEvent } from '@libp2p/interface'
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
    // A Uint8ArrayList's buffers are queued as they are: `subarray()` would copy them into one.
    for (const bytes of data instanceof Uint8Array ? [data] : data) {
      queue.push(bytes)
      queued += bytes.length
    }
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
  // Reset before it was wrapped (a peer over its stream limit resets at once): the 'close'
  // event is gone, and a reader waiting for it would wait forever.
  if (stream.status === 'reset' || stream.status === 'aborted') {
    ended = true
    failure = new Error(`the stream was ${stream.status} before it was read`)
  }

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
      if (stream.send(bytes)) return
      // Not `stream.onDrain()`: in @libp2p/utils 7.4 its promise, once a first drain resolved
      // it, is never renewed, so it resolves at once ever after and the writer is never held
      // back again (the stream's write buffer grows without bound). Wait for 'drain' itself.
      while (stream.writableNeedsDrain) await drained(stream)
    },
    async close() {
      await stream.close()
    },
    abort(reason) {
      stream.abort(reason)
    },
  }
}

/** The stream's next 'drain'; rejects if it closes (or has closed) first. */
function drained(stream: Stream): Promise<void> {
  if (stream.status !== 'open' || stream.writeStatus === 'closed') {
    return Promise.reject(new Error(`stream is ${stream.status}, cannot write`))
  }
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      done()
      resolve()
    }
    const onClose = (event: StreamCloseEvent) => {
      done()
      reject(event.error ?? new Error('stream closed'))
    }
    const done = () => {
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
    }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
  })
}
