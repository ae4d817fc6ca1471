/**
 * A `ByteChannel` over a `MessagePort`: how a stream crosses from the thread that owns the
 * transport to the thread that runs the protocol. A tab node's WebRTC connections live in the
 * window (browsers give `RTCPeerConnection` to windows only) while its handshake, block store
 * and acknowledgement checks run in a worker; each libp2p stream is joined to one port.
 *
 * Both ends run `portChannel`. Messages: `data` (bytes, copied once and transferred), `credit` (bytes the reader
 * consumed), `end` (the writer closed its side), `abort` (tear down). A writer may have
 * `highWaterMark` bytes not yet consumed by the other side's reader; past that, `write` waits
 * for credit, so a slow reader slows the writer down across the thread boundary.
 */
import type { ByteChannel } from './byte-channel.ts'

export interface PortChannelOptions {
  /** Bytes in flight before `write` waits for the reader (default 4 MiB). */
  readonly highWaterMark?: number
}

type PortMessage =
  | { readonly t: 'data'; readonly bytes: Uint8Array }
  | { readonly t: 'credit'; readonly n: number }
  | { readonly t: 'end' }
  | { readonly t: 'abort'; readonly message: string }

const DEFAULT_HIGH_WATER_MARK = 4 * 1024 * 1024

function isPortMessage(m: unknown): m is PortMessage {
  if (typeof m !== 'object' || m === null) return false
  const { t } = m as { t?: unknown }
  if (t === 'data') return (m as { bytes?: unknown }).bytes instanceof Uint8Array
  if (t === 'credit') return Number.isSafeInteger((m as { n?: unknown }).n)
  if (t === 'abort') return typeof (m as { message?: unknown }).message === 'string'
  return t === 'end'
}

export function portChannel(
  port: MessagePort,
  remotePeer: string,
  options: PortChannelOptions = {},
): ByteChannel {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
  const chunks: Uint8Array[] = []
  let ended = false
  let failure: Error | undefined
  let wakeReader: (() => void) | undefined
  let inFlight = 0
  let closedForWriting = false
  const creditWaiters: { resolve(): void; reject(e: Error): void }[] = []

  const wake = () => {
    const w = wakeReader
    wakeReader = undefined
    w?.()
  }
  const fail = (error: Error) => {
    if (failure !== undefined) return
    failure = error
    chunks.length = 0
    for (const w of creditWaiters.splice(0)) w.reject(error)
    wake()
    port.close()
  }

  port.onmessage = (event: MessageEvent<unknown>) => {
    const m = event.data
    if (!isPortMessage(m)) {
      fail(new Error('port channel: a message that is not part of the protocol'))
      return
    }
    switch (m.t) {
      case 'data':
        chunks.push(m.bytes)
        wake()
        break
      case 'credit':
        inFlight -= m.n
        if (inFlight <= highWaterMark) for (const w of creditWaiters.splice(0)) w.resolve()
        break
      case 'end':
        ended = true
        wake()
        break
      case 'abort':
        fail(new Error(`stream reset by peer: ${m.message}`))
        break
    }
  }
  port.start()

  async function* read(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (failure !== undefined) throw failure
      const chunk = chunks.shift()
      if (chunk !== undefined) {
        // Credit goes back when the reader asks for more, not when bytes arrive: the writer
        // is paced by consumption.
        yield chunk
        if (failure === undefined) port.postMessage({ t: 'credit', n: chunk.length })
        continue
      }
      if (ended) return
      await new Promise<void>((resolve) => {
        wakeReader = resolve
      })
    }
  }

  return {
    source: read(),
    remotePeer,
    async write(bytes) {
      if (failure !== undefined) throw failure
      if (closedForWriting) throw new Error('port channel closed for writing')
      if (bytes.length === 0) return
      inFlight += bytes.length
      // One copy, then moved: structured clone of a view would copy its whole buffer, and
      // the caller may reuse its bytes once `write` resolves.
      const copy = bytes.slice()
      port.postMessage({ t: 'data', bytes: copy }, [copy.buffer])
      if (inFlight <= highWaterMark) return
      await new Promise<void>((resolve, reject) => creditWaiters.push({ resolve, reject }))
    },
    async close() {
      if (failure !== undefined || closedForWriting) return
      closedForWriting = true
      port.postMessage({ t: 'end' })
    },
    abort(reason) {
      if (failure !== undefined) return
      port.postMessage({ t: 'abort', message: reason.message })
      fail(reason)
    },
  }
}

/**
 * Joins two channels back to back (a transport's stream and a port's end): bytes from each
 * go to the other, a clean end is passed on as `close`, an error on either side aborts both.
 * Resolves when both directions are done.
 */
export async function joinChannels(a: ByteChannel, b: ByteChannel): Promise<void> {
  const pump = async (from: ByteChannel, to: ByteChannel) => {
    for await (const chunk of from.source) await to.write(chunk)
    await to.close()
  }
  try {
    await Promise.all([pump(a, b), pump(b, a)])
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error))
    a.abort(reason)
    b.abort(reason)
  }
}
