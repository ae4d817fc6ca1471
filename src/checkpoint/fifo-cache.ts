/**
 * A map of at most `limit` entries, the oldest out first: what a checkpoint signature kernel
 * keeps of decoded committee keys and their Miller-loop lines (handoff-verifier.ts,
 * mcl-signature-kernel.ts). `onEvict` frees what a value holds outside the JavaScript heap (mcl
 * keeps lines in WebAssembly memory).
 */
export class FifoCache<K, V> {
  readonly #map = new Map<K, V>()
  readonly #limit: number
  readonly #onEvict: ((value: V) => void) | undefined

  constructor(limit: number, onEvict?: (value: V) => void) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be ≥ 1, got ${limit}`)
    this.#limit = limit
    this.#onEvict = onEvict
  }

  /** The value under `key`, made by `make` (and kept) when there is none. */
  get(key: K, make: () => V): V {
    if (this.#map.has(key)) return this.#map.get(key) as V
    const value = make()
    if (this.#map.size >= this.#limit) {
      const [oldest, old] = this.#map.entries().next().value as [K, V]
      this.#map.delete(oldest)
      this.#onEvict?.(old)
    }
    this.#map.set(key, value)
    return value
  }

  clear(): void {
    if (this.#onEvict !== undefined) for (const value of this.#map.values()) this.#onEvict(value)
    this.#map.clear()
  }
}
