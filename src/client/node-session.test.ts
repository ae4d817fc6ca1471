/**
 * The client's NodeSession against the real session host and CDN service over in-memory
 * channels (both sides' code, no network): the stream queue within the node's advertised
 * `maxStreams`, and acknowledgements from several streams at once (issue 23). Before, two
 * streams whose first blocks verified together threw `begin() must come before
 * acknowledgements`, and a ninth request on a session drew SESSION_RESOURCES_UNAVAILABLE.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { bytesToHex } from '@noble/hashes/utils.js'
import { beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { ready } from '../b3/engine.ts'
import { seededContent } from '../b3/testing/content.ts'
import type { HashTree } from '../b3/tree.ts'
import { generateClientKey } from '../crypto/client-key.ts'
import { createResolver } from '../origin/resolver.ts'
import { type CdnSessionState, serveCdnStream } from '../services/cdn/cdn-server.ts'
import { cdnService } from '../services/cdn/cdn-service.ts'
import { createSessionHost } from '../services/session-host.ts'
import { hostDialer } from '../services/testing/host-dialer.ts'
import { MemoryBlockStore } from '../store/memory-block-store.ts'
import type { CdnFrame } from '../wire/cdn-frames.ts'
import { type CdnClientStream, NodeSession } from './node-session.ts'

const NODE_KEY = new Uint8Array(32).map((_, i) => 0x40 + i)
const NODE_PEER_ID = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...NODE_KEY])
const ADDRESS = multiaddr('/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWnode')
const STREAMS = 3

const store = new MemoryBlockStore()
const resolver = createResolver({
  store,
  origins: [],
  limits: { maxBytes: 64 * 1024 * 1024, timeoutMs: 1000 },
})
const content = seededContent(6 * TREE_BLOCK_LEN, 0x5eed)
let tree: HashTree

beforeAll(async () => {
  await ready()
  tree = await store.put(
    (async function* () {
      yield content
    })(),
  )
})

/** A node (session host + CDN service) and a dialer whose links reach it in memory. */
function node() {
  const claims: number[] = []
  const host = createSessionHost({
    nodePeerId: NODE_PEER_ID,
    config: {
      handshakeTimeoutMs: 2_000,
      maxSessionsPerClient: 4,
      maxStreamsPerSession: STREAMS,
      epochMs: 60_000,
    },
    services: [
      cdnService({
        nodeKey: NODE_KEY,
        ackWindow: 4,
        serve: (stream, signal) =>
          serveCdnStream(
            stream,
            {
              resolver,
              store,
              claims: { put: async (claim) => void claims.push(claim.index) },
              ackTimeoutMs: 5_000,
            },
            signal,
          ),
      }),
    ],
  })
  const dialer = hostDialer(host, { peerIdBytes: NODE_PEER_ID, publicKey: NODE_KEY })
  const ledger = () => {
    const [session] = host.table.sessionsOf(key.publicKey)
    return (session!.state as CdnSessionState).ledger
  }
  return { host, dialer, claims, ledger }
}

const key = generateClientKey()
const request: CdnFrame = {
  kind: 'request',
  pointer: `blake3:${bytesToHex(new Uint8Array(32))}`,
}
const whole = (): CdnFrame => ({ kind: 'request', pointer: `blake3:${bytesToHex(tree.root)}` })

async function nextFrame(stream: CdnClientStream): Promise<CdnFrame> {
  const next = await stream.frames.next()
  if (next.done) throw new Error('the stream ended')
  return next.value
}

/** Reads a body's header and its first block (PROOF, DATA). */
async function firstBlock(stream: CdnClientStream): Promise<void> {
  expect((await nextFrame(stream)).kind).toBe('header')
  expect((await nextFrame(stream)).kind).toBe('proof')
  expect((await nextFrame(stream)).kind).toBe('data')
}

