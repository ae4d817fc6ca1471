import { describe, expect, test } from 'vitest'
import { type ClientKey, generateClientKey } from '../crypto/client-key.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import {
  CDN_CODEC,
  type CdnFrame,
  decodeCdnGreeting,
  encodeCdnGreeting,
} from '../wire/cdn-frames.ts'
import { framePrefix } from '../wire/frame-splitter.ts'
import {
  decodeSessionFrames,
  encodeSessionFrame,
  FRAME_HELLO,
  type SessionFrame,
} from '../wire/session-frames.ts'
import { channelPair } from '../wire/testing/channel-pair.ts'
import { handshakeMessage } from './challenge.ts'
import {
  type JoinSessionOptions,
  joinSession,
  type OpenSessionOptions,
  openSession,
} from './client-handshake.ts'
import { SessionError, type SessionErrorCode, sessionErrorOf } from './errors.ts'
import { type AcceptSessionOptions, acceptSession, type NodeStream } from './node-handshake.ts'
import { SessionTable, type SessionTableOptions } from './session-table.ts'
import { TerminationReason } from './termination.ts'

const NODE_ID = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...new Array(32).fill(7)])
const OTHER_NODE_ID = Uint8Array.from([
  0x00,
  0x24,
  0x08,
  0x01,
  0x12,
  0x20,
  ...new Array(32).fill(8),
])
const CLIENT_PEER = 'client-peer'
const TTL = 600_000

interface State {
  readonly created: bigint
}

const key = generateClientKey()

/** A node with one table and a fake clock; `connect` opens a stream to it. */
function node(
  tableOptions: Partial<SessionTableOptions<State>> = {},
  nodeOptions: Partial<AcceptSessionOptions<State>> = {},
) {
  const clock = { now: 1_000_000 }
  const table = new SessionTable<State>({
    now: () => clock.now,
    tokenTtlMs: TTL,
    createState: (info) => ({ created: info.id }),
    ...tableOptions,
  })
  const connect = (
    options: {
      peer?: string
      node?: Partial<AcceptSessionOptions<State>>
      /** Backpressure on the in-memory transport. */
      highWaterMark?: number
    } = {},
  ) => {
    const [client, nodeEnd] = channelPair({
      peers: ['node-peer', options.peer ?? CLIENT_PEER],
      ...(options.highWaterMark !== undefined && { highWaterMark: options.highWaterMark }),
    })
    const accepted = acceptSession(nodeEnd, {
      table,
      nodePeerId: NODE_ID,
      services: new Map([[0, CDN_CODEC['to-node']]]),
      greeting: () => encodeCdnGreeting({ ackWindow: 16, unit: 262_144 }),
      epoch: 9n,
      timeoutMs: 1000,
      ...nodeOptions,
      ...options.node,
    })
    // Marked handled now; each test awaits it later.
    accepted.catch(() => {})
    return { client, accepted }
  }
  return { table, clock, connect }
}

/** The CDN's frames ride on the sessions of these tests: any service's would do. */
const codec = CDN_CODEC['to-client']

const open = (client: ByteChannel, options: Partial<OpenSessionOptions<CdnFrame>> = {}) =>
  openSession(client, { key, service: 0, codec, nodePeerId: NODE_ID, timeoutMs: 2000, ...options })

const joinCdn = (client: ByteChannel, options: Omit<JoinSessionOptions<CdnFrame>, 'codec'>) =>
  joinSession(client, { codec, ...options })

/** Both sides failed with `code`: the node decided it, the client heard it in a TERMINATE. */
async function expectRefused(
  client: Promise<unknown>,
  accepted: Promise<unknown>,
  code: SessionErrorCode,
): Promise<void> {
  const [c, n] = await Promise.allSettled([client, accepted])
  expect(c.status).toBe('rejected')
  expect(n.status).toBe('rejected')
  const clientError = (c as PromiseRejectedResult).reason
  const nodeError = (n as PromiseRejectedResult).reason
  expect(clientError).toBeInstanceOf(SessionError)
  expect(nodeError).toBeInstanceOf(SessionError)
  expect({ code: nodeError.code, remote: nodeError.remote }).toEqual({ code, remote: false })
  expect({ code: clientError.code, remote: clientError.remote }).toEqual({ code, remote: true })
}

