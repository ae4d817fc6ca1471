/**
 * The session host over in-memory channels (both runtimes): a session cap refuses new sessions
 * with TERMINATE 0x88 while held ones still JOIN, and the refusal names the cap; a failing peer never makes `handle` reject;
 * `stop()` ends streams that wait for their client's next request.
 */
import { describe, expect, test } from 'vitest'
import { generateClientKey } from '../crypto/client-key.ts'
import { joinSession, openSession } from '../handshake/client-handshake.ts'
import { SessionError } from '../handshake/errors.ts'
import { CDN_CODEC } from '../wire/cdn-frames.ts'
import { channelPair } from '../wire/testing/channel-pair.ts'
import type { CdnStream } from './cdn/cdn-server.ts'
import { cdnService } from './cdn/cdn-service.ts'
import { CDN_SERVICE } from './service-ids.ts'
import { createSessionHost } from './session-host.ts'

type ServeStream = (stream: CdnStream, signal: AbortSignal) => Promise<void>

const NODE_ID = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...new Array(32).fill(7)])
const CONFIG = {
  ackWindow: 16,
  handshakeTimeoutMs: 2_000,
  maxSessionsPerClient: 4,
  maxStreamsPerSession: 4,
  epochMs: 60_000,
}

/** Holds each served stream open until the stream ends or the host stops. */
const holdOpen: ServeStream = async (stream, signal) => {
  const done = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()))
  const ended = (async () => {
    try {
      for await (const _ of stream.frames) {
      }
    } catch {}
  })()
  await Promise.race([done, ended])
}

function host(options: { maxSessions?: number; serve?: ServeStream } = {}) {
  const refused: string[] = []
  const limits: (string | undefined)[] = []
  const h = createSessionHost({
    nodePeerId: NODE_ID,
    config: CONFIG,
    services: [
      cdnService({
        nodeKey: new Uint8Array(32).fill(1),
        ackWindow: CONFIG.ackWindow,
        serve: options.serve ?? holdOpen,
      }),
    ],
    ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
    hooks: {
      refused: (code, _peer, limit) => {
        refused.push(code)
        limits.push(limit)
      },
    },
  })
  const connect = (peer: string) => {
    const [client, node] = channelPair({ peers: ['node', peer] })
    const handled = h.handle(node)
    return { client, handled }
  }
  return { h, refused, limits, connect }
}

const hello = (client: Parameters<typeof openSession>[0], key = generateClientKey()) =>
  openSession(client, {
    key,
    service: CDN_SERVICE,
    codec: CDN_CODEC['to-client'],
    nodePeerId: NODE_ID,
    timeoutMs: 2_000,
  })

describe('session host', () => {
  test('over the session cap a new session is refused (0x88); a held one still JOINs', async () => {
    const { h, refused, limits, connect } = host({ maxSessions: 1 })
    const first = connect('peer-a')
    const session = await hello(first.client)
    const second = connect('peer-b')
    const error = await hello(second.client).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionError)
    expect((error as SessionError).reason).toBe(0x88)
    await second.handled
    expect(refused).toEqual(['SESSION_RESOURCES_UNAVAILABLE'])
    expect(limits).toEqual(['node_sessions'])
    const join = connect('peer-a')
    const joined = await joinSession(join.client, {
      codec: CDN_CODEC['to-client'],
      session: session.session,
      token: session.token,
      timeoutMs: 2_000,
    })
    expect(joined.session).toBe(session.session)
    expect(h.activeSessions).toBe(1)
    await h.stop()
  })

  test('a peer sending garbage: handle resolves, the refusal is counted', async () => {
    const { h, refused, limits, connect } = host()
    const { client, handled } = connect('peer-c')
    await client.write(new Uint8Array([0xff, 0, 0, 0, 4, 1, 2, 3, 4]))
    await expect(handled).resolves.toBeUndefined()
    expect(refused).toHaveLength(1)
    // Not a refusal for load: no cap to name.
    expect(limits).toEqual([undefined])
    await h.stop()
  })

  test('stop() ends a stream that waits for its next request, with TERMINATE shutdown', async () => {
    const { h, connect } = host()
    const { client, handled } = connect('peer-d')
    const session = await hello(client)
    const read = (async () => {
      try {
        for await (const _ of session.frames) {
        }
        return undefined
      } catch (error) {
        return error
      }
    })()
    await h.stop()
    await handled
    const ended = await read
    expect(ended).toBeInstanceOf(SessionError)
    expect((ended as SessionError).reason).toBe(0x89)
  })
})
