/**
 * Checked payload writing and reading, shared by every frame codec.
 *
 * `PayloadWriter` checks the caller's values (a bug must not put a malformed frame on the wire:
 * RangeError). `PayloadReader` reads untrusted bytes front to back: running off the end, a
 * length that is not the one required, bytes left over or invalid UTF-8 are WIRE_MALFORMED.
 * Integers are big-endian, as everywhere on Fulmen's wire.
 */
import { WireError } from './errors.ts'
import { encodeRawFrame } from './frame-splitter.ts'

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A WIRE_MALFORMED error: a payload that is not what its frame type requires. */
export function malformed(message: string): WireError {
  return new WireError('WIRE_MALFORMED', message)
}

function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${what} must be an integer in 0..${max}, got ${v}`)
  }
  return v
}

/**
 * Appends checked values. Give the exact payload length when it is known (one allocation,
 * no copy at the end); otherwise it grows.
 */
export class PayloadWriter {
  private buffer: Uint8Array
  private view: DataView
  private at = 0

  constructor(capacity = 64) {
    this.buffer = new Uint8Array(capacity)
    this.view = new DataView(this.buffer.buffer)
  }

  /** Bytes written so far. */
  get length(): number {
    return this.at
  }

  /** Reserves `n` bytes and returns where they start. It may replace buffer and view: read them after. */
  private room(n: number): number {
    const at = this.at
    if (at + n > this.buffer.length) {
      const grown = new Uint8Array(Math.max(at + n, this.buffer.length * 2))
      grown.set(this.buffer.subarray(0, at))
      this.buffer = grown
      this.view = new DataView(grown.buffer)
    }
    this.at = at + n
    return at
  }

  u8(v: number, what = 'u8'): this {
    const value = uint(v, 0xff, what)
    const at = this.room(1)
    this.view.setUint8(at, value)
    return this
  }

  u16(v: number, what = 'u16'): this {
    const value = uint(v, 0xffff, what)
    const at = this.room(2)
    this.view.setUint16(at, value)
    return this
  }

  u32(v: number, what = 'u32'): this {
    const value = uint(v, 0xffffffff, what)
    const at = this.room(4)
    this.view.setUint32(at, value)
    return this
  }

  u64(v: bigint | number, what = 'u64'): this {
    const n = typeof v === 'number' ? BigInt(uint(v, Number.MAX_SAFE_INTEGER, what)) : v
    if (typeof n !== 'bigint' || n < 0n || n > 0xffffffffffffffffn) {
      throw new RangeError(`${what} must be a u64, got ${String(v)}`)
    }
    const at = this.room(8)
    this.view.setBigUint64(at, n)
    return this
  }

  /** Appends `b`; with `length`, first checks that `b` is exactly that long. */
  raw(b: Uint8Array, length?: number, what = 'bytes'): this {
    if (!(b instanceof Uint8Array) || (length !== undefined && b.length !== length)) {
      throw new RangeError(`${what} must be ${length} bytes`)
    }
    const at = this.room(b.length) // before reading this.buffer: room() may replace it
    this.buffer.set(b, at)
    return this
  }

  /** The payload written. */
  bytes(): Uint8Array {
    return this.at === this.buffer.length ? this.buffer : this.buffer.slice(0, this.at)
  }

  /** The whole frame: prefix of `kind` and the payload written. */
  frame(kind: number): Uint8Array {
    return encodeRawFrame(kind, this.buffer.subarray(0, this.at))
  }
}

/** UTF-8 of `text`, cut to at most `maxBytes` bytes without splitting a character. */
export function utf8Prefix(text: string, maxBytes: number): Uint8Array {
  const bytes = utf8.encode(text)
  if (bytes.length <= maxBytes) return bytes
  let end = maxBytes
  // Back off continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end)
}

/** Reads a payload front to back; every failure is WIRE_MALFORMED naming the frame. */
export class PayloadReader {
  private readonly payload: Uint8Array
  private readonly view: DataView
  /** The frame's name in error messages. */
  readonly name: string
  private at = 0

  constructor(payload: Uint8Array, name: string) {
    this.payload = payload
    this.view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
    this.name = name
  }

  /** A reader of a payload that must be exactly `length` bytes. */
  static exact(payload: Uint8Array, length: number, name: string): PayloadReader {
    if (payload.length !== length) {
      throw malformed(`${name} of ${payload.length} bytes, ${length} expected`)
    }
    return new PayloadReader(payload, name)
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.payload.length - this.at
  }

  private advance(n: number, what: string): number {
    const at = this.at
    if (at + n > this.payload.length) throw malformed(`${this.name} ends inside its ${what}`)
    this.at = at + n
    return at
  }

  /** The next `n` bytes, copied (the frame's buffer may be reused). */
  bytes(n: number, what: string): Uint8Array {
    const at = this.advance(n, what)
    return this.payload.slice(at, at + n)
  }

  /** Everything not read yet, as a view of the payload. */
  rest(): Uint8Array {
    const at = this.at
    this.at = this.payload.length
    return this.payload.subarray(at)
  }

  u8(what: string): number {
    return this.view.getUint8(this.advance(1, what))
  }

  u16(what: string): number {
    return this.view.getUint16(this.advance(2, what))
  }

  u32(what: string): number {
    return this.view.getUint32(this.advance(4, what))
  }

  u64(what: string): bigint {
    return this.view.getBigUint64(this.advance(8, what))
  }

  /** A u64 that must fit a JavaScript number exactly. */
  safeU64(what: string): number {
    const v = this.u64(what)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} too large`)
    return Number(v)
  }

  /** `n` bytes of strict UTF-8 (no replacement characters, no BOM stripping). */
  utf8(n: number, what: string): string {
    const bytes = this.payload.subarray(this.advance(n, what), this.at)
    try {
      return strictUtf8.decode(bytes)
    } catch {
      throw malformed(`${this.name} ${what} is not valid UTF-8`)
    }
  }

  /** Checks that the whole payload was read. */
  end(): void {
    if (this.at !== this.payload.length) {
      throw malformed(`${this.payload.length - this.at} bytes after the end of ${this.name}`)
    }
  }
}