/** A client that speaks frames by hand. */
function rawClient(channel: ByteChannel) {
  const frames = decodeSessionFrames(channel.source, { accepts: 'to-client' })
  return {
    write: (data: SessionFrame | Uint8Array) =>
      channel.write(data instanceof Uint8Array ? data : encodeSessionFrame(data)),
    async next(): Promise<SessionFrame | undefined> {
      const r = await frames.next()
      return r.done ? undefined : r.value
    },
    /** Reads up to the node's TERMINATE, as a SessionError, and checks nothing follows. */
    async termination(): Promise<SessionError> {
      for (;;) {
        const r = await frames.next()
        if (r.done) throw new Error('stream ended without TERMINATE')
        if (r.value.kind === 'terminate') {
          expect((await frames.next()).done).toBe(true)
          return sessionErrorOf(r.value.reason, r.value.message, { remote: true })
        }
      }
    },
  }
}

/** A raw client's view of the refusal as a promise, like `openSession`'s. */
async function rawRefusal(raw: ReturnType<typeof rawClient>): Promise<never> {
  throw await raw.termination()
}

async function collect(frames: AsyncGenerator<SessionFrame>): Promise<SessionFrame[]> {
  const out: SessionFrame[] = []
  for await (const f of frames) out.push(f)
  return out
}

async function rejection(p: Promise<unknown>): Promise<SessionError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(SessionError)
  return error as SessionError
}

function tap(channel: ByteChannel, writes: Uint8Array[]): ByteChannel {
  return {
    source: channel.source,
    remotePeer: channel.remotePeer,
    write: (b) => {
      writes.push(b.slice())
      return channel.write(b)
    },
    close: () => channel.close(),
    abort: (e) => channel.abort(e),
  }
}

const request: SessionFrame = { kind: 'request', pointer: `blake3:${'ab'.repeat(32)}` }

