/**
 * `streamChannel` over real libp2p streams: a full node's libp2p and a client's, in process,
 * on loopback (WebSockets, Noise, Yamux), speaking a test protocol. Bytes arrive complete and
 * in order both ways, `close` half-closes, `abort` resets, and a reader that does not read
 * holds the writer back instead of buffering everything.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { blake3 } from '@noble/hashes/blake3.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { seededContent } from '../b3/testing/content.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import { type ClientLibp2p, createClientLibp2p } from './client-libp2p.ts'
import type { NodeLibp2p } from './node-libp2p.ts'
import { streamChannel } from './stream-channel.ts'
import { startLoopbackNode, wsAddressOf } from './testing/loopback-node.ts'

const PROTOCOL = '/fulmen/test/stream-channel/1.0.0'
const MiB = 1024 * 1024

let node: NodeLibp2p
let client: ClientLibp2p
/** Channels of the streams the node accepted, in order, for the test that opened them. */
const accepted: ByteChannel[] = []
const waiting: ((channel: ByteChannel) => void)[] = []

beforeAll(async () => {
  node = await startLoopbackNode()
  await node.handle(
    PROTOCOL,
    (stream, connection) => {
      const channel = streamChannel(stream, connection.remotePeer.toString())
      const take = waiting.shift()
      if (take === undefined) accepted.push(channel)
      else take(channel)
    },
    { maxInboundStreams: 64 },
  )
  client = await createClientLibp2p()
})

afterAll(async () => {
  await client?.stop()
  await node?.stop()
})

/** A stream from the client to the node: both ends as channels. */
async function open(): Promise<{ local: ByteChannel; remote: ByteChannel }> {
  const address = wsAddressOf(node)
  const remote = new Promise<ByteChannel>((resolve) => {
    const ready = accepted.shift()
    if (ready === undefined) waiting.push(resolve)
    else resolve(ready)
  })
  const stream = await client.dialProtocol(multiaddr(address), PROTOCOL)
  const local = streamChannel(stream, node.peerId.toString())
  // The node learns of the stream when the client's first bytes (the protocol) arrive.
  return { local, remote: await remote }
}

/** Deterministic sizes in [1, max] (xorshift32). */
function sizes(seed: number, max: number): () => number {
  let x = seed | 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return 1 + ((x >>> 0) % max)
  }
}

/** Writes `data` in pieces of random sizes (some tiny), then closes. */
async function writeAll(channel: ByteChannel, data: Uint8Array, seed: number): Promise<void> {
  const next = sizes(seed, 512 * 1024)
  const tiny = sizes(seed + 1, 16)
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(data.length - at, i % 7 === 0 ? tiny() : next())
    await channel.write(data.subarray(at, at + n))
    at += n
  }
  await channel.close()
}

/** Reads the source to its end: bytes counted and hashed. */
async function readAll(channel: ByteChannel): Promise<{ length: number; hash: Uint8Array }> {
  const hasher = blake3.create()
  let length = 0
  for await (const chunk of channel.source) {
    hasher.update(chunk)
    length += chunk.length
  }
  return { length, hash: hasher.digest() }
}

const concat = (parts: Uint8Array[]) => Buffer.concat(parts)

