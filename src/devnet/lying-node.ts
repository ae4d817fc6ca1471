/**
 * A lying node for process-level tests of the client's failover: a libp2p node of its own that
 * speaks the node side of sessions exactly as a full node does (the metered session host and handshake listener: the same
 * handshake, session table and acknowledgement ledgers) but holds no content. Each REQUEST is
 * forwarded unchanged (pointer, range, resumeBlock) to a real node, the `upstream`, over a
 * client session of its own, and the upstream's frames are passed down: faithfully, or from
 * block `after` of the response on, tampered according to `mode`. What a verifying client must
 * catch, each lie with its own error code:
 *
 *   honest       forwards everything
 *   flip-byte    one bit of block N's DATA flipped                  B3_BLOCK_MISMATCH
 *   wrong-proof  a hash byte of block N's PROOF flipped (or a        B3_PROOF_MISMATCH /
 *                1-byte proof where the proof is empty)             B3_PROOF_LENGTH
 *   truncate     the stream closed cleanly after N blocks           CLIENT_TRUNCATED
 *   stall        nothing more after N blocks, the stream kept open  CLIENT_STALLED
 *   wrong-root   a HEADER naming another root                       WIRE_WRONG_CONTENT
 *   longer       every HEADER's length `delta` bytes more (100 by   the last block does not
 *                default; a whole body's range with it), the       verify: CLIENT_STALLED
 *                frames as they are                                 (ranges: CLIENT_WRONG_LENGTH)
 *   shorter      the same, `delta` bytes less                       B3_PROOF_LENGTH,
 *                                                                   CLIENT_PROTOCOL…
 *   substitute   every REQUEST for another pointer asks the         (IPFS, HTTP pointers)
 *                upstream for `substitute` (a content id it holds)  CLIENT_WRONG_DIGEST
 *                instead: the node's pointer record mapped to
 *                another file it holds
 *
 * `startLyingNode` runs one in this process; `spawnLyingNode` runs lying-node-main.ts as a
 * process of its own, as the tests do, so that it fails like a real node would.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { blockLength, blocksOfRange } from '../b3/geometry.ts'
import { type CdnClientStream, NodeSession } from '../client/node-session.ts'
import { type ClientKey, generateClientKey } from '../crypto/client-key.ts'
import { createMeteredSessionHost } from '../host/metered-session-host.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { libp2pDialer } from '../net/libp2p-dialer.ts'
import { createNodeLibp2p } from '../net/node-libp2p.ts'
import { defaults } from '../node/config.ts'
import { handshakeListener } from '../node/handshake-listener.ts'
import { createLogger, type Logger } from '../node/logger.ts'
import { createMetrics } from '../node/metrics.ts'
import { type CdnStream, serveRequests } from '../services/cdn/cdn-server.ts'
import { cdnService } from '../services/cdn/cdn-service.ts'
import type { RequestFrame } from '../wire/cdn-frames.ts'
import { type ContentHeader, encodeFrame } from '../wire/content-frames.ts'
import { childEnv } from './processes.ts'

export const LYING_MODES = [
  'honest',
  'flip-byte',
  'wrong-proof',
  'truncate',
  'stall',
  'wrong-root',
  'longer',
  'shorter',
  'substitute',
] as const

export type LyingMode = (typeof LYING_MODES)[number]

export function isLyingMode(mode: string): mode is LyingMode {
  return (LYING_MODES as readonly string[]).includes(mode)
}

/** Blocks of each response passed on untouched before the lie. */
export const DEFAULT_LIE_AFTER = 2