describe('handshake: sessions that work', () => {
  test('HELLO opens a session; pipelined frames and content flow both ways', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const stream = await open(client, { pipeline: [request] })
    const ns = await accepted
    expect(ns.kind).toBe('primary')
    expect(ns.remotePeer).toBe(CLIENT_PEER)
    expect(ns.session.id).toBe(stream.session)
    expect(ns.session.token).toEqual(stream.token)
    expect(ns.session.clientKey).toEqual(key.publicKey)
    expect(ns.session.state).toEqual({ created: stream.session })
    expect(stream.tokenTtlMs).toBe(TTL)
    expect(stream.challenge).toMatchObject({ epoch: 9n, maxRequest: 4096 })
    // The service's parameters come in SESSION's greeting.
    expect(decodeCdnGreeting(stream.greeting)).toEqual({ ackWindow: 16, unit: 262_144 })
    expect(n.table.size).toBe(1)

    // The REQUEST written behind HELLO is the first frame of the session.
    expect((await ns.frames.next()).value).toEqual(request)
    const reveal: SessionFrame = { kind: 'reveal', seq: 0, index: 1, value: new Uint8Array(32) }
    await stream.send(reveal)
    expect((await ns.frames.next()).value).toEqual(reveal)

    const data: SessionFrame = { kind: 'data', bytes: Uint8Array.of(1, 2, 3) }
    await ns.send(data)
    await ns.send(encodeSessionFrame({ kind: 'error', code: 404, message: 'gone' }))
    await ns.close()
    expect(await collect(stream.frames)).toEqual([
      data,
      { kind: 'error', code: 404, message: 'gone' },
    ])
    await stream.close()
    expect((await ns.frames.next()).done).toBe(true)
    // No stream left: the session waits for a retry until its token expires.
    expect(n.table.size).toBe(1)
    n.clock.now += TTL
    expect(n.table.size).toBe(0)
  })

  test('the handshake and a body work over a transport with backpressure', async () => {
    const n = node()
    const { client, accepted } = n.connect({ highWaterMark: 8 })
    const opening = open(client, { pipeline: [request] })
    const ns = await accepted
    const stream = await opening
    expect((await ns.frames.next()).value).toEqual(request)
    const data: SessionFrame = { kind: 'data', bytes: new Uint8Array(1000).fill(3) }
    const sending = (async () => {
      for (let i = 0; i < 5; i++) await ns.send(data)
      await ns.close()
    })()
    expect(await collect(stream.frames)).toEqual(new Array(5).fill(data))
    await sending
  })

  test('JOIN adds a stream to the session with its token', async () => {
    const n = node()
    const first = n.connect()
    const primary = await open(first.client)
    const ns1 = await first.accepted
    const second = n.connect()
    const joined = await joinCdn(second.client, {
      session: primary.session,
      token: primary.token,
      pipeline: [request],
    })
    const ns2 = await second.accepted
    expect(ns2.kind).toBe('join')
    expect(ns2.session).toBe(ns1.session)
    expect(joined.session).toBe(primary.session)
    expect(joined.challenge.epoch).toBe(9n)
    expect((await ns2.frames.next()).value).toEqual(request)

    // A pipeline built from the challenge waits for it.
    const third = n.connect()
    await joinCdn(third.client, {
      session: primary.session,
      token: primary.token,
      pipeline: (challenge) => [{ ...request, pointer: `epoch ${challenge.epoch}` }],
    })
    expect((await (await third.accepted).frames.next()).value).toEqual({
      kind: 'request',
      pointer: 'epoch 9',
    })
  })

  test('a retry after the primary stream ends takes the session over, state included', async () => {
    const n = node()
    const first = n.connect()
    const primary = await open(first.client)
    const ns1 = await first.accepted
    ns1.release()
    // The client's connection dropped; it comes back from a new one.
    const again = n.connect({ peer: 'client-peer-2' })
    const retried = await open(again.client, { retry: primary.session })
    const ns2 = await again.accepted
    expect(ns2.kind).toBe('retry')
    expect(retried.session).toBe(primary.session)
    expect(retried.token).toEqual(primary.token)
    expect(ns2.session.state).toBe(ns1.session.state)
    expect(n.table.size).toBe(1)
    // JOINs now come from the new connection.
    const join = n.connect({ peer: 'client-peer-2' })
    await joinCdn(join.client, { session: primary.session, token: primary.token })
    expect((await join.accepted).kind).toBe('join')
  })

  test('the client may end the stream after the handshake with TERMINATE', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const stream = await open(client)
    const ns = await accepted
    await stream.terminate(TerminationReason.INVALID_ACK, 'not what I asked for')
    const error = await rejection(ns.frames.next())
    expect({ code: error.code, remote: error.remote }).toEqual({
      code: 'SESSION_INVALID_ACK',
      remote: true,
    })
    expect(error.message).toContain('not what I asked for')
  })

  test('the node ends a stream with TERMINATE: the client reads it from frames', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const stream = await open(client)
    const ns = await accepted
    await ns.send({ kind: 'proof', bytes: new Uint8Array(0) })
    await ns.terminate(TerminationReason.SHUTDOWN, 'stopping')
    expect((await stream.frames.next()).value).toEqual({ kind: 'proof', bytes: new Uint8Array(0) })
    const error = await rejection(stream.frames.next())
    expect(error.code).toBe('SESSION_SHUTDOWN')
    expect(error.reason).toBe(0x89)
    // Terminated and released: the session's primary stream is gone, so it can be retried.
    const again = n.connect()
    await open(again.client, { retry: stream.session })
    expect((await again.accepted).kind).toBe('retry')
  })

  test('a bad frame after the handshake ends the stream on both sides (0x8b, 0x8a)', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const stream = await open(client)
    const ns = await accepted
    // A JOIN once the session is open is out of order.
    await stream.send(encodeSessionFrame({ kind: 'join', session: 1n, token: new Uint8Array(32) }))
    const nodeError = await rejection(ns.frames.next())
    expect(nodeError.code).toBe('SESSION_MALFORMED_FRAME')
    const clientError = await rejection(stream.frames.next())
    expect({ code: clientError.code, remote: clientError.remote }).toEqual({
      code: 'SESSION_MALFORMED_FRAME',
      remote: true,
    })

    const second = n.connect()
    const s2 = await open(second.client, { retry: stream.session })
    const ns2 = await second.accepted
    await s2.send(framePrefix(0x20, 4097))
    expect((await rejection(ns2.frames.next())).code).toBe('SESSION_FRAME_TOO_LARGE')
    expect((await rejection(s2.frames.next())).code).toBe('SESSION_FRAME_TOO_LARGE')
  })

  test("the client refuses to send a frame over the node's maxRequest", async () => {
    const n = node({}, { maxRequest: 200 })
    const { client, accepted } = n.connect()
    const stream = await open(client)
    await accepted
    await expect(stream.send({ kind: 'request', pointer: 'a'.repeat(300) })).rejects.toThrow(
      RangeError,
    )
    await expect(
      stream.send({ kind: 'request', pointer: 'a'.repeat(100) }),
    ).resolves.toBeUndefined()
  })
})

