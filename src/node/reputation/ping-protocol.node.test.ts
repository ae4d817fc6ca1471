/**
 * `/fulmen/ping/1.0.0` between two real libp2p nodes on loopback: a signed pong comes back and
 * verifies under the answerer's key; a pong checked against another key, a peer the server does
 * not admit, and a stopped server are failures with their codes.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { noopLogger } from '../../core/logger.ts'
import { createMemoryMetrics } from '../../core/metrics.ts'
import { createNodeLibp2p, type NodeLibp2p } from '../../net/node-libp2p.ts'
import type { ProtocolServer } from '../../net/protocol-server.ts'
import { wsAddressOf } from '../../net/testing/loopback-node.ts'
import { ed25519SeedOf } from '../chain/chain-node.ts'
import { pingPeer, pingServer } from './ping-protocol.ts'

let pinger: NodeLibp2p
let answerer: NodeLibp2p
let server: ProtocolServer
let allowed = true
const metrics = createMemoryMetrics()

async function node() {
  const privateKey = await generateKeyPair('Ed25519')
  const libp2p = await createNodeLibp2p({ privateKey, host: '127.0.0.1', wsPort: 0, webrtcPort: 0 })
  await libp2p.start()
  return { libp2p, seed: ed25519SeedOf(privateKey), key: privateKey.publicKey.raw }
}

let answererKey: Uint8Array
let pingerKey: Uint8Array

beforeAll(async () => {
  const a = await node()
  const p = await node()
  answerer = a.libp2p
  pinger = p.libp2p
  answererKey = a.key
  pingerKey = p.key
  server = pingServer({
    libp2p: answerer,
    seed: a.seed,
    nodeKey: a.key,
    allow: () => allowed,
    metrics,
    logger: noopLogger,
  })
  await server.start()
})

afterAll(async () => {
  await server?.stop()
  await pinger?.stop()
  await answerer?.stop()
})

const peerOf = (key: Uint8Array) => ({ key, address: wsAddressOf(answerer) })

describe('/fulmen/ping/1.0.0', () => {
  test('a signed pong comes back over loopback, with the padding asked for', async () => {
    const rtts: number[] = []
    for (let i = 0; i < 20; i++) {
      const { rttUs } = await pingPeer(pinger, peerOf(answererKey), 0, AbortSignal.timeout(5000))
      rtts.push(rttUs)
    }
    const padded = await pingPeer(pinger, peerOf(answererKey), 16_384, AbortSignal.timeout(5000))
    expect(padded.bytes).toBeGreaterThan(16_384)
    rtts.sort((a, b) => a - b)
    // Loopback: well under 50 ms each (the figure goes in the report).
    expect(rtts[10]).toBeLessThan(50_000)
    console.log(
      `ping RTT on loopback, 20 pings: median ${rtts[10]} µs, min ${rtts[0]} µs, max ${rtts[19]} µs; padded 16 KiB: ${padded.rttUs} µs, ${padded.bytes} bytes`,
    )
    expect(metrics.value('fulmen_pings_answered_total', { result: 'ok' })).toBe(21)
  })

  test('a pong from another node than expected is refused: PONG_WRONG_NODE', async () => {
    await expect(
      pingPeer(pinger, peerOf(pingerKey), 0, AbortSignal.timeout(5000)),
    ).rejects.toMatchObject({ code: 'PONG_WRONG_NODE' })
  })

  test('a peer the server does not admit gets a TERMINATE', async () => {
    allowed = false
    try {
      await expect(
        pingPeer(pinger, peerOf(answererKey), 0, AbortSignal.timeout(5000)),
      ).rejects.toMatchObject({ code: 'WIRE_REMOTE_ERROR' })
      expect(metrics.value('fulmen_pings_answered_total', { result: 'not-allowed' })).toBe(1)
    } finally {
      allowed = true
    }
  })
})
