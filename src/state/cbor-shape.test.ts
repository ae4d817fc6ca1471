/**
 * The canonical encoder and the canonical-form check, in Node and Chromium: `encodeCanonical`
 * writes what `@ipld/dag-cbor` writes (and throws where it throws) for random values; `provablyCanonical` vouches only for bytes
 * that re-encode to themselves, so `decodeRecord` (which trusts it and re-encodes only when it
 * is not sure) takes exactly what the re-encoding alone took. Checked on canonical encodings of
 * random DAG-CBOR values, on random mutations of them and on hand-made non-canonical forms.
 */
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { equalBytes } from '../core/bytes.ts'
import { decodeCanonical, decodeRecord, encodeCanonical, provablyCanonical } from './cbor-shape.ts'

const fail = (message: string) => new Error(message)

/** What decodeRecord took before the walk: the bytes decode to a map that re-encodes to them. */
function takenByReencoding(bytes: Uint8Array): boolean {
  try {
    const value = dagCbor.decode(bytes)
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
    if (value instanceof Uint8Array) return false
    return equalBytes(dagCbor.encode(value), bytes)
  } catch {
    return false
  }
}

function takenNow(bytes: Uint8Array): boolean {
  try {
    decodeRecord(bytes, 'a record', fail)
    return true
  } catch {
    return false
  }
}

/** A decoded walk's verdict is only trusted after the decoder took the bytes. */
function decodes(bytes: Uint8Array): boolean {
  try {
    dagCbor.decode(bytes)
    return true
  } catch {
    return false
  }
}

const key = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('a', 'b', 'ab', 'ba', 'aa', 'type', 'amount', '10', '9', 'é', '__proto__'),
)
const leaf = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.uint8Array({ maxLength: 40 }),
)
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
}))
const record = fc.dictionary(key, value, { maxKeys: 6 })

/** Every string (keys and values) in a value. */
function textOf(v: unknown): string[] {
  if (typeof v === 'string') return [v]
  if (Array.isArray(v)) return v.flatMap(textOf)
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.entries(v).flatMap(([k, x]) => [k, ...textOf(x)])
  }
  return []
}

/** Every leaf (not array or map) in a value. */
function leavesOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v.flatMap(leavesOf)
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.values(v).flatMap(leavesOf)
  }
  return [v]
}

/** A value DAG-CBOR can encode (fast-check may make -0 or an unsafe integral double). */
function encodable(v: unknown): Uint8Array | undefined {
  try {
    return dagCbor.encode(v)
  } catch {
    return undefined
  }
}

describe('provablyCanonical', () => {
  test('vouches for canonical encodings of ASCII-keyed records, and decodeRecord takes them all', () => {
    fc.assert(
      fc.property(record, (r) => {
        const bytes = encodable(r)
        if (bytes === undefined) return
        expect(takenNow(bytes)).toBe(true)
        const ascii = textOf(r).every((t) => [...t].every((c) => c.charCodeAt(0) < 0x80))
        // The walk is unsure of non-ASCII text, "__proto__" keys and integral floats (the
        // encoder writes an integer beyond 2^53 as one): all else it vouches for.
        const bigFloat = leavesOf(r).some((x) => Number.isInteger(x) && !Number.isSafeInteger(x))
        if (ascii && !textOf(r).includes('__proto__') && !bigFloat) {
          expect(provablyCanonical(bytes)).toBe(true)
        }
      }),
      { numRuns: 1000 },
    )
  })

  test('never vouches for bytes that do not re-encode to themselves (mutations of valid ones)', () => {
    const mutation = fc.record({
      kind: fc.constantFrom('set', 'insert', 'delete', 'swap'),
      at: fc.nat(),
      to: fc.nat(),
      value: fc.nat(255),
    })
    fc.assert(
      fc.property(record, fc.array(mutation, { minLength: 1, maxLength: 3 }), (r, ms) => {
        const clean = encodable(r)
        if (clean === undefined) return
        const out = Array.from(clean)
        for (const m of ms) {
          const at = m.at % Math.max(out.length, 1)
          if (m.kind === 'set') out[at] = m.value
          else if (m.kind === 'insert') out.splice(at, 0, m.value)
          else if (m.kind === 'delete') out.splice(at, 1)
          else {
            const to = m.to % Math.max(out.length, 1)
            ;[out[at], out[to]] = [out[to] as number, out[at] as number]
          }
        }
        const bytes = Uint8Array.from(out)
        if (decodes(bytes) && provablyCanonical(bytes)) {
          expect(equalBytes(dagCbor.encode(dagCbor.decode(bytes)), bytes)).toBe(true)
        }
        expect(takenNow(bytes)).toBe(takenByReencoding(bytes))
      }),
      { numRuns: 5000 },
    )
  })

  test('random bytes: decodeRecord takes what the re-encoding took', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(takenNow(bytes)).toBe(takenByReencoding(bytes))
      }),
      { numRuns: 5000 },
    )
  })

  test('is not sure of (and decodeRecord refuses) the non-canonical forms the decoder takes', () => {
    const hex = (h: string) => Uint8Array.from(h.match(/../g) ?? [], (b) => Number.parseInt(b, 16))
    const cases = {
      // {"b": 1, "a": 2}: keys out of order.
      'keys out of order': hex('a2616201616102'),
      // {"aa": 1, "b": 2}: the longer key first.
      'a longer key first': hex('a262616101616202'),
      // {"a": 1.0} as float64, {"a": 1.5} as float16 and as float32.
      'an integral float64': hex('a16161fb3ff0000000000000'),
      'a float16': hex('a16161f93e00'),
      'a float32': hex('a16161fa3fc00000'),
      // {"a": undefined}: decodes to null, re-encodes as f6.
      undefined: hex('a16161f7'),
    }
    for (const [what, bytes] of Object.entries(cases)) {
      expect(decodes(bytes), what).toBe(true)
      expect(provablyCanonical(bytes), what).toBe(false)
      expect(takenNow(bytes), what).toBe(false)
    }
    // {"a": 1.5} as float64 is canonical, and so is a non-ASCII key (the walk is unsure of it).
    expect(provablyCanonical(hex('a16161fb3ff8000000000000'))).toBe(true)
    expect(takenNow(hex('a16161fb3ff8000000000000'))).toBe(true)
    const accented = dagCbor.encode({ é: 1 })
    expect(provablyCanonical(accented)).toBe(false)
    expect(takenNow(accented)).toBe(true)
  })
})

