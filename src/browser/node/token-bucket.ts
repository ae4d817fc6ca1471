/**
 * An upload cap: a token bucket of bytes shared by every stream of a tab node, and a
 * `ByteChannel` whose writes pay into it. A write takes its bytes from the bucket and, when
 * that leaves it in debt, waits until the debt is paid back at `rate` bytes per second; so
 * over any stretch of time at most `burst + rate · seconds` bytes go out. Writes wait in turn
 * (each pays after the one before), which keeps concurrent streams fair.
 */

import { sleep } from '../../handshake/deadline.ts'
import type { ByteChannel } from '../../wire/byte-channel.ts'

export interface TokenBucketOptions {
  /** Bytes per second, > 0. */
  readonly rate: number
  /** Bytes that may go out at once after a quiet spell (default: one second's worth). */
  readonly burst?: number
  /** Clock in milliseconds (performance.now); tests inject their own. */
  readonly now?: () => number
  /** Waits `ms`, rejecting with the signal's reason on abort; tests inject their own. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

export class TokenBucket {
  readonly rate: number
  readonly burst: number
  private readonly now: () => number
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
  private tokens: number
  private at: number

  constructor(options: TokenBucketOptions) {
    if (!(options.rate > 0) || !Number.isFinite(options.rate)) {
      throw new RangeError(
        `rate must be a positive number of bytes per second, got ${options.rate}`,
      )
    }
    this.rate = options.rate
    this.burst = options.burst ?? options.rate
    if (!(this.burst >= 0)) throw new RangeError(`burst must be >= 0, got ${this.burst}`)
    this.now = options.now ?? (() => performance.now())
    this.sleep = options.sleep ?? sleep
    this.tokens = this.burst
    this.at = this.now()
  }

  /** Bytes that may go out now without waiting (negative: the debt still to pay). */
  get available(): number {
    this.refill()
    return this.tokens
  }

  /**
   * Takes `n` bytes; resolves once the bucket is out of debt again. An aborted wait rejects
   * with the signal's reason (the bytes stay taken: they were on their way).
   */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    this.charge(n)
    if (this.tokens >= 0) return
    await this.sleep(Math.ceil((-this.tokens / this.rate) * 1000), signal)
  }

  /** Takes `n` bytes without waiting (they count against later writes). */
  charge(n: number): void {
    this.refill()
    this.tokens -= n
  }

  private refill(): void {
    const now = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.rate)
    this.at = now
  }
}

/**
 * Writes this small or smaller are charged but never wait: control frames (CHALLENGE,
 * SESSION, TERMINATE, ERROR) must not queue behind content, or a stopping node could not say
 * goodbye in time.
 */
export const CONTROL_WRITE_BYTES = 1024

/** `channel` with its writes paced by `bucket`. Aborting the channel ends a wait at once. */
export function rateLimited(channel: ByteChannel, bucket: TokenBucket): ByteChannel {
  const aborted = new AbortController()
  return {
    source: channel.source,
    remotePeer: channel.remotePeer,
    async write(bytes) {
      if (bytes.length <= CONTROL_WRITE_BYTES) bucket.charge(bytes.length)
      else await bucket.take(bytes.length, aborted.signal)
      await channel.write(bytes)
    },
    close: () => channel.close(),
    abort(reason) {
      aborted.abort(reason)
      channel.abort(reason)
    },
  }
}
