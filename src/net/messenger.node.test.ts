/**
 * The messenger over real libp2p: three full-node libp2p instances in one process on loopback
 * (WebSockets, Noise, Yamux), peers addressed by id. The in-memory tests (messenger.test.ts)
 * cover the same behaviour in detail; these prove the libp2p transport carries it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { WireError } from '../wire/errors.ts'
import { encodeRawFrame } from '../wire/frame-splitter.ts'
import { libp2pMessageTransport } from './message-transport.ts'
import { createMessenger, type Messenger } from './messenger.ts'
import type { NodeLibp2p } from './node-libp2p.ts'
import { libp2pProtocolDialer } from './protocol-dialer.ts'
import { startLoopbackNode, wsAddressOf } from './testing/loopback-node.ts'
import { eventually, TEST_MESSAGES, type TestMessage } from './testing/test-messages.ts'

const PROTOCOL = '/fulmen/test/messenger/1.0.0'

interface Member {
  readonly libp2p: NodeLibp2p
  readonly id: string
  messenger: Messenger<TestMessage>
  readonly received: { from: string; message: TestMessage }[]
  readonly errors: WireError[]
}

const members: Member[] = []
const addresses = new Map<string, string>()

function messengerOf(member: Omit<Member, 'messenger'>): Messenger<TestMessage> {
  const messenger = createMessenger({
    transport: libp2pMessageTransport({
      libp2p: member.libp2p,
      protocol: PROTOCOL,
      addressOf: (peer) => addresses.get(peer) ?? peer,
    }),
    codec: TEST_MESSAGES,
    peers: [...addresses.keys()].filter((p) => p !== member.id),
    backoff: { initialMs: 20, maxMs: 200 },
    onPeerError: (_peer, error) => member.errors.push(error),
  })
  messenger.on('vote', (message, from) => void member.received.push({ from, message }))
  messenger.on('note', (message, from) => void member.received.push({ from, message }))
  return messenger
}

beforeAll(async () => {
  const nodes = await Promise.all(
    [0, 1, 2].map(async () => {
      return startLoopbackNode()
    }),
  )
  for (const libp2p of nodes) {
    addresses.set(libp2p.peerId.toString(), wsAddressOf(libp2p))
  }
  for (const libp2p of nodes) {
    const base = { libp2p, id: libp2p.peerId.toString(), received: [], errors: [] }
    members.push({ ...base, messenger: messengerOf(base) })
  }
  await Promise.all(members.map((m) => m.messenger.start()))
})

afterAll(async () => {
  await Promise.all(members.map((m) => m.messenger.stop()))
  await Promise.all(members.map((m) => m.libp2p.stop()))
})

const vote = (round: number): TestMessage => ({ kind: 'vote', round, value: 7 })

describe('messenger over libp2p', () => {
  test('send and broadcast reach peers by id, in order', async () => {
    const [a, b, c] = members as [Member, Member, Member]
    a.messenger.send(b.id, { kind: 'note', text: 'to b only' })
    a.messenger.broadcast(vote(1))
    a.messenger.broadcast(vote(2))
    await eventually(() => b.received.length === 3 && c.received.length === 2)
    expect(b.received).toEqual([
      { from: a.id, message: { kind: 'note', text: 'to b only' } },
      { from: a.id, message: vote(1) },
      { from: a.id, message: vote(2) },
    ])
    expect(c.received.map((r) => r.message)).toEqual([vote(1), vote(2)])
  })

  test('a peer whose messenger stops and starts again is redialled and gets the queue', async () => {
    const [a, b] = members as [Member, Member]
    await b.messenger.stop()
    await eventually(() => !a.messenger.stats(b.id).connected, 5_000, 'a to notice')
    b.received.length = 0
    a.messenger.send(b.id, vote(10))
    a.messenger.send(b.id, vote(11))
    b.messenger = messengerOf(b)
    await b.messenger.start()
    await eventually(() => b.received.length === 2, 10_000, 'the queued votes')
    expect(b.received.map((r) => r.message)).toEqual([vote(10), vote(11)])
  })

  test('bad frames on a real stream: typed error, stream reset, the messenger carries on', async () => {
    const [a, b, c] = members as [Member, Member, Member]
    // c's libp2p, but not its messenger: a raw stream of the protocol to a, with garbage.
    const raw = await libp2pProtocolDialer(c.libp2p).open(addresses.get(a.id)!, PROTOCOL)
    await raw.write(encodeRawFrame(0x60, new Uint8Array(3)))
    await eventually(() => a.errors.length === 1)
    expect(a.errors[0]).toMatchObject({ name: 'WireError', code: 'WIRE_MALFORMED' })
    a.received.length = 0
    b.messenger.send(a.id, vote(20))
    c.messenger.send(a.id, vote(21))
    await eventually(() => a.received.length === 2)
  })
})
