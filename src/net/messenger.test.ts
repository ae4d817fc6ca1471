/**
 * The messenger over the in-memory network: the same code that runs over libp2p
 * (messenger.node.test.ts), with peers that leave and come back on demand.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, test } from 'vitest'
import type { WireError } from '../wire/errors.ts'
import { encodeRawFrame, framePrefix } from '../wire/frame-splitter.ts'
import { MemoryNetwork } from './memory-transport.ts'
import { createMessenger, type Messenger, MessengerError } from './messenger.ts'
import { eventually, TEST_MESSAGES, type TestMessage } from './testing/test-messages.ts'

const started: Messenger<TestMessage>[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()))
})

interface Peer {
  readonly messenger: Messenger<TestMessage>
  readonly received: { from: string; message: TestMessage }[]
  readonly errors: WireError[]
}

function peer(
  network: MemoryNetwork,
  self: string,
  peers: string[],
  options: { queueLimit?: number; overflow?: 'drop-oldest' | 'drop-newest' } = {},
): Peer {
  const received: Peer['received'] = []
  const errors: WireError[] = []
  const messenger = createMessenger({
    transport: network.transport(self),
    codec: TEST_MESSAGES,
    peers: peers.filter((p) => p !== self),
    backoff: { initialMs: 5, maxMs: 40 },
    onPeerError: (_peer, error) => errors.push(error),
    ...options,
  })
  messenger.on('vote', (message, from) => void received.push({ from, message }))
  messenger.on('note', (message, from) => void received.push({ from, message }))
  started.push(messenger)
  return { messenger, received, errors }
}

const vote = (round: number, value = 1): TestMessage => ({ kind: 'vote', round, value })
const ALL = ['a', 'b', 'c']

describe('messenger (in-memory network)', () => {
  test('send reaches one peer, broadcast every peer, in order, each kind to its handlers', async () => {
    const network = new MemoryNetwork()
    const [a, b, c] = ALL.map((id) => peer(network, id, ALL)) as [Peer, Peer, Peer]
    const votesOnly: TestMessage[] = []
    b.messenger.on('vote', (m) => void votesOnly.push(m))
    await Promise.all([a, b, c].map((p) => p.messenger.start()))
    a.messenger.send('b', vote(1))
    a.messenger.send('b', { kind: 'note', text: 'hello b' })
    a.messenger.broadcast(vote(2))
    await eventually(() => b.received.length === 3 && c.received.length === 1)
    expect(b.received).toEqual([
      { from: 'a', message: vote(1) },
      { from: 'a', message: { kind: 'note', text: 'hello b' } },
      { from: 'a', message: vote(2) },
    ])
    expect(votesOnly).toEqual([vote(1), vote(2)])
    expect(c.received).toEqual([{ from: 'a', message: vote(2) }])
    expect(a.messenger.stats('b')).toMatchObject({
      sent: 3,
      queued: 0,
      dropped: 0,
      connected: true,
    })
  })

  test('a peer that leaves gets what was queued for it once it is back (redial with backoff)', async () => {
    const network = new MemoryNetwork()
    const [a, b] = ['a', 'b'].map((id) => peer(network, id, ['a', 'b'])) as [Peer, Peer]
    await Promise.all([a, b].map((p) => p.messenger.start()))
    a.messenger.send('b', vote(1))
    await eventually(() => b.received.length === 1)
    network.cut('b')
    await eventually(() => !a.messenger.stats('b').connected, 5_000, 'the link to notice')
    for (const round of [2, 3, 4]) a.messenger.send('b', vote(round))
    await new Promise((r) => setTimeout(r, 100)) // several failed redials
    expect(a.messenger.stats('b')).toMatchObject({ queued: 3, connected: false })
    expect(b.received).toHaveLength(1)
    network.restore('b')
    await eventually(() => b.received.length === 4, 5_000, 'the queued votes')
    expect(b.received.map((r) => r.message)).toEqual([vote(1), vote(2), vote(3), vote(4)])
    // And b, whose own streams were cut, reaches a again.
    b.messenger.send('a', vote(9))
    await eventually(() => a.received.length === 1)
  })

  for (const [overflow, kept] of [
    ['drop-oldest', [3, 4, 5]],
    ['drop-newest', [1, 2, 3]],
  ] as const) {
    test(`a full queue ${overflow}: counted, reported, the caller never waits`, async () => {
      const network = new MemoryNetwork()
      const a = peer(network, 'a', ['a', 'b'], { queueLimit: 3, overflow })
      await a.messenger.start() // b is not listening yet: nothing leaves a's queue
      for (const round of [1, 2, 3, 4, 5]) a.messenger.send('b', vote(round))
      expect(a.messenger.stats('b')).toMatchObject({ queued: 3, dropped: 2, sent: 0 })
      const b = peer(network, 'b', ['a', 'b'])
      await b.messenger.start()
      await eventually(() => b.received.length === 3)
      expect(b.received.map((r) => (r.message as { round: number }).round)).toEqual(kept)
    })
  }

  test('a peer sending bad frames loses its stream, typed; nothing else changes', async () => {
    const network = new MemoryNetwork()
    const [a, b] = ['a', 'b'].map((id) => peer(network, id, ['a', 'b', 'mallory'])) as [Peer, Peer]
    await Promise.all([a, b].map((p) => p.messenger.start()))
    const mallory = network.transport('mallory')
    const unknownKind = await mallory.open('a', new AbortController().signal)
    await unknownKind.write(encodeRawFrame(0x7f, new Uint8Array(3)))
    const shortVote = await mallory.open('a', new AbortController().signal)
    await shortVote.write(encodeRawFrame(0x60, new Uint8Array(7)))
    await eventually(() => a.errors.length === 2)
    expect(a.errors.map((e) => [e.name, e.code]).sort()).toEqual([
      ['WireError', 'WIRE_MALFORMED'],
      ['WireError', 'WIRE_UNKNOWN_FRAME'],
    ])
    await expect(unknownKind.write(Uint8Array.of(1))).rejects.toThrow()
    b.messenger.send('a', vote(1))
    await eventually(() => a.received.length === 1)
    // A stream from outside the set is reset unread.
    const stranger = await network.transport('eve').open('a', new AbortController().signal)
    await expect(stranger.write(encodeRawFrame(0x60, new Uint8Array(8)))).rejects.toThrow()
    expect(a.received).toHaveLength(1)
  })

  test('stop() mid-traffic ends every stream; sends after it are refused, typed', async () => {
    const network = new MemoryNetwork()
    const [a, b, c] = ALL.map((id) => peer(network, id, ALL)) as [Peer, Peer, Peer]
    await Promise.all([a, b, c].map((p) => p.messenger.start()))
    let round = 0
    const flood = (async () => {
      while (a.messenger.running) {
        a.messenger.broadcast(vote(++round))
        await new Promise((r) => setTimeout(r, 0))
      }
    })()
    await eventually(() => b.received.length > 20)
    await a.messenger.stop()
    await flood
    expect(() => a.messenger.send('b', vote(0))).toThrow(MessengerError)
    expect(() => a.messenger.broadcast(vote(0))).toThrowError(
      expect.objectContaining({ code: 'MESSENGER_NOT_RUNNING' }),
    )
    const seen = b.received.length
    await new Promise((r) => setTimeout(r, 50))
    expect(b.received.length).toBe(seen)
    // b and c still talk to each other.
    b.messenger.send('c', vote(1000))
    await eventually(() => c.received.some((r) => (r.message as { round: number }).round === 1000))
  })

  test('an unknown peer is refused, typed; an abort signal stops the messenger', async () => {
    const network = new MemoryNetwork()
    const controller = new AbortController()
    const messenger = createMessenger({
      transport: network.transport('a'),
      codec: TEST_MESSAGES,
      peers: ['b'],
      signal: controller.signal,
    })
    started.push(messenger)
    await messenger.start()
    expect(() => messenger.send('z', vote(1))).toThrowError(
      expect.objectContaining({ name: 'MessengerError', code: 'MESSENGER_UNKNOWN_PEER' }),
    )
    controller.abort()
    await eventually(() => !messenger.running)
  })

  test('restarts keep one abort listener; the signal still stops the restarted messenger', async () => {
    const network = new MemoryNetwork()
    const controller = new AbortController()
    const signal = controller.signal
    // Counts the listeners the messenger holds on its signal (the platform does not expose them).
    let listeners = 0
    const add = signal.addEventListener.bind(signal)
    const remove = signal.removeEventListener.bind(signal)
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners++
      add(...args)
    }) as typeof signal.addEventListener
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      listeners--
      remove(...args)
    }) as typeof signal.removeEventListener
    const messenger = createMessenger({
      transport: network.transport('a'),
      codec: TEST_MESSAGES,
      peers: ['b'],
      signal,
    })
    started.push(messenger)
    for (let i = 0; i < 3; i++) {
      await messenger.start()
      await messenger.stop()
    }
    await messenger.start()
    expect(listeners).toBe(1)
    controller.abort()
    await eventually(() => !messenger.running)
  })

  test('hostile bytes from a peer, in any chunks, are only ever a WireError to onPeerError (fuzz)', async () => {
    const network = new MemoryNetwork()
    const [a, b] = ['a', 'b'].map((id) => peer(network, id, ['a', 'b', 'mallory'])) as [Peer, Peer]
    await Promise.all([a, b].map((p) => p.messenger.start()))
    const mallory = network.transport('mallory')
    const frameLike = fc
      .tuple(
        fc.constantFrom(0x60, 0x61, 0x7f, 0),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: -2, max: 2 }),
      )
      .map(([kind, payload, skew]) => [
        framePrefix(kind, Math.max(0, payload.length + skew)),
        payload,
      ])
    await fc.assert(
      fc.asyncProperty(fc.array(frameLike, { maxLength: 6 }), async (parts) => {
        const channel = await mallory.open('a', new AbortController().signal)
        try {
          for (const part of parts.flat()) await channel.write(part)
          await channel.close()
        } catch {
          // a reset by a: the bytes were refused
        }
      }),
      { numRuns: 60 },
    )
    await new Promise((r) => setTimeout(r, 50))
    for (const error of a.errors) expect(error.name).toBe('WireError')
    expect(a.errors.length).toBeGreaterThan(0)
    const before = a.received.filter((r) => r.from === 'b').length
    b.messenger.send('a', vote(1))
    await eventually(() => a.received.filter((r) => r.from === 'b').length === before + 1)
  })
})
