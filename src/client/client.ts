/**
 * The dapp API: `createClient({ bootstrap })`, then `client.fetch(id)` returns a standard
 * `Response` whose body is verified block by block, from the nearest node that behaves.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { formatContentId } from '../b3/content-id.ts'
import { ready } from '../b3/engine.ts'
import type { ByteRange } from '../b3/verified-stream.ts'
import { type ClientKey, generateClientKey } from '../crypto/client-key.ts'
import { queryProviders } from '../discovery/provider-client.ts'
import { trustedCheckpointAnchor } from '../light/trusted-checkpoint.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { libp2pDialer } from '../net/libp2p-dialer.ts'
import type { PeerDialer } from '../net/peer-dialer.ts'
import { formatPointer, type Pointer, parsePointer } from '../origin/pointer.ts'
import { routingCost } from '../routing/node-ranking.ts'
import { parseGenesis } from '../state/genesis.ts'
import type { CdnFrame } from '../wire/cdn-frames.ts'
import {
  type ClientChainOptions,
  chainVetterOf,
  type NodeVetter,
  type NodeVetting,
} from './chain-vetter.ts'
import {
  ClientOptionsError,
  describeError,
  FetchError,
  type NodeFailure,
  nodeFailure,
} from './errors.ts'
import { FifoSlots } from './fifo-slots.ts'
import { HoldingBuffer, type HoldingOptions } from './holding-buffer.ts'
import { type AckCounters, NodeSession } from './node-session.ts'
import type { FetchProgress } from './progress.ts'
import {
  type NodeRef,
  type NodeSource,
  pointerRoot,
  VerifiedLengths,
  verifiedFetch,
} from './verified-fetch.ts'

/**
 * Holder lookups in flight per node: a node takes 4 provider streams per connection and resets
 * the rest (src/node/providers), which would read as "nobody holds it". Half of that: a stream
 * still counts at the node for a moment after our side is done with it.
 */
const LOOKUPS_PER_NODE = 2

export interface ClientOptions {
  /** Multiaddrs of nodes, each with its `/p2p/<peer id>`. */
  readonly bootstrap: readonly (string | Multiaddr)[]
  /** The client key that signs handshakes and acknowledgements (default: a fresh one). */
  readonly key?: ClientKey
  /** Bring your own libp2p (it must dial WebSockets and run ping); stopped by `close` only if ours. */
  readonly libp2p?: ClientLibp2p
  /**
   * How nodes are reached, instead of libp2p (a browser worker dialling WebRTC through its
   * page, a test transport). Takes precedence over `libp2p`.
   */
  readonly dialer?: PeerDialer
  /**
   * Ask the bootstrap nodes which peers (tab nodes) hold the content, and try those first,
   * with the bootstrap nodes as failover (default false). Needs libp2p (own or given).
   */
  readonly discover?: boolean
  /** A node that sends nothing for this long is dropped mid-fetch (default 5 s). */
  readonly stallTimeoutMs?: number
  /**
   * How long a fetch waits while every node refuses it for load (each asked again with
   * backoff; progress says `busy`) before it fails with FETCH_ALL_NODES_FAILED (default 60 s).
   * Within one node's limits the client never draws a refusal itself: beyond the streams a
   * node advertises, fetches queue for the next free one.
   */
  readonly busyTimeoutMs?: number
  /**
   * Deadline of a dial plus handshake (default 10 s: a WebRTC dial to a tab node goes through
   * its relay first, which takes seconds on a busy machine).
   */
  readonly handshakeTimeoutMs?: number
  /** How long a failed node goes to the back of the order (default 30 s). */
  readonly penaltyMs?: number
  /**
   * Which node is asked first: `latency` (default), the nearest by libp2p ping; `given`, the
   * order of `bootstrap`, for a caller that knows better (or a test that must choose who
   * serves first). Failed nodes go to the back either way.
   */
  readonly order?: 'latency' | 'given'
  /**
   * Where the body of an IPFS or HTTP pointer waits until it matched the pointer's digest
   * (nothing of it is released before): `memoryLimit` bytes in memory (default 32 MiB), the
   * rest in `spill`. Without a spill a larger body fails with FETCH_HOLD_FAILED; the Node
   * entry (`fulmen`, `fulmen/client`) spills to a temporary file, the browser client to
   * IndexedDB.
   */
  readonly holding?: HoldingOptions
  /**
   * Verify the chain and use staked nodes only: `{ genesis, gateways }` (see
   * ClientChainOptions for the whole rule). With it, a node is dialled only once the light
   * client proved it staked and active in the current epoch (CLIENT_NOT_STAKED otherwise, in
   * `NodeStatus.lastFailure` and in a failed fetch's `failures`), and nodes are ordered by
   * latency scaled by verified reputation (a node of reputation 0 must be twice as near as one
   * of 100; src/routing/node-ranking.ts), or with `order: 'given'` by verified reputation
   * first, then the given order.
   */
  readonly chain?: ClientChainOptions
}

