/**
 * Deterministic DAG-CBOR for the chain state (DESIGN.md "Encoding and hashing"): every
 * transaction, table entry, block and receipt is a CBOR map encoded as `@ipld/dag-cbor` encodes
 * it, canonically (sorted map keys, shortest integers); the shapes the state uses are written
 * and read here directly, the rest by `@ipld/dag-cbor`. Decoding is strict: bytes that decode
 * but do not re-encode to themselves are refused, so one value has exactly one encoding and one
 * hash.
 *
 * Amounts (`bigint`, 18 decimals) exceed CBOR's 64-bit integers, so they are byte strings: the
 * minimal big-endian magnitude (zero is empty; no leading zero byte).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { equalBytes } from '../core/bytes.ts'

/** What a decoder throws: the caller's own typed error. */
export type FailWith = (message: string) => Error

export type CborRecord = Readonly<Record<string, unknown>>

/** The largest amount a state entry holds: 2^256 − 1 wei, far above any supply. */
export const MAX_AMOUNT = (1n << 256n) - 1n

/**
 * `value`'s canonical DAG-CBOR bytes (a plain Uint8Array of its own). The shapes the state writes (maps
 * with ASCII keys, safe integers, ASCII text, bytes, arrays, booleans, null) are written here
 * directly: `@ipld/dag-cbor` builds and sorts token lists per map, several times the cost and
 * most of a block's garbage. Anything else (floats, bigints, non-ASCII text, other objects,
 * undefined) goes to `@ipld/dag-cbor`, which also throws what it throws.
 */
export function encodeCanonical(value: unknown): Uint8Array {
  writer.at = 0
  if (writeValue(value, 0)) return writer.bytes.slice(0, writer.at)
  // A copy: in Node the encoder hands back a Buffer (maybe a view of a shared pool), and
  // callers compare and keep plain Uint8Arrays whichever path wrote them.
  return new Uint8Array(dagCbor.encode(value))
}

// --- the encoder's fast path ------------------------------------------------------------------

/** The output buffer, reused (encoding is synchronous), grown by doubling. */
const writer = { bytes: new Uint8Array(4096), at: 0 }

/** Nesting past this goes to @ipld/dag-cbor (whose limits and errors then apply). */
const MAX_FAST_DEPTH = 64

function reserve(n: number): void {
  if (writer.at + n <= writer.bytes.length) return
  let size = writer.bytes.length * 2
  while (size < writer.at + n) size *= 2
  const grown = new Uint8Array(size)
  grown.set(writer.bytes.subarray(0, writer.at))
  writer.bytes = grown
}

/** A head: `major` and the shortest form of `n` (a safe non-negative integer). */
function writeHead(major: number, n: number): void {
  reserve(9)
  const out = writer.bytes
  let at = writer.at
  const m = major << 5
  if (n < 24) {
    out[at++] = m | n
  } else if (n < 0x100) {
    out[at++] = m | 24
    out[at++] = n
  } else if (n < 0x10000) {
    out[at++] = m | 25
    out[at++] = n >> 8
    out[at++] = n & 0xff
  } else if (n < 0x100000000) {
    out[at++] = m | 26
    out[at++] = n >>> 24
    out[at++] = (n >> 16) & 0xff
    out[at++] = (n >> 8) & 0xff
    out[at++] = n & 0xff
  } else {
    out[at++] = m | 27
    const high = Math.floor(n / 0x100000000)
    const low = n >>> 0
    for (let shift = 24; shift >= 0; shift -= 8) out[at++] = (high >>> shift) & 0xff
    for (let shift = 24; shift >= 0; shift -= 8) out[at++] = (low >>> shift) & 0xff
  }
  writer.at = at
}

function isAsciiText(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false
  return true
}

function writeAscii(text: string): void {
  writeHead(3, text.length)
  reserve(text.length)
  for (let i = 0; i < text.length; i++) writer.bytes[writer.at++] = text.charCodeAt(i)
}

