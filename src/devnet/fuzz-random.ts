/**
 * A small seeded PRNG for the fuzzers (gateway and libp2p): each case draws from its own
 * generator, seeded from the run's seed and the case's index, so that any failing case can be
 * generated again alone from the two numbers a failure prints.
 */

/** mulberry32: 32-bit state, fast, plenty for choosing inputs. */
export class Prng {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** A generator for case `index` of the run seeded with `seed`. */
  static forCase(seed: number, index: number): Prng {
    // Two rounds of a 32-bit mix, so that neighbouring indices give unrelated streams.
    let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return new Prng((h ^ (h >>> 16)) >>> 0)
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n)
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1)
  }

  /** A uniform number in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff
    return out
  }
}

/** A seed from the environment variable `name` if set, else a random one. */
export function seedFrom(name: string): number {
  const given = process.env[name]
  if (given !== undefined && given !== '') {
    const n = Number(given)
    if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${given}`)
    return n >>> 0
  }
  return (Math.random() * 0x1_0000_0000) >>> 0
}
