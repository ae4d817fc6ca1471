/**
 * The protocol server over real libp2p on loopback, with a test codec: answers, a refusal with
 * the protocol's TERMINATE and then a reset when the peer does not close within the linger,
 * the idle timeout, and stop() with streams open. Discovery (src/discovery) is served by it too.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { noopLogger } from '../core/logger.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import { CodecDecoder } from '../wire/frame-codec.ts'
import { type ClientLibp2p, createClientLibp2p } from './client-libp2p.ts'
import type { NodeLibp2p } from './node-libp2p.ts'
import { libp2pProtocolDialer } from './protocol-dialer.ts'
import { type ProtocolServer, protocolServer, type StreamRefusal } from './protocol-server.ts'
import { startLoopbackNode, wsAddressOf } from './testing/loopback-node.ts'
import { eventually, TEST_MESSAGES, type TestMessage } from './testing/test-messages.ts'

const PROTOCOL = '/fulmen/test/protocol-server/1.0.0'
let node: NodeLibp2p
let client: ClientLibp2p
let server: ProtocolServer
let address = ''
const refusals: StreamRefusal[] = []

beforeAll(async () => {
  node = await startLoopbackNode()
  address = wsAddressOf(node)
  server = protocolServer<TestMessage>({
    libp2p: node,
    protocol: PROTOCOL,
    codec: TEST_MESSAGES,
    maxFramesPerStream: 3,
    idleTimeoutMs: 400,
    lingerMs: 300,
    logger: noopLogger,
    // Votes are echoed with value + 1; a NOTE is refused by the handler.
    onFrame: async (frame, stream) => {
      if (frame.kind === 'note') throw new Error('notes are not taken here')
      await stream.write(TEST_MESSAGES.encode({ ...frame, value: frame.value + 1 }))
    },
    refusal: (r) => TEST_MESSAGES.encode({ kind: 'note', text: `refused: ${r.cause}` }),
    onRefused: (r) => void refusals.push(r),
  })
  await server.start()
  client = await createClientLibp2p()
})

afterAll(async () => {
  await server?.stop()
  await client?.stop()
  await node?.stop()
})

const open = () => libp2pProtocolDialer(client).open(address, PROTOCOL)

/** Frames from `channel` until it ends (or is reset: then `reset` is true). */
async function readAll(channel: ByteChannel): Promise<{ frames: TestMessage[]; reset: boolean }> {
  const decoder = new CodecDecoder(TEST_MESSAGES)
  const frames: TestMessage[] = []
  try {
    for await (const chunk of channel.source) frames.push(...decoder.push(chunk))
    return { frames, reset: false }
  } catch {
    return { frames, reset: true }
  }
}

const vote = (round: number, value = 0): TestMessage => ({ kind: 'vote', round, value })

describe('protocol server', () => {
  test('answers frames; past the frame limit, TERMINATE, then a reset after the linger', async () => {
    const channel = await open()
    const reading = readAll(channel)
    for (const round of [1, 2, 3, 4]) await channel.write(TEST_MESSAGES.encode(vote(round)))
    // The server closes its side after TERMINATE and reads on (drops) for lingerMs: we do not
    // close ours, so then it resets the stream and our writes fail.
    const { frames } = await reading
    expect(frames).toEqual([
      vote(1, 1),
      vote(2, 1),
      vote(3, 1),
      { kind: 'note', text: 'refused: too-many-frames' },
    ])
    await channel.write(TEST_MESSAGES.encode(vote(5))) // within the linger: read and dropped
    await new Promise((r) => setTimeout(r, 500))
    await expect(channel.write(TEST_MESSAGES.encode(vote(6)))).rejects.toThrow()
    expect(refusals.at(-1)?.cause).toBe('too-many-frames')
  })

  test('a handler that throws and a malformed frame end only their own stream', async () => {
    const good = await open()
    const refusedByHandler = await open()
    await refusedByHandler.write(TEST_MESSAGES.encode({ kind: 'note', text: 'hi' }))
    const first = await readAll(refusedByHandler)
    expect(first.frames).toEqual([{ kind: 'note', text: 'refused: handler' }])
    const malformed = await open()
    await malformed.write(Uint8Array.of(0x60, 0, 0, 0, 2, 1, 2)) // a VOTE of 2 bytes
    await malformed.close()
    expect((await readAll(malformed)).frames).toEqual([
      { kind: 'note', text: 'refused: malformed-frame' },
    ])
    await good.write(TEST_MESSAGES.encode(vote(9, 9)))
    await good.close()
    expect((await readAll(good)).frames).toEqual([vote(9, 10)])
  })

  test('a silent stream is reset after the idle timeout', async () => {
    const channel = await open()
    const started = Date.now()
    const { frames, reset } = await readAll(channel)
    expect(frames).toEqual([])
    expect(reset).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
  })

  test('stop() ends the open streams and takes no more', async () => {
    const channel = await open()
    await channel.write(TEST_MESSAGES.encode(vote(1)))
    await eventually(() => server.streams === 1)
    const reading = readAll(channel)
    await server.stop()
    expect(server.streams).toBe(0)
    expect((await reading).reset).toBe(true)
    await expect(open()).rejects.toThrow()
    await server.start()
    const again = await open()
    await again.write(TEST_MESSAGES.encode(vote(2, 2)))
    await again.close()
    expect((await readAll(again)).frames).toEqual([vote(2, 3)])
  })
})
