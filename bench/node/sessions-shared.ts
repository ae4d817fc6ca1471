/**
 * What the sessions benchmark's processes (bench/node/sessions.ts and its children) agree on:
 * the bench-only protocols the node child adds, the content every server holds, and the jobs.
 */
import { fillPseudoRandom, MiB } from '../shared.ts'

/**
 * The node's stored bytes, unframed and unverified: the peer of a session fetch on the same
 * libp2p connection type, muxer and encryption.
 */
export const RAW_PROTOCOL = '/fulmen-bench/raw/1.0.0'
/**
 * The same blocks written as the CDN service writes a body: per block a PROOF frame, the DATA
 * frame's 5-byte prefix and the block, each its own `send` (so its own Yamux frame, Noise
 * message and WebSocket frame). Stands apart what the session's write pattern costs the
 * transport from what framing, verification and acknowledgements cost.
 */
export const RAW_SPLIT_PROTOCOL = '/fulmen-bench/raw-split/1.0.0'
/** Bytes RAW_SPLIT_PROTOCOL adds per block: a 5-byte prefix and a 32-byte proof, a 5-byte prefix. */
export const SPLIT_OVERHEAD = 5 + 32 + 5

/** Answers with the node process's `process.cpuUsage()` as JSON, then closes. */
export const CPU_PROTOCOL = '/fulmen-bench/cpu/1.0.0'

/** Seed of the benchmark content: the Fulmen node and the Helia provider hold the same bytes. */
export const CONTENT_SEED = 0x5e55

const CONTENT_CHUNK = MiB

/**
 * `bytes` of deterministic pseudo-random content in 1 MiB chunks, each a fresh buffer (an
 * importer may keep what it is given). Both servers get exactly these bytes.
 */
export async function* benchContent(
  bytes: number,
  seed = CONTENT_SEED,
): AsyncGenerator<Uint8Array> {
  for (let off = 0, i = 0; off < bytes; off += CONTENT_CHUNK, i++) {
    const n = Math.min(CONTENT_CHUNK, bytes - off)
    // Multiple of 4 for fillPseudoRandom's word loop; the tail is cut off below.
    const chunk = fillPseudoRandom(new Uint8Array((n + 3) & ~3), seed + i)
    yield n === chunk.length ? chunk : chunk.subarray(0, n)
  }
}

/** The node child's first stdout line. */
export interface NodeReady {
  readonly pid: number
  /** The node's WebSockets multiaddr, with /p2p/<peer id>. */
  readonly multiaddr: string
  readonly rootHex: string
  readonly importSeconds: number
}

/** CPU time as `process.cpuUsage()` gives it, microseconds. */
export interface CpuTimes {
  readonly user: number
  readonly system: number
}

export interface ThroughputJob {
  readonly mode: 'throughput'
  readonly multiaddr: string
  readonly rootHex: string
  readonly bytes: number
  /** Timed turns (session, raw) after one warm-up turn. */
  readonly turns: number
  /** Run only these (to profile one alone); default all three. */
  readonly only?: 'session' | 'raw' | 'raw-split'
}

export interface ThroughputResult {
  /** Seconds of every timed turn. */
  readonly session: number[]
  readonly raw: number[]
  readonly rawSplit: number[]
  /** Over every session fetch, warm-up included (the session's acknowledgements span them). */
  readonly sessionBytes: number
  readonly clientCpuMs: number
  readonly nodeCpuMs: number
  readonly ackSignMs: number
  readonly ackHashMs: number
  readonly commitments: number
  readonly acknowledgedUnits: number
  /** Node CPU over the raw fetches, for comparison. */
  readonly rawBytes: number
  readonly nodeRawCpuMs: number
  readonly clientRawCpuMs: number
}

export interface FirstByteJob {
  readonly mode: 'first-byte'
  readonly multiaddr: string
  readonly rootHex: string
  readonly runs: number
}

export interface FirstByteResult {
  /** Milliseconds of each run: fresh client, `fetch` to the first verified chunk of the body. */
  readonly session: number[]
  /** The same runs, until `fetch` resolved (the node's header checked). */
  readonly sessionHeader: number[]
  /** Fresh libp2p: dial + raw stream to its first chunk. */
  readonly raw: number[]
  /** The same raw runs, to their first 256 KiB (one block's worth). */
  readonly rawBlock: number[]
}

export interface HandshakeJob {
  readonly mode: 'handshake'
  readonly multiaddr: string
  readonly runs: number
}

export interface HandshakeResult {
  /** Milliseconds: fresh libp2p, dial alone. */
  readonly dial: number[]
  /** Fresh libp2p: dial + one libp2p ping. */
  readonly ping: number[]
  /** Fresh libp2p and key: dial + handshake stream + openSession (CHALLENGE, HELLO, SESSION). */
  readonly session: number[]
}

export interface CpuJob {
  readonly mode: 'cpu'
  /** Where the replayed DA pool (LevelDB) lives. */
  readonly dir: string
  readonly runs: number
}

export interface CpuResult {
  /** Milliseconds per HELLO, medians: the client's signature, the node's check (new key). */
  readonly helloSign: number
  readonly helloVerify: number
  readonly helloVerifySeenKey: number
  /** Milliseconds per GiB delivered, best run: AckLedger.commit, the reveals, DaPool.put. */
  readonly ackCommit: number
  readonly ackReveals: number
  readonly ackPuts: number
  /** process.cpuUsage() of the same best run (LevelDB's threads included), ms. */
  readonly ackCpu: number
  readonly reveals: number
  /**
   * The client's side of those sessions (SessionAcks.begin: the hash chain of 16,384 units and
   * the signed commitment), ms: the first in this process (cold), then the median of the rest.
   */
  readonly chainColdMs: number
  readonly chainMs: number
  readonly commitSignColdMs: number
  readonly commitSignMs: number
}

export type ClientJob = ThroughputJob | FirstByteJob | HandshakeJob | CpuJob

export function cpuMs(a: CpuTimes, b: CpuTimes): number {
  return (b.user - a.user + b.system - a.system) / 1000
}