describe('handshake: abuse is refused on both sides', () => {
  test('a bad signature (0x81)', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const forger: ClientKey = {
      publicKey: key.publicKey,
      sign: (m) => {
        const s = key.sign(m)
        s[40]! ^= 1
        return s
      },
    }
    await expectRefused(open(client, { key: forger }), accepted, 'SESSION_INVALID_HANDSHAKE')
    expect(n.table.size).toBe(0)
  })

  test('a garbage key (0x81)', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const garbage: ClientKey = { publicKey: new Uint8Array(32).fill(0xff), sign: key.sign }
    await expectRefused(open(client, { key: garbage }), accepted, 'SESSION_INVALID_HANDSHAKE')
    expect(n.table.size).toBe(0)
  })

  test('a signature over another (stale) challenge (0x81)', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const stale = handshakeMessage({
      nonce: new Uint8Array(32).fill(1),
      service: 0,
      retry: 0n,
      nodePeerId: NODE_ID,
    })
    const replayer: ClientKey = { publicKey: key.publicKey, sign: () => key.sign(stale) }
    await expectRefused(open(client, { key: replayer }), accepted, 'SESSION_INVALID_HANDSHAKE')
    expect(n.table.size).toBe(0)
  })

  test('a HELLO replayed on a new stream (0x81)', async () => {
    const n = node()
    const first = n.connect()
    const writes: Uint8Array[] = []
    await open(tap(first.client, writes))
    await first.accepted
    const hello = writes[0]!
    expect(hello[0]).toBe(FRAME_HELLO)

    const second = n.connect()
    const raw = rawClient(second.client)
    expect((await raw.next())?.kind).toBe('challenge')
    await raw.write(hello)
    await expectRefused(rawRefusal(raw), second.accepted, 'SESSION_INVALID_HANDSHAKE')
    expect(n.table.size).toBe(1)
  })

  test('a signature for another node (0x81)', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    await expectRefused(
      open(client, { nodePeerId: OTHER_NODE_ID }),
      accepted,
      'SESSION_INVALID_HANDSHAKE',
    )
    expect(n.table.size).toBe(0)
  })

  test('a retry of an unknown session, or of another key (0x81)', async () => {
    const n = node()
    const a = n.connect()
    await expectRefused(open(a.client, { retry: 12345n }), a.accepted, 'SESSION_INVALID_HANDSHAKE')
    const b = n.connect()
    const primary = await open(b.client)
    ;(await b.accepted).release()
    const c = n.connect()
    const other = generateClientKey()
    await expectRefused(
      open(c.client, { key: other, retry: primary.session }),
      c.accepted,
      'SESSION_INVALID_HANDSHAKE',
    )
  })

  test('an unknown service (0x84)', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    await expectRefused(open(client, { service: 7 }), accepted, 'SESSION_INVALID_SERVICE')
    expect(n.table.size).toBe(0)
  })

  test('an oversized frame, cut off at its prefix (0x8a)', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const raw = rawClient(client)
    expect((await raw.next())?.kind).toBe('challenge')
    await raw.write(framePrefix(FRAME_HELLO, 4097))
    await expectRefused(rawRefusal(raw), accepted, 'SESSION_FRAME_TOO_LARGE')

    // An honest client meets a node whose maxRequest is below HELLO's size.
    const small = n.connect({ node: { maxRequest: 64 } })
    await expectRefused(open(small.client), small.accepted, 'SESSION_FRAME_TOO_LARGE')
    expect(n.table.size).toBe(0)
  })

  test('garbage, a wrong-size HELLO, or a frame out of order (0x8b)', async () => {
    const n = node()
    const garbage = [
      Uint8Array.of(0x77, 0, 0, 0, 1, 0),
      Uint8Array.of(FRAME_HELLO, 0, 0, 0, 3, 1, 2, 3),
      encodeSessionFrame({ kind: 'reveal', seq: 0, index: 0, value: new Uint8Array(32) }),
    ]
    for (const bytes of garbage) {
      const { client, accepted } = n.connect()
      const raw = rawClient(client)
      expect((await raw.next())?.kind).toBe('challenge')
      await raw.write(bytes)
      await expectRefused(rawRefusal(raw), accepted, 'SESSION_MALFORMED_FRAME')
    }
    expect(n.table.size).toBe(0)
  })

  test('no HELLO within the timeout (0x80)', async () => {
    const n = node({}, { timeoutMs: 30 })
    const { client, accepted } = n.connect()
    const raw = rawClient(client)
    expect((await raw.next())?.kind).toBe('challenge')
    await expectRefused(rawRefusal(raw), accepted, 'SESSION_TIMEOUT')
  })

  test('JOIN with a wrong token, an unknown session, an expired token, or from another peer (0x82)', async () => {
    const n = node()
    const first = n.connect()
    const primary = await open(first.client)
    await first.accepted

    const wrong = n.connect()
    const token = primary.token.slice()
    token[31]! ^= 1
    await expectRefused(
      joinCdn(wrong.client, { session: primary.session, token }),
      wrong.accepted,
      'SESSION_INVALID_TOKEN',
    )
    const unknown = n.connect()
    await expectRefused(
      joinCdn(unknown.client, { session: primary.session ^ 1n, token: primary.token }),
      unknown.accepted,
      'SESSION_INVALID_TOKEN',
    )
    // Another client that learnt the token cannot use it from its own connection.
    const thief = n.connect({ peer: 'thief' })
    await expectRefused(
      joinCdn(thief.client, { session: primary.session, token: primary.token }),
      thief.accepted,
      'SESSION_INVALID_TOKEN',
    )
    n.clock.now += TTL
    const late = n.connect()
    await expectRefused(
      joinCdn(late.client, { session: primary.session, token: primary.token }),
      late.accepted,
      'SESSION_INVALID_TOKEN',
    )
    // The session itself lives on with its primary stream.
    expect(n.table.size).toBe(1)
    expect(n.table.get(primary.session)).toBeDefined()
  })

  test('too many sessions for one client key (0x88)', async () => {
    const n = node({ maxSessionsPerClient: 2 })
    for (let i = 0; i < 2; i++) {
      const { client, accepted } = n.connect()
      await open(client)
      await accepted
    }
    const { client, accepted } = n.connect()
    await expectRefused(open(client), accepted, 'SESSION_RESOURCES_UNAVAILABLE')
    expect(n.table.size).toBe(2)
    expect(n.table.sessionsOf(key.publicKey)).toHaveLength(2)
    // Another key is not held back by this one.
    const other = n.connect()
    await open(other.client, { key: generateClientKey() })
    expect(n.table.size).toBe(3)
  })

  test('too many streams for one session (0x88)', async () => {
    const n = node({ maxStreamsPerSession: 2 })
    const first = n.connect()
    const primary = await open(first.client)
    await first.accepted
    const second = n.connect()
    await joinCdn(second.client, { session: primary.session, token: primary.token })
    const ns2: NodeStream<State> = await second.accepted
    const third = n.connect()
    await expectRefused(
      joinCdn(third.client, { session: primary.session, token: primary.token }),
      third.accepted,
      'SESSION_RESOURCES_UNAVAILABLE',
    )
    // A stream that ends frees its place.
    await ns2.close()
    const fourth = n.connect()
    await joinCdn(fourth.client, { session: primary.session, token: primary.token })
    expect((await fourth.accepted).kind).toBe('join')
  })

  test('a retry while the primary stream is alive (0x86)', async () => {
    const n = node()
    const first = n.connect()
    const primary = await open(first.client)
    await first.accepted
    const second = n.connect()
    await expectRefused(
      open(second.client, { retry: primary.session }),
      second.accepted,
      'SESSION_CONNECTION_IN_USE',
    )
    expect(n.table.size).toBe(1)
  })

  test('an expired idle session cannot be retried (0x81) and leaves the table', async () => {
    const n = node()
    const first = n.connect()
    const primary = await open(first.client)
    ;(await first.accepted).release()
    n.clock.now += TTL
    const again = n.connect()
    await expectRefused(
      open(again.client, { retry: primary.session }),
      again.accepted,
      'SESSION_INVALID_HANDSHAKE',
    )
    expect(n.table.size).toBe(0)
  })
})

