/**
 * Sessions against real node processes over real libp2p: a fetch leaves one delivery claim
 * in the node's DA pool (units = blocks delivered) that survives a restart (`GET /das`,
 * `fulmen node das --json`, with the node running and stopped); forged, foreign, stale,
 * unchained and replayed acknowledgements end the stream with TERMINATE 0x83; handshake abuse
 * (an unknown service, an oversized frame, a JOIN from another peer) gets its own reason; and
 * `fulmen fetch --node … --node …` downloads over sessions as a CLI process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { decodeClaim, verifyClaim } from '../acks/claim.ts'
import { COMMITMENT_VERSION, COMMODITY_BANDWIDTH, signCommitment } from '../acks/commitment.ts'
import { HashChain } from '../acks/hash-chain.ts'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { createClient } from '../client/client.ts'
import { type ClientKey, generateClientKey } from '../crypto/client-key.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  toHex,
  waitFor,
  wsAddressOf,
} from '../devnet/processes.ts'
import { type ClientStream, joinSession, openSession } from '../handshake/client-handshake.ts'
import { SessionError } from '../handshake/errors.ts'
import { TerminationReason } from '../handshake/termination.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import { CDN_CODEC, type CdnFrame } from '../wire/cdn-frames.ts'
import type { DaClaimJson, DaSummary } from './das/da-pool.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { request } from './testing/http.ts'

const BLOCK = TREE_BLOCK_LEN
// 21 blocks: past one acknowledgement window (16), so both a window's reveal and the final
// flush count.
const SIZE = 5 * 2 ** 20 + 7
const BLOCKS = Math.ceil(SIZE / BLOCK)
const CHAIN = 64

let dir = ''
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
const content = pseudoRandomBytes(SIZE, 23)
let hex = ''
/** Two nodes with the content; `nodes[0]` is the one restarted and abused. */
const nodes: NodeProcess[] = []
const dataDirs = [0, 1].map((i) => () => join(dir, `node-${i}`))
/**
 * The client peers of the raw-session tests: one for nearly everything, one as the stranger
 * of the JOIN test. Few, and reused: libp2p refuses a host's 6th inbound connection in a
 * second (`inboundConnectionThreshold`), and on loopback every client is the same host.
 */
let peer: ClientLibp2p
let stranger: ClientLibp2p

/** The node's Ed25519 public key (what commitments must name), from its peer id. */
function nodeKeyOf(node: NodeProcess): Uint8Array {
  return peerIdFromString(node.peerId).publicKey!.raw
}

/** A raw `/fulmen/handshake/2.0.0` stream to `node`, as a ByteChannel. */
async function channelTo(libp2p: ClientLibp2p, node: NodeProcess) {
  const connection = await libp2p.dial(multiaddr(wsAddressOf(node)))
  const raw = await connection.newStream(HANDSHAKE_PROTOCOL)
  return streamChannel(raw, node.peerId)
}

interface Opened {
  readonly stream: ClientStream<CdnFrame>
  readonly key: ClientKey
}

/** A new session on `nodes[0]` (HELLO), nothing sent after it yet. */
async function open(options: { key?: ClientKey; service?: number } = {}): Promise<Opened> {
  const key = options.key ?? generateClientKey()
  const node = nodes[0]!
  const stream = await openSession(await channelTo(peer, node), {
    key,
    service: options.service ?? CDN_SERVICE,
    codec: CDN_CODEC['to-client'],
    nodePeerId: peerIdFromString(node.peerId).toMultihash().bytes,
  })
  return { stream, key }
}

/** A COMMIT for `session`, fields overridable, signed by `key`. */
function commitFrame(
  key: ClientKey,
  chain: HashChain,
  fields: { session: bigint; epoch: bigint; nodeKey: Uint8Array },
) {
  const signed = signCommitment(
    {
      version: COMMITMENT_VERSION,
      service: CDN_SERVICE,
      commodity: COMMODITY_BANDWIDTH,
      unit: BLOCK,
      chainLength: chain.length,
      seq: 0,
      ...fields,
      clientKey: key.publicKey,
      anchor: chain.anchor,
    },
    key,
  )
  return { kind: 'commit' as const, ...signed }
}

/** The valid COMMIT of `opened`'s session. */
function validCommit(opened: Opened, chain: HashChain) {
  return commitFrame(opened.key, chain, {
    session: opened.stream.session,
    epoch: opened.stream.challenge.epoch,
    nodeKey: nodeKeyOf(nodes[0]!),
  })
}

/** Reads `stream` to its end: the SessionError it ended with (fails if it just ended). */
async function endOf(stream: ClientStream<CdnFrame>): Promise<SessionError> {
  try {
    for await (const _ of stream.frames) {
      // Content frames the node sent before it ended the stream.
    }
  } catch (error) {
    if (error instanceof SessionError) return error
    throw error
  }
  throw new Error('the stream ended without TERMINATE')
}

