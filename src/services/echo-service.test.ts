/**
 * A second service next to the CDN, with no change to the session host: an echo service (its
 * own id, codec, per-session state and greeting) registered on a real host over in-memory byte
 * channels, opened by the client's generic session (HELLO, then JOIN for a second stream).
 * Its ECHO frame reuses the CDN's REQUEST kind (0x20): each session decodes with its own
 * service's codec. A HELLO for a service the host does not run is refused with TERMINATE 0x84.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, test } from 'vitest'
import { ServiceSession } from '../client/service-session.ts'
import { generateClientKey } from '../crypto/client-key.ts'
import { openSession } from '../handshake/client-handshake.ts'
import { SessionError } from '../handshake/errors.ts'
import { CDN_CODEC } from '../wire/cdn-frames.ts'
import type { FrameCodec } from '../wire/frame-codec.ts'
import { PayloadReader, PayloadWriter } from '../wire/payload.ts'
import { cdnService } from './cdn/cdn-service.ts'
import type { Service } from './service.ts'
import { CDN_SERVICE } from './service-ids.ts'
import { createSessionHost } from './session-host.ts'
import { hostDialer, hostLink } from './testing/host-dialer.ts'

const ECHO_SERVICE = 7
const FRAME_ECHO = 0x20
const NODE_KEY = new Uint8Array(32).fill(3)
const NODE_PEER_ID = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...NODE_KEY])

/** ECHO: seq:u32be text:utf8. The client sends one, the node answers with the same text. */
interface EchoFrame {
  readonly kind: 'echo'
  readonly seq: number
  readonly text: string
}

const utf8 = new TextEncoder()
const echoCodec: FrameCodec<EchoFrame> = {
  accepts: (kind) => kind === FRAME_ECHO,
  maxPayload: 1024,
  decode(_kind, payload) {
    const r = new PayloadReader(payload, 'ECHO')
    const seq = r.u32('seq')
    return { kind: 'echo', seq, text: r.utf8(r.remaining, 'text') }
  },
  encode: (f) => {
    const text = utf8.encode(f.text)
    return new PayloadWriter(4 + text.length).u32(f.seq).raw(text).frame(FRAME_ECHO)
  },
}

/** Per session: how many frames it echoed, over all its streams. */
interface EchoState {
  echoed: number
  readonly session: bigint
}

const echoService: Service<EchoState, EchoFrame> = {
  id: ECHO_SERVICE,
  name: 'echo',
  codec: echoCodec,
  createState: (info) => ({ echoed: 0, session: info.id }),
  greeting: () => utf8.encode('echo v1'),
  async serve(stream, signal) {
    const state = stream.session.state
    try {
      for await (const frame of stream.frames) {
        if (signal.aborted) break
        state.echoed++
        await stream.send({ kind: 'echo', seq: frame.seq, text: `${frame.text} #${state.echoed}` })
      }
      await stream.close()
    } catch {
      // The client went away: nothing to answer.
    } finally {
      stream.release()
    }
  },
}

function host() {
  const refused: string[] = []
  const h = createSessionHost({
    nodePeerId: NODE_PEER_ID,
    config: {
      handshakeTimeoutMs: 2_000,
      maxSessionsPerClient: 4,
      maxStreamsPerSession: 4,
      epochMs: 60_000,
    },
    services: [
      cdnService({ nodeKey: NODE_KEY, ackWindow: 16, serve: async (s) => void (await s.close()) }),
      echoService as Service,
    ],
    hooks: { refused: (code) => refused.push(code) },
  })
  const node = { peerIdBytes: NODE_PEER_ID, publicKey: NODE_KEY }
  const link = hostLink(h, node)
  const dialer = hostDialer(h, node)
  return { h, dialer, link, refused }
}

async function next<F>(frames: AsyncGenerator<F>): Promise<F> {
  const r = await frames.next()
  if (r.done) throw new Error('the stream ended')
  return r.value
}

describe('a second service on the session host', () => {
  test('the echo service is served next to the CDN; its session spans a HELLO and a JOIN', async () => {
    const { h, dialer, link } = host()
    const key = generateClientKey()
    const { session, stream } = await ServiceSession.open(
      dialer,
      multiaddr('/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWnode'),
      { kind: 'echo', seq: 1, text: 'hello' },
      { key, service: ECHO_SERVICE, codec: echoCodec, handshakeTimeoutMs: 2_000 },
    )
    expect(new TextDecoder().decode(stream.greeting)).toBe('echo v1')
    expect(await next(stream.frames)).toEqual({ kind: 'echo', seq: 1, text: 'hello #1' })

    // A second stream while the first is busy: a JOIN to the same session and its state.
    const second = await session.stream({ kind: 'echo', seq: 2, text: 'again' })
    expect(second).not.toBe(stream)
    expect(second.session).toBe(stream.session)
    expect(await next(second.frames)).toEqual({ kind: 'echo', seq: 2, text: 'again #2' })
    const [held] = h.table.sessionsOf(key.publicKey)
    expect(held?.service).toBe(ECHO_SERVICE)
    expect((held!.state as EchoState).echoed).toBe(2)

    // Released and reused: the next use goes on the idle stream, no new JOIN.
    session.release(second, true)
    expect(await session.stream({ kind: 'echo', seq: 3, text: 'idle' })).toBe(second)
    expect(await next(second.frames)).toEqual({ kind: 'echo', seq: 3, text: 'idle #3' })

    // The CDN still runs beside it, with its own greeting.
    const cdn = await openSession(await link.openStream(), {
      key,
      service: CDN_SERVICE,
      codec: CDN_CODEC['to-client'],
      nodePeerId: NODE_PEER_ID,
      timeoutMs: 2_000,
    })
    expect(cdn.greeting.length).toBe(6)
    await session.close()
    await h.stop()
  })

  test('a HELLO for a service the host does not run is refused with TERMINATE 0x84', async () => {
    const { h, dialer, refused } = host()
    const error = await ServiceSession.open(
      dialer,
      multiaddr('/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWnode'),
      { kind: 'echo', seq: 1, text: 'anyone?' },
      { key: generateClientKey(), service: 8, codec: echoCodec, handshakeTimeoutMs: 2_000 },
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionError)
    expect((error as SessionError).code).toBe('SESSION_INVALID_SERVICE')
    expect((error as SessionError).reason).toBe(0x84)
    await expect.poll(() => refused).toEqual(['SESSION_INVALID_SERVICE'])
    expect(h.table.size).toBe(0)
    await h.stop()
  })
})
