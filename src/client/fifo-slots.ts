/**
 * At most `size` holders at once; the rest wait in the order they asked, and a waiter whose
 * signal aborts leaves the queue. For work a peer caps per connection (the client's holder
 * lookups: a node takes a few provider streams per connection and resets the rest).
 */
export class FifoSlots {
  private readonly size: number
  private held = 0
  private readonly waiters: (() => void)[] = []

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be ≥ 1, got ${size}`)
    this.size = size
  }

  /** Runs `work` in a slot, once one is free. */
  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal)
    try {
      return await work()
    } finally {
      this.release()
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (this.held < this.size && this.waiters.length === 0) {
      this.held++
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiters.indexOf(grant)
        if (at >= 0) this.waiters.splice(at, 1)
        reject(signal!.reason)
      }
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      this.waiters.push(grant)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  private release(): void {
    const next = this.waiters.shift()
    // The slot passes straight to the next waiter: nobody overtakes the queue.
    if (next !== undefined) next()
    else this.held--
  }
}