/** DAG-CBOR's key order for ASCII keys (one byte per character): shorter first, then bytewise. */
function compareAsciiKeys(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** In place, by insertion: a record has a handful of keys, and Array#sort allocated a work
 * array per call (a third of the encoder's garbage). */
function sortKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string
    let j = i - 1
    while (j >= 0 && compareAsciiKeys(keys[j] as string, k) > 0) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = k
  }
}

/** Writes `value`; false (with the output to be dropped) when it is not a fast-path shape. */
function writeValue(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) return false
      if (value >= 0) writeHead(0, value)
      else writeHead(1, -1 - value)
      return true
    case 'string':
      if (!isAsciiText(value)) return false
      writeAscii(value)
      return true
    case 'boolean':
      reserve(1)
      writer.bytes[writer.at++] = value ? 0xf5 : 0xf4
      return true
    case 'object':
      break
    default:
      return false
  }
  if (value === null) {
    reserve(1)
    writer.bytes[writer.at++] = 0xf6
    return true
  }
  if (depth >= MAX_FAST_DEPTH) return false
  if (value instanceof Uint8Array) {
    writeHead(2, value.length)
    reserve(value.length)
    writer.bytes.set(value, writer.at)
    writer.at += value.length
    return true
  }
  if (Array.isArray(value)) {
    writeHead(4, value.length)
    for (const item of value) if (!writeValue(item, depth + 1)) return false
    return true
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  for (const k of keys) if (!isAsciiText(k)) return false
  sortKeys(keys)
  writeHead(5, keys.length)
  for (const k of keys) {
    writeAscii(k)
    if (!writeValue(record[k], depth + 1)) return false
  }
  return true
}

