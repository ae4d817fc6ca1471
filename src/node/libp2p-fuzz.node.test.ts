/**
 * The libp2p protocols of a real `fulmen node start` process under fuzzed streams
 * (src/devnet/libp2p-fuzz.ts): `/fulmen/handshake/2.0.0`, `/fulmen/providers/1.0.0` and (the
 * node runs a test genesis) `/fulmen/chain/1.0.0` streams of random bytes, frames with random
 * payloads, frames for the other direction, chain requests with fields right, wrong or missing,
 * truncated frames and oversized length prefixes, closed, reset or left open. After each batch
 * the process is alive and `/health` answers 200; at the end the node still answers a real
 * handshake (a session opens), a real discovery query and a real chain request, and nothing
 * escaped a handler.
 *
 * The seed is random per run and printed with any failure; FULMEN_FUZZ_SEED=<n> runs that seed
 * again. More streams, and the node's memory across them: scripts/fuzz-node.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { generateClientKey } from '../crypto/client-key.ts'
import { seedFrom } from '../devnet/fuzz-random.ts'
import { runLibp2pFuzz } from '../devnet/libp2p-fuzz.ts'
import { type NodeProcess, startNode, wsAddressOf } from '../devnet/processes.ts'
import { openSession } from '../handshake/client-handshake.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { HANDSHAKE_PROTOCOL, PROVIDERS_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import { CDN_CODEC } from '../wire/cdn-frames.ts'
import { encodeProviderFrame, ProviderFrameDecoder } from '../wire/provider-frames.ts'
import { requestChain } from './chain/chain-protocol.ts'
import { writeTestGenesis } from './testing/chain-genesis.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { metricsOf, metricValue } from './testing/http.ts'

const CASES = 3_000
const BATCH = 1_000
const SEED = seedFrom('FULMEN_FUZZ_SEED')

let dir = ''
let node: NodeProcess
let fuzzer: ClientLibp2p
let honest: ClientLibp2p

printNodeLogsOnFailure(() => [node])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-libp2p-fuzz-'))
  const dataDir = join(dir, 'node')
  const genesis = await writeTestGenesis(dir, dataDir)
  node = await startNode({
    dataDir,
    env: { XDG_DATA_HOME: join(dir, 'xdg') },
    args: ['--genesis', genesis.path],
  })
  ;[fuzzer, honest] = await Promise.all([createClientLibp2p(), createClientLibp2p()])
}, 60_000)

afterAll(async () => {
  await Promise.allSettled([fuzzer, honest].map((l) => l?.stop()))
  await node?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

/** A real handshake: HELLO signed by a fresh client key, answered with a session. */
async function handshake(): Promise<bigint> {
  const connection = await honest.dial(multiaddr(wsAddressOf(node)))
  const channel = streamChannel(await connection.newStream(HANDSHAKE_PROTOCOL), node.peerId)
  const stream = await openSession(channel, {
    key: generateClientKey(),
    service: CDN_SERVICE,
    codec: CDN_CODEC['to-client'],
    nodePeerId: peerIdFromString(node.peerId).toMultihash().bytes,
  })
  channel.abort(new Error('done'))
  return stream.session
}

/** A real discovery QUERY, answered with PROVIDERS (nobody holds this root). */
async function query(): Promise<string> {
  const connection = await honest.dial(multiaddr(wsAddressOf(node)))
  const channel = streamChannel(await connection.newStream(PROVIDERS_PROTOCOL), node.peerId)
  await channel.write(encodeProviderFrame({ kind: 'query', root: new Uint8Array(32).fill(7) }))
  const decoder = new ProviderFrameDecoder({ accepts: 'to-client' })
  for await (const chunk of channel.source) {
    const [frame] = decoder.push(chunk)
    if (frame !== undefined) {
      channel.abort(new Error('done'))
      return frame.kind
    }
  }
  throw new Error('the discovery stream ended without an answer')
}

test(`${CASES} fuzzed libp2p streams: the node stays up and still answers a real handshake`, async () => {
  const began = performance.now()
  const outcomes: Record<string, number> = {}
  for (let start = 0; start < CASES; start += BATCH) {
    const result = await runLibp2pFuzz({
      dialer: fuzzer,
      address: wsAddressOf(node),
      seed: SEED,
      start,
      cases: BATCH,
      chain: true,
    })
    for (const [k, n] of Object.entries(result.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + n
    const where = `seed ${SEED} (FULMEN_FUZZ_SEED=${SEED}), streams ${start}..${start + BATCH - 1}`
    expect({ exit: node.child.exitCode, signal: node.child.signalCode }, where).toEqual({
      exit: null,
      signal: null,
    })
    expect((await fetch(`${node.url}/health`)).status, where).toBe(200)
  }
  expect(typeof (await handshake())).toBe('bigint')
  expect(await query()).toBe('providers')
  const head = (await requestChain(honest, wsAddressOf(node), { op: 'head' })) as { height: number }
  expect(head.height).toBeGreaterThanOrEqual(0)
  const metrics = await metricsOf(node.url)
  expect(metricValue(metrics, 'fulmen_unexpected_errors_total')).toBe(0)
  // The garbage reached the protocols: handshakes refused, discovery streams terminated.
  expect(metricValue(metrics, 'fulmen_handshakes_refused_total')).toBeGreaterThan(0)
  expect(metricValue(metrics, 'fulmen_provider_streams_refused_total')).toBeGreaterThan(0)
  expect(metricValue(metrics, 'fulmen_chain_streams_refused_total')).toBeGreaterThan(0)
  process.stdout.write(
    `libp2p fuzz: ${CASES} streams, seed ${SEED}, ${Math.round(performance.now() - began)} ms, ${JSON.stringify(outcomes)}\n`,
  )
}, 300_000)
