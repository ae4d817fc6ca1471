import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BUCKET_SIZE,
  CUCKOO_HEADER_LEN,
  CuckooFilter,
  DEFAULT_FINGERPRINT_BITS,
  decodeCuckooFilter,
  encodeCuckooFilter,
  encodedCuckooFilterLength,
  MAX_ENCODED_BYTES,
} from './cuckoo-filter.ts'
import { RoutingError } from './errors.ts'
import { rootsOf } from './testing/roots.ts'

/** Roots 0..6 of family 0 in a filter of 2 buckets and 12-bit fingerprints (kicks included). */
const PINNED_SMALL_FILTER = '010c0100000007def199efec46b3a1d92e4000'

const arbitraryRoot = fc.uint8Array({ minLength: 32, maxLength: 32 })

function filled(roots: readonly Uint8Array[], capacity = roots.length, bits?: number) {
  const filter = new CuckooFilter({ capacity: Math.max(1, capacity), fingerprintBits: bits })
  for (const root of roots) expect(filter.insert(root)).toBe(true)
  return filter
}

const SUMMARY_CODES = new Set([
  'ROUTING_SUMMARY_TOO_LARGE',
  'ROUTING_SUMMARY_TRUNCATED',
  'ROUTING_SUMMARY_UNKNOWN_VERSION',
  'ROUTING_SUMMARY_MALFORMED',
])

/** The decoder's result on `bytes`: a filter, or the code of the typed error it threw. */
function decodeOrCode(bytes: Uint8Array): CuckooFilter | string {
  try {
    return decodeCuckooFilter(bytes)
  } catch (error) {
    if (error instanceof RoutingError && SUMMARY_CODES.has(error.code)) return error.code
    throw error
  }
}