export interface LyingNodeOptions {
  /** A real node's multiaddr with /p2p/<peer id>, reachable over WebSockets. */
  readonly upstream: string | Multiaddr
  readonly mode: LyingMode
  /** Blocks of each response forwarded faithfully before the lie (default 2). */
  readonly after?: number
  /** `longer`, `shorter`: how many bytes the header's length is off (default 100). */
  readonly delta?: number
  /** `substitute`: the content id asked for in place of any other pointer. */
  readonly substitute?: string
  /** Where to listen (default 127.0.0.1, on ports chosen by the system). */
  readonly host?: string
  /** Its own logs (pino, stderr): 'warn' by default. */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

export interface LyingNode {
  readonly peerId: string
  multiaddrs(): string[]
  stop(): Promise<void>
}

interface Upstream {
  readonly libp2p: ClientLibp2p
  readonly address: Multiaddr
  /** One upstream session per downstream session, so the upstream sees one client per client. */
  readonly sessions: Map<bigint, Promise<{ session: NodeSession; key: ClientKey }>>
}

interface Lie {
  readonly mode: LyingMode
  readonly after: number
  readonly delta: number
  readonly substitute: string | undefined
  readonly ackTimeoutMs: number
  readonly handshakeTimeoutMs: number
  readonly logger: Logger
}

export async function startLyingNode(options: LyingNodeOptions): Promise<LyingNode> {
  const privateKey = await generateKeyPair('Ed25519')
  const config = defaults().sessions
  const logger = createLogger(options.logLevel ?? 'warn', { component: 'lying-node' })
  const libp2p = await createNodeLibp2p({
    privateKey,
    host: options.host ?? '127.0.0.1',
    wsPort: 0,
    webrtcPort: 0,
  })
  await libp2p.start()
  const upstream: Upstream = {
    libp2p: await createClientLibp2p(),
    address: typeof options.upstream === 'string' ? multiaddr(options.upstream) : options.upstream,
    sessions: new Map(),
  }
  const lie: Lie = {
    mode: options.mode,
    after: options.after ?? DEFAULT_LIE_AFTER,
    delta: options.delta ?? 100,
    substitute: options.substitute,
    ackTimeoutMs: config.ackTimeoutMs,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    logger,
  }
  const sessions = createMeteredSessionHost({
    nodePeerId: peerIdFromPrivateKey(privateKey).toMultihash().bytes,
    config,
    logger: logger.child({ component: 'sessions' }),
    metrics: createMetrics(),
    // The lying CDN: the CDN service's sessions and ledgers, its streams served by `serveLying`.
    services: [
      cdnService({
        nodeKey: privateKey.publicKey.raw,
        ackWindow: config.ackWindow,
        serve: (stream, signal) => serveLying(stream, upstream, lie, signal),
      }),
    ],
  })
  const listener = handshakeListener(
    () => libp2p,
    () => sessions,
    config,
  )
  await listener.start()
  let stopping: Promise<void> | undefined
  return {
    peerId: peerIdFromPrivateKey(privateKey).toString(),
    multiaddrs: () => libp2p.getMultiaddrs().map(String),
    stop() {
      stopping ??= (async () => {
        await listener.stop()
        await sessions.stop()
        await upstream.libp2p.stop()
        await libp2p.stop()
      })()
      return stopping
    },
  }
}

/**
 * One downstream stream, served by the CDN service's own stream loop (`serveRequests`): its
 * COMMIT and REVEAL frames go to the session's ledger as on a real node (so the client's
 * acknowledgements are checked and the window holds), its REQUESTs are forwarded one after
 * the other, tampered with.
 */
function serveLying(
  stream: CdnStream,
  upstream: Upstream,
  lie: Lie,
  signal: AbortSignal,
): Promise<void> {
  return serveRequests(
    stream,
    {
      claims: { put: async () => {} },
      logger: lie.logger,
      answer: (request, stop) => forward(stream, request, upstream, lie, stop),
    },
    signal,
  )
}

/** The upstream session standing for the downstream session `id`, opened with `request`. */
async function upstreamStream(
  id: bigint,
  request: RequestFrame,
  upstream: Upstream,
  lie: Lie,
  signal: AbortSignal,
): Promise<{ session: NodeSession; stream: CdnClientStream }> {
  const known = upstream.sessions.get(id)
  if (known !== undefined) {
    const { session } = await known
    if (session.isOpen) return { session, stream: await session.request(request, signal) }
  }
  // A client key of its own per session: the upstream caps sessions per key.
  const key = generateClientKey()
  const opening = NodeSession.open(libp2pDialer(upstream.libp2p), upstream.address, request, {
    key,
    handshakeTimeoutMs: lie.handshakeTimeoutMs,
    signal,
  })
  const entry = opening.then((o) => ({ session: o.session, key }))
  upstream.sessions.set(id, entry)
  entry.catch(() => upstream.sessions.delete(id))
  return opening
}

/**
 * Forwards one request's answer, lying as told. Resolves true when the lie ended the stream
 * (truncate, stall): nothing more is served on it.
 */
async function forward(
  down: CdnStream,
  request: RequestFrame,
  upstream: Upstream,
  lie: Lie,
  signal: AbortSignal,
): Promise<boolean> {
  const { ledger } = down.session.state
  const asked =
    lie.mode === 'substitute' && lie.substitute !== undefined && request.pointer !== lie.substitute
      ? { ...request, pointer: lie.substitute }
      : request
  const { session, stream: up } = await upstreamStream(
    down.session.id,
    asked,
    upstream,
    lie,
    signal,
  )
  let clean = false
  try {
    let header: ContentHeader | undefined
    let k = 0
    let end = 0
    /** Blocks of this response forwarded so far. */
    let count = 0
    let filled = 0
    const lengthOf = (block: number) => blockLength(header!.length, block)
    /** After `after` blocks: whether the lie ends the stream here. */
    const endsHere = async (): Promise<boolean> => {
      if (count !== lie.after) return false
      if (lie.mode === 'truncate') {
        await down.close()
        return true
      }
      if (lie.mode === 'stall') {
        // Not one more byte, the stream kept open, until the client gives up (or we stop).
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve()
          else signal.addEventListener('abort', () => resolve(), { once: true })
        })
        return true
      }
      return false
    }
    const blockDone = async (): Promise<boolean> => {
      count++
      k++
      filled = 0
      // The upstream holds back unless blocks are acknowledged as they pass through.
      await session.verified(up)
      return k === end
    }

