/**
 * Unpaid service is bounded per session, across streams: the session host and the CDN server
 * over in-memory channels, against a hand-rolled client that commits but never reveals. It
 * used to take a whole 48-block file by aborting each body after a window of 16 blocks and
 * resuming on a joined stream of the same session (every abort wrote the window off). Now it
 * gets one window; an honest client that aborts and fetches again on the session still does.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { beforeAll, describe, expect, test } from 'vitest'
import type { Claim } from '../../acks/claim.ts'
import { SessionAcks } from '../../acks/client-acks.ts'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { ready } from '../../b3/engine.ts'
import { seededContent } from '../../b3/testing/content.ts'
import type { HashTree } from '../../b3/tree.ts'
import { IncrementalVerifier } from '../../b3/verifier.ts'
import { generateClientKey } from '../../crypto/client-key.ts'
import { type ClientStream, joinSession, openSession } from '../../handshake/client-handshake.ts'
import { SessionError } from '../../handshake/errors.ts'
import { createResolver } from '../../origin/resolver.ts'
import { MemoryBlockStore } from '../../store/memory-block-store.ts'
import { CDN_CODEC, type CdnFrame, decodeCdnGreeting } from '../../wire/cdn-frames.ts'
import { concat } from '../../wire/testing/bytes.ts'
import { channelPair } from '../../wire/testing/channel-pair.ts'
import { CDN_SERVICE } from '../service-ids.ts'
import { createSessionHost } from '../session-host.ts'
import { type CdnSessionState, serveCdnStream } from './cdn-server.ts'
import { cdnService } from './cdn-service.ts'

const WINDOW = 16
const BLOCKS = 48
const NODE_KEY = new Uint8Array(32).map((_, i) => 0x40 + i)
const NODE_PEER_ID = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...NODE_KEY])

const store = new MemoryBlockStore()
const resolver = createResolver({
  store,
  origins: [],
  limits: { maxBytes: 64 * 1024 * 1024, timeoutMs: 1000 },
})
const content = seededContent(BLOCKS * TREE_BLOCK_LEN, 0x5eed)
let tree: HashTree

beforeAll(async () => {
  await ready()
  tree = await store.put(
    (async function* () {
      yield content
    })(),
  )
  expect(tree.blocks).toBe(BLOCKS)
})

/** A node (session host + CDN service) and a way to open a stream to it from one peer. */
function node() {
  const claims: Claim[] = []
  const host = createSessionHost({
    nodePeerId: NODE_PEER_ID,
    config: {
      handshakeTimeoutMs: 2_000,
      maxSessionsPerClient: 4,
      maxStreamsPerSession: 8,
      epochMs: 3_600_000,
    },
    services: [
      cdnService({
        nodeKey: NODE_KEY,
        ackWindow: WINDOW,
        serve: (stream, signal) =>
          serveCdnStream(
            stream,
            // A short acknowledgement timeout: a held-back stream ends soon (no timing asserted).
            {
              resolver,
              store,
              claims: { put: async (c) => void claims.push(c) },
              ackTimeoutMs: 300,
            },
            signal,
          ),
      }),
    ],
  })
  const channel = () => {
    const [client, nodeEnd] = channelPair({ peers: ['node', 'client-peer'] })
    void host.handle(nodeEnd)
    return client
  }
  return { host, claims, channel }
}

const request = (resumeBlock: number) => ({
  kind: 'request' as const,
  pointer: `blake3:${bytesToHex(tree.root)}`,
  ...(resumeBlock === 0 ? {} : { resumeBlock }),
})

/**
 * Reads one body on `stream` into `verifier` until `stopAfter` blocks arrived (then aborts the
 * stream, as a client giving up on a body does), the content is complete (then closes it) or
 * the stream ends. `verified` is told of each
 * block. Returns the blocks and how the stream ended.
 */
async function readBody(
  stream: ClientStream<CdnFrame>,
  verifier: IncrementalVerifier,
  stopAfter: number,
  verified: () => Promise<void> = async () => {},
): Promise<{ blocks: Uint8Array[]; ended: unknown }> {
  const blocks: Uint8Array[] = []
  try {
    for await (const frame of stream.frames) {
      if (frame.kind === 'proof') verifier.feedProof(frame.bytes)
      else if (frame.kind === 'data') {
        verifier.feedBlock(frame.bytes)
        blocks.push(frame.bytes)
        await verified()
        if (verifier.isDone()) {
          await stream.close()
          return { blocks, ended: 'done' }
        }
        if (blocks.length === stopAfter) {
          stream.abort(new Error('the client gave up on this body'))
          return { blocks, ended: 'aborted' }
        }
      } else if (frame.kind !== 'header') throw new Error(`a ${frame.kind} frame`)
    }
    return { blocks, ended: 'closed' }
  } catch (error) {
    return { blocks, ended: error }
  }
}

