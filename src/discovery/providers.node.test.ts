/**
 * Discovery over real libp2p on loopback WebSockets: a full node in this process, "tabs" played
 * by Node libp2p peers that reserve a slot on the node's circuit relay and announce roots with
 * their circuit address, and a client that asks the node (libp2p and `GET /providers/<id>`).
 * Then the registry alone, for its limits, TTL and address rule.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { bytesToHex } from '@noble/hashes/utils.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { base58btc } from 'multiformats/bases/base58'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { formatContentId } from '../b3/content-id.ts'
import { waitFor } from '../devnet/processes.ts'
import { TerminationReason } from '../handshake/termination.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { PROVIDERS_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import { defaults } from '../node/config.ts'
import { type FullNode, startFullNode } from '../node/full-node.ts'
import { createLogger } from '../node/logger.ts'
import { createMetrics } from '../node/metrics.ts'
import { metricsOf, metricValue, request } from '../node/testing/http.ts'
import { framePrefix } from '../wire/frame-splitter.ts'
import {
  decodeProviderFrames,
  encodeProviderFrame,
  type ProviderFrame,
} from '../wire/provider-frames.ts'
import { announce, queryProviders } from './provider-client.ts'
import { ProviderError, ProviderRegistry } from './provider-registry.ts'
import { startProviderService } from './provider-service.ts'

const rootOf = (n: number) => new Uint8Array(32).fill(n)
const ROOT_A = rootOf(0xa1)
const ROOT_B = rootOf(0xb2)
const ROOT_C = rootOf(0xc3)

let dir = ''
let node: FullNode
let nodeWs = ''
let client: ClientLibp2p

/** A browser tab's stand-in: dials the node over WebSockets and listens through its relay. */
async function startTab(): Promise<{ libp2p: Libp2p; circuit: string }> {
  const libp2p = await createLibp2p({
    addresses: { listen: [`${nodeWs}/p2p-circuit`] },
    transports: [webSockets(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify() },
  })
  const circuit = await waitFor(
    () =>
      libp2p
        .getMultiaddrs()
        .map(String)
        .find((a) => a.includes('/p2p-circuit')),
    'a relay reservation',
  )
  return { libp2p, circuit }
}

/** The frames a raw discovery stream from `client` gets for `bytes`, until the node closes. */
async function rawExchange(bytes: Uint8Array): Promise<ProviderFrame[]> {
  const connection = await client.dial(multiaddr(nodeWs))
  const channel = streamChannel(await connection.newStream(PROVIDERS_PROTOCOL), node.peerId)
  await channel.write(bytes)
  const frames: ProviderFrame[] = []
  for await (const f of decodeProviderFrames(channel.source, { accepts: 'to-client' })) {
    frames.push(f)
    if (f.kind === 'terminate') break
  }
  await channel.close()
  return frames
}

const peersOf = async (root: Uint8Array) =>
  (await queryProviders(client, nodeWs, root)).map((p) => p.peer)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-providers-'))
  node = await startFullNode(
    { ...defaults(), dataDir: dir, httpPort: 0, wsPort: 0, webrtcPort: 0, logLevel: 'silent' },
    { logger: createLogger('silent') },
  )
  nodeWs = node.multiaddrs().find((a) => a.includes('/ws/'))!
  client = await createClientLibp2p()
}, 60_000)