export interface ClientFetchOptions {
  readonly signal?: AbortSignal
  /** Only these bytes, `end` exclusive: the response is a 206 with Content-Range. */
  readonly range?: ByteRange
  readonly onProgress?: (event: FetchProgress) => void
}

/** A node as the client sees it. */
export interface NodeStatus {
  readonly peer: string
  readonly address: string
  /** Round trip measured with libp2p ping, ms (undefined until measured or when unreachable). */
  readonly latencyMs: number | undefined
  readonly session: boolean
  readonly lastFailure: NodeFailure | undefined
  readonly acks: AckCounters | undefined
  /** Found by discovery (a tab node holding content), not one of `bootstrap`. */
  readonly discovered: boolean
  /**
   * With `chain.verifyChain`: the node as the light client last proved it (staked, its
   * reputation, at which head); undefined until vetted, and while refused (`lastFailure`).
   */
  readonly vetting: NodeVetting | undefined
}

export interface FulmenClient {
  fetch(idOrPointer: string | Pointer, options?: ClientFetchOptions): Promise<Response>
  /** Pings every node (again) and orders them by latency. */
  measure(signal?: AbortSignal): Promise<readonly NodeStatus[]>
  nodes(): readonly NodeStatus[]
  readonly publicKey: Uint8Array
  close(): Promise<void>
}

interface KnownNode extends NodeRef {
  readonly address: Multiaddr
  /** Found by discovery (a tab node), not given in `bootstrap`. */
  readonly discovered: boolean
  latencyMs: number | undefined
  session: NodeSession | undefined
  opening: Promise<NodeSession> | undefined
  failedAt: number
  lastFailure: NodeFailure | undefined
  /** Proven staked at the last check (chain.verifyChain). */
  vetting: NodeVetting | undefined
  /** Refused at the last check (chain.verifyChain): CLIENT_NOT_STAKED or CLIENT_CHAIN_UNVERIFIED. */
  refused: NodeFailure | undefined
}

/** A bootstrap address and the node it names, or CLIENT_BAD_ADDRESS naming the address. */
function parseBootstrap(given: string | Multiaddr): { address: Multiaddr; peer: string } {
  const text = String(given)
  const bad = (why: string) =>
    new ClientOptionsError('CLIENT_BAD_ADDRESS', 'bootstrap', text, `bootstrap ${text}: ${why}`)
  let address: Multiaddr
  try {
    address = typeof given === 'string' ? multiaddr(given) : given
    // Parsing is lazy: reading the components is what rejects most malformed addresses.
    address.getComponents()
  } catch (error) {
    throw bad(`not a multiaddr (${describeError(error)})`)
  }
  // The last /p2p names the node: a circuit address names its relay first.
  const peer = address.getComponents().findLast((c) => c.name === 'p2p')?.value
  if (peer === undefined) throw bad('no /p2p/<peer id> naming the node')
  try {
    peerIdFromString(peer)
  } catch {
    throw bad(`/p2p/${peer} is not a peer id`)
  }
  return { address, peer }
}

