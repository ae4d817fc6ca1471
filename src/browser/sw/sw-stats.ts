/** What the worker has served since it started (a restarted worker starts again from zero). */
import type { AckCounters } from '../../client/node-session.ts'
import type { BlockSource } from './block-source.ts'
import { type FailureKind, failureKind } from './failure-kind.ts'

export type ServedFrom = BlockSource['kind'] | 'cache'

/** A node or gateway the worker dropped mid-fetch (and went on without), as the page sees it. */
export interface SwFailureEvent {
  /** Increasing within one worker instance (`startedAt`): the page reads the new ones. */
  readonly seq: number
  /** ms since the epoch. */
  readonly at: number
  /** What was being fetched: the pointer's canonical spelling (a root's is its 64 hex). */
  readonly content: string
  /** The failed node's peer id, or the gateway's URL. */
  readonly node: string
  readonly source: BlockSource['kind']
  readonly code: string
  readonly message: string
  readonly kind: FailureKind
  /** Who took over (peer id or gateway URL), once someone did. */
  readonly resumedBy?: string
}

export interface SwStats {
  /** Responses started, by where their first block came from. */
  readonly requests: Readonly<Record<ServedFrom, number>>
  /** Verified bytes sent to the page, by where they came from. */
  readonly bytes: Readonly<Record<ServedFrom, number>>
  /** Requests answered with an error status (502, 404, 416, 400) or cut mid-body. */
  readonly failures: number
  /** Nodes or gateways caught sending content that failed verification (then dropped). */
  readonly lies: number
  /** Nodes or gateways dropped for any other reason (unreachable, closed, stalled…) but not
   * having the content. */
  readonly failovers: number
  /** The latest of those (at most `MAX_EVENTS`), oldest first. */
  readonly events: readonly SwFailureEvent[]
  /** Verified blocks each node (peer id) or gateway (URL) sent this worker. */
  readonly served: Readonly<Record<string, number>>
  /**
   * Delivery acknowledgements of the worker's client, per node, for its current sessions
   * (`client` counts the clients the worker started: a new one starts again from zero).
   */
  readonly acks: readonly { readonly peer: string; readonly acks: AckCounters }[]
  readonly client: number
  /** Peer id, gateway URL or `cache` of the last block served. */
  readonly lastNode: string | undefined
  /** The last failure's explanation. */
  readonly lastError: string | undefined
  /** Milliseconds the last client took to start (SIMD engine, libp2p, key). */
  readonly clientStartMs: number | undefined
  /** When this worker instance started (ms since the epoch): a restart shows here. */
  readonly startedAt: number
}

/** Events kept for the page: it polls about once a second, so these cover many fetches. */
export const MAX_EVENTS = 64

/** What sources tell the recorder as they go (node-source.ts, gateway-fetch.ts). */
export interface SourceObserver {
  /** A verified block from `who` reached this worker. */
  block(who: string): void
  /** `node` was dropped while fetching `content` (the fetch goes on elsewhere, or fails). */
  dropped(
    content: string,
    source: BlockSource['kind'],
    failure: { node: string; code: string; message: string; status?: number },
  ): void
  /** `who` answered for `content` after a failure: it took over. */
  answered(content: string, who: string): void
}

export class StatsRecorder implements SourceObserver {
  private readonly requests: Record<ServedFrom, number> = { node: 0, gateway: 0, cache: 0 }
  private readonly bytes: Record<ServedFrom, number> = { node: 0, gateway: 0, cache: 0 }
  private failures = 0
  private lies = 0
  private failovers = 0
  private seq = 0
  private events: SwFailureEvent[] = []
  private readonly served: Record<string, number> = {}
  private lastNode: string | undefined
  private lastError: string | undefined
  clientStartMs: number | undefined
  /** Set by the worker on each poll: its client's counters, and which client that is. */
  acks: readonly { readonly peer: string; readonly acks: AckCounters }[] = []
  client = 0
  private readonly startedAt = Date.now()

  started(from: ServedFrom): void {
    this.requests[from]++
  }

  sent(from: ServedFrom, node: string, n: number): void {
    this.bytes[from] += n
    this.lastNode = node
  }

  failed(explanation: string): void {
    this.failures++
    this.lastError = explanation
  }

  block(who: string): void {
    this.served[who] = (this.served[who] ?? 0) + 1
  }

  dropped(
    content: string,
    source: BlockSource['kind'],
    failure: { node: string; code: string; message: string; status?: number },
  ): void {
    const kind = failureKind(failure.code, failure.status)
    if (kind === 'lied') this.lies++
    else if (kind !== 'not-found') this.failovers++
    this.events.push({
      seq: ++this.seq,
      at: Date.now(),
      content,
      node: failure.node,
      source,
      code: failure.code,
      message: failure.message,
      kind,
    })
    if (this.events.length > MAX_EVENTS) this.events = this.events.slice(-MAX_EVENTS)
  }

  answered(content: string, who: string): void {
    // The latest failure of this content without a successor, if it was another node's.
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i]!
      if (e.content !== content) continue
      if (e.resumedBy === undefined && e.node !== who) this.events[i] = { ...e, resumedBy: who }
      return
    }
  }

  snapshot(): SwStats {
    return {
      requests: { ...this.requests },
      bytes: { ...this.bytes },
      failures: this.failures,
      lies: this.lies,
      failovers: this.failovers,
      events: [...this.events],
      served: { ...this.served },
      acks: this.acks,
      client: this.client,
      lastNode: this.lastNode,
      lastError: this.lastError,
      clientStartMs: this.clientStartMs,
      startedAt: this.startedAt,
    }
  }
}
