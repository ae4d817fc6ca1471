/**
 * Deterministic DAG-CBOR for the chain state (DESIGN.md "Encoding and hashing"): every
 * transaction, table entry, block and receipt is a CBOR map encoded by `@ipld/dag-cbor`, whose
 * encoder is canonical (sorted map keys, shortest integers). Decoding is strict: bytes that
 * decode but do not re-encode to themselves are refused, so one value has exactly one encoding
 * and one hash.
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

export function encodeCanonical(value: unknown): Uint8Array {
  return dagCbor.encode(value)
}

/** Decodes `bytes` as one canonical DAG-CBOR map. */
export function decodeRecord(bytes: Uint8Array, what: string, fail: FailWith): CborRecord {
  if (!(bytes instanceof Uint8Array)) throw fail(`${what} is not bytes`)
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
  let again: Uint8Array
  try {
    again = dagCbor.encode(value)
  } catch (e) {
    throw fail(`${what} does not re-encode: ${(e as Error).message}`)
  }
  if (!equalBytes(again, bytes)) throw fail(`${what} is not in canonical DAG-CBOR form`)
  return value as CborRecord
}

export function encodeAmount(amount: bigint): Uint8Array {
  if (typeof amount !== 'bigint' || amount < 0n || amount > MAX_AMOUNT) {
    throw new RangeError(`an amount is a bigint in [0, 2^256), got ${String(amount)}`)
  }
  if (amount === 0n) return new Uint8Array(0)
  let hex = amount.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function decodeAmount(bytes: Uint8Array, what: string, fail: FailWith): bigint {
  if (!(bytes instanceof Uint8Array)) throw fail(`${what} is not an amount (bytes)`)
  if (bytes.length > 32) throw fail(`${what} is over 32 bytes`)
  if (bytes.length > 0 && bytes[0] === 0) throw fail(`${what} has a leading zero byte`)
  let value = 0n
  for (const b of bytes) value = (value << 8n) | BigInt(b)
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