/** Options out of their domain, as CLIENT_BAD_OPTION: checked before anything starts. */
function checkOptions(options: ClientOptions): void {
  const positive = (name: keyof ClientOptions, value: number | undefined, zero = false) => {
    if (value === undefined) return
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!zero && value === 0))
      throw new ClientOptionsError(
        'CLIENT_BAD_OPTION',
        name,
        String(value),
        `${name} must be a ${zero ? 'non-negative' : 'positive'} number of ms, not ${String(value)}`,
      )
  }
  if (!Array.isArray(options.bootstrap))
    throw new ClientOptionsError(
      'CLIENT_BAD_OPTION',
      'bootstrap',
      String(options.bootstrap),
      'bootstrap must be a list of multiaddrs',
    )
  positive('stallTimeoutMs', options.stallTimeoutMs)
  positive('handshakeTimeoutMs', options.handshakeTimeoutMs)
  positive('penaltyMs', options.penaltyMs, true)
  if (options.order !== undefined && options.order !== 'latency' && options.order !== 'given')
    throw new ClientOptionsError(
      'CLIENT_BAD_OPTION',
      'order',
      String(options.order),
      `order must be 'latency' or 'given', not ${String(options.order)}`,
    )
  checkChainOptions(options.chain)
  const memory = options.holding?.memoryLimit
  if (memory !== undefined && !(Number.isSafeInteger(memory) && memory >= 0))
    throw new ClientOptionsError(
      'CLIENT_BAD_OPTION',
      'holding',
      String(memory),
      `holding.memoryLimit must be a byte count, not ${String(memory)}`,
    )
}

function checkChainOptions(chain: ClientChainOptions | undefined): void {
  if (chain === undefined) return
  const bad = (value: unknown, message: string) =>
    new ClientOptionsError('CLIENT_BAD_OPTION', 'chain', String(value), `chain: ${message}`)
  if (typeof chain !== 'object' || chain === null) throw bad(chain, 'an object')
  const { genesis, gateways, verifyChain, vetter, resyncMs } = chain
  if (verifyChain !== undefined && typeof verifyChain !== 'boolean')
    throw bad(verifyChain, 'verifyChain is true or false')
  if (verifyChain === false) return
  if (vetter !== undefined) {
    if (typeof vetter?.check !== 'function') throw bad(vetter, 'vetter has no check()')
    return
  }
  if (genesis === undefined) {
    if (verifyChain === true) throw bad(verifyChain, 'verifyChain needs a genesis (or a vetter)')
    return
  }
  if (typeof genesis !== 'string' && (typeof genesis !== 'object' || genesis === null))
    throw bad(genesis, 'genesis is a Genesis or its JSON text')
  if (!Array.isArray(gateways) || gateways.length === 0)
    throw bad(gateways, "gateways lists the nodes' HTTP gateways the light client asks")
  for (const g of gateways) {
    let url: URL | undefined
    try {
      url = new URL(g)
    } catch {}
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw bad(g, `gateway ${String(g)} is not an http(s) URL`)
  }
  if (resyncMs !== undefined && !(typeof resyncMs === 'number' && resyncMs >= 0))
    throw bad(resyncMs, 'resyncMs is a non-negative number of ms')
  if (chain.checkpoint !== undefined) {
    let chainId: number
    try {
      chainId = (typeof genesis === 'string' ? parseGenesis(genesis) : genesis).chainId
    } catch (e) {
      throw bad(genesis, `genesis: ${(e as Error).message}`)
    }
    try {
      trustedCheckpointAnchor(chain.checkpoint, chainId)
    } catch (e) {
      throw bad(chain.checkpoint, `checkpoint: ${(e as Error).message}`)
    }
  }
}

/**
 * Checks every option first (ClientOptionsError: CLIENT_BAD_ADDRESS, CLIENT_BAD_OPTION), then
 * starts libp2p (unless given one); whatever fails after that stops what was started.
 */
export async function createClient(options: ClientOptions): Promise<FulmenClient> {
  checkOptions(options)
  const bootstrap = options.bootstrap.map(parseBootstrap)
  let vetter: NodeVetter | undefined
  try {
    vetter = await chainVetterOf(options.chain)
  } catch (error) {
    // A genesis that does not parse (or a store of another chain's head).
    throw new ClientOptionsError(
      'CLIENT_BAD_OPTION',
      'chain',
      typeof options.chain?.genesis === 'string' ? 'genesis' : String(options.chain?.genesis),
      `chain: ${describeError(error)}`,
    )
  }
  // Verification hashes every byte: use the WebAssembly SIMD kernel where there is one
  // (3× the portable kernel; without it the client is CPU-bound well below the network).
  await ready()
  const ownLibp2p = options.dialer === undefined && options.libp2p === undefined
  const libp2p = ownLibp2p ? await createClientLibp2p() : options.libp2p
  try {
    return startClient(options, bootstrap, libp2p, ownLibp2p, vetter)
  } catch (error) {
    if (ownLibp2p) await Promise.resolve(libp2p?.stop()).catch(() => {})
    throw error
  }
}

