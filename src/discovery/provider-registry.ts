/**
 * Which connected tabs hold which content: what tabs announced to this node (docs/protocol.md
 * "Discovery"), in memory only. An ANNOUNCE replaces the peer's previous set; entries leave
 * when the peer disconnects (the service calls `withdraw`) or when their TTL runs out without a
 * new ANNOUNCE.
 *
 * The node lists a tab only at circuit addresses through itself
 * (`<one of this node's addresses>/p2p-circuit[/webrtc]/p2p/<that tab>`): whoever dials such
 * an address reaches this node first, so a tab cannot make the node point clients at
 * arbitrary hosts, nor at another peer.
 */
import { type Component, multiaddr } from '@multiformats/multiaddr'
import { bytesToHex } from '@noble/hashes/utils.js'
import { FulmenError } from '../core/errors.ts'
import { MAX_ADDRESS_LEN } from '../wire/provider-frames.ts'

export type ProviderErrorCode =
  /** An ANNOUNCE with more roots than the node lists per peer. */
  | 'PROVIDERS_TOO_MANY_ROOTS'
  /** The registry lists as many peers as it may; a new one must wait. */
  | 'PROVIDERS_FULL'

export class ProviderError extends FulmenError<ProviderErrorCode> {
  override readonly name = 'ProviderError'
}

export interface Provider {
  /** Peer id, base58. */
  readonly peer: string
  readonly multiaddrs: readonly string[]
}

export interface ProviderRegistryOptions {
  /** This node's peer id. */
  readonly self: string
  /** This node's own multiaddrs, each ending in `/p2p/<self>` (libp2p's `getMultiaddrs()`). */
  readonly selfAddresses: () => Iterable<string>
  /** Roots one peer may list (default 4096). */
  readonly maxRootsPerPeer?: number
  /** Providers returned per root, most recently announced first (default 16). */
  readonly maxProvidersPerRoot?: number
  /** Peers listed at once (default 1024). */
  readonly maxPeers?: number
  /** How long an ANNOUNCE stands without being renewed, milliseconds (default 10 min). */
  readonly ttlMs?: number
  /** The clock (tests). */
  readonly now?: () => number
}

export interface AnnounceResult {
  /** Roots listed for the peer now. */
  readonly roots: number
  /** The addresses kept (normalized); the others were not circuit addresses through this node. */
  readonly multiaddrs: readonly string[]
}

export const DEFAULT_MAX_ROOTS_PER_PEER = 4096
export const DEFAULT_MAX_PROVIDERS_PER_ROOT = 16
export const DEFAULT_MAX_PEERS = 1024
export const DEFAULT_PROVIDER_TTL_MS = 10 * 60_000

interface Entry {
  readonly roots: ReadonlySet<string>
  readonly multiaddrs: readonly string[]
  readonly expires: number
}

const CIRCUIT = 'p2p-circuit'
/** What may stand between `/p2p-circuit` and `/p2p/<tab>`: how the tab is reached through us. */
const AFTER_CIRCUIT: ReadonlySet<string> = new Set(['webrtc'])

export class ProviderRegistry {
  private readonly options: ProviderRegistryOptions
  private readonly maxRootsPerPeer: number
  private readonly maxProvidersPerRoot: number
  private readonly maxPeers: number
  private readonly ttlMs: number
  private readonly now: () => number
  private readonly peers = new Map<string, Entry>()
  /** root (hex) → peers, in announce order (latest last). */
  private readonly byRoot = new Map<string, Set<string>>()

  constructor(options: ProviderRegistryOptions) {
    this.options = options
    this.maxRootsPerPeer = options.maxRootsPerPeer ?? DEFAULT_MAX_ROOTS_PER_PEER
    this.maxProvidersPerRoot = options.maxProvidersPerRoot ?? DEFAULT_MAX_PROVIDERS_PER_ROOT
    this.maxPeers = options.maxPeers ?? DEFAULT_MAX_PEERS
    this.ttlMs = options.ttlMs ?? DEFAULT_PROVIDER_TTL_MS
    this.now = options.now ?? Date.now
  }

  /** Peers listed (expired ones included until a lookup or `sweep` drops them). */
  get peerCount(): number {
    return this.peers.size
  }

  /** Distinct roots listed. */
  get rootCount(): number {
    return this.byRoot.size
  }