function acksFor(opened: ClientStream<CdnFrame>, key: ReturnType<typeof generateClientKey>) {
  return new SessionAcks({
    key,
    session: opened.session,
    nodeKey: NODE_KEY,
    epoch: opened.challenge.epoch,
    service: CDN_SERVICE,
    window: decodeCdnGreeting(opened.greeting).ackWindow,
    unit: decodeCdnGreeting(opened.greeting).unit,
  })
}

describe('unpaid service across the streams of a session', () => {
  test('abort-and-rejoin by a client that never reveals: one window of blocks, not the file', async () => {
    const { host, claims, channel } = node()
    const key = generateClientKey()
    const first = await openSession(channel(), {
      key,
      service: CDN_SERVICE,
      codec: CDN_CODEC['to-client'],
      nodePeerId: NODE_PEER_ID,
      timeoutMs: 2_000,
    })
    // A valid commitment, so the node has every reason to serve; then never a reveal.
    await first.send(acksFor(first, key).begin())
    await first.send(request(0))
    const verifier = new IncrementalVerifier(tree.root, { length: tree.length })
    let received = (await readBody(first, verifier, WINDOW)).blocks.length
    expect(received).toBe(WINDOW)
    const rejoins: unknown[] = []
    // The trick: abort, join the session on a new stream, resume where the last body stopped.
    for (let attempt = 0; attempt < 3 && received < BLOCKS; attempt++) {
      const joined = await joinSession(channel(), {
        codec: CDN_CODEC['to-client'],
        session: first.session,
        token: first.token,
        timeoutMs: 2_000,
      })
      await joined.send(request(received))
      const { blocks, ended } = await readBody(joined, verifier, WINDOW)
      received += blocks.length
      rejoins.push(ended)
    }
    // Before: 48 blocks, all unpaid. Now: the window, then each rejoined body waits for a
    // reveal that never comes and ends with TERMINATE timeout.
    expect(received).toBe(WINDOW)
    expect(rejoins).toHaveLength(3)
    for (const ended of rejoins) {
      expect(ended).toBeInstanceOf(SessionError)
      expect(ended).toMatchObject({ code: 'SESSION_TIMEOUT' })
    }
    const ledger = (host.table.get(first.session)!.state as CdnSessionState).ledger
    expect(ledger.deliveredUnits).toBe(WINDOW)
    expect(ledger.acknowledgedUnits).toBe(0)
    expect(claims).toEqual([])
    await host.stop()
  })

  test.each([
    { abortAfter: 3, what: 'before its first reveal' },
    { abortAfter: 11, what: 'after a reveal' },
  ])(
    'an honest client that aborts $what fetches the rest on a joined stream once it acknowledges what it verified',
    async ({ abortAfter }) => {
      const { host, claims, channel } = node()
      const key = generateClientKey()
      const first = await openSession(channel(), {
        key,
        service: CDN_SERVICE,
        codec: CDN_CODEC['to-client'],
        nodePeerId: NODE_PEER_ID,
        timeoutMs: 2_000,
      })
      const acks = acksFor(first, key)
      await first.send(acks.begin())
      await first.send(request(0))
      const verifier = new IncrementalVerifier(tree.root, { length: tree.length })
      // Reveals every half window, as Fulmen's client does.
      const before = await readBody(first, verifier, abortAfter, async () => {
        for (const f of acks.verified(1)) await first.send(f)
      })
      expect(before.blocks).toHaveLength(abortAfter)
      const joined = await joinSession(channel(), {
        codec: CDN_CODEC['to-client'],
        session: first.session,
        token: first.token,
        timeoutMs: 2_000,
      })
      await joined.send(request(abortAfter))
      // What it verified on the aborted body and had not yet acknowledged.
      for (const f of acks.flush()) await joined.send(f)
      const rest = await readBody(joined, verifier, BLOCKS, async () => {
        for (const f of acks.verified(1)) await joined.send(f)
      })
      expect(rest.ended).toBe('done')
      expect(verifier.isDone()).toBe(true)
      expect(concat([...before.blocks, ...rest.blocks])).toEqual(content)
      const ledger = (host.table.get(first.session)!.state as CdnSessionState).ledger
      expect(ledger.acknowledgedUnits).toBeGreaterThanOrEqual(BLOCKS - WINDOW / 2)
      expect(claims.length).toBeGreaterThan(0)
      await host.stop()
    },
  )
})