/** Decodes `bytes` as one canonical DAG-CBOR map. */
export function decodeRecord(bytes: Uint8Array, what: string, fail: FailWith): CborRecord {
  if (!(bytes instanceof Uint8Array)) throw fail(`${what} is not bytes`)
  const fast = decodeCanonical(bytes)
  if (fast !== NOT_SURE && isPlainRecord(fast)) return fast
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (e) {
    throw fail(`${what} is not DAG-CBOR: ${(e as Error).message}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw fail(`${what} is not a CBOR map`)
  }
  if (value instanceof Uint8Array) throw fail(`${what} is not a CBOR map`)
  if (provablyCanonical(bytes)) return value as CborRecord
  let again: Uint8Array
  try {
    again = dagCbor.encode(value)
  } catch (e) {
    throw fail(`${what} does not re-encode: ${(e as Error).message}`)
  }
  if (!equalBytes(again, bytes)) throw fail(`${what} is not in canonical DAG-CBOR form`)
  return value as CborRecord
}

// --- the canonical form, checked on the bytes ------------------------------------------------
// Re-encoding a decoded value to compare it with its bytes cost two thirds of a transaction's
// decoding (and most of its garbage). A walk of the bytes decides the common case: it says yes
// only when re-encoding would give the same bytes; anything it is not sure of (tags, non-ASCII
// text, simple values but false, true and null, floats but a non-integral float64) says no, and
// the caller re-encodes to decide as before.

/** A float64's 8 bytes, read big-endian without allocating. */
const floatBytes = new Uint8Array(8)
const floatView = new DataView(floatBytes.buffer)

/** Item `bytes[at..]`'s major type, argument (a length, a count or an integer's magnitude) and
 * where its content starts; `next` < 0 when the argument is not minimal or runs past the end.
 * One object, reused: the walk reads each head before it looks at the next. */
interface Head {
  major: number
  argument: number
  next: number
}
const head: Head = { major: 0, argument: 0, next: 0 }

function readHead(bytes: Uint8Array, at: number): Head {
  head.next = -1
  if (at >= bytes.length) return head
  const first = bytes[at] as number
  const info = first & 31
  head.major = first >> 5
  if (info < 24) {
    head.argument = info
    head.next = at + 1
  } else if (info === 24 && at + 2 <= bytes.length) {
    head.argument = bytes[at + 1] as number
    if (head.argument >= 24) head.next = at + 2
  } else if (info === 25 && at + 3 <= bytes.length) {
    head.argument = ((bytes[at + 1] as number) << 8) | (bytes[at + 2] as number)
    if (head.argument >= 0x100) head.next = at + 3
  } else if (info === 26 && at + 5 <= bytes.length) {
    head.argument =
      (bytes[at + 1] as number) * 0x1000000 +
      (((bytes[at + 2] as number) << 16) |
        ((bytes[at + 3] as number) << 8) |
        (bytes[at + 4] as number))
    if (head.argument >= 0x10000) head.next = at + 5
  } else if (info === 27 && at + 9 <= bytes.length) {
    // Only an integer's magnitude can be this large (a length would run past 128 KiB).
    const high =
      (bytes[at + 1] as number) |
      (bytes[at + 2] as number) |
      (bytes[at + 3] as number) |
      (bytes[at + 4] as number)
    head.argument = Number.POSITIVE_INFINITY
    if (high !== 0) head.next = at + 9
  }
  return head
}

/** Where the canonical item at `at` ends, or -1 when the walk cannot vouch for it. */
function canonicalItem(bytes: Uint8Array, at: number): number {
  if (at >= bytes.length) return -1
  if (bytes[at] === 0xf4 || bytes[at] === 0xf5 || bytes[at] === 0xf6) return at + 1
  if (bytes[at] === 0xfb) return canonicalFloat(bytes, at)
  const { major, argument, next } = readHead(bytes, at)
  if (next < 0) return -1
  switch (major) {
    case 0:
    case 1:
      return next
    case 2:
      return next + argument <= bytes.length ? next + argument : -1
    case 3:
      return next + argument <= bytes.length && isAscii(bytes, next, next + argument)
        ? next + argument
        : -1
    case 4: {
      let end = next
      for (let i = 0; i < argument && end >= 0; i++) end = canonicalItem(bytes, end)
      return end
    }
    case 5:
      return canonicalMap(bytes, next, argument)
    default:
      return -1 // tags, and major 7 beyond the cases above
  }
}

/** A map's `count` entries from `at`: text keys in DAG-CBOR order (shorter first, then bytewise). */
function canonicalMap(bytes: Uint8Array, at: number, count: number): number {
  let end = at
  let previousStart = -1
  let previousLength = 0
  for (let i = 0; i < count; i++) {
    if (end >= bytes.length || (bytes[end] as number) >> 5 !== 3) return -1
    const keyEnd = canonicalItem(bytes, end)
    if (keyEnd < 0) return -1
    const keyStart = readHead(bytes, end).next
    const keyLength = keyEnd - keyStart
    if (previousStart >= 0) {
      const order = compareKeys(bytes, previousStart, previousLength, keyStart, keyLength)
      if (order >= 0) return -1
    }
    // A "__proto__" key decodes to an own property by cborg's care, not JavaScript's: leave it
    // to the re-encoding.
    if (keyLength === 9 && isProtoKey(bytes, keyStart)) return -1
    previousStart = keyStart
    previousLength = keyLength
    end = canonicalItem(bytes, keyEnd)
    if (end < 0) return -1
  }
  return end
}

function compareKeys(bytes: Uint8Array, a: number, aLength: number, b: number, bLength: number) {
  if (aLength !== bLength) return aLength - bLength
  for (let i = 0; i < aLength; i++) {
    const d = (bytes[a + i] as number) - (bytes[b + i] as number)
    if (d !== 0) return d
  }
  return 0
}

const PROTO = '__proto__'
function isProtoKey(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < PROTO.length; i++) if (bytes[at + i] !== PROTO.charCodeAt(i)) return false
  return true
}

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((bytes[i] as number) >= 0x80) return false
  return true
}

/** DAG-CBOR writes every non-integral finite number as a float64 and every integral one as an
 * integer: a float64 holding an integer, an infinity or a NaN is not canonical. */
function canonicalFloat(bytes: Uint8Array, at: number): number {
  if (at + 9 > bytes.length) return -1
  for (let i = 0; i < 8; i++) floatBytes[i] = bytes[at + 1 + i] as number
  const x = floatView.getFloat64(0)
  return Number.isFinite(x) && !Number.isInteger(x) ? at + 9 : -1
}

// --- the decoder's fast path ------------------------------------------------------------------
// The same walk, building the value as it goes: what `@ipld/dag-cbor` decodes those bytes to
// (plain objects, arrays, numbers, ASCII strings, copied bytes, booleans, null), where the walk
// can vouch that the bytes are canonical. cborg's decoding made a token object per item and a
// string per map key; anything the walk is not sure of goes to it as before.

const NOT_SURE = Symbol('not sure')
type Decoded = unknown | typeof NOT_SURE

function isPlainRecord(v: unknown): v is CborRecord {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** `bytes` decoded, or NOT_SURE. */
export function decodeCanonical(bytes: Uint8Array): Decoded {
  try {
    const end = { at: 0 }
    const value = decodeItem(bytes, end)
    return value !== NOT_SURE && end.at === bytes.length ? value : NOT_SURE
  } catch {
    return NOT_SURE // a nesting deeper than the stack: cborg decides
  }
}

/** A plain Uint8Array copy of `bytes[start..end)` (as cborg gives, and not a view of a Buffer
 * when `bytes` is one): a loop for the short ones, cheaper than a subarray and a copy of it. */
function copyRange(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start)
  if (end - start > 64) out.set(bytes.subarray(start, end))
  else for (let i = start; i < end; i++) out[i - start] = bytes[i] as number
  return out
}

function asciiText(bytes: Uint8Array, start: number, end: number): string {
  let text = ''
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i] as number)
  return text
}

/** The item at `cursor.at`, which moves past it; NOT_SURE as `canonicalItem` answers -1 (and
 * for integers of 8 bytes, which cborg may hand back as bigints). */
function decodeItem(bytes: Uint8Array, cursor: { at: number }): Decoded {
  const at = cursor.at
  if (at >= bytes.length) return NOT_SURE
  const first = bytes[at] as number
  if (first === 0xf4 || first === 0xf5 || first === 0xf6) {
    cursor.at = at + 1
    return first === 0xf6 ? null : first === 0xf5
  }
  if (first === 0xfb) {
    cursor.at = canonicalFloat(bytes, at)
    return cursor.at < 0 ? NOT_SURE : floatView.getFloat64(0)
  }
  const { major, argument, next } = readHead(bytes, at)
  if (next < 0 || argument > 0xffffffff) return NOT_SURE
  switch (major) {
    case 0:
      cursor.at = next
      return argument
    case 1:
      cursor.at = next
      return -1 - argument
    case 2:
      if (next + argument > bytes.length) return NOT_SURE
      cursor.at = next + argument
      return copyRange(bytes, next, next + argument)
    case 3:
      if (next + argument > bytes.length || !isAscii(bytes, next, next + argument)) return NOT_SURE
      cursor.at = next + argument
      return asciiText(bytes, next, next + argument)
    case 4: {
      const items: unknown[] = []
      cursor.at = next
      for (let i = 0; i < argument; i++) {
        const item = decodeItem(bytes, cursor)
        if (item === NOT_SURE) return NOT_SURE
        items.push(item)
      }
      return items
    }
    case 5:
      cursor.at = next
      return decodeMap(bytes, cursor, argument)
    default:
      return NOT_SURE
  }
}

function decodeMap(bytes: Uint8Array, cursor: { at: number }, count: number): Decoded {
  const record: Record<string, unknown> = {}
  let previousStart = -1
  let previousLength = 0
  for (let i = 0; i < count; i++) {
    const at = cursor.at
    if (at >= bytes.length || (bytes[at] as number) >> 5 !== 3) return NOT_SURE
    const { argument: keyLength, next: keyStart } = readHead(bytes, at)
    const keyEnd = keyStart + keyLength
    if (keyStart < 0 || keyEnd > bytes.length || !isAscii(bytes, keyStart, keyEnd)) return NOT_SURE
    const key = keyText(bytes, keyStart, keyEnd)
    cursor.at = keyEnd
    if (
      previousStart >= 0 &&
      compareKeys(bytes, previousStart, previousLength, keyStart, keyLength) >= 0
    ) {
      return NOT_SURE
    }
    if (key === PROTO) return NOT_SURE
    previousStart = keyStart
    previousLength = keyLength
    const value = decodeItem(bytes, cursor)
    if (value === NOT_SURE) return NOT_SURE
    record[key] = value
  }
  return record
}

/** Map keys decoded before, by a hash of their bytes: records repeat a handful of names, so
 * most keys decode to a string made already. Bounded (cleared when full): it only saves work. */
const keyTexts = new Map<number, string>()
const MAX_KEY_TEXTS = 4096

function keyText(bytes: Uint8Array, start: number, end: number): string {
  let h = end - start
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + (bytes[i] as number)) | 0
  const known = keyTexts.get(h)
  if (known !== undefined && sameText(known, bytes, start, end)) return known
  const text = asciiText(bytes, start, end)
  if (keyTexts.size >= MAX_KEY_TEXTS) keyTexts.clear()
  keyTexts.set(h, text)
  return text
}

function sameText(text: string, bytes: Uint8Array, start: number, end: number): boolean {
  if (text.length !== end - start) return false
  for (let i = start; i < end; i++) if (text.charCodeAt(i - start) !== bytes[i]) return false
  return true
}

/**
 * Is `bytes`, which the DAG-CBOR decoder took, for sure the canonical encoding of what it
 * decoded to (so re-encoding would give `bytes` back)? False means "not sure", not "no".
 */
export function provablyCanonical(bytes: Uint8Array): boolean {
  try {
    return canonicalItem(bytes, 0) === bytes.length
  } catch {
    return false // a nesting deeper than the stack: let the re-encoding decide
  }
}

export function encodeAmount(amount: bigint): Uint8Array {
  if (typeof amount !== 'bigint' || amount < 0n || amount > MAX_AMOUNT) {
    throw new RangeError(`an amount is a bigint in [0, 2^256), got ${String(amount)}`)
  }
  if (amount === 0n) return new Uint8Array(0)
  // Six bytes at a time as a Number (48 bits, exact), least significant first.
  const chunks: number[] = []
  for (let rest = amount; rest > 0n; rest >>= 48n) chunks.push(Number(rest & 0xffff_ffff_ffffn))
  let top = chunks[chunks.length - 1] as number
  let topBytes = 0
  for (; top > 0; top = Math.floor(top / 256)) topBytes++
  const out = new Uint8Array(topBytes + 6 * (chunks.length - 1))
  let at = out.length
  for (const chunk of chunks) {
    let c = chunk
    for (let i = 0; i < 6 && at > 0; i++, c = Math.floor(c / 256)) out[--at] = c % 256
  }
  return out
}

export function decodeAmount(bytes: Uint8Array, what: string, fail: FailWith): bigint {
  if (!(bytes instanceof Uint8Array)) throw fail(`${what} is not an amount (bytes)`)
  if (bytes.length > 32) throw fail(`${what} is over 32 bytes`)
  if (bytes.length > 0 && bytes[0] === 0) throw fail(`${what} has a leading zero byte`)
  // Six bytes at a time as a Number (48 bits, exact): a BigInt shift and or per six bytes, not
  // per byte.
  let i = bytes.length % 6
  let chunk = 0
  for (let j = 0; j < i; j++) chunk = chunk * 256 + (bytes[j] as number)
  let value = BigInt(chunk)
  for (; i < bytes.length; i += 6) {
    chunk = 0
    for (let j = i; j < i + 6; j++) chunk = chunk * 256 + (bytes[j] as number)
    value = (value << 48n) | BigInt(chunk)
  }
  return value
}

/**
 * Typed reads of one decoded map: each names the field in its error, and `done()` refuses
 * fields nobody read (an unknown field would otherwise ride along unhashed by meaning).
 */
export class RecordReader {
  readonly #record: CborRecord
  readonly #what: string
  readonly #fail: FailWith
  readonly #read = new Set<string>()

  constructor(record: CborRecord, what: string, fail: FailWith) {
    // Nested values come straight from decoded bytes: check they are maps before reading.
    if (
      record === null ||
      typeof record !== 'object' ||
      Array.isArray(record) ||
      record instanceof Uint8Array
    ) {
      throw fail(`${what} is not a CBOR map`)
    }
    this.#record = record
    this.#what = what
    this.#fail = fail
  }

  static decode(bytes: Uint8Array, what: string, fail: FailWith): RecordReader {
    return new RecordReader(decodeRecord(bytes, what, fail), what, fail)
  }

  has(field: string): boolean {
    return Object.hasOwn(this.#record, field)
  }

  #get(field: string): unknown {
    this.#read.add(field)
    if (!Object.hasOwn(this.#record, field)) throw this.fail(`has no ${field}`)
    return this.#record[field]
  }

  fail(message: string): Error {
    return this.#fail(`${this.#what} ${message}`)
  }

  bytes(field: string, length?: number): Uint8Array {
    const v = this.#get(field)
    if (!(v instanceof Uint8Array)) throw this.fail(`${field} is not bytes`)
    if (length !== undefined && v.length !== length) {
      throw this.fail(`${field} is ${v.length} bytes, not ${length}`)
    }
    return v
  }

  optionalBytes(field: string, length?: number): Uint8Array | undefined {
    return this.has(field) ? this.bytes(field, length) : undefined
  }

  /** A safe non-negative integer. */
  uint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.#get(field)
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      throw this.fail(`${field} is not an integer in [0, ${max}]`)
    }
    return v
  }

  int(field: string): number {
    const v = this.#get(field)
    if (typeof v !== 'number' || !Number.isSafeInteger(v))
      throw this.fail(`${field} is not an integer`)
    return v
  }

  amount(field: string): bigint {
    return decodeAmount(this.bytes(field), `${this.#what} ${field}`, this.#fail)
  }

  string(field: string, maxLength = 1024): string {
    const v = this.#get(field)
    if (typeof v !== 'string' || v.length > maxLength) {
      throw this.fail(`${field} is not a string of at most ${maxLength} characters`)
    }
    return v
  }

  boolean(field: string): boolean {
    const v = this.#get(field)
    if (typeof v !== 'boolean') throw this.fail(`${field} is not a boolean`)
    return v
  }

  /** An array, each element read by `item` (which throws through `fail`). */
  array<T>(field: string, maxLength: number, item: (value: unknown, index: number) => T): T[] {
    const v = this.#get(field)
    if (!Array.isArray(v)) throw this.fail(`${field} is not an array`)
    if (v.length > maxLength) throw this.fail(`${field} holds over ${maxLength} items`)
    return v.map(item)
  }

  /** A nested map, read with its own reader. */
  record(field: string): RecordReader {
    const v = this.#get(field)
    if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
      throw this.fail(`${field} is not a map`)
    }
    return new RecordReader(v as CborRecord, `${this.#what} ${field}`, this.#fail)
  }

  /** Refuses fields that were never read. */
  done(): void {
    for (const k of Object.keys(this.#record)) {
      if (!this.#read.has(k)) throw this.fail(`has an unknown field ${JSON.stringify(k)}`)
    }
  }
}