describe('encodeCanonical', () => {
  /** The encoding, or the error's absence of one: both encoders must agree on either. */
  const outcome = (f: () => Uint8Array): string => {
    try {
      return Array.from(f(), (b) => b.toString(16).padStart(2, '0')).join('')
    } catch {
      return 'throws'
    }
  }

  test('writes the bytes @ipld/dag-cbor writes, as a plain Uint8Array', () => {
    const odd = fc.oneof(
      fc.constant(undefined),
      fc.constant(Number.NaN),
      fc.constant(-0),
      fc.constant(new Map([['a', 1]])),
      fc.constant(Object.create(null)),
      fc.constant(new Uint16Array(2)),
      fc.constant(2 ** 53),
      fc.constant(-(2 ** 53) + 1),
      fc.constant(2 ** 32),
      fc.constant(0xffffffff),
    )
    const { any } = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        odd,
        fc.array(tie('any'), { maxLength: 5 }),
        fc.dictionary(key, tie('any'), { maxKeys: 5 }),
      ),
    }))
    fc.assert(
      fc.property(any, (v) => {
        expect(outcome(() => encodeCanonical(v))).toBe(outcome(() => dagCbor.encode(v)))
      }),
      { numRuns: 3000 },
    )
    const bytes = encodeCanonical({ b: 1, a: [new Uint8Array(3), 'x', null, true] })
    expect(bytes.constructor).toBe(Uint8Array)
    expect(bytes.byteOffset).toBe(0)
    expect(bytes.buffer.byteLength).toBe(bytes.length)
  })

  test('grows its buffer for large values and starts clean on the next one', () => {
    const big = { items: Array.from({ length: 2000 }, (_, i) => new Uint8Array(64).fill(i)) }
    expect(encodeCanonical(big)).toEqual(new Uint8Array(dagCbor.encode(big)))
    expect(encodeCanonical({ a: 1 })).toEqual(new Uint8Array(dagCbor.encode({ a: 1 })))
  })
})

describe('decodeCanonical', () => {
  /** Where it answers, it answers what @ipld/dag-cbor decodes, for bytes that are canonical. */
  const agrees = (bytes: Uint8Array) => {
    const fast = decodeCanonical(bytes)
    if (typeof fast === 'symbol') return false
    expect(fast).toEqual(dagCbor.decode(bytes))
    expect(equalBytes(dagCbor.encode(dagCbor.decode(bytes)), bytes)).toBe(true)
    return true
  }

  test('decodes canonical encodings as @ipld/dag-cbor does (plain bytes, no Buffers)', () => {
    let answered = 0
    fc.assert(
      fc.property(record, (r) => {
        const bytes = encodable(r)
        if (bytes !== undefined && agrees(bytes)) answered++
      }),
      { numRuns: 1000 },
    )
    // Most random records are within what it vouches for (ASCII, no 8-byte integers).
    expect(answered).toBeGreaterThan(100)
    const decoded = decodeCanonical(encodeCanonical({ b: new Uint8Array([1, 2]) })) as {
      b: Uint8Array
    }
    expect(decoded.b.constructor).toBe(Uint8Array)
  })

  test('answers only for canonical bytes (mutations and random bytes)', () => {
    const mutation = fc.record({ at: fc.nat(), value: fc.nat(255) })
    fc.assert(
      fc.property(record, fc.array(mutation, { minLength: 1, maxLength: 3 }), (r, ms) => {
        const clean = encodable(r)
        if (clean === undefined) return
        const bytes = clean.slice()
        for (const m of ms) bytes[m.at % bytes.length] = m.value
        agrees(bytes)
      }),
      { numRuns: 5000 },
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        agrees(bytes)
      }),
      { numRuns: 5000 },
    )
  })
})