describe('streamChannel over libp2p', () => {
  test('bytes arrive complete and in order, both ways at once (40 MiB and 8 MiB)', async () => {
    const { local, remote } = await open()
    const up = seededContent(40 * MiB, 1)
    const down = seededContent(8 * MiB + 3, 2)
    const [, , received, returned] = await Promise.all([
      writeAll(local, up, 10),
      writeAll(remote, down, 20),
      readAll(remote),
      readAll(local),
    ])
    expect(received.length).toBe(up.length)
    expect(received.hash).toEqual(blake3(up))
    expect(returned.length).toBe(down.length)
    expect(returned.hash).toEqual(blake3(down))
  })

  test('close() ends the peer source after what was written; the other way stays open', async () => {
    const { local, remote } = await open()
    await local.write(new TextEncoder().encode('hello, '))
    await local.write(new TextEncoder().encode('node'))
    await local.close()
    const chunks: Uint8Array[] = []
    for await (const c of remote.source) chunks.push(c)
    expect(new TextDecoder().decode(concat(chunks))).toBe('hello, node')
    // Half-closed: the node still answers, then closes its side too.
    await remote.write(new TextEncoder().encode('hello, client'))
    await remote.close()
    const back: Uint8Array[] = []
    for await (const c of local.source) back.push(c)
    expect(new TextDecoder().decode(concat(back))).toBe('hello, client')
  })

  test('abort() makes the peer source throw rather than end', async () => {
    for (const side of ['client', 'node'] as const) {
      const { local, remote } = await open()
      const [aborting, peer] = side === 'client' ? [local, remote] : [remote, local]
      await aborting.write(new Uint8Array(1000).fill(7))
      const it = peer.source[Symbol.asyncIterator]()
      const first = await it.next()
      expect(first.done).toBe(false)
      aborting.abort(new Error('test abort'))
      let error: unknown
      try {
        for (;;) {
          const r = await it.next()
          if (r.done) break
        }
      } catch (e) {
        error = e
      }
      expect(error, `${side} aborted: the peer's source must throw`).toBeInstanceOf(Error)
      // The aborted end is unusable for writing too.
      await expect(aborting.write(new Uint8Array(10))).rejects.toThrow()
    }
  })

  test('a stream reset before it was wrapped: the source throws at once, never waits', async () => {
    const address = wsAddressOf(node)
    const remote = new Promise<ByteChannel>((resolve) => {
      const ready = accepted.shift()
      if (ready === undefined) waiting.push(resolve)
      else resolve(ready)
    })
    const raw = await client.dialProtocol(multiaddr(address!), PROTOCOL)
    raw.send(new Uint8Array([1])) // the node learns of the stream with the first bytes
    ;(await remote).abort(new Error('reset by the node'))
    while (raw.status === 'open') await new Promise((resolve) => setTimeout(resolve, 10))
    expect(raw.status).toBe('reset')
    // Its 'close' event has fired already: the channel must know from the stream's state.
    const late = streamChannel(raw, node.peerId.toString())
    await expect(
      (async () => {
        for await (const _ of late.source) {
          // nothing arrives
        }
      })(),
    ).rejects.toThrow()
  }, 15_000)

  test('a reader that does not read holds the writer back; then everything arrives', async () => {
    const { local, remote } = await open()
    const total = 256 * MiB
    const chunk = 256 * 1024
    const period = MiB
    const pattern = seededContent(period, 3)
    const doubled = concat([pattern, pattern])
    let written = 0
    let writerDone = false
    const writer = (async () => {
      while (written < total) {
        const at = written % period
        await local.write(pattern.subarray(at, at + chunk))
        written += chunk
      }
      await local.close()
      writerDone = true
    })()
    writer.catch(() => {})

    // Wait until the writer makes no progress for a while: it is blocked on `write`.
    let last = -1
    let still = 0
    while (still < 5 && !writerDone) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      still = written === last ? still + 1 : 0
      last = written
    }
    expect(writerDone).toBe(false)
    expect(written).toBeGreaterThan(0)
    expect(written).toBeLessThan(64 * MiB)

    // Now read it all: the writer resumes, every byte is the one written, in order.
    let received = 0
    let mismatch: number | undefined
    for await (const c of remote.source) {
      for (let off = 0; off < c.length; ) {
        const at = (received + off) % period
        const n = Math.min(c.length - off, period)
        const got = Buffer.from(c.buffer, c.byteOffset + off, n)
        if (mismatch === undefined && !got.equals(doubled.subarray(at, at + n))) {
          mismatch = received + off
        }
        off += n
      }
      received += c.length
    }
    await writer
    expect(mismatch).toBeUndefined()
    expect(received).toBe(total)
    expect(writerDone).toBe(true)
  })
})
