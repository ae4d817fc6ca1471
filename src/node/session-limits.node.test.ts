/**
 * A node's load limits over real libp2p, set by `fulmen node start` flags: the node advertises
 * its per-client limits in CHALLENGE, and refuses past each of its four caps with TERMINATE 0x88
 * (SESSION_RESOURCES_UNAVAILABLE), counted in `fulmen_session_refusals_total` by the cap reached
 * and in `fulmen_handshakes_refused_total{code}` as before.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type ClientKey, generateClientKey } from '../crypto/client-key.ts'
import { type NodeProcess, startNode, waitFor, wsAddressOf } from '../devnet/processes.ts'
import { type ClientStream, joinSession, openSession } from '../handshake/client-handshake.ts'
import { SessionError } from '../handshake/errors.ts'
import { TerminationReason } from '../handshake/termination.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import { CDN_CODEC, type CdnFrame } from '../wire/cdn-frames.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { metricsOf, metricValue } from './testing/http.ts'

let dir = ''
let node: NodeProcess
let peer: ClientLibp2p

async function channel() {
  const connection = await peer.dial(multiaddr(wsAddressOf(node)))
  return streamChannel(await connection.newStream(HANDSHAKE_PROTOCOL), node.peerId)
}

async function open(key: ClientKey): Promise<ClientStream<CdnFrame>> {
  return openSession(await channel(), {
    key,
    service: CDN_SERVICE,
    codec: CDN_CODEC['to-client'],
    nodePeerId: peerIdFromString(node.peerId).toMultihash().bytes,
  })
}

async function joinTo(session: ClientStream<CdnFrame>): Promise<ClientStream<CdnFrame>> {
  return joinSession(await channel(), {
    codec: CDN_CODEC['to-client'],
    session: session.session,
    token: session.token,
  })
}

/** The handshake's failure: a TERMINATE 0x88 from the node. */
async function refusedForLoad(handshake: Promise<ClientStream<CdnFrame>>): Promise<void> {
  const error = await handshake.then(
    () => new Error('the node accepted'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(SessionError)
  expect({
    code: (error as SessionError).code,
    reason: (error as SessionError).reason,
    remote: (error as SessionError).remote,
  }).toEqual({
    code: 'SESSION_RESOURCES_UNAVAILABLE',
    reason: TerminationReason.RESOURCES_UNAVAILABLE,
    remote: true,
  })
}

const refusals = async () => {
  const text = await metricsOf(node.url)
  return Object.fromEntries(
    ['sessions_per_client', 'streams_per_session', 'node_sessions', 'node_streams'].map((r) => [
      r,
      metricValue(text, 'fulmen_session_refusals_total', { reason: r }),
    ]),
  )
}

printNodeLogsOnFailure(() => (node === undefined ? [] : [node]))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-limits-'))
  node = await startNode({
    dataDir: join(dir, 'node'),
    env: { XDG_DATA_HOME: join(dir, 'xdg') },
    args: [
      '--max-sessions-per-client',
      '1',
      '--max-streams-per-session',
      '2',
      '--max-sessions',
      '2',
      '--max-streams',
      '3',
    ],
  })
  peer = await createClientLibp2p()
}, 60_000)

afterAll(async () => {
  await peer?.stop()
  await node?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('a node refuses past its limits, and counts each refusal by the limit reached', () => {
  test('per client, per session, node streams, node sessions', async () => {
    const a = generateClientKey()
    const first = await open(a)
    expect(first.challenge).toMatchObject({ maxStreams: 2, maxSessions: 1 })

    await refusedForLoad(open(a))
    expect(await refusals()).toMatchObject({ sessions_per_client: 1 })

    const joined = await joinTo(first)
    await refusedForLoad(joinTo(first))
    expect(await refusals()).toMatchObject({ streams_per_session: 1 })

    // Three streams open on the node (a's two, b's primary): its stream cap.
    const b = await open(generateClientKey())
    await refusedForLoad(open(generateClientKey()))
    expect(await refusals()).toMatchObject({ node_streams: 1 })

    // A stream fewer, but both sessions still have one: the session cap.
    await joined.close()
    await waitFor(
      async () => metricValue(await metricsOf(node.url), 'fulmen_session_streams') === 2,
      'the node to see the joined stream end',
    )
    await refusedForLoad(open(generateClientKey()))

    const text = await metricsOf(node.url)
    expect(await refusals()).toEqual({
      sessions_per_client: 1,
      streams_per_session: 1,
      node_streams: 1,
      node_sessions: 1,
    })
    expect(
      metricValue(text, 'fulmen_handshakes_refused_total', {
        code: 'SESSION_RESOURCES_UNAVAILABLE',
      }),
    ).toBe(4)
    expect(metricValue(text, 'fulmen_sessions')).toBe(2)
    await Promise.allSettled([first.close(), b.close()])
  })
})
