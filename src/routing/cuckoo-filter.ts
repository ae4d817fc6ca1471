/**
 * A cuckoo filter over 32-byte BLAKE3 roots (Fan, Andersen, Kaminsky, Mitzenmacher, "Cuckoo
 * Filter: Practically Better Than Bloom", CoNEXT 2014): the set a node summarises its most
 * requested content with, and that its close peers ask before going to an origin.
 *
 * Buckets of 4 fingerprints, a power-of-two number of buckets, partial-key cuckoo hashing: an
 * item lives in bucket i1 or i2 = i1 xor hash(fp) (masked to the bucket bits, 0 read as 1), so a fingerprint can move between its two
 * buckets without the item. A member always answers yes (no false negatives); a non-member
 * answers yes with probability about 2·4·α / 2^f (α the load, f the fingerprint bits), at most
 * 2b/2^f = 8/2^f when full. The default f = 12 bounds it at 0.2 %: a miss asks the filters of
 * several peers (k of them: k times that rate), and each false positive costs a round trip.
 *
 * Deterministic: where an insert kicks, and which fingerprint, depends on the filter's table
 * and the root only (no Math.random, no hidden counter), so two nodes making the same inserts
 * hold the same bytes, and a decoded filter goes on exactly as the original would.
 *
 * The stable encoding (`encodeCuckooFilter`, `decodeCuckooFilter`; docs/protocol.md, "Content
 * summaries (cuckoo filter)"):
 *
 *   version:u8 (1) fingerprintBits:u8 (8..16) bucketCountLog2:u8 (1..24) count:u32be
 *   table: 4·2^bucketCountLog2 fingerprints of fingerprintBits bits each, bucket by bucket,
 *          packed most significant bit first (0 = empty slot); 2^log2·f/2 bytes
 *
 * Decoding takes bytes from the network: anything but a well-formed summary of at most 1 MiB is
 * a `RoutingError` with a stable code, found before any allocation larger than the input.
 */
import { RoutingError } from './errors.ts'

/** Bytes of a root: a BLAKE3 hash. */
export const ROOT_LEN = 32
/** Fingerprints per bucket (b): 4 reaches ~95 % load with 8 bits or more (Fan et al., §5). */
export const BUCKET_SIZE = 4
export const MIN_FINGERPRINT_BITS = 8
export const MAX_FINGERPRINT_BITS = 16
/** 12 bits: false positives at most 8/2^12 ≈ 0.2 % (about half that at the usual load). */
export const DEFAULT_FINGERPRINT_BITS = 12
/** Relocations an insert tries before it gives up (and undoes them): the paper's 500. */
export const MAX_KICKS = 500
/** Load a filter sized by `capacity` stays under: below the ~97 % where inserts start to fail
 * (measured in cuckoo-filter.test.ts; Fan et al. give 95 % for b = 4). */
export const TARGET_LOAD = 0.9
/** Largest encoding written or read: 1 MiB (over 2 million fingerprints of 8 bits). */
export const MAX_ENCODED_BYTES = 1 << 20
/** Version byte of the encoding. */
export const CUCKOO_FILTER_VERSION = 1
/** Bytes before the table: version, fingerprint bits, bucket count log2, count:u32be. */
export const CUCKOO_HEADER_LEN = 7
/** Largest bucket count log2 a header may name; the byte limit refuses most below it. */
export const MAX_BUCKET_COUNT_LOG2 = 24

export interface CuckooFilterOptions {
  /** Items the filter must hold: buckets for them at ≤ 90 % load, rounded up to a power of
   * two (at least 2). Give this or `bucketCountLog2`. */
  readonly capacity?: number
  /** Buckets as a power of two, 1..24: the exact shape, as a decoder has it. */
  readonly bucketCountLog2?: number
  /** Bits per fingerprint, 8..16 (default 12). */
  readonly fingerprintBits?: number
}

/** Bucket count log2 for `capacity` items at ≤ `TARGET_LOAD`. */
export function bucketCountLog2For(capacity: number): number {
  if (!Number.isSafeInteger(capacity) || capacity < 1)
    throw new RoutingError('ROUTING_INVALID_ARGUMENT', 'capacity must be a positive integer')
  const buckets = Math.ceil(capacity / (BUCKET_SIZE * TARGET_LOAD))
  return Math.max(1, Math.ceil(Math.log2(buckets)))
}