    for (;;) {
      const next = await untilAborted(up.frames.next(), signal)
      if (next.done) throw new Error('the upstream ended the stream mid-response')
      const frame = next.value
      if (frame.kind === 'error') {
        await down.send(encodeFrame(frame))
        clean = true
        return false
      }
      if (frame.kind === 'header') {
        header = frame.header
        const span = blocksOfRange(header.length, header.range)
        k = request.resumeBlock ?? span.first
        end = span.end
        let root = header.root
        if (lie.mode === 'wrong-root') {
          root = Uint8Array.from(root)
          root[0] = root[0]! ^ 0x01
        }
        let { length, range } = header
        if (lie.mode === 'longer' || lie.mode === 'shorter') {
          length = Math.max(0, length + (lie.mode === 'longer' ? lie.delta : -lie.delta))
          // A whole body covers the whole (claimed) length; a range stays as asked.
          if (request.range === undefined) range = { start: 0, end: length }
        }
        await down.send(encodeFrame({ kind: 'header', header: { ...header, root, length, range } }))
        if (await endsHere()) return true
        continue
      }
      if (header === undefined) throw new Error(`a ${frame.kind} frame before the header`)
      if (frame.kind === 'proof') {
        // The downstream session's window holds as on a real node.
        if (!ledger.canSend() && !(await ledger.whenCanSend(signal, lie.ackTimeoutMs))) {
          throw new Error(`no acknowledgement for ${lie.ackTimeoutMs} ms`)
        }
        ledger.delivered(1)
        let bytes = frame.bytes
        if (lie.mode === 'wrong-proof' && count === lie.after) bytes = corruptProof(bytes)
        await down.send(encodeFrame({ kind: 'proof', bytes }))
        if (lengthOf(k) === 0) {
          if (await blockDone()) break
          if (await endsHere()) return true
        }
        continue
      }
      if (frame.kind === 'data') {
        let bytes = frame.bytes
        if (lie.mode === 'flip-byte' && count === lie.after && filled === 0) {
          bytes = Uint8Array.from(bytes)
          bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01
        }
        await down.send(encodeFrame({ kind: 'data', bytes }))
        filled += bytes.length
        if (filled === lengthOf(k)) {
          if (await blockDone()) break
          if (await endsHere()) return true
        }
        continue
      }
      throw new Error(`a ${frame.kind} frame inside a body`)
    }
    await session.flush(up)
    clean = true
    return false
  } finally {
    session.release(up, clean)
  }
}