  /**
   * Replaces what `peer` (the stream's authenticated remote peer) lists. Addresses that are not
   * circuit addresses through this node to `peer` are dropped; with none left, or no roots, the
   * peer is withdrawn. Throws ProviderError over the limits, leaving the previous set in place.
   */
  announce(
    peer: string,
    roots: readonly Uint8Array[],
    multiaddrs: readonly string[],
  ): AnnounceResult {
    const keys = new Set(roots.map((r) => bytesToHex(r)))
    if (keys.size > this.maxRootsPerPeer) {
      throw new ProviderError(
        'PROVIDERS_TOO_MANY_ROOTS',
        `${keys.size} roots announced, at most ${this.maxRootsPerPeer} per peer`,
      )
    }
    const kept = this.circuitAddresses(peer, multiaddrs)
    if (keys.size === 0 || kept.length === 0) {
      this.withdraw(peer)
      return { roots: 0, multiaddrs: kept }
    }
    if (!this.peers.has(peer) && this.peers.size >= this.maxPeers) {
      this.sweep()
      if (this.peers.size >= this.maxPeers) {
        throw new ProviderError('PROVIDERS_FULL', `this node lists ${this.maxPeers} peers already`)
      }
    }
    this.withdraw(peer)
    this.peers.set(peer, { roots: keys, multiaddrs: kept, expires: this.now() + this.ttlMs })
    for (const key of keys) {
      const set = this.byRoot.get(key)
      if (set === undefined) this.byRoot.set(key, new Set([peer]))
      else set.add(peer)
    }
    return { roots: keys.size, multiaddrs: kept }
  }

  /** Forgets everything `peer` announced. */
  withdraw(peer: string): boolean {
    const entry = this.peers.get(peer)
    if (entry === undefined) return false
    this.peers.delete(peer)
    for (const key of entry.roots) {
      const set = this.byRoot.get(key)
      set?.delete(peer)
      if (set?.size === 0) this.byRoot.delete(key)
    }
    return true
  }

  /** Who holds `root`, most recently announced first, at most `maxProvidersPerRoot`. */
  providers(root: Uint8Array): Provider[] {
    const set = this.byRoot.get(bytesToHex(root))
    if (set === undefined) return []
    const now = this.now()
    const out: Provider[] = []
    const expired: string[] = []
    for (const peer of [...set].reverse()) {
      const entry = this.peers.get(peer)!
      if (entry.expires <= now) expired.push(peer)
      else if (out.length < this.maxProvidersPerRoot)
        out.push({ peer, multiaddrs: entry.multiaddrs })
    }
    for (const peer of expired) this.withdraw(peer)
    return out
  }

  /** Forgets every peer. */
  clear(): void {
    this.peers.clear()
    this.byRoot.clear()
  }

  /** Drops every entry whose TTL ran out; returns how many peers went. */
  sweep(): number {
    const now = this.now()
    let n = 0
    for (const [peer, entry] of [...this.peers]) {
      if (entry.expires <= now && this.withdraw(peer)) n++
    }
    return n
  }

  /** The addresses that reach `peer` through this node, normalized, without duplicates. */
  private circuitAddresses(peer: string, multiaddrs: readonly string[]): string[] {
    const own = new Set([...this.options.selfAddresses()].map(normalize))
    own.add(`/p2p/${this.options.self}`)
    const out = new Set<string>()
    for (const text of multiaddrs) {
      const address = circuitThrough(text, peer)
      if (address !== undefined && own.has(address.relay)) out.add(address.full)
    }
    return [...out]
  }
}

function normalize(address: string): string {
  try {
    return multiaddr(address).toString()
  } catch {
    return address
  }
}

/**
 * `text` as `{ relay, full }` when it is `<relay>/p2p-circuit[/webrtc]/p2p/<peer>` with one
 * circuit hop; undefined otherwise (not a multiaddr, another shape, another peer).
 */
function circuitThrough(text: string, peer: string): { relay: string; full: string } | undefined {
  let components: Component[]
  try {
    components = multiaddr(text).getComponents()
  } catch {
    return undefined
  }
  const hops = components.filter((c) => c.name === CIRCUIT).length
  const at = components.findIndex((c) => c.name === CIRCUIT)
  if (hops !== 1 || at === 0) return undefined
  const after = components.slice(at + 1)
  const last = after.at(-1)
  if (last?.name !== 'p2p' || last.value !== peer) return undefined
  if (!after.slice(0, -1).every((c) => AFTER_CIRCUIT.has(c.name))) return undefined
  try {
    const full = multiaddr(components).toString()
    // Normalized, it must still fit a PROVIDERS entry.
    if (new TextEncoder().encode(full).length > MAX_ADDRESS_LEN) return undefined
    return { relay: multiaddr(components.slice(0, at)).toString(), full }
  } catch {
    return undefined
  }
}
