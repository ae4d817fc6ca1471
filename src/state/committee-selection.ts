/**
 * The next committee: the active set in a canonical order (ascending node key bytes), shuffled
 * by the beacon seed, the first `size` kept (Lightning's `choose_new_committee`, which shuffles
 * with a `StdRng` seeded by the reveals' hash; here a BLAKE3 counter stream and a Fisher–Yates
 * whose draws are unbiased, so any implementation reproduces it from this file alone).
 */
import { deriveKey } from '../b3/hash.ts'
import { StateError } from './errors.ts'

const SHUFFLE_CONTEXT = 'fulmen 2026 committee shuffle'
const TWO_64 = 1n << 64n

/** Orders node keys by their bytes (shorter first on a common prefix). */
export function compareNodeKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  }
  return a.length - b.length
}

/**
 * Uniform integers from the seed: block i is derive-key(context, seed ‖ u64be i), 64 bytes read
 * as eight u64be words in turn.
 */
class SeedStream {
  private readonly seed: Uint8Array
  private block: Uint8Array = new Uint8Array(0)
  private view: DataView = new DataView(new ArrayBuffer(0))
  private offset = 0
  private counter = 0n

  constructor(seed: Uint8Array) {
    this.seed = seed
  }

  private nextU64(): bigint {
    if (this.offset === this.block.length) {
      const material = new Uint8Array(this.seed.length + 8)
      material.set(this.seed)
      new DataView(material.buffer).setBigUint64(this.seed.length, this.counter)
      this.counter += 1n
      this.block = deriveKey(SHUFFLE_CONTEXT, material, 64)
      this.view = new DataView(this.block.buffer, this.block.byteOffset, this.block.length)
      this.offset = 0
    }
    const word = this.view.getBigUint64(this.offset)
    this.offset += 8
    return word
  }

  /** A uniform integer in [0, bound): words at or above the largest multiple of `bound` below
   * 2^64 are drawn again, so no residue is favoured (a redraw has odds < bound / 2^64). */
  below(bound: number): number {
    const b = BigInt(bound)
    const limit = TWO_64 - (TWO_64 % b)
    for (;;) {
      const word = this.nextU64()
      if (word < limit) return Number(word % b)
    }
  }
}

/**
 * The first `size` node keys of `active` after sorting them by bytes and shuffling them with
 * the seed (all of them, shuffled, when there are fewer). A forward Fisher–Yates that stops
 * after `size` swaps: position i takes a uniform pick among positions i..n-1.
 * Throws STATE_INVALID_ARGUMENT for a size that is not a non-negative integer, a key that is
 * not bytes, or a key listed twice (the active set is a set).
 */
export function selectCommittee(
  active: readonly Uint8Array[],
  seed: Uint8Array,
  size: number,
): Uint8Array[] {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new StateError(
      'STATE_INVALID_ARGUMENT',
      `committee size must be a non-negative integer, got ${size}`,
    )
  }
  if (!(seed instanceof Uint8Array)) {
    throw new StateError('STATE_INVALID_ARGUMENT', 'the beacon seed must be bytes')
  }
  for (const key of active) {
    if (!(key instanceof Uint8Array)) {
      throw new StateError('STATE_INVALID_ARGUMENT', 'a node key must be bytes')
    }
  }
  const order = [...active].sort(compareNodeKeys)
  for (let i = 1; i < order.length; i++) {
    if (compareNodeKeys(order[i - 1] as Uint8Array, order[i] as Uint8Array) === 0) {
      throw new StateError('STATE_INVALID_ARGUMENT', 'the active set lists a node key twice')
    }
  }
  const n = order.length
  const take = Math.min(size, n)
  const stream = new SeedStream(seed)
  for (let i = 0; i < take; i++) {
    const j = i + stream.below(n - i)
    const picked = order[j] as Uint8Array
    order[j] = order[i] as Uint8Array
    order[i] = picked
  }
  return order.slice(0, take).map((key) => key.slice())
}
