/**
 * `/fulmen/ping/1.0.0` on a full node (issue 19; docs/protocol.md "Pings"): the answering side,
 * a protocol server that reads one PING per stream and writes one PONG signed with the node's
 * Ed25519 seed (src/reputation/signed-ping.ts), and the pinging side, `pingPeer`, which opens a
 * stream, writes a PING with a fresh nonce, reads the PONG and checks it was signed by the node
 * it meant to reach, for that nonce. The round trip is timed from the PING written to the PONG
 * decoded, so dialling and protocol negotiation are not counted as latency.
 *
 * The server answers only the peers `allow` admits (the node registry's nodes on a full node):
 * signing costs a little CPU, and nobody else has a use for the answer.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from '../../core/logger.ts'
import type { Metrics } from '../../core/metrics.ts'
import { describeReason, TerminationReason } from '../../handshake/termination.ts'
import { type DialingLibp2p, libp2pProtocolDialer } from '../../net/protocol-dialer.ts'
import {
  type ProtocolServer,
  protocolServer,
  type StreamRefusal,
} from '../../net/protocol-server.ts'
import { PING_PROTOCOL } from '../../net/protocols.ts'
import type { PingPeer, PingResult } from '../../reputation/pinger.ts'
import {
  answerPing,
  encodePing,
  encodePingTerminate,
  encodePong,
  type PongSigner,
  pingCodec,
  pingNonce,
  verifyPong,
} from '../../reputation/signed-ping.ts'
import { WireError } from '../../wire/errors.ts'
import { CodecDecoder } from '../../wire/frame-codec.ts'
import { nodeEd25519DagSigner } from '../chain/node-ed25519.ts'

export interface PingServerOptions {
  readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  /** The node's Ed25519 seed and its public key (the node key). */
  readonly seed: Uint8Array
  readonly nodeKey: Uint8Array
  /** Whether to answer `peer` (a libp2p peer id); default: everyone. */
  readonly allow?: (peer: string) => Promise<boolean> | boolean
  readonly metrics?: Metrics
  readonly logger: Logger
  readonly now?: () => number
}

const REASON_OF: Record<StreamRefusal['cause'], number> = {
  'frame-too-large': TerminationReason.FRAME_TOO_LARGE,
  'malformed-frame': TerminationReason.MALFORMED_FRAME,
  'too-many-frames': TerminationReason.RESOURCES_UNAVAILABLE,
  handler: TerminationReason.WRONG_PERMISSION,
}

class NotAllowed extends Error {}

/** The answering side: one signed PONG per stream. */
export function pingServer(options: PingServerOptions): ProtocolServer {
  const log = options.logger.child({ component: 'ping-server' })
  const now = options.now ?? Date.now
  // Node's OpenSSL signs: the same signature as @noble/curves (Ed25519 is deterministic), in a
  // fraction of the time, and the answerer's signing time is part of every round trip measured.
  const signer: PongSigner = {
    node: options.nodeKey,
    sign: nodeEd25519DagSigner(0, options.seed).sign,
  }
  const answered = options.metrics?.counter({
    name: 'fulmen_pings_answered_total',
    help: 'Pings this node answered with a signed pong, and streams it refused, by result',
    labelNames: ['result'],
  })
  return protocolServer({
    libp2p: options.libp2p,
    protocol: PING_PROTOCOL,
    codec: pingCodec('to-answerer'),
    maxFramesPerStream: 1,
    maxStreamsPerConnection: 2,
    idleTimeoutMs: 5_000,
    lingerMs: 500,
    logger: log,
    async onFrame(frame, stream) {
      if (frame.kind !== 'ping')
        throw new WireError('WIRE_MALFORMED', `${frame.kind} sent to a node`)
      if (options.allow !== undefined && !(await options.allow(stream.peer)))
        throw new NotAllowed(`${stream.peer} is not a registered node`)
      await stream.write(encodePong(answerPing(frame, signer, now())))
      answered?.labels('ok').inc()
    },
    onRefused: (refusal) =>
      answered?.labels(refusal.error instanceof NotAllowed ? 'not-allowed' : refusal.cause).inc(),
    refusal: (refusal) =>
      encodePingTerminate(
        REASON_OF[refusal.cause],
        refusal.error instanceof NotAllowed
          ? 'not a registered node'
          : refusal.message.slice(0, 200),
      ),
  })
}

/**
 * Pings `peer` over libp2p asking for `pad` bytes of padding; resolves with the round trip once
 * a PONG verified under `peer.key`. Rejects with a ReputationError (PONG_*), a WireError (a
 * TERMINATE, a malformed or missing PONG), or what dialling threw; aborts with `signal`.
 */
export async function pingPeer(
  libp2p: DialingLibp2p,
  peer: PingPeer,
  pad: number,
  signal: AbortSignal,
): Promise<PingResult> {
  const nonce = pingNonce()
  const bytes = encodePing({ nonce, pad })
  const channel = await libp2pProtocolDialer(libp2p).open(peer.address, PING_PROTOCOL, signal)
  const onAbort = () => channel.abort(signal.reason ?? new Error('aborted'))
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const started = performance.now()
    await channel.write(bytes)
    const decoder = new CodecDecoder(pingCodec('to-pinger'))
    let received = 0
    for await (const chunk of channel.source) {
      received += chunk.length
      const [reply] = decoder.push(chunk)
      if (reply === undefined) continue
      const rttUs = Math.round((performance.now() - started) * 1000)
      await channel.close()
      if (reply.kind === 'terminate') {
        throw new WireError(
          'WIRE_REMOTE_ERROR',
          `the node refused the ping, ${describeReason(reply.reason)}: ${reply.message}`,
        )
      }
      if (reply.kind !== 'pong') throw new WireError('WIRE_MALFORMED', `${reply.kind} in answer`)
      verifyPong(reply, { nonce, node: peer.key })
      return { rttUs, bytes: received }
    }
    decoder.end()
    throw new WireError('WIRE_TRUNCATED', 'the node closed the stream without a pong')
  } catch (error) {
    channel.abort(error instanceof Error ? error : new Error(String(error)))
    if (signal.aborted) throw signal.reason
    throw error
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}