describe('handshake: endings without a reason from the node', () => {
  test('a node that never answers: the client times out and says so (0x80)', async () => {
    const [client, nodeEnd] = channelPair()
    const error = await rejection(open(client, { timeoutMs: 30 }))
    expect({ code: error.code, remote: error.remote }).toEqual({
      code: 'SESSION_TIMEOUT',
      remote: false,
    })
    const frames = await collect(decodeSessionFrames(nodeEnd.source, { accepts: 'to-node' }))
    expect(frames).toEqual([{ kind: 'terminate', reason: 0x80, message: error.message }])
  })

  test('the node stopping mid-handshake: TERMINATE shutdown (0x89)', async () => {
    const stop = new AbortController()
    const n = node({}, { signal: stop.signal })
    const { client, accepted } = n.connect()
    const raw = rawClient(client)
    expect((await raw.next())?.kind).toBe('challenge')
    stop.abort()
    const nodeError = await rejection(accepted)
    expect({ code: nodeError.code, reason: nodeError.reason }).toEqual({
      code: 'SESSION_ABORTED',
      reason: 0x89,
    })
    expect((await raw.termination()).code).toBe('SESSION_SHUTDOWN')
  })

  test('a client that aborts: the client rejects SESSION_ABORTED, the node SESSION_CLOSED', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const stop = new AbortController()
    stop.abort()
    expect((await rejection(open(client, { signal: stop.signal }))).code).toBe('SESSION_ABORTED')
    expect((await rejection(accepted)).code).toBe('SESSION_CLOSED')
  })

  test('a stream reset mid-handshake: SESSION_CLOSED, and nothing in the table', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    const raw = rawClient(client)
    expect((await raw.next())?.kind).toBe('challenge')
    client.abort(new Error('connection lost'))
    const error = await rejection(accepted)
    expect({ code: error.code, reason: error.reason }).toEqual({
      code: 'SESSION_CLOSED',
      reason: undefined,
    })
    expect(n.table.size).toBe(0)
  })

  test('a stream closed before HELLO: SESSION_CLOSED', async () => {
    const n = node()
    const { client, accepted } = n.connect()
    await client.close()
    expect((await rejection(accepted)).code).toBe('SESSION_CLOSED')
    expect(n.table.size).toBe(0)
  })

  test('a node that sends content before SESSION is out of order (0x8b)', async () => {
    const [client, nodeEnd] = channelPair()
    const opening = open(client)
    opening.catch(() => {})
    await nodeEnd.write(
      encodeSessionFrame({
        kind: 'challenge',
        nonce: new Uint8Array(32),
        epoch: 1n,
        maxRequest: 4096,
        maxStreams: 8,
        maxSessions: 16,
      }),
    )
    await nodeEnd.write(encodeSessionFrame({ kind: 'data', bytes: Uint8Array.of(1) }))
    const error = await rejection(opening)
    expect({ code: error.code, remote: error.remote }).toEqual({
      code: 'SESSION_MALFORMED_FRAME',
      remote: false,
    })
    const frames = await collect(decodeSessionFrames(nodeEnd.source, { accepts: 'to-node' }))
    expect(frames.map((f) => f.kind)).toEqual(['hello', 'terminate'])
    expect(frames[1]).toMatchObject({ reason: 0x8b })
  })
})

