/** What the worker has served since it started (a restarted worker starts again from zero). */
import type { BlockSource } from './block-source.ts'

export type ServedFrom = BlockSource['kind'] | 'cache'

export interface SwStats {
  /** Responses started, by where their first block came from. */
  readonly requests: Readonly<Record<ServedFrom, number>>
  /** Verified bytes sent to the page, by where they came from. */
  readonly bytes: Readonly<Record<ServedFrom, number>>
  /** Requests answered with an error status (502, 416, 400) or cut mid-body. */
  readonly failures: number
  /** Peer id, gateway URL or `cache` of the last block served. */
  readonly lastNode: string | undefined
  /** The last failure's explanation. */
  readonly lastError: string | undefined
  /** Milliseconds the last client took to start (SIMD engine, libp2p, key). */
  readonly clientStartMs: number | undefined
  /** When this worker instance started (ms since the epoch): a restart shows here. */
  readonly startedAt: number
}

export class StatsRecorder {
  private readonly requests: Record<ServedFrom, number> = { node: 0, gateway: 0, cache: 0 }
  private readonly bytes: Record<ServedFrom, number> = { node: 0, gateway: 0, cache: 0 }
  private failures = 0
  private lastNode: string | undefined
  private lastError: string | undefined
  clientStartMs: number | undefined
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

  snapshot(): SwStats {
    return {
      requests: { ...this.requests },
      bytes: { ...this.bytes },
      failures: this.failures,
      lastNode: this.lastNode,
      lastError: this.lastError,
      clientStartMs: this.clientStartMs,
      startedAt: this.startedAt,
    }
  }
}