function startClient(
  options: ClientOptions,
  bootstrap: readonly { address: Multiaddr; peer: string }[],
  libp2p: ClientLibp2p | undefined,
  ownLibp2p: boolean,
  vetter: NodeVetter | undefined,
): FulmenClient {
  const key = options.key ?? generateClientKey()
  const handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000
  const penaltyMs = options.penaltyMs ?? 30_000
  const dialer = options.dialer ?? libp2pDialer(libp2p as ClientLibp2p)
  const known: KnownNode[] = bootstrap.map(({ address, peer }) => ({
    peer,
    address,
    discovered: false,
    latencyMs: undefined,
    session: undefined,
    opening: undefined,
    failedAt: 0,
    lastFailure: undefined,
    vetting: undefined,
    refused: undefined,
  }))
  // Lengths proven by a verified last block: a ranged fetch checks a root's length once.
  const lengths = new VerifiedLengths()
  const holding = () => new HoldingBuffer(options.holding)
  let closed = false
  let measured: Promise<unknown> | undefined
  // IPFS and HTTP pointers name a digest of the whole content, not a BLAKE3 root: the root a
  // node announces for one is trusted only after a whole fetch matched the digest.
  const provenRoots = new Map<string, Uint8Array>()

  const status = (n: KnownNode): NodeStatus => ({
    peer: n.peer,
    address: n.address.toString(),
    latencyMs: n.latencyMs,
    session: n.session?.isOpen === true,
    lastFailure: n.lastFailure,
    acks: n.session?.ackCounters,
    discovered: n.discovered,
    vetting: n.vetting,
  })

  /**
   * With a vetter: whether `n` is proven staked now (cached per head epoch by the vetter). A
   * refusal is recorded on the node and thrown; without a vetter every node passes.
   */
  const vet = async (n: KnownNode, signal?: AbortSignal): Promise<void> => {
    if (vetter === undefined) return
    try {
      n.vetting = await vetter.check(n.peer, signal)
      n.refused = undefined
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      n.vetting = undefined
      n.refused = nodeFailure(n.peer, error)
      n.lastFailure = n.refused
      throw error
    }
  }

  const measure = async (signal?: AbortSignal) => {
    await Promise.all(
      known.map(async (n) => {
        try {
          // Never a ping (a dial) to a node the chain does not vouch for.
          await vet(n, signal)
        } catch {
          n.latencyMs = undefined
          return
        }
        try {
          const timeout = AbortSignal.timeout(handshakeTimeoutMs)
          const s = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
          n.latencyMs = await dialer.ping(n.address, s)
        } catch {
          n.latencyMs = undefined
        }
      }),
    )
    return known.map(status)
  }

  const given = options.order === 'given'
  const rank = (n: KnownNode, now: number): number =>
    (now - n.failedAt < penaltyMs ? 1e9 : 0) + (given ? known.indexOf(n) : (n.latencyMs ?? 1e6))
  // With a vetter: refused nodes last, then penalised ones. Then, in latency order, the cost
  // routing gives a node (src/routing/node-ranking.ts: latency scaled by verified reputation,
  // a node vetted without a score yet at 50, one not vetted yet at 0); in the given order,
  // verified reputation first (higher first, none 0, not vetted yet −1).
  const reputation = (n: KnownNode) => (n.vetting === undefined ? -1 : (n.vetting.reputation ?? 0))
  const cost = (n: KnownNode) =>
    routingCost({
      latencyMs: n.latencyMs,
      reputation: n.vetting === undefined ? 0 : n.vetting.reputation,
    })
  const compare = (a: KnownNode, b: KnownNode, now: number): number => {
    if (vetter !== undefined) {
      const refused = Number(a.refused !== undefined) - Number(b.refused !== undefined)
      if (refused !== 0) return refused
      const penalty = Number(now - a.failedAt < penaltyMs) - Number(now - b.failedAt < penaltyMs)
      if (penalty !== 0) return penalty
      if (!given) return cost(a) - cost(b) || known.indexOf(a) - known.indexOf(b)
      const better = reputation(b) - reputation(a)
      if (better !== 0) return better
    }
    return rank(a, now) - rank(b, now)
  }

  const source: NodeSource<KnownNode> = {
    candidates(exclude) {
      const now = Date.now()
      return known.filter((n) => !exclude.has(n.peer)).sort((a, b) => compare(a, b, now))
    },
    async open(node, request: CdnFrame, signal) {
      if (closed) throw new FetchError('FETCH_CLOSED', 'the client is closed')
      // Vetted before anything is sent (a refusal is this node's failure in the fetch).
      await vet(node, signal)
      // Concurrent fetches share one session per node: wait for one being opened.
      if (node.opening !== undefined) await node.opening.catch(() => {})
      if (node.session?.isOpen) {
        return { session: node.session, stream: await node.session.request(request, signal) }
      }
      const timeout = AbortSignal.timeout(handshakeTimeoutMs)
      const s = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
      const opening = NodeSession.open(dialer, node.address, request, {
        key,
        handshakeTimeoutMs,
        signal: s,
      })
      node.opening = opening.then((o) => o.session)
      // Only concurrent fetches wait on it (and catch); a failed open is this fetch's to report,
      // not an unhandled rejection (which ends a Node process).
      node.opening.catch(() => {})
      try {
        const { session, stream } = await opening
        // A retired session ends with its last stream, and shares the connection with this one.
        if (node.session?.isRetired === false) await node.session.close()
        node.session = session
        return { session, stream }
      } finally {
        node.opening = undefined
      }
    },
    failed(node, failure) {
      node.failedAt = Date.now()
      node.lastFailure = failure
    },
  }

  /** Peers that announced `root` to the bootstrap nodes, added to the known nodes. */
  // Who held a root, as the nodes said recently: a repeat fetch skips the query round trip.
  const holdersOf = new Map<string, { readonly peers: Set<string>; readonly until: number }>()
  // One lookup per root at a time, shared by the fetches that want it; a few per node at once.
  const lookups = new Map<string, Promise<Set<string>>>()
  const lookupSlots = new Map<string, FifoSlots>()
  const discover = async (root: Uint8Array, signal?: AbortSignal): Promise<Set<string>> => {
    if (options.discover !== true || libp2p === undefined) return new Set()
    const key = formatContentId(root, 'hex')
    const recent = holdersOf.get(key)
    if (recent !== undefined && Date.now() < recent.until) return recent.peers
    let lookup = lookups.get(key)
    if (lookup === undefined) {
      // Not bound to this fetch's signal: other fetches may share it. Its own timeout bounds it.
      lookup = lookUp(key, root).finally(() => lookups.delete(key))
      lookups.set(key, lookup)
    }
    if (signal === undefined) return lookup
    signal.throwIfAborted()
    // The listener goes with the lookup: a long-lived signal serves many fetches.
    let onAbort = () => {}
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason)
    })
    signal.addEventListener('abort', onAbort, { once: true })
    return Promise.race([lookup, aborted]).finally(() =>
      signal.removeEventListener('abort', onAbort),
    )
  }
  const lookUp = async (key: string, root: Uint8Array): Promise<Set<string>> => {
    const { found, answered } = await queryHolders(root)
    // An answer with holders is kept longer than an empty one: a tab may announce any moment.
    // No answer at all (every node failed) is not "nobody holds it": it is not kept.
    const now = Date.now()
    // Expired answers go once the map grows: a long-lived client fetches many roots.
    if (holdersOf.size >= 1024)
      for (const [k, v] of holdersOf) if (now >= v.until) holdersOf.delete(k)
    if (answered)
      holdersOf.set(key, { peers: found, until: now + (found.size > 0 ? 30_000 : 5_000) })
    return found
  }
  const queryHolders = async (root: Uint8Array) => {
    const found = new Set<string>()
    if (libp2p === undefined) return { found, answered: false }
    const timeout = AbortSignal.timeout(handshakeTimeoutMs)
    const answers = await Promise.allSettled(
      known
        // With a vetter, only nodes proven staked are asked (measure vetted them).
        .filter((n) => !n.discovered && (vetter === undefined || n.vetting !== undefined))
        .map((n) => {
          let slots = lookupSlots.get(n.peer)
          if (slots === undefined) {
            slots = new FifoSlots(LOOKUPS_PER_NODE)
            lookupSlots.set(n.peer, slots)
          }
          return slots.run(
            () => queryProviders(libp2p, n.address, root, { signal: timeout }),
            timeout,
          )
        }),
    )
    for (const answer of answers) {
      if (answer.status !== 'fulfilled') continue
      for (const p of answer.value) {
        const address = p.multiaddrs[0]
        if (address === undefined) continue
        found.add(p.peer)
        if (known.some((n) => n.peer === p.peer)) continue
        known.push({
          peer: p.peer,
          address: multiaddr(address),
          discovered: true,
          latencyMs: undefined,
          session: undefined,
          opening: undefined,
          failedAt: 0,
          lastFailure: undefined,
          vetting: undefined,
          refused: undefined,
        })
      }
    }
    return { found, answered: answers.some((a) => a.status === 'fulfilled') }
  }

  return {
    publicKey: key.publicKey,
    async fetch(idOrPointer, fetchOptions = {}) {
      if (closed) throw new FetchError('FETCH_CLOSED', 'the client is closed')
      let pointer: Pointer
      try {
        pointer = typeof idOrPointer === 'string' ? parsePointer(idOrPointer) : idOrPointer
      } catch (error) {
        throw new FetchError('FETCH_BAD_REQUEST', (error as Error).message)
      }
      measured ??= measure()
      await measured
      const shared = {
        lengths,
        holding,
        ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
        ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
      }
      const spelling = formatPointer(pointer)
      if (pointerRoot(pointer) === undefined) {
        const proven = provenRoots.get(spelling)
        if (proven !== undefined) pointer = { kind: 'blake3', root: proven }
        else if (fetchOptions.range !== undefined) {
          // A range alone cannot be checked against the pointer: prove the root by the whole
          // once (verified and matched, nothing kept), then serve the range under it.
          const whole = await verifiedFetch(source, pointer, {
            ...(fetchOptions.signal === undefined ? {} : { signal: fetchOptions.signal }),
            ...shared,
            proveOnly: true,
          })
          provenRoots.set(spelling, whole.root)
          pointer = { kind: 'blake3', root: whole.root }
        }
      }
      const root = pointerRoot(pointer)
      const holders =
        root === undefined ? new Set<string>() : await discover(root, fetchOptions.signal)
      // Peers that announced the content go first; the rest keep their order, as failover.
      const fetchSource: NodeSource<KnownNode> =
        holders.size === 0
          ? source
          : {
              ...source,
              candidates: (exclude) => {
                const all = source.candidates(exclude)
                const now = Date.now()
                const first = (n: KnownNode) => holders.has(n.peer) && now - n.failedAt >= penaltyMs
                return [...all.filter(first), ...all.filter((n) => !first(n))]
              },
            }
      const result = await verifiedFetch(fetchSource, pointer, { ...fetchOptions, ...shared })
      // A held body resolves only once it matched the pointer's digest: its root is proven, and
      // later fetches of the pointer stream under it directly.
      if (pointerRoot(pointer) === undefined) provenRoots.set(spelling, result.root)
      const { body, header, range } = result
      const partial = fetchOptions.range !== undefined
      const headers = new Headers({
        'content-type': 'application/octet-stream',
        'content-length': String(range.end - range.start),
        etag: `"${formatContentId(result.root, 'hex')}"`,
        'x-content-id': formatContentId(result.root, 'cid'),
        'x-fulmen-node': result.node,
      })
      if (partial)
        headers.set(
          'content-range',
          `bytes ${range.start}-${Math.max(range.start, range.end - 1)}/${header.length}`,
        )
      return new Response(body, { status: partial ? 206 : 200, headers })
    },
    // A measurement asked for up front is the one the first fetch waits for.
    measure: (signal) => (measured = measure(signal)),
    nodes: () => known.map(status),
    async close() {
      if (closed) return
      closed = true
      await Promise.all(known.map((n) => n.session?.close()))
      if (ownLibp2p) await libp2p?.stop()
    },
  }
}