describe('session table', () => {
  test('ids are nonzero and distinct; delete and closeAll report removals', () => {
    const removed: bigint[] = []
    const table = new SessionTable<null>({
      createState: () => null,
      onRemove: (s) => removed.push(s.id),
    })
    const leases = Array.from({ length: 16 }, (_, i) =>
      table.open({ clientKey: Uint8Array.of(i), remotePeer: 'p', service: 0 }),
    )
    const ids = new Set(leases.map((l) => l.session.id))
    expect(ids.size).toBe(16)
    expect(ids.has(0n)).toBe(false)
    expect(table.delete(leases[0]!.session.id)).toBe(true)
    expect(table.delete(leases[0]!.session.id)).toBe(false)
    leases[0]!.release() // a lease of a removed session is a no-op
    expect(table.size).toBe(15)
    table.closeAll()
    expect(table.size).toBe(0)
    expect(removed).toHaveLength(16)
  })

  test('a released session stays for retry until its token expires', () => {
    let now = 0
    const table = new SessionTable<null>({
      createState: () => null,
      now: () => now,
      tokenTtlMs: 100,
    })
    const lease = table.open({ clientKey: Uint8Array.of(1), remotePeer: 'p', service: 0 })
    const join = table.join({
      session: lease.session.id,
      token: lease.session.token,
      remotePeer: 'p',
    })
    lease.release()
    lease.release()
    now = 150
    // A joined stream keeps the session alive past its token's TTL, but no one can join.
    expect(table.get(lease.session.id)).toBeDefined()
    expect(() =>
      table.join({ session: lease.session.id, token: lease.session.token, remotePeer: 'p' }),
    ).toThrow(SessionError)
    join.release()
    expect(table.size).toBe(0)
  })
})
