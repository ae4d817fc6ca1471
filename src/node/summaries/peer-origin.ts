/**
 * The peer origin: on a miss, the close peers whose content summary holds the root
 * (summary-exchange.ts), before any real origin. Placed first among the node's origins, it
 * accepts a `blake3` pointer only when some peer's filter holds its root, so a root in nobody's
 * filter goes straight to the other origins (no peer attempt).
 *
 * Each holder, closest first, is asked over a verified session with the client library, on the
 * node's own libp2p (the connection the summary came on) under a client key of the node's: the
 * bytes are verified block by block against the root as they stream in, and the store checks the
 * root again. A holder that does not have it (a false positive of its filter, or evicted since)
 * or fails costs one attempt, then the next holder; when none served it, ORIGIN_UNAVAILABLE, and
 * the resolver goes on to the real origins. A holder that failed mid-body is not resumed: the
 * store has taken its bytes, so the fetch fails over to the next origin as a whole.
 *
 * A miss on behalf of a peer (the requester is a node whose summary is held here) asks no peer:
 * two nodes whose filters both held a root neither has any more would otherwise ask each other,
 * each resolve waiting on the other's until the client's stall timeout (5 s without a frame).
 */
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { bytesToHex } from '@noble/hashes/utils.js'
import { createClient, type FulmenClient } from '../../client/client.ts'
import type { Logger } from '../../core/logger.ts'
import { type ClientKey, generateClientKey } from '../../crypto/client-key.ts'
import { peerLinkOf } from '../../net/libp2p-dialer.ts'
import type { PeerDialer } from '../../net/peer-dialer.ts'
import type { Origin, OriginFetchOptions } from '../../origin/origin.ts'
import { OriginError, type Pointer } from '../../origin/pointer.ts'
import type { SummaryMetrics } from './summary-exchange.ts'

export interface PeerOriginOptions {
  readonly libp2p: () => Pick<Libp2p, 'dial'>
  /** Peers whose summary holds `root` (maybe), closest first. */
  readonly holders: (root: Uint8Array) => Promise<string[]>
  /** Whether any peer's summary holds `root` (cheap: `accepts` must not wait). */
  readonly anyHolder: (root: Uint8Array) => boolean
  /** Whether `peer` is one of the nodes summaries are exchanged with: a miss on its behalf is
   * not passed on to peers (two stale summaries would send the fill back and forth). */
  readonly isPeer?: (peer: string) => boolean
  readonly metrics: Pick<SummaryMetrics, 'peerFills'>
  readonly logger: Logger
  /** The client key of the node's sessions to its peers (default: a fresh one). */
  readonly key?: ClientKey
  /** Holders asked at most for one miss (default 3): each false positive costs a round trip. */
  readonly maxAttempts?: number
}

export interface PeerOrigin extends Origin {
  /** Ends the session to `peer` (its connection closed): the next fill from it starts afresh. */
  forget(peer: string): void
  /** Ends the sessions to peers. */
  close(): Promise<void>
}

/**
 * A `PeerDialer` over the node's libp2p: it dials the peer (reusing the connection it has) and
 * leaves the connection open when the session ends, since the node uses it for more.
 */
function nodeDialer(libp2p: () => Pick<Libp2p, 'dial'>): PeerDialer {
  return {
    async dial(address, signal) {
      const peer = address.getComponents().findLast((c) => c.name === 'p2p')?.value
      if (peer === undefined) throw new Error(`${address.toString()} names no peer`)
      const connection = await libp2p().dial(
        peerIdFromString(peer),
        signal === undefined ? {} : { signal },
      )
      return peerLinkOf(connection, async () => {})
    },
    // Never used with order 'given'; a node knows its peers' latency from elsewhere.
    ping: async () => 0,
  }
}

export function createPeerOrigin(options: PeerOriginOptions): PeerOrigin {
  const log = options.logger.child({ component: 'peer-origin' })
  const key = options.key ?? generateClientKey()
  const dialer = nodeDialer(options.libp2p)
  const maxAttempts = options.maxAttempts ?? 3
  const clients = new Map<string, Promise<FulmenClient>>()

  const clientOf = (peer: string): Promise<FulmenClient> => {
    let client = clients.get(peer)
    if (client === undefined) {
      client = createClient({ bootstrap: [multiaddr(`/p2p/${peer}`)], dialer, order: 'given', key })
      clients.set(peer, client)
      client.catch(() => clients.delete(peer))
    }
    return client
  }

  async function* fetchFrom(
    peer: string,
    pointer: Pointer & { kind: 'blake3' },
    options: OriginFetchOptions,
    signal: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    const client = await clientOf(peer)
    const response = await client.fetch(pointer, { signal })
    if (response.body === null) return
    let received = 0
    for await (const chunk of response.body) {
      received += chunk.length
      if (received > options.maxBytes)
        throw new OriginError(
          'ORIGIN_TOO_LARGE',
          `peer ${peer} sent more than ${options.maxBytes} bytes`,
        )
      yield chunk
    }
  }

  return {
    name: 'peer',
    accepts: (pointer) => pointer.kind === 'blake3' && options.anyHolder(pointer.root),
    async *fetch(pointer, fetchOptions) {
      if (pointer.kind !== 'blake3')
        throw new OriginError('ORIGIN_UNAVAILABLE', 'peers are asked for BLAKE3 roots only')
      const root = bytesToHex(pointer.root)
      if (fetchOptions.requester !== undefined && options.isPeer?.(fetchOptions.requester))
        throw new OriginError('ORIGIN_UNAVAILABLE', 'a peer’s miss is not passed on to peers')
      const signals = [
        fetchOptions.signal,
        Number.isFinite(fetchOptions.timeoutMs)
          ? AbortSignal.timeout(fetchOptions.timeoutMs)
          : undefined,
      ]
      const signal = AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined))
      const holders = (await options.holders(pointer.root)).slice(0, maxAttempts)
      const tried: string[] = []
      for (const peer of holders) {
        signal.throwIfAborted()
        let yielded = false
        const started = Date.now()
        try {
          for await (const chunk of fetchFrom(peer, pointer, fetchOptions, signal)) {
            yielded = true
            yield chunk
          }
          options.metrics.peerFills.labels('hit').inc()
          log.info({ root, peer, ms: Date.now() - started }, 'peer fill')
          return
        } catch (error) {
          if (fetchOptions.signal?.aborted === true) throw fetchOptions.signal.reason
          const code = (error as { code?: unknown })?.code
          const falsePositive = code === 'FETCH_NOT_FOUND'
          options.metrics.peerFills.labels(falsePositive ? 'false_positive' : 'failed').inc()
          log.info(
            { root, peer, code, err: error instanceof Error ? error.message : String(error) },
            falsePositive ? 'peer fill: not there (a false positive)' : 'peer fill failed',
          )
          tried.push(`${peer}: ${typeof code === 'string' ? code : 'error'}`)
          // Bytes already went to the store: it cannot take another holder's from the start.
          if (yielded)
            throw new OriginError('ORIGIN_FETCH_FAILED', `peer ${peer} failed mid-body`, {
              cause: error,
            })
        }
      }
      throw new OriginError(
        'ORIGIN_UNAVAILABLE',
        `no close peer served ${root} (${tried.join(', ') || 'none asked'})`,
      )
    },
    forget(peer) {
      const client = clients.get(peer)
      clients.delete(peer)
      client?.then((c) => c.close()).catch(() => {})
    },
    async close() {
      const all = [...clients.values()]
      clients.clear()
      await Promise.all(all.map((c) => c.then((client) => client.close()).catch(() => {})))
    },
  }
}
