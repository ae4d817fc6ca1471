/**
 * The full node's side of discovery, `/fulmen/providers/1.0.0` (docs/protocol.md "Discovery"):
 * tabs ANNOUNCE the roots they hold, clients QUERY who holds a root. An ANNOUNCE speaks for the
 * connection's authenticated remote peer (Noise), never for a peer it names, and what a peer
 * announced goes when its last connection closes.
 *
 * Each stream is read on its own: a bad frame, a frame over the limits or a silent peer ends
 * that stream with TERMINATE and touches nothing else.
 */
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { TerminationReason } from '../../handshake/termination.ts'
import { PROVIDERS_PROTOCOL } from '../../net/protocols.ts'
import { streamChannel } from '../../net/stream-channel.ts'
import type { ByteChannel } from '../../wire/byte-channel.ts'
import { WireError } from '../../wire/errors.ts'
import {
  encodeProviderFrame,
  type ProviderFrame,
  ProviderFrameDecoder,
} from '../../wire/provider-frames.ts'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'
import {
  type Provider,
  ProviderError,
  ProviderRegistry,
  type ProviderRegistryOptions,
} from './provider-registry.ts'

export interface ProviderServiceLimits {
  /** Frames one stream may carry before it is ended (default 64). */
  readonly maxFramesPerStream?: number
  /** How long a stream may stay without a whole frame, milliseconds (default 30 s). */
  readonly idleTimeoutMs?: number
  /** Streams of this protocol one connection may have open at once (default 4). */
  readonly maxStreamsPerConnection?: number
  /** How often expired announcements are swept, milliseconds (default 60 s). */
  readonly sweepIntervalMs?: number
}

export interface ProviderServiceOptions extends ProviderServiceLimits {
  /** The node's libp2p (src/net/node-libp2p.ts), or any that can take streams. */
  readonly libp2p: Pick<
    Libp2p,
    'peerId' | 'getMultiaddrs' | 'handle' | 'unhandle' | 'addEventListener' | 'removeEventListener'
  >
  readonly logger: Logger
  readonly metrics: NodeMetrics
  /** Registry limits (roots per peer, peers, TTL…); identity and addresses come from libp2p. */
  readonly registry?: Omit<ProviderRegistryOptions, 'self' | 'selfAddresses'>
}

export interface ProviderService {
  readonly registry: ProviderRegistry
  /** Who holds `root` (what QUERY answers; the gateway's `GET /providers/<id>` too). */
  lookup(root: Uint8Array): Provider[]
  /** Stops taking streams, ends the open ones, and forgets every announcement. */
  stop(): Promise<void>
}

const DEFAULT_MAX_FRAMES = 64
const DEFAULT_IDLE_TIMEOUT_MS = 30_000
const DEFAULT_STREAMS_PER_CONNECTION = 4
const DEFAULT_SWEEP_INTERVAL_MS = 60_000
/** How long a terminated stream waits for the peer to close before it is reset. */
const LINGER_MS = 2_000

/** Why a stream is being ended: its TERMINATE reason and message. */
class StreamEnd extends Error {
  readonly reason: number

  constructor(reason: number, message: string) {
    super(message)
    this.reason = reason
  }
}

function streamEnd(error: unknown): StreamEnd {
  if (error instanceof StreamEnd) return error
  if (error instanceof WireError) {
    const reason =
      error.code === 'WIRE_FRAME_TOO_LARGE'
        ? TerminationReason.FRAME_TOO_LARGE
        : TerminationReason.MALFORMED_FRAME
    return new StreamEnd(reason, error.message)
  }
  if (error instanceof ProviderError) {
    return new StreamEnd(TerminationReason.RESOURCES_UNAVAILABLE, error.message)
  }
  return new StreamEnd(TerminationReason.UNKNOWN, 'internal error')
}