/** Reads frames until the first DATA frame: the node has delivered (and counted) a unit. */
async function untilData(stream: ClientStream<CdnFrame>): Promise<void> {
  for (;;) {
    const next = await stream.frames.next()
    if (next.done) throw new Error('the stream ended before any data')
    if (next.value.kind === 'data') return
  }
}

function expectTerminated(error: SessionError, code: SessionError['code'], reason: number) {
  expect({ code: error.code, reason: error.reason, remote: error.remote }).toEqual({
    code,
    reason,
    remote: true,
  })
}

async function das(node: NodeProcess) {
  return (await request(`${node.url}/das?claims=1`)).json<DaSummary & { claims: DaClaimJson[] }>()
}

printNodeLogsOnFailure(() => nodes)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-sessions-'))
  writeFileSync(join(dir, 'content.bin'), content)
  const added = await Promise.all(
    dataDirs.map((d) =>
      runFulmen(['add', '--data-dir', d(), join(dir, 'content.bin')], { env: env() }),
    ),
  )
  for (const a of added) expect(a.code, a.stderr).toBe(0)
  hex = added[0]!.stdout.slice(0, 64)
  nodes.push(...(await Promise.all(dataDirs.map((d) => startNode({ dataDir: d(), env: env() })))))
  ;[peer, stranger] = await Promise.all([createClientLibp2p(), createClientLibp2p()])
}, 60_000)