describe('CuckooFilter', () => {
  it('has no false negatives: every inserted root is found', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryRoot, { maxLength: 300 }),
        fc.integer({ min: 8, max: 16 }),
        (roots, bits) => {
          // Arbitrary bytes may crowd two buckets (shrinking finds that): a refused insert is
          // allowed, a root inserted and then not found is not.
          const filter = new CuckooFilter({
            capacity: Math.max(1, roots.length),
            fingerprintBits: bits,
          })
          const inserted = roots.filter((root) => filter.insert(root))
          expect(filter.size).toBe(inserted.length)
          for (const root of inserted) expect(filter.has(root)).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
    // Roots that are hashes, as real ones are: every insert up to the capacity succeeds.
    for (const capacity of [1, 2, 5, 17, 100, 1_000])
      for (const bits of [8, 12, 16]) {
        const roots = rootsOf(capacity, capacity)
        const filter = filled(roots, capacity, bits)
        for (const root of roots) expect(filter.has(root)).toBe(true)
      }
  })

  it('delete removes exactly one copy, and no other root', () => {
    fc.assert(
      fc.property(fc.array(arbitraryRoot, { maxLength: 200 }), arbitraryRoot, (others, root) => {
        const all = [...others, root, root]
        const filter = new CuckooFilter({ capacity: all.length })
        fc.pre(all.every((r) => filter.insert(r)))
        const size = filter.size
        expect(filter.delete(root)).toBe(true)
        expect(filter.size).toBe(size - 1)
        expect(filter.has(root)).toBe(true) // the second copy
        expect(filter.delete(root)).toBe(true)
        expect(filter.size).toBe(size - 2)
        for (const other of others) expect(filter.has(other)).toBe(true)
      }),
      { numRuns: 200 },
    )
  })

  it('delete of a root not held returns false and changes nothing', () => {
    const filter = filled(rootsOf(500))
    const before = encodeCuckooFilter(filter)
    let deleted = 0
    for (const root of rootsOf(1_000, 1)) if (filter.delete(root)) deleted++
    // A stranger deletes only if it matches a member's fingerprint (a false positive): rare.
    expect(deleted).toBeLessThan(10)
    if (deleted === 0) expect(encodeCuckooFilter(filter)).toEqual(before)
  })

  it('gives the same bytes for the same inserts (deterministic kicks)', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryRoot, { maxLength: 400 }),
        fc.integer({ min: 1, max: 64 }),
        (roots, capacity) => {
          // A small capacity makes the inserts kick (and some fail): the path must still agree.
          const a = new CuckooFilter({ capacity })
          const b = new CuckooFilter({ capacity })
          for (const root of roots) expect(a.insert(root)).toBe(b.insert(root))
          expect(encodeCuckooFilter(a)).toEqual(encodeCuckooFilter(b))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('round-trips: decode(encode(f)) has equal bytes, answers and later inserts', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryRoot, { maxLength: 300 }),
        fc.array(arbitraryRoot, { maxLength: 100 }),
        fc.integer({ min: 8, max: 16 }),
        (roots, later, bits) => {
          const filter = new CuckooFilter({ capacity: 200, fingerprintBits: bits })
          for (const root of roots) filter.insert(root)
          const bytes = encodeCuckooFilter(filter)
          const decoded = decodeCuckooFilter(bytes)
          expect(encodeCuckooFilter(decoded)).toEqual(bytes)
          expect(decoded.size).toBe(filter.size)
          expect(decoded.capacity).toBe(filter.capacity)
          for (const root of [...roots, ...later]) expect(decoded.has(root)).toBe(filter.has(root))
          for (const root of later) expect(decoded.insert(root)).toBe(filter.insert(root))
          expect(encodeCuckooFilter(decoded)).toEqual(encodeCuckooFilter(filter))
        },
      ),
      { numRuns: 200 },
    )
  })

  it('places each root where docs/protocol.md says a reader finds it', () => {
    // The lookup rule, written again from the document: a reader in another language.
    const u32le = (b: Uint8Array, at: number) =>
      new DataView(b.buffer, b.byteOffset).getUint32(at, true)
    const fmix32 = (h: number) => {
      h ^= h >>> 16
      h = Math.imul(h, 0x85ebca6b)
      h ^= h >>> 13
      h = Math.imul(h, 0xc2b2ae35)
      return (h ^ (h >>> 16)) >>> 0
    }
    for (const bits of [8, 13, 16]) {
      const filter = filled(rootsOf(3_000), 3_000, bits)
      const bytes = encodeCuckooFilter(filter)
      const log2 = bytes[2]!
      const mask = 2 ** log2 - 1
      const slot = (i: number) => {
        let value = 0
        for (let bit = i * bits; bit < (i + 1) * bits; bit++)
          value = value * 2 + ((bytes[CUCKOO_HEADER_LEN + (bit >> 3)]! >> (7 - (bit & 7))) & 1)
        return value
      }
      for (const root of rootsOf(3_000)) {
        const i1 = u32le(root, 0) & mask
        const fp = (u32le(root, 4) % (2 ** bits - 1)) + 1
        const i2 = i1 ^ (fmix32(fp) & mask || 1)
        const found = [i1, i2].some((b) => [0, 1, 2, 3].some((s) => slot(4 * b + s) === fp))
        expect(found).toBe(true)
      }
    }
    // A pinned encoding: a change of the format or of the kick order shows here.
    const small = new CuckooFilter({ bucketCountLog2: 1, fingerprintBits: 12 })
    for (const root of rootsOf(7)) expect(small.insert(root)).toBe(true)
    expect(bytesToHex(encodeCuckooFilter(small))).toBe(PINNED_SMALL_FILTER)
  })

  it('measures the false-positive rate against 2b/2^f', () => {
    const items = 10_000
    const probes = rootsOf(200_000, 7)
    for (const bits of [8, 10, DEFAULT_FINGERPRINT_BITS, 16]) {
      const filter = filled(rootsOf(items), items, bits)
      let positives = 0
      for (const probe of probes) if (filter.has(probe)) positives++
      const rate = positives / probes.length
      const load = filter.size / filter.capacity
      const bound = (2 * BUCKET_SIZE) / 2 ** bits
      console.log(
        `cuckoo filter: ${bits}-bit fingerprints, ${items} roots in ${filter.capacity} slots ` +
          `(load ${(load * 100).toFixed(1)} %): false positives ${positives} of ${probes.length} ` +
          `= ${(rate * 100).toFixed(3)} % (2b·α/2^f = ${(bound * load * 100).toFixed(3)} %, ` +
          `bound 2b/2^f = ${(bound * 100).toFixed(3)} %)`,
      )
      expect(rate).toBeLessThan(bound)
      if (bits === DEFAULT_FINGERPRINT_BITS) expect(rate).toBeLessThan(0.01)
    }
  })

  it('inserts until full, then refuses without losing anything', () => {
    for (const bits of [8, DEFAULT_FINGERPRINT_BITS]) {
      const filter = new CuckooFilter({ bucketCountLog2: 10, fingerprintBits: bits })
      const roots = rootsOf(filter.capacity + 1, 3)
      let held = 0
      while (filter.insert(roots[held]!)) held++
      const load = held / filter.capacity
      console.log(
        `cuckoo filter: ${bits}-bit fingerprints, first refused insert at ${held} of ` +
          `${filter.capacity} slots (load ${(load * 100).toFixed(1)} %)`,
      )
      expect(load).toBeGreaterThan(0.9)
      expect(filter.size).toBe(held)
      // A refused insert (its kicks undone) leaves the bytes as they were.
      let refused = 0
      for (const root of rootsOf(50, 4)) {
        const before = encodeCuckooFilter(filter)
        if (filter.insert(root)) continue
        refused++
        expect(encodeCuckooFilter(filter)).toEqual(before)
      }
      expect(refused).toBeGreaterThan(0)
      for (const root of roots.slice(0, held)) expect(filter.has(root)).toBe(true)
    }
  })

  it('sizes capacity 1,000 and 10,000 at ≤ 90 % load, and prints the encoded bytes', () => {
    for (const capacity of [1_000, 10_000]) {
      const filter = filled(rootsOf(capacity), capacity)
      const bytes = encodeCuckooFilter(filter)
      console.log(
        `cuckoo filter: capacity ${capacity}: ${filter.capacity} slots, ` +
          `${bytes.length} bytes encoded (${((bytes.length * 8) / capacity).toFixed(1)} bits a root)`,
      )
      expect(bytes.length).toBe(
        encodedCuckooFilterLength(filter.bucketCountLog2, filter.fingerprintBits),
      )
      expect(filter.size / filter.capacity).toBeLessThanOrEqual(0.9)
    }
  })

  it('refuses a root that is not 32 bytes, and options out of range', () => {
    const filter = new CuckooFilter({ capacity: 10 })
    for (const bad of [new Uint8Array(31), new Uint8Array(33), 'root' as unknown as Uint8Array])
      for (const op of [() => filter.insert(bad), () => filter.has(bad), () => filter.delete(bad)])
        expect(op).toThrow(expect.objectContaining({ code: 'ROUTING_INVALID_ARGUMENT' }))
    for (const options of [
      { capacity: 0 },
      { capacity: 1.5 },
      { capacity: 10, fingerprintBits: 7 },
      { capacity: 10, fingerprintBits: 17 },
      {},
      { capacity: 10, bucketCountLog2: 3 },
      { bucketCountLog2: 0 },
      { bucketCountLog2: 25 },
      { capacity: 10_000_000 }, // over 1 MiB encoded
    ])
      expect(() => new CuckooFilter(options)).toThrow(
        expect.objectContaining({ code: 'ROUTING_INVALID_ARGUMENT' }),
      )
  })
})

