/**
 * A fuzzer for a node's libp2p protocols (src/node/libp2p-fuzz.node.test.ts, scripts/fuzz-node.ts):
 * raw streams of `/fulmen/handshake/2.0.0`, `/fulmen/providers/1.0.0` (and `/fulmen/chain/1.0.0`
 * on a node with a genesis: requests of every op with fields right, wrong or missing) that carry random
 * bytes, frames of every kind with random payloads, frames of the right kind and size with
 * garbage inside (a HELLO with a random key and signature, a JOIN of no session), frames for the
 * other direction, truncated frames and oversized length prefixes, then end in one of three
 * ways: closed (the node must end its side), reset, or left for the node to time out.
 *
 * All streams go over one connection (redialled if the node closes it): libp2p limits inbound
 * connections per host and second, and real peers multiplex streams the same way. Case `i` of
 * seed `s` is always the same stream (Prng.forCase).
 */

import * as dagCbor from '@ipld/dag-cbor'
import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { CHAIN_PROTOCOL, HANDSHAKE_PROTOCOL, PROVIDERS_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import { encodeRawFrame, framePrefix } from '../wire/frame-splitter.ts'
import { FRAME_ANNOUNCE, FRAME_QUERY, ROOT_LEN } from '../wire/provider-frames.ts'
import {
  FRAME_CHALLENGE,
  FRAME_COMMIT,
  FRAME_HELLO,
  FRAME_JOIN,
  FRAME_REQUEST,
  FRAME_REVEAL,
  FRAME_SESSION,
  FRAME_TERMINATE,
} from '../wire/session-frames.ts'
import { Prng } from './fuzz-random.ts'

/** The libp2p node the fuzzer dials from (a client libp2p: WebSockets, Noise, Yamux). */
export interface FuzzDialer {
  dial(address: ReturnType<typeof multiaddr>): Promise<Connection>
}

export type StreamEnding = 'close' | 'reset' | 'linger'

export interface StreamCase {
  readonly protocol: string
  /** Written in order, each as one write. */
  readonly chunks: readonly Uint8Array[]
  readonly ending: StreamEnding
}

const HANDSHAKE_KINDS = [
  FRAME_HELLO,
  FRAME_JOIN,
  FRAME_TERMINATE,
  FRAME_REQUEST,
  FRAME_COMMIT,
  FRAME_REVEAL,
  FRAME_CHALLENGE,
  FRAME_SESSION,
  1,
  2,
  3,
  4,
]
/** Payload sizes of the fixed-size frames, and the sizes around them. */
const HANDSHAKE_SIZES: Record<number, number> = {
  [FRAME_HELLO]: 1 + 4 + 8 + 32 + 64,
  [FRAME_JOIN]: 1 + 8 + 32,
  [FRAME_COMMIT]: 130 + 64,
  [FRAME_REVEAL]: 4 + 4 + 32,
  [FRAME_CHALLENGE]: 1 + 32 + 8 + 2 + 4 + 4,
  [FRAME_SESSION]: 8 + 32 + 4,
}
const PROVIDER_KINDS = [FRAME_ANNOUNCE, FRAME_QUERY, 0x42, 0x43, FRAME_TERMINATE, 0x00, 0xff]
/** Chain frames: REQUEST (most), RESULT and ERROR (the node's to send), TERMINATE, unknown. */
const CHAIN_REQUEST = 0x50
const CHAIN_KINDS = [CHAIN_REQUEST, CHAIN_REQUEST, CHAIN_REQUEST, 0x51, 0x52, FRAME_TERMINATE, 0x00]
const CHAIN_OPS = ['head', 'tx', 'submit', 'block', 'state', 'heads', '', 'HEAD']

/** A value for a request field: of its type or not, in range or not. */
function chainField(rng: Prng): unknown {
  switch (rng.int(8)) {
    case 0:
      return rng.bytes(rng.pick([0, 31, 32, 33, rng.between(0, 400)]))
    case 1:
      return rng.pick([0, 1, 2, -1, 2 ** 53, 1.5, 10 ** 9])
    case 2:
      return rng.pick([
        'accounts',
        'nodes',
        'metadata',
        'chain',
        'nosuch',
        '',
        '0x',
        'x'.repeat(600),
      ])
    case 3:
      return `0x${Array.from(rng.bytes(20), (b) => b.toString(16).padStart(2, '0')).join('')}`
    case 4:
      return null
    case 5:
      return [rng.int(10)]
    case 6:
      return { op: 'head' }
    default:
      return rng.chance(0.5)
  }
}

/** A chain REQUEST payload: a CBOR map around an op, its fields right or not, maybe mutated. */
function chainRequest(rng: Prng): Uint8Array {
  const map: Record<string, unknown> = { op: rng.pick(CHAIN_OPS) }
  const fields = ['digest', 'tx', 'height', 'table', 'key', 'extra']
  for (let n = rng.int(4); n > 0; n--) map[rng.pick(fields)] = chainField(rng)
  if (map.op === 'head' && rng.chance(0.5)) for (const f of fields) delete map[f]
  const bytes = dagCbor.encode(map)
  if (rng.chance(0.3)) bytes[rng.int(bytes.length)]! ^= 1 + rng.int(255)
  return bytes
}
const LENGTHS = [
  0,
  1,
  4,
  5,
  31,
  32,
  33,
  4096,
  4097,
  262_144,
  263_168,
  263_169,
  2 ** 24,
  2 ** 31,
  2 ** 32 - 1,
]

/** A frame of `kind` whose payload is random, sized right, a little off, or anything. */
function frame(rng: Prng, kind: number, sizes: Record<number, number>): Uint8Array {
  const right = sizes[kind]
  const size =
    right !== undefined && rng.chance(0.6)
      ? Math.max(0, right + rng.pick([0, 0, 0, -1, 1, -right]))
      : rng.between(0, 300)
  const payload = rng.bytes(size)
  // Plausible leading fields: version 1 of the handshake frames, a small root count.
  if (size > 0 && rng.chance(0.7)) payload[0] = kind === FRAME_ANNOUNCE ? 0 : 1
  if (kind === FRAME_ANNOUNCE && size > 1 && rng.chance(0.5)) payload[1] = rng.int(4)
  return encodeRawFrame(kind, payload)
}

/**
 * Stream case `index` of the run seeded with `seed`; with `chain`, a quarter of the streams are
 * `/fulmen/chain/1.0.0` (the rest as without it).
 */
export function streamCase(seed: number, index: number, chain = false): StreamCase {
  const rng = Prng.forCase(seed, index)
  if (chain && rng.chance(0.25)) return chainStreamCase(rng)
  const providers = rng.chance(0.35)
  const kinds = providers ? PROVIDER_KINDS : HANDSHAKE_KINDS
  const sizes: Record<number, number> = providers
    ? { [FRAME_QUERY]: ROOT_LEN, [FRAME_ANNOUNCE]: 2 + ROOT_LEN + 1 }
    : HANDSHAKE_SIZES
  const chunks: Uint8Array[] = []
  const shape = rng.int(100)
  if (shape < 20) {
    chunks.push(rng.bytes(rng.between(1, 400)))
  } else if (shape < 55) {
    for (let n = rng.between(1, 4); n > 0; n--) chunks.push(frame(rng, rng.pick(kinds), sizes))
  } else if (shape < 70) {
    // Truncated: a frame cut anywhere, prefix included.
    const whole = frame(rng, rng.pick(kinds), sizes)
    chunks.push(whole.subarray(0, rng.int(whole.length)))
  } else if (shape < 85) {
    // A length prefix promising far more than follows (or than any frame may be).
    chunks.push(framePrefix(rng.pick(kinds), rng.pick(LENGTHS)), rng.bytes(rng.between(0, 64)))
  } else if (shape < 93) {
    // A frame split into many small writes.
    const whole = frame(rng, rng.pick(kinds), sizes)
    for (let at = 0; at < whole.length; ) {
      const n = rng.between(1, 7)
      chunks.push(whole.subarray(at, at + n))
      at += n
    }
  } else if (shape < 97) {
    // Many frames on one stream (past the per-stream limits of discovery).
    for (let n = rng.between(20, 100); n > 0; n--) chunks.push(frame(rng, rng.pick(kinds), sizes))
  }
  // else: nothing at all.
  const e = rng.int(100)
  const ending: StreamEnding = e < 60 ? 'close' : e < 95 ? 'reset' : 'linger'
  return { protocol: providers ? PROVIDERS_PROTOCOL : HANDSHAKE_PROTOCOL, chunks, ending }
}

/** A chain stream: requests (plausible or not), other kinds, truncations, oversized prefixes. */
function chainStreamCase(rng: Prng): StreamCase {
  const chunks: Uint8Array[] = []
  const shape = rng.int(100)
  const one = () =>
    rng.chance(0.7)
      ? encodeRawFrame(CHAIN_REQUEST, chainRequest(rng))
      : frame(rng, rng.pick(CHAIN_KINDS), {})
  if (shape < 50) chunks.push(one())
  else if (shape < 65) for (let n = rng.between(2, 4); n > 0; n--) chunks.push(one())
  else if (shape < 80) {
    const whole = one()
    chunks.push(whole.subarray(0, rng.int(whole.length)))
  } else if (shape < 92) {
    chunks.push(
      framePrefix(rng.pick(CHAIN_KINDS), rng.pick(LENGTHS)),
      rng.bytes(rng.between(0, 64)),
    )
  } else chunks.push(rng.bytes(rng.between(1, 200)))
  const e = rng.int(100)
  const ending: StreamEnding = e < 70 ? 'close' : e < 95 ? 'reset' : 'linger'
  return { protocol: CHAIN_PROTOCOL, chunks, ending }
}

export interface Libp2pFuzzResult {
  readonly cases: number
  readonly ms: number
  /**
   * How the streams went: `answered` (the node wrote something back), `ended` (the node ended
   * its side after ours), `open` (still open when we gave up on it; reset then), `refused`
   * (the stream could not be opened: the node's stream limits), `redials`.
   */
  readonly outcomes: Record<string, number>
  /** Indices of the first streams the node left open after ours was closed (at most 20). */
  readonly leftOpen: readonly number[]
}

export interface Libp2pFuzzOptions {
  readonly dialer: FuzzDialer
  /** The node's multiaddr with /p2p/. */
  readonly address: string
  readonly seed: number
  readonly cases: number
  readonly start?: number
  /** Streams open at once (default 8). */
  readonly parallel?: number
  /** How long a closed stream may wait for the node to end its side (default 3 s). */
  readonly endTimeoutMs?: number
  /** How long a 'linger' stream is left alone before it is reset (default 50 ms). */
  readonly lingerMs?: number
  /** The node runs a chain: fuzz `/fulmen/chain/1.0.0` too. */
  readonly chain?: boolean
}

/** Reads `source` to its end or until `ms` pass; how many bytes came and whether it ended. */
async function drain(
  source: AsyncIterable<Uint8Array>,
  ms: number,
): Promise<{ bytes: number; ended: boolean }> {
  let bytes = 0
  const reading = (async () => {
    try {
      for await (const chunk of source) bytes += chunk.length
    } catch {
      // A reset by the node ends it too.
    }
    return true
  })()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  const ended = await Promise.race([reading, timeout])
  clearTimeout(timer)
  return { bytes, ended }
}

/** Runs the cases; never throws for what the node does (a refused stream is counted). */
export async function runLibp2pFuzz(options: Libp2pFuzzOptions): Promise<Libp2pFuzzResult> {
  const { dialer, seed } = options
  const address = multiaddr(options.address)
  const peer = options.address.split('/p2p/')[1] ?? 'node'
  const start = options.start ?? 0
  const end = start + options.cases
  const endTimeoutMs = options.endTimeoutMs ?? 3_000
  const lingerMs = options.lingerMs ?? 50
  const outcomes: Record<string, number> = {}
  const count = (key: string) => {
    outcomes[key] = (outcomes[key] ?? 0) + 1
  }
  let connection: Promise<Connection> | undefined
  const connected = async (): Promise<Connection> => {
    connection ??= dialer.dial(address)
    const current = await connection
    if (current.status === 'open') return current
    count('redials')
    connection = dialer.dial(address)
    return connection
  }
  const leftOpen: number[] = []
  let nextIndex = start
  const began = performance.now()

  const runOne = async (c: StreamCase, index: number) => {
    let stream: Awaited<ReturnType<Connection['newStream']>>
    try {
      stream = await (await connected()).newStream(c.protocol, {
        signal: AbortSignal.timeout(10_000),
      })
    } catch {
      count('refused')
      return
    }
    const channel = streamChannel(stream, peer)
    try {
      for (const chunk of c.chunks) await channel.write(chunk)
    } catch {
      count('write-failed') // the node reset the stream mid-write: it refused the input
      channel.abort(new Error('fuzz: done'))
      return
    }
    if (c.ending === 'reset') {
      channel.abort(new Error('fuzz: reset'))
      count('reset')
      return
    }
    if (c.ending === 'linger') {
      await new Promise((resolve) => setTimeout(resolve, lingerMs))
      channel.abort(new Error('fuzz: linger over'))
      count('lingered')
      return
    }
    try {
      await channel.close()
    } catch {
      // Already reset by the node.
    }
    const { bytes, ended } = await drain(channel.source, endTimeoutMs)
    if (bytes > 0) count('answered')
    count(ended ? 'ended' : 'open')
    if (!ended) {
      if (leftOpen.length < 20) leftOpen.push(index)
      channel.abort(new Error('fuzz: the node did not end the stream'))
    }
  }

  const worker = async () => {
    while (nextIndex < end) {
      const index = nextIndex++
      await runOne(streamCase(seed, index, options.chain ?? false), index)
    }
  }
  await Promise.all(Array.from({ length: options.parallel ?? 8 }, worker))
  return { cases: options.cases, ms: Math.round(performance.now() - began), outcomes, leftOpen }
}