afterAll(async () => {
  await Promise.allSettled([peer, stranger].map((l) => l?.stop()))
  await Promise.allSettled(nodes.map((n) => n.stop()))
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('delivery acknowledgements over real libp2p', () => {
  test('a fetch leaves one claim (units = blocks delivered) that survives a restart', async () => {
    const key = generateClientKey()
    const keyHex = toHex(key.publicKey)
    const client = await createClient({ bootstrap: [wsAddressOf(nodes[0]!)], key })
    try {
      const res = await client.fetch(hex)
      expect(Buffer.compare(new Uint8Array(await res.arrayBuffer()), content)).toBe(0)
    } finally {
      await client.close()
    }

    // Reveals are taken as they come: wait for the last one to be stored.
    const mine = (s: DaSummary) => s.byClient.find((c) => c.clientKey === keyHex)
    const summary = await waitFor(async () => {
      const s = await das(nodes[0]!)
      return mine(s)?.units === BLOCKS && s
    }, 'the claim of every block')
    expect(mine(summary)).toMatchObject({
      claims: 1,
      sessions: 1,
      epochs: 1,
      units: BLOCKS,
      bytes: BLOCKS * BLOCK,
    })
    const claims = summary.claims.filter((c) => c.clientKey === keyHex)
    expect(claims).toHaveLength(1)
    expect(claims[0]).toMatchObject({ seq: 0, index: BLOCKS, nodeKey: toHex(nodeKeyOf(nodes[0]!)) })
    // Anyone can check it: one signature, `index` hashes.
    const claim = decodeClaim(
      hexToBytes(
        claims[0]!.commitment +
          claims[0]!.signature +
          BLOCKS.toString(16).padStart(8, '0') +
          claims[0]!.reveal,
      ),
    )
    expect(verifyClaim(claim).session.toString(16).padStart(16, '0')).toBe(claims[0]!.session)

    const listed = async () => {
      const r = await runFulmen(['node', 'das', '--json', '--data-dir', dataDirs[0]!()], {
        env: env(),
      })
      expect(r.code, r.stderr).toBe(0)
      return mine(JSON.parse(r.stdout) as DaSummary)
    }
    const expected = { claims: 1, units: BLOCKS, bytes: BLOCKS * BLOCK }
    expect(await listed()).toMatchObject(expected)

    // Stopped: the CLI reads the pool from disk. Started again: the node serves it.
    expect(await nodes[0]!.stop()).toEqual({ code: 0, signal: null })
    expect(await listed()).toMatchObject(expected)
    nodes[0] = await startNode({ dataDir: dataDirs[0]!(), env: env() })
    expect(await listed()).toMatchObject(expected)
    expect(mine(await das(nodes[0]!))).toMatchObject(expected)
  })

  test.each([
    ['a forged commitment (one bit flipped)', 'forged'],
    ['a commitment for another node key', 'node'],
    ['a commitment for another session', 'session'],
    ['a commitment for another epoch', 'epoch'],
  ] as const)('%s → TERMINATE 0x83', async (_, lie) => {
    const opened = await open()
    const chain = HashChain.create(CHAIN)
    const { stream } = opened
    let commit = validCommit(opened, chain)
    if (lie === 'forged') {
      const commitment = Uint8Array.from(commit.commitment)
      commitment[120] = commitment[120]! ^ 0x01 // in the anchor: only the signature notices
      commit = { ...commit, commitment }
    } else if (lie === 'node') {
      commit = commitFrame(opened.key, chain, {
        session: stream.session,
        epoch: stream.challenge.epoch,
        nodeKey: nodeKeyOf(nodes[1]!),
      })
    } else if (lie === 'session') {
      // A real session of the same key, on the same node: still not this one.
      const other = await open({ key: opened.key })
      commit = commitFrame(opened.key, chain, {
        session: other.stream.session,
        epoch: stream.challenge.epoch,
        nodeKey: nodeKeyOf(nodes[0]!),
      })
    } else {
      commit = commitFrame(opened.key, chain, {
        session: stream.session,
        epoch: stream.challenge.epoch - 1n,
        nodeKey: nodeKeyOf(nodes[0]!),
      })
    }
    await stream.send(commit)
    await stream.send({ kind: 'request', pointer: `blake3:${hex}` })
    expectTerminated(await endOf(stream), 'SESSION_INVALID_ACK', TerminationReason.INVALID_ACK)
    // Nothing of it reached the pool.
    const summary = await das(nodes[0]!)
    expect(summary.byClient.some((c) => c.clientKey === toHex(opened.key.publicKey))).toBe(false)
  })

  test('a reveal that does not chain → TERMINATE 0x83', async () => {
    const opened = await open()
    const chain = HashChain.create(CHAIN)
    await opened.stream.send(validCommit(opened, chain))
    await opened.stream.send({ kind: 'request', pointer: `blake3:${hex}` })
    await untilData(opened.stream)
    const value = crypto.getRandomValues(new Uint8Array(32))
    await opened.stream.send({ kind: 'reveal', seq: 0, index: 1, value })
    expectTerminated(
      await endOf(opened.stream),
      'SESSION_INVALID_ACK',
      TerminationReason.INVALID_ACK,
    )
  })

  test('a stale reveal (sent again, or a lower index) is dropped, not punished', async () => {
    const opened = await open()
    const chain = HashChain.create(CHAIN)
    await opened.stream.send(validCommit(opened, chain))
    await opened.stream.send({ kind: 'request', pointer: `blake3:${hex}` })
    // Three blocks delivered: the reveals below claim no more than that.
    for (let i = 0; i < 3; i++) await untilData(opened.stream)
    const reveal = { kind: 'reveal' as const, seq: 0, index: 2, value: chain.reveal(2) }
    await opened.stream.send(reveal)
    await opened.stream.send(reveal)
    await opened.stream.send({ ...reveal, index: 1, value: chain.reveal(1) })
    // The stream lives on: the next reveal is accepted.
    await opened.stream.send({ ...reveal, index: 3, value: chain.reveal(3) })
    const keyHex = toHex(opened.key.publicKey)
    const summary = await waitFor(async () => {
      const s = await das(nodes[0]!)
      const mine = s.byClient.find((c) => c.clientKey === keyHex)
      return mine?.units === 3 && s
    }, 'the third unit stored')
    expect(summary.byClient.find((c) => c.clientKey === keyHex)).toMatchObject({ units: 3 })
    await opened.stream.close()
  })
})

describe('handshake abuse over real libp2p', () => {
  test('a service the node does not run → TERMINATE 0x84', async () => {
    const error = await open({ service: 7 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionError)
    expectTerminated(
      error as SessionError,
      'SESSION_INVALID_SERVICE',
      TerminationReason.INVALID_SERVICE,
    )
  })

  test('a frame over maxRequest → TERMINATE 0x8a', async () => {
    const { stream } = await open()
    const size = stream.challenge.maxRequest + 1
    const frame = new Uint8Array(5 + size)
    frame[0] = 0x20 // REQUEST
    new DataView(frame.buffer).setUint32(1, size)
    await stream.send(frame)
    expectTerminated(
      await endOf(stream),
      'SESSION_FRAME_TOO_LARGE',
      TerminationReason.FRAME_TOO_LARGE,
    )
  })

  test('JOIN with the token of another peer’s session → TERMINATE 0x82; its own peer joins', async () => {
    const owner = await open()
    const join = async (libp2p: ClientLibp2p) =>
      joinSession(await channelTo(libp2p, nodes[0]!), {
        codec: CDN_CODEC['to-client'],
        session: owner.stream.session,
        token: owner.stream.token,
      })
    const error = await join(stranger).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionError)
    expectTerminated(
      error as SessionError,
      'SESSION_INVALID_TOKEN',
      TerminationReason.INVALID_TOKEN,
    )
    const joined = await join(peer)
    expect(joined.session).toBe(owner.stream.session)
  })
})

test('fulmen fetch --node A --node B -o FILE: exit 0, the file identical', async () => {
  const out = join(dir, 'fetched.bin')
  const r = await runFulmen(
    [
      'fetch',
      hex,
      '--node',
      wsAddressOf(nodes[0]!),
      '--node',
      wsAddressOf(nodes[1]!),
      '--key',
      join(dir, 'client.key'),
      '-o',
      out,
    ],
    { env: env() },
  )
  expect(r.code, r.stderr).toBe(0)
  expect(Buffer.compare(readFileSync(out), content)).toBe(0)
  expect(r.stdout).toContain(`${hex}  ${out}  (${SIZE} bytes verified`)
})
