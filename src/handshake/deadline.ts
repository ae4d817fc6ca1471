/**
 * Time limits bound to abort signals. `Deadline`: one time limit (and abort signal) over the
 * several awaits of a handshake: each await is raced against it, and it is cleared once the
 * handshake is over. `sleep`: a wait that an abort ends.
 */
import { SessionError } from './errors.ts'

export class Deadline {
  private readonly expired: Promise<never>
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly signal: AbortSignal | undefined
  private readonly onAbort: () => void

  /**
   * `aborted` makes the error for an aborted signal: each side reports an abort its own way
   * (the node tells the client it is shutting down).
   */
  constructor(timeoutMs: number, signal: AbortSignal | undefined, aborted: () => SessionError) {
    let fail!: (error: SessionError) => void
    this.expired = new Promise<never>((_, reject) => {
      fail = reject
    })
    // Nobody may be racing at the moment it fires; the rejection is still seen by later races.
    this.expired.catch(() => {})
    this.timer = setTimeout(
      () => fail(new SessionError('SESSION_TIMEOUT', `handshake timed out after ${timeoutMs} ms`)),
      timeoutMs,
    )
    this.signal = signal
    this.onAbort = () => fail(aborted())
    if (signal?.aborted) this.onAbort()
    else signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /** `promise`, unless the deadline passes or the signal aborts first. */
  race<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.expired])
  }

  clear(): void {
    clearTimeout(this.timer)
    this.signal?.removeEventListener('abort', this.onAbort)
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
