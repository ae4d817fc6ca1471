/**
 * A tab node in real Chromium against the real node processes of the project's global setup:
 * a full node relays it, it caches content verified from the nodes, and a second libp2p in
 * the same page, a client, reaches it over WebRTC through the relay and fetches verified
 * bytes from it, earning it delivery acknowledgements.
 */
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { seededContent } from '../../b3/testing/content.ts'
import { createClient, type FulmenClient } from '../../client/client.ts'
import { FetchError } from '../../client/errors.ts'
import type { ClientLibp2p } from '../../net/client-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../../net/protocols.ts'
import { streamChannel } from '../../net/stream-channel.ts'
import { createWindowLibp2p, type WindowLibp2p } from '../../net/window-libp2p.ts'
import { startNode, type TabNode } from './tab-node.ts'
import '../testing/network.ts'

const network = inject('network')
const content = seededContent(network.content.size, network.content.seed)
const BLOCKS = Math.ceil(network.content.size / (256 * 1024))
const database = `tab-node-test-${crypto.randomUUID()}`

let tab: TabNode
let dialer: WindowLibp2p
let client: FulmenClient

async function readAll(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer())
}

/** Reads a stream until its end; the bytes, or the error that ended it. */
async function drain(stream: Stream): Promise<Uint8Array> {
  const channel = streamChannel(stream, 'tab')
  const chunks: number[] = []
  try {
    for await (const chunk of channel.source) chunks.push(...chunk)
  } catch {}
  return new Uint8Array(chunks)
}

beforeAll(async () => {
  tab = await startNode({ relays: [network.nodes[0]!], database, keyDatabase: false })
  dialer = await createWindowLibp2p()
})

afterAll(async () => {
  await client?.close()
  await tab?.stop()
  await dialer?.stop()
})

describe('tab node', () => {
  test('gets a circuit WebRTC address through its relay', () => {
    const relayPeer = network.nodes[0]!.split('/p2p/')[1]
    const addresses = tab.multiaddrs()
    expect(addresses.length).toBeGreaterThan(0)
    for (const a of addresses) {
      expect(a).toContain(`/p2p/${relayPeer}/p2p-circuit/webrtc/p2p/${tab.peerId}`)
    }
  })

  test('caches content verified from the nodes; it then shows in roots()', async () => {
    const progress: number[] = []
    const cached = await tab.cache(network.content.hex, {
      onProgress: (e) => progress.push(e.bytes),
    })
    expect(cached).toEqual({
      root: network.content.hex,
      length: network.content.size,
      fetched: true,
    })
    expect(progress.at(-1)).toBe(network.content.size)
    expect(await tab.roots()).toEqual([network.content.hex])
    const again = await tab.cache(`blake3:${network.content.hex}`)
    expect(again.fetched).toBe(false)
    const stats = await tab.stats()
    expect(stats.store.bytes).toBe(network.content.size)
  })

  test('a client in another libp2p fetches from the tab over WebRTC; the tab earns a claim', async () => {
    const address = tab.multiaddrs()[0]!
    client = await createClient({
      bootstrap: [address],
      libp2p: dialer as unknown as ClientLibp2p,
    })
    const res = await client.fetch(network.content.hex)
    const bytes = await readAll(res)
    expect(bytesToHex(bytes)).toBe(bytesToHex(content))
    const connections = dialer
      .getConnections()
      .filter((c) => c.remotePeer.toString() === tab.peerId)
    // Direct WebRTC: not the relayed connection (which carried only the SDP exchange).
    // A direct WebRTC connection without the relay's limits (the relayed one carried only the
    // SDP exchange, and handshake streams are not allowed on it).
    expect(
      connections.some(
        (c) => c.remoteAddr.toString().includes('/webrtc') && c.limits === undefined,
      ),
    ).toBe(true)

    const stats = await tab.stats()
    expect(stats.bytesServed).toBeGreaterThan(network.content.size)
    expect(stats.sessionsTotal).toBe(1)
    // The last REVEAL comes with the end of the body: it is stored soon after.
    await expect
      .poll(async () => (await tab.stats()).das)
      .toEqual({
        claims: 1,
        units: BLOCKS,
        bytes: BLOCKS * 256 * 1024,
      })
  })

  test('content the tab does not hold: 404 from the tab, which never asks an origin', async () => {
    const absent = bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
    const error = await client.fetch(absent).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).code).toBe('FETCH_NOT_FOUND')
  })

  test('a peer sending garbage is cut off; the tab keeps serving', async () => {
    const before = await tab.stats()
    const stream = await dialer.dialProtocol(multiaddr(tab.multiaddrs()[0]!), HANDSHAKE_PROTOCOL)
    const reply = drain(stream)
    // An unknown frame kind that claims a 4 GiB payload: refused at its 5-byte prefix.
    stream.send(new Uint8Array([0x99, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]))
    const bytes = await reply
    expect(bytes[0]).toBe(0x10) // CHALLENGE
    const terminate = bytes.indexOf(
      0x1f,
      5 + ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!),
    )
    expect(terminate).toBeGreaterThan(0)
    expect(bytes[terminate + 5]).toBe(0x8b) // malformed frame
    const after = await tab.stats()
    expect(after.refused).toBe(before.refused + 1)
    expect(after.refusedByCode.SESSION_MALFORMED_FRAME).toBe(
      (before.refusedByCode.SESSION_MALFORMED_FRAME ?? 0) + 1,
    )

    const res = await client.fetch(network.content.hex, { range: { start: 1000, end: 300_000 } })
    expect(res.status).toBe(206)
    expect(await readAll(res)).toEqual(content.subarray(1000, 300_000))
  })

  test('stop() ends the streams and leaves no connection open', async () => {
    const peer = tab.peerId
    await tab.stop()
    await expect(tab.stats()).rejects.toMatchObject({ code: 'TAB_NODE_STOPPED' })
    // The dialler learns of a closed WebRTC connection only when its ICE consent checks fail
    // (seconds): wait for it rather than for a fixed time.
    await expect
      .poll(() => dialer.getConnections().filter((c) => c.remotePeer.toString() === peer).length, {
        timeout: 30_000,
      })
      .toBe(0)
  })
})