/** `promise`, or a rejection with the signal's reason once `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  // Once we stop waiting, its rejection (the stream torn down) is nobody's business.
  promise.catch(() => {})
  if (signal.aborted) return Promise.reject(signal.reason)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  return Promise.race([promise, aborted]).finally(() =>
    signal.removeEventListener('abort', onAbort!),
  )
}

/** A proof that cannot verify: one hash byte flipped, or 1 byte where none was due. */
function corruptProof(proof: Uint8Array): Uint8Array {
  if (proof.length === 0) return new Uint8Array(1)
  const out = Uint8Array.from(proof)
  // Byte 0 is the first segment's sign byte; byte 1 starts the target block's hash.
  out[1] = out[1]! ^ 0x01
  return out
}

export const LYING_NODE_MAIN = fileURLToPath(new URL('./lying-node-main.ts', import.meta.url))

export interface LyingNodeProcess {
  readonly child: ChildProcess
  readonly peerId: string
  readonly multiaddrs: readonly string[]
  /** Its WebSocket multiaddr with /p2p/ (what clients dial). */
  readonly address: string
  /** Its stderr so far (pino lines). */
  stderr(): string
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with how it exited. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Children still running when the test process exits are killed. */
const running = new Set<ChildProcess>()
let exitHook = false

/** Runs lying-node-main.ts in a process of its own; resolves once it printed its addresses. */
export async function spawnLyingNode(
  options: Omit<LyingNodeOptions, 'upstream' | 'logLevel'> & {
    readonly upstream: string
    readonly timeoutMs?: number
    /** A process group of its own (see SpawnOptions.detached in processes.ts). */
    readonly detached?: boolean
  },
): Promise<LyingNodeProcess> {
  const args = [LYING_NODE_MAIN, '--upstream', options.upstream, '--mode', options.mode]
  if (options.after !== undefined) args.push('--after', String(options.after))
  if (options.delta !== undefined) args.push('--delta', String(options.delta))
  if (options.substitute !== undefined) args.push('--substitute', options.substitute)
  if (options.host !== undefined) args.push('--host', options.host)
  const child = spawn(process.execPath, args, {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  })
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const c of running) c.kill('SIGKILL')
    })
  }
  running.add(child)
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
    }),
  )
  let stdout = ''
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const ready = await new Promise<{ peerId: string; multiaddrs: string[] }>((resolve, reject) => {
    // Generous: a loaded machine starting a dozen of them at once takes its time.
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the lying node did not start\n${stderr}`))
    }, options.timeoutMs ?? 90_000)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const nl = stdout.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      resolve(JSON.parse(stdout.slice(0, nl)) as { peerId: string; multiaddrs: string[] })
    })
    void exit.then(() => {
      clearTimeout(timer)
      reject(new Error(`the lying node exited (${child.exitCode ?? child.signalCode})\n${stderr}`))
    })
  })
  const address = ready.multiaddrs.find((a) => a.includes('/ws/'))
  if (address === undefined) throw new Error(`no WebSocket address in ${ready.multiaddrs}`)
  return {
    child,
    ...ready,
    address,
    stderr: () => stderr,
    async stop(timeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      try {
        return await exit
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