describe('NodeSession', () => {
  test('streams within the advertised maxStreams; the rest wait in order', async () => {
    const n = node()
    const { session, stream: first } = await NodeSession.open(n.dialer, ADDRESS, request, {
      key,
      handshakeTimeoutMs: 2_000,
    })
    expect(session.maxStreams).toBe(STREAMS)
    // An unknown root: each request is answered with one ERROR frame.
    const streams = [first, ...(await Promise.all([1, 2].map(() => session.request(request))))]
    for (const s of streams) expect((await nextFrame(s)).kind).toBe('error')
    const order: number[] = []
    const waiting = [3, 4, 5].map((i) =>
      session.request(request).then((s) => {
        order.push(i)
        return s
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(order).toEqual([])
    // A stream whose answer ended cleanly goes to the first waiter; a dropped one frees a slot.
    session.release(streams[0]!, true)
    session.release(streams[1]!, false)
    const [third, fourth] = await Promise.all(waiting.slice(0, 2))
    expect(order).toEqual([3, 4])
    for (const s of [third!, fourth!]) expect((await nextFrame(s)).kind).toBe('error')
    session.release(third!, true)
    const fifth = await waiting[2]!
    expect(order).toEqual([3, 4, 5])
    expect((await nextFrame(fifth)).kind).toBe('error')
    await session.close()
    await n.host.stop()
  })

  test('a waiter whose signal aborts leaves the queue', async () => {
    const n = node()
    const { session } = await NodeSession.open(n.dialer, ADDRESS, request, {
      key,
      handshakeTimeoutMs: 2_000,
    })
    const held = await Promise.all([1, 2].map(() => session.request(request)))
    const controller = new AbortController()
    const aborted = session.request(request, controller.signal)
    const next = session.request(request)
    controller.abort(new Error('gone'))
    await expect(aborted).rejects.toThrow('gone')
    session.release(held[0]!, false)
    await expect(next).resolves.toBeDefined()
    await session.close()
    await n.host.stop()
  })

  test('two streams verify their first blocks at once: one commitment, both acknowledged', async () => {
    const n = node()
    const { session, stream: a } = await NodeSession.open(n.dialer, ADDRESS, whole(), {
      key,
      handshakeTimeoutMs: 2_000,
    })
    const b = await session.request(whole())
    await Promise.all([firstBlock(a), firstBlock(b)])
    await Promise.all([session.verified(a), session.verified(b)])
    await Promise.all([session.flush(a), session.flush(b)])
    expect(session.ackCounters).toMatchObject({
      verifiedUnits: 2,
      acknowledgedUnits: 2,
      commitments: 1,
    })
    // The node got both, whichever stream it read first.
    for (let i = 0; i < 100 && n.ledger().acknowledgedUnits < 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 10))
    expect(n.ledger().acknowledgedUnits).toBe(2)
    expect(n.ledger().commitments).toBe(1)
    await session.close()
    await n.host.stop()
  })

  test("the node keeps the session's window across streams: room for one block lets one out", async () => {
    const n = node()
    const { session, stream: a } = await NodeSession.open(n.dialer, ADDRESS, whole(), {
      key,
      handshakeTimeoutMs: 2_000,
    })
    const b = await session.request(whole())
    // Both streams read what the node sends, acknowledging nothing: the window (4) fills.
    let data = 0
    const drain = (s: CdnClientStream) =>
      (async () => {
        try {
          for await (const f of s.frames) if (f.kind === 'data') data++
        } catch {}
      })()
    const reading = [drain(a), drain(b)]
    const settled = async () => {
      for (let last = -1; last !== data; ) {
        last = data
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    await settled()
    expect(data).toBe(4)
    // One unit acknowledged wakes both waiting streams; only one block may go.
    await session.verified(a)
    await session.flush(a)
    await settled()
    expect(data).toBe(5)
    await session.close()
    await n.host.stop()
    await Promise.all(reading)
  })
})

describe('a body dropped before the session verified a block', () => {
  test('retires the session: its window stays held by the written-off blocks, a fresh one serves', async () => {
    const n = node()
    const { session, stream: a } = await NodeSession.open(n.dialer, ADDRESS, whole(), {
      key,
      handshakeTimeoutMs: 2_000,
    })
    // The node sends its window (4 blocks) of a body the client never verifies (a header under
    // another root, say), then the client drops it.
    let data = 0
    const reading = (async () => {
      for await (const frame of a.frames) if (frame.kind === 'data') data++
    })().catch(() => {})
    for (let i = 0; i < 200 && data < 4; i++) await new Promise((r) => setTimeout(r, 10))
    expect(data).toBe(4)
    session.retireIfUnpaid()
    session.release(a, false)
    await reading
    expect(session.isRetired).toBe(true)
    expect(session.isOpen).toBe(false)
    // Why: nothing acknowledged, nothing forgiven, so the node could not send that session a block.
    expect(n.ledger().deliveredUnits).toBe(4)
    expect(n.ledger().canSend()).toBe(false)
    // A fresh session has a fresh window: its first block comes.
    const fresh = await NodeSession.open(n.dialer, ADDRESS, whole(), {
      key,
      handshakeTimeoutMs: 2_000,
    })
    await firstBlock(fresh.stream)
    await fresh.session.verified(fresh.stream)
    await fresh.session.close()
    await n.host.stop()
  })
})