/** Bytes of the encoding of a filter of this shape (header and table). */
export function encodedCuckooFilterLength(bucketCountLog2: number, fingerprintBits: number) {
  // 4 fingerprints a bucket, 2 buckets or more: the table is always whole bytes.
  return CUCKOO_HEADER_LEN + (2 ** bucketCountLog2 * fingerprintBits) / 2
}

function checkRoot(root: Uint8Array): void {
  if (!(root instanceof Uint8Array) || root.length !== ROOT_LEN)
    throw new RoutingError('ROUTING_INVALID_ARGUMENT', `a root must be ${ROOT_LEN} bytes`)
}

function readU32le(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0
  )
}

/**
 * MurmurHash3's 32-bit finalizer (fmix32): the fixed, cheap mix that spreads a fingerprint over
 * the bucket index bits. Any fixed function works for i2 = i1 xor hash(fp) (xor makes it its
 * own inverse); a multiply alone would leave the low bits depending on the low bits only.
 */
function mixFingerprint(fingerprint: number): number {
  let h = fingerprint
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The next state of a 32-bit xorshift: the kick sequence (never 0 from a non-zero state). */
function xorshift32(state: number): number {
  let x = state
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  return x >>> 0
}

export class CuckooFilter {
  readonly fingerprintBits: number
  readonly bucketCountLog2: number
  /** Fingerprint slots: 4 × buckets. More than the `capacity` asked for (load ≤ 90 %, powers
   * of two); inserts start to fail around 97 % of it. */
  readonly capacity: number
  // Slot s of bucket b at b·4 + s; 0 is an empty slot (fingerprints are 1..2^f − 1).
  private readonly slots: Uint16Array
  private readonly bucketMask: number
  private items = 0

  /**
   * An empty filter; or, given `table` (slots as `fingerprintAt` reads them), a filter holding
   * it (taken, not copied): what the decoder builds. A table of the wrong length or with a
   * fingerprint wider than `fingerprintBits` is refused.
   */
  constructor(options: CuckooFilterOptions, table?: Uint16Array) {
    const bits = options.fingerprintBits ?? DEFAULT_FINGERPRINT_BITS
    if (!Number.isInteger(bits) || bits < MIN_FINGERPRINT_BITS || bits > MAX_FINGERPRINT_BITS)
      throw new RoutingError(
        'ROUTING_INVALID_ARGUMENT',
        `fingerprint bits must be ${MIN_FINGERPRINT_BITS}..${MAX_FINGERPRINT_BITS}`,
      )
    if ((options.capacity === undefined) === (options.bucketCountLog2 === undefined))
      throw new RoutingError('ROUTING_INVALID_ARGUMENT', 'give capacity or bucketCountLog2')
    const log2 = options.bucketCountLog2 ?? bucketCountLog2For(options.capacity!)
    if (!Number.isInteger(log2) || log2 < 1 || log2 > MAX_BUCKET_COUNT_LOG2)
      throw new RoutingError(
        'ROUTING_INVALID_ARGUMENT',
        `bucket count log2 must be 1..${MAX_BUCKET_COUNT_LOG2}`,
      )
    if (encodedCuckooFilterLength(log2, bits) > MAX_ENCODED_BYTES)
      throw new RoutingError('ROUTING_INVALID_ARGUMENT', 'filter would encode to over 1 MiB')
    this.fingerprintBits = bits
    this.bucketCountLog2 = log2
    this.capacity = BUCKET_SIZE << log2
    this.bucketMask = (1 << log2) - 1
    if (table === undefined) {
      this.slots = new Uint16Array(this.capacity)
      return
    }
    if (table.length !== this.capacity)
      throw new RoutingError('ROUTING_INVALID_ARGUMENT', `table must have ${this.capacity} slots`)
    this.slots = table
    for (const fingerprint of table) {
      if (fingerprint >>> bits !== 0)
        throw new RoutingError('ROUTING_INVALID_ARGUMENT', `fingerprint over ${bits} bits`)
      if (fingerprint !== 0) this.items++
    }
  }

  /** Items held (a root inserted twice counts twice). */
  get size(): number {
    return this.items
  }

  /** Slot `slot` (bucket slot >> 2, place slot & 3): its fingerprint, 0 when empty. */
  fingerprintAt(slot: number): number {
    return this.slots[slot] ?? 0
  }

  /**
   * Adds `root`. False when it does not fit: the kicks are undone, so nothing held is lost (a
   * standard cuckoo filter drops the last victim instead). The same root may be added again
   * (up to 8 copies, its two buckets' slots); `delete` removes one copy.
   */
  insert(root: Uint8Array): boolean {
    checkRoot(root)
    const { slots } = this
    let fingerprint = fingerprintOf(root, this.fingerprintBits)
    const i1 = firstBucketOf(root, this.bucketMask)
    const i2 = this.alternateBucket(i1, fingerprint)
    if (this.place(i1, fingerprint) || this.place(i2, fingerprint)) return true
    // Both buckets full: evict along a path chosen by a xorshift seeded by the root, recording
    // every slot written so a failed insert can put each fingerprint back.
    let state = readU32le(root, 8) || 0x9e3779b9
    state = xorshift32(state)
    let bucket = state & 4 ? i2 : i1
    const path = new Uint32Array(MAX_KICKS)
    for (let kick = 0; kick < MAX_KICKS; kick++) {
      state = xorshift32(state)
      const at = bucket * BUCKET_SIZE + (state & 3)
      const victim = slots[at]!
      slots[at] = fingerprint
      path[kick] = at
      fingerprint = victim
      bucket = this.alternateBucket(bucket, fingerprint)
      if (this.place(bucket, fingerprint)) return true
    }
    for (let kick = MAX_KICKS - 1; kick >= 0; kick--) {
      const at = path[kick]!
      const held = slots[at]!
      slots[at] = fingerprint
      fingerprint = held
    }
    return false
  }

  /** Whether `root` may be in the set: always true for a member, rarely for others. */
  has(root: Uint8Array): boolean {
    checkRoot(root)
    const fingerprint = fingerprintOf(root, this.fingerprintBits)
    const i1 = firstBucketOf(root, this.bucketMask)
    return (
      this.find(i1, fingerprint) >= 0 ||
      this.find(this.alternateBucket(i1, fingerprint), fingerprint) >= 0
    )
  }

  /**
   * Removes one copy of `root`; false when none is held. Delete only what was inserted: a root
   * never inserted whose fingerprint matches a member's would remove that member.
   */
  delete(root: Uint8Array): boolean {
    checkRoot(root)
    const fingerprint = fingerprintOf(root, this.fingerprintBits)
    const i1 = firstBucketOf(root, this.bucketMask)
    let at = this.find(i1, fingerprint)
    if (at < 0) at = this.find(this.alternateBucket(i1, fingerprint), fingerprint)
    if (at < 0) return false
    this.slots[at] = 0
    this.items--
    return true
  }

  /** i xor hash(fp): its own inverse. A hash of 0 (masked) is taken as 1, so the two buckets
   * always differ: otherwise 1 fingerprint in 2^log2 would have a single bucket. */
  private alternateBucket(bucket: number, fingerprint: number): number {
    return bucket ^ (mixFingerprint(fingerprint) & this.bucketMask || 1)
  }

  /** Puts `fingerprint` in the first empty slot of `bucket`; false when it is full. */
  private place(bucket: number, fingerprint: number): boolean {
    const start = bucket * BUCKET_SIZE
    for (let at = start; at < start + BUCKET_SIZE; at++) {
      if (this.slots[at] !== 0) continue
      this.slots[at] = fingerprint
      this.items++
      return true
    }
    return false
  }

  /** The slot of `bucket` holding `fingerprint`, or −1. */
  private find(bucket: number, fingerprint: number): number {
    const start = bucket * BUCKET_SIZE
    for (let at = start; at < start + BUCKET_SIZE; at++)
      if (this.slots[at] === fingerprint) return at
    return -1
  }
}

/**
 * Index and fingerprint come straight from the root's bytes: a root is BLAKE3 output, uniform
 * and independent bit by bit, so hashing it again would add cost and nothing else. Bytes 0..3
 * give the first bucket, 4..7 the fingerprint, 8..11 seed the kicks: disjoint, so independent.
 * (Anyone can grind roots that collide in a filter, about 2^(log2 + f) hashes: that costs the
 * filter's owner false positives, round trips, or a failed insert, never a lost member.)
 */
function firstBucketOf(root: Uint8Array, bucketMask: number): number {
  return readU32le(root, 0) & bucketMask
}

/** 1..2^f − 1 (0 marks an empty slot), uniform up to a bias of 2^f / 2^32. */
function fingerprintOf(root: Uint8Array, bits: number): number {
  return (readU32le(root, 4) % ((1 << bits) - 1)) + 1
}

/** The filter's stable bytes: the header, then every slot packed (module comment). */
export function encodeCuckooFilter(filter: CuckooFilter): Uint8Array {
  const bits = filter.fingerprintBits
  const out = new Uint8Array(encodedCuckooFilterLength(filter.bucketCountLog2, bits))
  out[0] = CUCKOO_FILTER_VERSION
  out[1] = bits
  out[2] = filter.bucketCountLog2
  new DataView(out.buffer).setUint32(3, filter.size)
  let at = CUCKOO_HEADER_LEN
  let pending = 0 // bits waiting in `accumulator`, under 8 between slots
  let accumulator = 0
  for (let slot = 0; slot < filter.capacity; slot++) {
    accumulator = (accumulator << bits) | filter.fingerprintAt(slot)
    pending += bits
    while (pending >= 8) {
      pending -= 8
      out[at++] = accumulator >>> pending
      accumulator &= (1 << pending) - 1
    }
  }
  return out
}

function summaryError(
  code: 'ROUTING_SUMMARY_TRUNCATED' | 'ROUTING_SUMMARY_MALFORMED',
  message: string,
  details: Record<string, unknown>,
): RoutingError {
  return new RoutingError(code, `content summary: ${message}`, { details })
}

/**
 * A filter from its stable bytes. Strict: the length must be exactly the header's shape, the
 * count the table's, and the whole at most 1 MiB; otherwise a `RoutingError`
 * (`ROUTING_SUMMARY_TOO_LARGE`, `_TRUNCATED`, `_UNKNOWN_VERSION`, `_MALFORMED`).
 */
export function decodeCuckooFilter(bytes: Uint8Array): CuckooFilter {
  if (!(bytes instanceof Uint8Array))
    throw new RoutingError('ROUTING_INVALID_ARGUMENT', 'a content summary must be a Uint8Array')
  if (bytes.length > MAX_ENCODED_BYTES)
    throw new RoutingError('ROUTING_SUMMARY_TOO_LARGE', 'content summary over 1 MiB', {
      details: { length: bytes.length, limit: MAX_ENCODED_BYTES },
    })
  if (bytes.length < CUCKOO_HEADER_LEN)
    throw summaryError('ROUTING_SUMMARY_TRUNCATED', 'shorter than its header', {
      length: bytes.length,
    })
  const version = bytes[0]!
  if (version !== CUCKOO_FILTER_VERSION)
    throw new RoutingError('ROUTING_SUMMARY_UNKNOWN_VERSION', `content summary v${version}`, {
      details: { version },
    })
  const bits = bytes[1]!
  const log2 = bytes[2]!
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(3)
  if (bits < MIN_FINGERPRINT_BITS || bits > MAX_FINGERPRINT_BITS)
    throw summaryError('ROUTING_SUMMARY_MALFORMED', `fingerprint bits ${bits}`, { bits })
  if (log2 < 1 || log2 > MAX_BUCKET_COUNT_LOG2)
    throw summaryError('ROUTING_SUMMARY_MALFORMED', `bucket count log2 ${log2}`, { log2 })
  // The shape's length is checked against the input before the table is allocated.
  const expected = encodedCuckooFilterLength(log2, bits)
  if (expected > MAX_ENCODED_BYTES)
    throw new RoutingError('ROUTING_SUMMARY_TOO_LARGE', 'content summary shape over 1 MiB', {
      details: { length: expected, limit: MAX_ENCODED_BYTES },
    })
  if (bytes.length < expected)
    throw summaryError('ROUTING_SUMMARY_TRUNCATED', 'ends inside its table', {
      length: bytes.length,
      expected,
    })
  if (bytes.length > expected)
    throw summaryError('ROUTING_SUMMARY_MALFORMED', 'bytes after the table', {
      length: bytes.length,
      expected,
    })
  const table = new Uint16Array(BUCKET_SIZE << log2)
  const mask = (1 << bits) - 1
  let held = 0
  let at = CUCKOO_HEADER_LEN
  let pending = 0
  let accumulator = 0
  for (let slot = 0; slot < table.length; slot++) {
    while (pending < bits) {
      accumulator = ((accumulator << 8) | bytes[at++]!) & 0xffffff
      pending += 8
    }
    pending -= bits
    const fingerprint = (accumulator >>> pending) & mask
    table[slot] = fingerprint
    if (fingerprint !== 0) held++
  }
  if (held !== count)
    throw summaryError('ROUTING_SUMMARY_MALFORMED', `count ${count}, table holds ${held}`, {
      count,
      held,
    })
  return new CuckooFilter({ bucketCountLog2: log2, fingerprintBits: bits }, table)
}
