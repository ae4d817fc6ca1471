/**
 * The full node's side of discovery, `/fulmen/providers/1.0.0` (docs/protocol.md "Discovery"):
 * tabs ANNOUNCE the roots they hold, clients QUERY who holds a root. An ANNOUNCE speaks for the
 * connection's authenticated remote peer (Noise), never for a peer it names, and what a peer
 * announced goes when its last connection closes.
 *
 * Each stream is read on its own: a bad frame, a frame over the limits or a silent peer ends
 * that stream with TERMINATE and touches nothing else.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../core/logger.ts'
import type { Counter, Gauge } from '../core/metrics.ts'
import { TerminationReason } from '../handshake/termination.ts'
import {
  type ProtocolServerLimits,
  protocolServer,
  type RefusalCause,
  type StreamRefusal,
} from '../net/protocol-server.ts'
import { PROVIDERS_PROTOCOL } from '../net/protocols.ts'
import { encodeProviderFrame, type ProviderFrame, providerCodec } from '../wire/provider-frames.ts'
import {
  type Provider,
  ProviderError,
  ProviderRegistry,
  type ProviderRegistryOptions,
} from './provider-registry.ts'

/** What discovery counts (a full node's NodeMetrics has them). */
export interface ProviderMetrics {
  readonly providerPeers: Gauge
  readonly providerRoots: Gauge
  readonly providerQueries: Counter<'result'>
  readonly providerStreamsRefused: Counter<'reason'>
}

/** The protocol server's limits (defaults: 4 streams per connection, 64 frames, 30 s idle, 2 s linger). */
export interface ProviderServiceLimits extends ProtocolServerLimits {
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
  readonly metrics: ProviderMetrics
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

const DEFAULT_SWEEP_INTERVAL_MS = 60_000

/** A frame only a node sends, arriving at the node (the codec reads 'to-node' frames only). */
class UnexpectedFrame extends Error {}

const REASON_OF: Record<Exclude<RefusalCause, 'handler'>, number> = {
  'frame-too-large': TerminationReason.FRAME_TOO_LARGE,
  'malformed-frame': TerminationReason.MALFORMED_FRAME,
  'too-many-frames': TerminationReason.RESOURCES_UNAVAILABLE,
}

/** The TERMINATE reason and message for a refused stream. */
function terminationOf(refusal: StreamRefusal): { reason: number; message: string } {
  if (refusal.cause !== 'handler') {
    return { reason: REASON_OF[refusal.cause], message: refusal.message }
  }
  const error = refusal.error
  if (error instanceof UnexpectedFrame) {
    return { reason: TerminationReason.MALFORMED_FRAME, message: error.message }
  }
  if (error instanceof ProviderError) {
    return { reason: TerminationReason.RESOURCES_UNAVAILABLE, message: error.message }
  }
  return { reason: TerminationReason.UNKNOWN, message: 'internal error' }
}

export async function startProviderService(
  options: ProviderServiceOptions,
): Promise<ProviderService> {
  const { libp2p, metrics } = options
  const log = options.logger.child({ component: 'providers' })
  const registry = new ProviderRegistry({
    ...options.registry,
    self: libp2p.peerId.toString(),
    selfAddresses: () => libp2p.getMultiaddrs().map(String),
  })
  const updateGauges = () => {
    metrics.providerPeers.set(registry.peerCount)
    metrics.providerRoots.set(registry.rootCount)
  }
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
        throw new UnexpectedFrame(`${frame.kind} sent to a node`)
    }
  }

  const server = protocolServer({
    libp2p,
    protocol: PROVIDERS_PROTOCOL,
    codec: providerCodec('to-node'),
    ...pickLimits(options),
    logger: log,
    onFrame: (frame, stream) => stream.write(answer(frame, stream.peer)),
    refusal: (refusal) => encodeProviderFrame({ kind: 'terminate', ...terminationOf(refusal) }),
    onRefused: (refusal) =>
      metrics.providerStreamsRefused.labels(terminationOf(refusal).reason.toString(16)).inc(),
  })
  await server.start()

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
      await server.stop()
      registry.clear()
      updateGauges()
    },
  }
}

/** A peer id's binary form (its multihash), as PROVIDERS carries it. */
function peerIdBytes(peer: string): Uint8Array {
  return peerIdFromString(peer).toMultihash().bytes
}

/** The server's limits among the service's options (only those given). */
function pickLimits(options: ProtocolServerLimits): ProtocolServerLimits {
  const { maxStreamsPerConnection, maxFramesPerStream, idleTimeoutMs, lingerMs } = options
  return Object.fromEntries(
    Object.entries({ maxStreamsPerConnection, maxFramesPerStream, idleTimeoutMs, lingerMs }).filter(
      ([, v]) => v !== undefined,
    ),
  )
}
