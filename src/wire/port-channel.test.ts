/**
 * ByteChannels over real MessagePorts (Node and Chromium both have MessageChannel): bytes in
 * order both ways, credit-based backpressure, half-close, abort, and joining to another
 * channel the way a tab node joins a libp2p stream to its worker.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import type { ByteChannel } from './byte-channel.ts'
import { joinChannels, portChannel } from './port-channel.ts'
import { concat } from './testing/bytes.ts'
import { channelPair } from './testing/channel-pair.ts'

function pair(highWaterMark?: number): [ByteChannel, ByteChannel] {
  const { port1, port2 } = new MessageChannel()
  const options = highWaterMark === undefined ? {} : { highWaterMark }
  return [portChannel(port1, 'b', options), portChannel(port2, 'a', options)]
}

async function readAll(channel: ByteChannel): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of channel.source) parts.push(c)
  return concat(parts)
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10))

describe('portChannel', () => {
  test('carries any chunking in order, both ways, and ends on close', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 5000 }), { maxLength: 20 }),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
        async (there, back) => {
          const [a, b] = pair(4096)
          const sent = (async () => {
            for (const c of there) await a.write(c)
            await a.close()
          })()
          const returned = (async () => {
            for (const c of back) await b.write(c)
            await b.close()
          })()
          const [gotThere, gotBack] = await Promise.all([readAll(b), readAll(a), sent, returned])
          expect(gotThere).toEqual(Uint8Array.from(there.flatMap((c) => [...c])))
          expect(gotBack).toEqual(Uint8Array.from(back.flatMap((c) => [...c])))
        },
      ),
      { numRuns: 30 },
    )
  })

  test('a writer waits for credit once highWaterMark bytes are unread', async () => {
    const [a, b] = pair(1000)
    await a.write(new Uint8Array(600))
    let done = false
    const second = a.write(new Uint8Array(600)).then(() => {
      done = true
    })
    await tick()
    expect(done).toBe(false)
    const reader = b.source[Symbol.asyncIterator]()
    expect((await reader.next()).value).toHaveLength(600)
    await reader.next() // asking for more returns credit for the first chunk
    await second
    expect(done).toBe(true)
  })

  test('the caller may reuse its buffer once write resolved', async () => {
    const [a, b] = pair()
    const buffer = new Uint8Array([1, 2, 3])
    await a.write(buffer)
    buffer.fill(9)
    await a.close()
    expect(await readAll(b)).toEqual(new Uint8Array([1, 2, 3]))
  })

  test('abort: the peer sees an error, writes on both sides fail, waiting writers too', async () => {
    const [a, b] = pair(10)
    const waiting = a.write(new Uint8Array(100))
    b.abort(new Error('bad frames'))
    await expect(waiting).rejects.toThrow()
    await expect(readAll(a)).rejects.toThrow(/bad frames/)
    await expect(a.write(new Uint8Array(1))).rejects.toThrow()
    await expect(b.write(new Uint8Array(1))).rejects.toThrow()
  })

  test('a message that is not the protocol tears the channel down', async () => {
    const { port1, port2 } = new MessageChannel()
    const a = portChannel(port1, 'b')
    port2.postMessage({ t: 'data', bytes: 'not bytes' })
    await expect(readAll(a)).rejects.toThrow(/not part of the protocol/)
    port2.close()
  })
})

describe('joinChannels', () => {
  test('a transport stream joined to a port: bytes pass both ways, close passes on', async () => {
    const [transport, far] = channelPair({ highWaterMark: 2048 })
    const [near, worker] = pair(2048)
    const joined = joinChannels(transport, near)
    const data = Uint8Array.from({ length: 50_000 }, (_, i) => i * 7)
    const toWorker = (async () => {
      await far.write(data)
      await far.close()
    })()
    const echoed = (async () => {
      for await (const c of worker.source) await worker.write(c)
      await worker.close()
    })()
    expect(await readAll(far)).toEqual(data)
    await Promise.all([toWorker, echoed, joined])
  })

  test('an abort on one side aborts the other', async () => {
    const [transport, far] = channelPair()
    const [near, worker] = pair()
    const joined = joinChannels(transport, near)
    far.abort(new Error('peer went away'))
    await expect(readAll(worker)).rejects.toThrow()
    await joined
  })
})