describe('decodeCuckooFilter', () => {
  const valid = encodeCuckooFilter(filled(rootsOf(100), 100))

  function withByte(at: number, value: number): Uint8Array {
    const bytes = valid.slice()
    bytes[at] = value
    return bytes
  }

  function withCount(count: number): Uint8Array {
    const bytes = valid.slice()
    new DataView(bytes.buffer).setUint32(3, count)
    return bytes
  }

  it('gives each malformed input its code', () => {
    const cases: [string, Uint8Array][] = [
      ['ROUTING_SUMMARY_TRUNCATED', new Uint8Array(0)],
      ['ROUTING_SUMMARY_TRUNCATED', valid.subarray(0, CUCKOO_HEADER_LEN - 1)],
      ['ROUTING_SUMMARY_TRUNCATED', valid.subarray(0, valid.length - 1)],
      ['ROUTING_SUMMARY_UNKNOWN_VERSION', withByte(0, 2)],
      ['ROUTING_SUMMARY_UNKNOWN_VERSION', withByte(0, 0)],
      ['ROUTING_SUMMARY_MALFORMED', withByte(1, 7)],
      ['ROUTING_SUMMARY_MALFORMED', withByte(1, 17)],
      ['ROUTING_SUMMARY_MALFORMED', withByte(2, 0)],
      ['ROUTING_SUMMARY_MALFORMED', withByte(2, 255)],
      ['ROUTING_SUMMARY_MALFORMED', withCount(101)],
      ['ROUTING_SUMMARY_MALFORMED', withCount(0xffffffff)],
      ['ROUTING_SUMMARY_MALFORMED', new Uint8Array([...valid, 0])],
      // A shape of 2^24 buckets: refused by arithmetic, never allocated.
      ['ROUTING_SUMMARY_TOO_LARGE', withByte(2, 24)],
      ['ROUTING_SUMMARY_TOO_LARGE', new Uint8Array(MAX_ENCODED_BYTES + 1)],
    ]
    for (const [code, bytes] of cases) expect(decodeOrCode(bytes), code).toBe(code)
    // A header that names a smaller table than follows: the rest is trailing bytes.
    expect(decodeOrCode(withByte(2, valid[2]! - 1))).toMatch(/^ROUTING_SUMMARY_/)
    expect(() => decodeCuckooFilter('x' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'ROUTING_INVALID_ARGUMENT' }),
    )
  })

  it('reads the largest filter it allows (1 MiB with 8-bit fingerprints)', () => {
    const filter = new CuckooFilter({ bucketCountLog2: 17, fingerprintBits: 8 })
    for (const root of rootsOf(1_000)) filter.insert(root)
    const bytes = encodeCuckooFilter(filter)
    expect(bytes.length).toBeLessThanOrEqual(MAX_ENCODED_BYTES)
    expect(encodeCuckooFilter(decodeCuckooFilter(bytes))).toEqual(bytes)
  })

  it('fuzz: arbitrary bytes give a filter or a typed error, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), (bytes) => {
        decodeOrCode(bytes)
      }),
      { numRuns: 2_000 },
    )
    // Arbitrary tables under a plausible header: any fingerprints, a count that may match.
    fc.assert(
      fc.property(
        fc.integer({ min: 8, max: 16 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ maxLength: 600 }),
        (bits, log2, count, table) => {
          const bytes = new Uint8Array(CUCKOO_HEADER_LEN + table.length)
          bytes.set([1, bits, log2])
          new DataView(bytes.buffer).setUint32(3, count)
          bytes.set(table, CUCKOO_HEADER_LEN)
          const result = decodeOrCode(bytes)
          if (typeof result !== 'string') expect(encodeCuckooFilter(result)).toEqual(bytes)
        },
      ),
      { numRuns: 2_000 },
    )
  })

  it('fuzz: mutated valid encodings give a filter or a typed error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer({ min: -8, max: 8 }),
        (edits, resize) => {
          let bytes = valid.slice()
          for (const [at, value] of edits) bytes[at % bytes.length] = value
          if (resize < 0) bytes = bytes.subarray(0, bytes.length + resize)
          if (resize > 0) bytes = new Uint8Array([...bytes, ...new Uint8Array(resize)])
          const result = decodeOrCode(bytes)
          // Whatever decodes, encodes back to the same bytes (the format has one form).
          if (typeof result !== 'string') expect(encodeCuckooFilter(result)).toEqual(bytes)
        },
      ),
      { numRuns: 2_000 },
    )
  })
})
