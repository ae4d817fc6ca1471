/**
 * The hash chain behind acknowledgements (PayWord-style, docs/protocol.md): `H(x)` is BLAKE3
 * keyed with `CHAIN_KEY` over 32 bytes, the anchor is `c0 = H^L(seed)` and acknowledging `i`
 * units reveals `ci = H^(L-i)(seed)`. Revealing is free for the client (a lookup), checking
 * costs the node one hash per unit, and nobody can go further down the chain than revealed.
 */
import { deriveKey, keyedHash } from '../b3/hash.ts'
import { equalBytes } from '../core/bytes.ts'

/** Bytes of a chain value. */
export const CHAIN_VALUE_LEN = 32

/** The key of `H`: a chain of this protocol is useless anywhere else BLAKE3 is keyed. */
export const CHAIN_KEY: Uint8Array = deriveKey(
  'fulmen delivery acknowledgement chain v1',
  new Uint8Array(0),
)

/**
 * The longest chain `HashChain.create` keeps in memory (32 MiB). Commitments allow 2^32 - 1,
 * but a client that needs more units signs another commitment (a few ms) instead.
 */
export const MAX_CHAIN_LENGTH = 1 << 20

function checkValue(x: Uint8Array, what: string): void {
  if (!(x instanceof Uint8Array) || x.length !== CHAIN_VALUE_LEN) {
    throw new TypeError(`${what} must be ${CHAIN_VALUE_LEN} bytes, got ${x?.length}`)
  }
}

/** One step of the chain: `H(x)`. */
export function chainStep(x: Uint8Array): Uint8Array {
  checkValue(x, 'a chain value')
  return keyedHash(CHAIN_KEY, x)
}

/**
 * Whether `steps` applications of `H` take `value` to `target`: the node's check of a reveal
 * (`steps` = units it acknowledges) and anyone's check of a claim (`steps` = its index).
 */
export function chainsTo(value: Uint8Array, steps: number, target: Uint8Array): boolean {
  checkValue(value, 'a chain value')
  checkValue(target, 'a chain target')
  if (!Number.isSafeInteger(steps) || steps < 0) {
    throw new RangeError(`steps must be a non-negative integer, got ${steps}`)
  }
  let x = value
  for (let i = 0; i < steps; i++) x = keyedHash(CHAIN_KEY, x)
  return equalBytes(x, target)
}

function randomSeed(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(CHAIN_VALUE_LEN))
}

/**
 * A client's chain, all of it computed up front and kept (32 bytes per unit, 512 KiB for the
 * default 16,384): reveals are then lookups on the delivery path, not hashing.
 */
export class HashChain {
  /** L: units this chain can acknowledge. */
  readonly length: number
  /** `H^k(seed)` at offset 32·k, k = 0..L. */
  private readonly values: Uint8Array

  private constructor(length: number, values: Uint8Array) {
    this.length = length
    this.values = values
  }

  /** Computes the chain of `length` steps from `seed` (fresh randomness unless given). */
  static create(length: number, seed: Uint8Array = randomSeed()): HashChain {
    if (!Number.isInteger(length) || length < 1 || length > MAX_CHAIN_LENGTH) {
      throw new RangeError(
        `a chain length is an integer in [1, ${MAX_CHAIN_LENGTH}], got ${length}`,
      )
    }
    checkValue(seed, 'a chain seed')
    const values = new Uint8Array(CHAIN_VALUE_LEN * (length + 1))
    values.set(seed, 0)
    for (let k = 1; k <= length; k++) {
      const previous = values.subarray(CHAIN_VALUE_LEN * (k - 1), CHAIN_VALUE_LEN * k)
      values.set(keyedHash(CHAIN_KEY, previous), CHAIN_VALUE_LEN * k)
    }
    return new HashChain(length, values)
  }

  /** c0 = H^L(seed): what the commitment signs. */
  get anchor(): Uint8Array {
    return this.reveal(0)
  }

  /** ci = H^(L-i)(seed): the acknowledgement of `i` units (0 ≤ i ≤ L). */
  reveal(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i > this.length) {
      throw new RangeError(`a reveal index is an integer in [0, ${this.length}], got ${i}`)
    }
    const k = this.length - i
    return this.values.slice(CHAIN_VALUE_LEN * k, CHAIN_VALUE_LEN * (k + 1))
  }
}