export async function startProviderService(
  options: ProviderServiceOptions,
): Promise<ProviderService> {
  const { libp2p, metrics } = options
  const log = options.logger.child({ component: 'providers' })
  const maxFrames = options.maxFramesPerStream ?? DEFAULT_MAX_FRAMES
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  const registry = new ProviderRegistry({
    ...options.registry,
    self: libp2p.peerId.toString(),
    selfAddresses: () => libp2p.getMultiaddrs().map(String),
  })
  const updateGauges = () => {
    metrics.providerPeers.set(registry.peerCount)
    metrics.providerRoots.set(registry.rootCount)
  }
  const shutdown = new AbortController()
  const open = new Set<Promise<void>>()

  const lookup = (root: Uint8Array): Provider[] => {
    const providers = registry.providers(root)
    updateGauges() // a lookup may have dropped expired entries
    metrics.providerQueries.labels(providers.length > 0 ? 'found' : 'none').inc()
    return providers
  }

  /** What the node answers `frame` from `peer` with. */
  const answer = (frame: ProviderFrame, peer: string): Uint8Array => {
    switch (frame.kind) {
      case 'query': {
        const providers = lookup(frame.root).map((p) => ({
          peer: peerIdBytes(p.peer),
          multiaddrs: p.multiaddrs,
        }))
        return encodeProviderFrame({ kind: 'providers', root: frame.root, providers })
      }
      case 'announce': {
        const result = registry.announce(peer, frame.roots, frame.multiaddrs)
        updateGauges()
        const dropped = frame.multiaddrs.length - result.multiaddrs.length
        if (dropped > 0) log.debug({ peer, dropped }, 'dropped addresses not through this node')
        return encodeProviderFrame({
          kind: 'announced',
          roots: result.roots,
          addresses: result.multiaddrs.length,
        })
      }
      default:
        // The decoder reads 'to-node' frames only.
        throw new StreamEnd(TerminationReason.MALFORMED_FRAME, `${frame.kind} sent to a node`)
    }
  }

  const serve = async (channel: ByteChannel, peer: string) => {
    const decoder = new ProviderFrameDecoder({ accepts: 'to-node' })
    let frames = 0
    let idle: ReturnType<typeof setTimeout> | undefined
    let timedOut = false
    const arm = () => {
      clearTimeout(idle)
      idle = setTimeout(() => {
        timedOut = true
        channel.abort(new Error(`no frame within ${idleTimeoutMs} ms`))
      }, idleTimeoutMs)
    }
    const onShutdown = () => channel.abort(new Error('the node is stopping'))
    shutdown.signal.addEventListener('abort', onShutdown, { once: true })
    arm()
    // Read by hand, not with for-await: a thrown frame must leave the source open, so that
    // `terminate` can drain it.
    const source = channel.source[Symbol.asyncIterator]()
    try {
      for (let next = await source.next(); next.done !== true; next = await source.next()) {
        for (const frame of decoder.push(next.value)) {
          if (++frames > maxFrames) {
            throw new StreamEnd(
              TerminationReason.RESOURCES_UNAVAILABLE,
              `more than ${maxFrames} frames on one stream`,
            )
          }
          await channel.write(answer(frame, peer))
          arm()
        }
      }
      decoder.end()
      await channel.close()
    } catch (error) {
      if (timedOut || shutdown.signal.aborted) return
      const end = streamEnd(error)
      metrics.providerStreamsRefused.labels(end.reason.toString(16)).inc()
      log.debug({ peer, reason: end.reason, err: error }, 'discovery stream ended')
      await terminate(channel, source, end)
    } finally {
      clearTimeout(idle)
      shutdown.signal.removeEventListener('abort', onShutdown)
    }
  }

  await libp2p.handle(
    PROVIDERS_PROTOCOL,
    (stream: Stream, connection) => {
      const peer = connection.remotePeer.toString()
      const task = serve(streamChannel(stream, peer), peer).catch((error: unknown) =>
        log.warn({ err: error, peer }, 'discovery stream failed'),
      )
      open.add(task)
      void task.finally(() => open.delete(task))
    },
    { maxInboundStreams: options.maxStreamsPerConnection ?? DEFAULT_STREAMS_PER_CONNECTION },
  )

  // What a tab announced holds while it is connected: its circuit addresses need the connection.
  const onDisconnect = (event: CustomEvent<PeerId>) => {
    if (registry.withdraw(event.detail.toString())) updateGauges()
  }
  libp2p.addEventListener('peer:disconnect', onDisconnect)
  const sweeper = setInterval(() => {
    if (registry.sweep() > 0) updateGauges()
  }, options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS)
  sweeper.unref?.()
  updateGauges()

  return {
    registry,
    lookup,
    async stop() {
      clearInterval(sweeper)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
      await libp2p.unhandle(PROVIDERS_PROTOCOL).catch(() => {})
      shutdown.abort()
      await Promise.allSettled([...open])
      registry.clear()
      updateGauges()
    },
  }
}

/** TERMINATE, then our side closed; the peer gets `LINGER_MS` to close its own. */
async function terminate(
  channel: ByteChannel,
  source: AsyncIterator<Uint8Array>,
  end: StreamEnd,
): Promise<void> {
  const timer = setTimeout(
    () => channel.abort(new Error(`peer did not close within ${LINGER_MS} ms of TERMINATE`)),
    LINGER_MS,
  )
  try {
    await channel.write(
      encodeProviderFrame({ kind: 'terminate', reason: end.reason, message: end.message }),
    )
    await channel.close()
    // Whatever else the peer sends is read and dropped until it closes.
    while ((await source.next()).done !== true);
  } catch {
    channel.abort(new Error('could not send TERMINATE'))
  } finally {
    clearTimeout(timer)
  }
}

/** A peer id's binary form (its multihash), as PROVIDERS carries it. */
function peerIdBytes(peer: string): Uint8Array {
  return peerIdFromString(peer).toMultihash().bytes
}