afterAll(async () => {
  await client?.stop()
  await node?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('discovery through a full node', () => {
  test('a tab announces with its circuit address; clients find it over libp2p and HTTP', async () => {
    const tab = await startTab()
    try {
      const tabId = tab.libp2p.peerId.toString()
      expect(tab.circuit).toBe(`${nodeWs}/p2p-circuit/p2p/${tabId}`)
      const receipt = await announce(tab.libp2p, nodeWs, [ROOT_A, ROOT_B], [tab.circuit])
      expect(receipt).toEqual({ roots: 2, multiaddrs: 1 })

      const found = await queryProviders(client, nodeWs, ROOT_A)
      expect(found).toEqual([{ peer: tabId, multiaddrs: [tab.circuit] }])
      expect(
        await queryProviders(client, multiaddr(nodeWs), formatContentId(ROOT_B, 'cid')),
      ).toEqual(found)
      expect(await queryProviders(client, nodeWs, ROOT_C)).toEqual([])

      // The address works: a peer with the circuit transport reaches the tab through the node.
      const dialer = await startTab()
      try {
        const connection = await dialer.libp2p.dial(multiaddr(found[0]!.multiaddrs[0]!))
        expect(connection.remotePeer.toString()).toBe(tabId)
      } finally {
        await dialer.libp2p.stop()
      }

      const http = await request(`${node.httpUrl}/providers/${formatContentId(ROOT_A, 'cid')}`)
      expect(http.status).toBe(200)
      expect(http.headers.get('access-control-allow-origin')).toBe('*')
      expect(http.json()).toEqual({ root: bytesToHex(ROOT_A), providers: found })
      const none = await request(`${node.httpUrl}/providers/${bytesToHex(ROOT_C)}`)
      expect(none.json()).toEqual({ root: bytesToHex(ROOT_C), providers: [] })
      const bad = await request(`${node.httpUrl}/providers/not-a-content-id`)
      expect(bad.status).toBe(400)
      expect(bad.headers.get('access-control-allow-origin')).toBe('*')
      const preflight = await request(`${node.httpUrl}/providers/${bytesToHex(ROOT_A)}`, {
        method: 'OPTIONS',
      })
      expect(preflight.status).toBe(204)

      const metrics = await metricsOf(node.httpUrl)
      expect(metricValue(metrics, 'fulmen_provider_peers')).toBe(1)
      expect(metricValue(metrics, 'fulmen_provider_roots')).toBe(2)
      expect(metricValue(metrics, 'fulmen_provider_queries_total', { result: 'found' })).toBe(3)

      // A new ANNOUNCE replaces the set; an empty one withdraws.
      expect(await announce(tab.libp2p, nodeWs, [ROOT_C], [tab.circuit])).toEqual({
        roots: 1,
        multiaddrs: 1,
      })
      expect(await peersOf(ROOT_A)).toEqual([])
      expect(await peersOf(ROOT_C)).toEqual([tabId])
      expect(await announce(tab.libp2p, nodeWs, [], [tab.circuit])).toEqual({
        roots: 0,
        multiaddrs: 1,
      })
      expect(await peersOf(ROOT_C)).toEqual([])
    } finally {
      await tab.libp2p.stop()
    }
  })

  test('addresses that do not lead through this node to the announcer are dropped', async () => {
    const [tab, other] = await Promise.all([startTab(), startTab()])
    try {
      const tabId = tab.libp2p.peerId.toString()
      const foreign = [
        `/ip4/203.0.113.7/tcp/443/wss/p2p/${node.peerId}/p2p-circuit/p2p/${tabId}`,
        `/ip4/203.0.113.7/tcp/4001/p2p/${tabId}`,
        `${nodeWs}/p2p-circuit/p2p/${tabId}/p2p-circuit/p2p/${tabId}`,
        'not a multiaddr',
      ]
      // …and another tab's address.
      const receipt = await announce(
        tab.libp2p,
        nodeWs,
        [ROOT_A],
        [...foreign, other.circuit, tab.circuit],
      )
      expect(receipt).toEqual({ roots: 1, multiaddrs: 1 })
      expect(await queryProviders(client, nodeWs, ROOT_A)).toEqual([
        { peer: tabId, multiaddrs: [tab.circuit] },
      ])

      // Nothing usable: the tab is not listed at all.
      expect(await announce(other.libp2p, nodeWs, [ROOT_A], foreign)).toEqual({
        roots: 0,
        multiaddrs: 0,
      })
      // A peer cannot speak for another: the client announcing the tab's address lists nothing.
      expect(await announce(client, nodeWs, [ROOT_A], [tab.circuit])).toEqual({
        roots: 0,
        multiaddrs: 0,
      })
      expect(await peersOf(ROOT_A)).toEqual([tabId])
    } finally {
      await Promise.all([tab.libp2p.stop(), other.libp2p.stop()])
    }
  })

  test('the latest announcement comes first; a disconnect removes the tab', async () => {
    const first = await startTab()
    const second = await startTab()
    const [a, b] = [first, second].map((t) => t.libp2p.peerId.toString())
    try {
      await announce(first.libp2p, nodeWs, [ROOT_B], [first.circuit])
      await announce(second.libp2p, nodeWs, [ROOT_B], [second.circuit])
      expect(await peersOf(ROOT_B)).toEqual([b, a])
      await announce(first.libp2p, nodeWs, [ROOT_B], [first.circuit])
      expect(await peersOf(ROOT_B)).toEqual([a, b])

      await first.libp2p.stop()
      await waitFor(async () => (await peersOf(ROOT_B)).length === 1, 'the tab to be dropped')
      expect(await peersOf(ROOT_B)).toEqual([b])
      const http = await request(`${node.httpUrl}/providers/${bytesToHex(ROOT_B)}`)
      expect(http.json<{ providers: { peer: string }[] }>().providers.map((p) => p.peer)).toEqual([
        b,
      ])
    } finally {
      await Promise.all([first.libp2p.stop(), second.libp2p.stop()])
    }
    await waitFor(async () => (await peersOf(ROOT_B)).length === 0, 'both tabs to be dropped')
    expect(metricValue(await metricsOf(node.httpUrl), 'fulmen_provider_peers')).toBe(0)
  })

  test('garbage ends its own stream with TERMINATE and nothing else', async () => {
    const tab = await startTab()
    try {
      const tabId = tab.libp2p.peerId.toString()
      await announce(tab.libp2p, nodeWs, [ROOT_A], [tab.circuit])
      // A kind this protocol does not have.
      expect(await rawExchange(new Uint8Array([0x99, 0, 0, 0, 0]))).toMatchObject([
        { kind: 'terminate', reason: TerminationReason.MALFORMED_FRAME },
      ])

      // A QUERY with a short root, and a frame over the limit (refused at its prefix).
      const short = new Uint8Array([0x41, 0, 0, 0, 3, 1, 2, 3])
      expect(await rawExchange(short)).toMatchObject([
        { kind: 'terminate', reason: TerminationReason.MALFORMED_FRAME },
      ])
      expect(await rawExchange(framePrefix(0x40, 1 << 30))).toMatchObject([
        { kind: 'terminate', reason: TerminationReason.FRAME_TOO_LARGE },
      ])

      // Frames the node sends are not frames it takes.
      const reply = encodeProviderFrame({ kind: 'announced', roots: 1, addresses: 1 })
      expect(await rawExchange(reply)).toMatchObject([
        { kind: 'terminate', reason: TerminationReason.MALFORMED_FRAME },
      ])

      // The same client and the tab are none the worse.
      expect(await queryProviders(client, nodeWs, ROOT_A)).toEqual([
        { peer: tabId, multiaddrs: [tab.circuit] },
      ])
      await expect(
        rawExchange(new Uint8Array([0x41, 0, 0, 0, 1, 0])).then(() =>
          queryProviders(tab.libp2p, nodeWs, ROOT_A),
        ),
      ).resolves.toHaveLength(1)
      const refused = metricValue(
        await metricsOf(node.httpUrl),
        'fulmen_provider_streams_refused_total',
      )
      expect(refused).toBeGreaterThanOrEqual(4)
    } finally {
      await tab.libp2p.stop()
    }
  })

  test('one stream carries at most 64 frames', async () => {
    const query = encodeProviderFrame({ kind: 'query', root: ROOT_C })
    const many = new Uint8Array(query.length * 65)
    for (let i = 0; i < 65; i++) many.set(query, i * query.length)
    const frames = await rawExchange(many)
    expect(frames).toHaveLength(65)
    expect(frames.slice(0, 64).every((f) => f.kind === 'providers')).toBe(true)
    expect(frames[64]).toMatchObject({
      kind: 'terminate',
      reason: TerminationReason.RESOURCES_UNAVAILABLE,
    })
  })

  test('over a node’s limits, TERMINATE reaches the caller as WIRE_REMOTE_ERROR', async () => {
    // A node of its own with small limits: the full node's default (4096 roots per peer) is
    // also the most one ANNOUNCE can carry.
    const small = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
    const service = await startProviderService({
      libp2p: small,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      registry: { maxRootsPerPeer: 1 },
    })
    try {
      const address = small.getMultiaddrs()[0]!
      await expect(announce(client, address, [ROOT_A, ROOT_B], [])).rejects.toMatchObject({
        name: 'WireError',
        code: 'WIRE_REMOTE_ERROR',
        message: expect.stringContaining('resources unavailable (0x88)'),
      })
      expect(await announce(client, address, [ROOT_A], [])).toEqual({ roots: 0, multiaddrs: 0 })
      expect(await queryProviders(client, address, ROOT_A)).toEqual([])
    } finally {
      await service.stop()
      await small.stop()
    }
  })

  test('bad arguments throw before any I/O; an aborted signal rejects with its reason', async () => {
    const tooMany = Array.from({ length: 4097 }, (_, i) => rootOf(i & 0xff))
    await expect(announce(client, nodeWs, tooMany, [])).rejects.toBeInstanceOf(RangeError)
    const signal = AbortSignal.abort(new Error('stop'))
    await expect(queryProviders(client, nodeWs, ROOT_A, { signal })).rejects.toThrow('stop')
  })
})

describe('ProviderRegistry', () => {
  const self = fakePeer(100)
  const tabs = [fakePeer(101), fakePeer(102), fakePeer(103)] as const
  const own = `/ip4/10.0.0.1/tcp/4070/ws/p2p/${self}`
  const circuit = (peer: string) => `${own}/p2p-circuit/p2p/${peer}`
  let clock = 0
  const registry = (limits: { maxRootsPerPeer?: number; maxPeers?: number; ttlMs?: number } = {}) =>
    new ProviderRegistry({ self, selfAddresses: () => [own], now: () => clock, ...limits })

  test('the address rule: through one of this node’s addresses, to the announcer', () => {
    const r = registry()
    const [tab, other] = tabs
    const accepted = [
      circuit(tab),
      `${own}/p2p-circuit/webrtc/p2p/${tab}`,
      `/p2p/${self}/p2p-circuit/p2p/${tab}`,
    ]
    const refused = [
      `/ip4/10.0.0.2/tcp/4070/ws/p2p/${self}/p2p-circuit/p2p/${tab}`, // not our host
      `/dns4/evil.example/tcp/443/wss/p2p/${self}/p2p-circuit/p2p/${tab}`,
      `/ip4/10.0.0.1/tcp/4070/ws/p2p/${other}/p2p-circuit/p2p/${tab}`, // another relay
      circuit(other), // another tab
      `${own}/p2p-circuit/ip4/1.2.3.4/tcp/1/p2p/${tab}`,
      `${own}/p2p-circuit`,
      `/p2p-circuit/p2p/${tab}`,
      `/ip4/1.2.3.4/tcp/1/p2p/${tab}`,
      '/definitely/not',
    ]
    const result = r.announce(tab, [ROOT_A], [...refused, ...accepted, circuit(tab)])
    expect(result).toEqual({ roots: 1, multiaddrs: accepted })
    expect(r.providers(ROOT_A)).toEqual([{ peer: tab, multiaddrs: accepted }])
  })

  test('limits: roots per peer, peers, providers per root', () => {
    const r = registry({ maxRootsPerPeer: 2, maxPeers: 2 })
    const [a, b, c] = tabs
    r.announce(a, [ROOT_A], [circuit(a)])
    expect(() => r.announce(a, [ROOT_A, ROOT_B, ROOT_C], [circuit(a)])).toThrowError(
      expect.objectContaining({ code: 'PROVIDERS_TOO_MANY_ROOTS' }),
    )
    expect(r.providers(ROOT_A).map((p) => p.peer)).toEqual([a]) // the old set stands
    // Duplicates count once.
    expect(r.announce(a, [ROOT_A, ROOT_A, ROOT_B], [circuit(a)]).roots).toBe(2)
    r.announce(b, [ROOT_A], [circuit(b)])
    expect(() => r.announce(c, [ROOT_A], [circuit(c)])).toThrow(ProviderError)
    r.announce(a, [ROOT_B], [circuit(a)]) // a listed peer may still re-announce
    expect(r.peerCount).toBe(2)

    const wide = new ProviderRegistry({ self, selfAddresses: () => [own], maxPeers: 40 })
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      const id = fakePeer(i)
      ids.push(id)
      wide.announce(id, [ROOT_C], [`/p2p/${self}/p2p-circuit/p2p/${id}`])
    }
    expect(wide.providers(ROOT_C).map((p) => p.peer)).toEqual(ids.slice(4).reverse())
  })

  test('entries expire after the TTL unless re-announced; counts follow', () => {
    clock = 0
    const r = registry({ ttlMs: 1000 })
    const [a, b] = tabs
    r.announce(a, [ROOT_A, ROOT_B], [circuit(a)])
    r.announce(b, [ROOT_A], [circuit(b)])
    expect([r.peerCount, r.rootCount]).toEqual([2, 2])
    clock = 600
    r.announce(a, [ROOT_A, ROOT_B], [circuit(a)])
    clock = 1000
    expect(r.providers(ROOT_A).map((p) => p.peer)).toEqual([a])
    expect(r.peerCount).toBe(1)
    clock = 1600
    expect(r.sweep()).toBe(1)
    expect([r.peerCount, r.rootCount]).toEqual([0, 0])
  })
})

/** A well-formed Ed25519 peer id for index `i` (identity multihash of a made-up key). */
function fakePeer(i: number): string {
  // identity multihash (0x00, 36 bytes) of protobuf PublicKey { Type: Ed25519, Data: key }
  const multihash = new Uint8Array([
    0x00,
    36,
    0x08,
    0x01,
    0x12,
    0x20,
    ...new Uint8Array(32).fill(i),
  ])
  return base58btc.encode(multihash).slice(1) // without the multibase prefix
}
