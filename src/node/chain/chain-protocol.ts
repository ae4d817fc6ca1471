/**
 * `/fulmen/chain/1.0.0`: the chain's HTTP routes as a libp2p protocol (docs/protocol.md "Chain:
 * libp2p protocol"). A peer opens a stream, sends one REQUEST, reads one RESULT or ERROR and
 * closes. The node serves it only when it runs a chain; each stream is read on its own
 * (src/net/protocol-server.ts), so a bad frame, a second request or a silent peer ends that
 * stream with TERMINATE and touches nothing else.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../../core/logger.ts'
import type { Metrics } from '../../core/metrics.ts'
import { describeReason, TerminationReason } from '../../handshake/termination.ts'
import { type DialingLibp2p, libp2pProtocolDialer } from '../../net/protocol-dialer.ts'
import {
  type ProtocolServer,
  protocolServer,
  type StreamRefusal,
} from '../../net/protocol-server.ts'
import { CHAIN_PROTOCOL } from '../../net/protocols.ts'
import { WireError } from '../../wire/errors.ts'
import { CodecDecoder } from '../../wire/frame-codec.ts'
import {
  answerChainRequest,
  type ChainApi,
  type ChainRequest,
  chainFailureOf,
  RemoteChainError,
} from './chain-api.ts'
import { chainCodec, encodeChainFrame } from './chain-frames.ts'

export interface ChainProtocolOptions {
  readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  readonly api: ChainApi
  readonly logger: Logger
  /** How long a stream may wait for its request, milliseconds (default 10 s). */
  readonly idleTimeoutMs?: number
  /** Counts the streams ended with TERMINATE, by reason. */
  readonly metrics?: Metrics
}

const REASON_OF: Record<StreamRefusal['cause'], number> = {
  'frame-too-large': TerminationReason.FRAME_TOO_LARGE,
  'malformed-frame': TerminationReason.MALFORMED_FRAME,
  'too-many-frames': TerminationReason.RESOURCES_UNAVAILABLE,
  handler: TerminationReason.UNKNOWN,
}

/** The node's side: answers each stream's one request from `api`. */
export function chainProtocolServer(options: ChainProtocolOptions): ProtocolServer {
  const log = options.logger.child({ component: 'chain-protocol' })
  const refused = options.metrics?.counter({
    name: 'fulmen_chain_streams_refused_total',
    help: 'Chain protocol streams ended with TERMINATE, by reason (hex)',
    labelNames: ['reason'],
  })
  const answer = async (request: ChainRequest, signal: AbortSignal): Promise<Uint8Array> => {
    try {
      const result = await answerChainRequest(options.api, request, signal)
      try {
        return encodeChainFrame({ kind: 'result', result })
      } catch (error) {
        if (!(error instanceof RangeError)) throw error
        return encodeChainFrame({
          kind: 'error',
          code: 'CHAIN_RESPONSE_TOO_LARGE',
          message: error.message,
          status: 413,
        })
      }
    } catch (error) {
      const failure = chainFailureOf(error)
      if (failure.status >= 500) log.warn({ err: error, op: request.op }, 'chain request failed')
      return encodeChainFrame({ kind: 'error', ...failure })
    }
  }
  return protocolServer({
    libp2p: options.libp2p,
    protocol: CHAIN_PROTOCOL,
    codec: chainCodec('to-node'),
    maxFramesPerStream: 1,
    idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    logger: log,
    async onFrame(frame, stream) {
      // The codec reads requests only: any other kind was refused at its prefix.
      if (frame.kind !== 'request')
        throw new WireError('WIRE_MALFORMED', `${frame.kind} sent to a node`)
      await stream.write(await answer(frame.request, stream.signal))
    },
    onRefused: (refusal) => refused?.labels(REASON_OF[refusal.cause].toString(16)).inc(),
    refusal: (refusal) =>
      encodeChainFrame({
        kind: 'terminate',
        reason: REASON_OF[refusal.cause],
        message: refusal.cause === 'handler' ? 'internal error' : refusal.message.slice(0, 200),
      }),
  })
}

export interface ChainRequestOptions {
  readonly signal?: AbortSignal
}

/**
 * Asks the node at `nodeAddress` one request over `/fulmen/chain/1.0.0`. Resolves with the
 * RESULT (the JSON-shaped answer); an ERROR rejects with a RemoteChainError carrying its code
 * and status; a TERMINATE or a broken stream with a WireError.
 */
export async function requestChain(
  libp2p: DialingLibp2p,
  nodeAddress: string | Multiaddr,
  request: ChainRequest,
  { signal }: ChainRequestOptions = {},
): Promise<unknown> {
  const bytes = encodeChainFrame({ kind: 'request', request }) // a bad argument throws before I/O
  signal?.throwIfAborted()
  const channel = await libp2pProtocolDialer(libp2p).open(nodeAddress, CHAIN_PROTOCOL, signal)
  const onAbort = () => channel.abort(signal?.reason ?? new Error('aborted'))
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await channel.write(bytes)
    const decoder = new CodecDecoder(chainCodec('to-peer'))
    for await (const chunk of channel.source) {
      const [reply] = decoder.push(chunk)
      if (reply === undefined) continue
      await channel.close()
      switch (reply.kind) {
        case 'result':
          return reply.result
        case 'error':
          throw new RemoteChainError(reply.code, reply.message, reply.status)
        case 'terminate':
          throw new WireError(
            'WIRE_REMOTE_ERROR',
            `the node ended the stream, ${describeReason(reply.reason)}: ${reply.message}`,
          )
        default:
          throw new WireError('WIRE_MALFORMED', `unexpected ${reply.kind} frame in answer`)
      }
    }
    decoder.end()
    throw new WireError('WIRE_TRUNCATED', 'the node closed the stream without an answer')
  } catch (error) {
    channel.abort(error instanceof Error ? error : new Error(String(error)))
    if (signal?.aborted) throw signal.reason
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}
