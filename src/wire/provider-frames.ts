/**
 * Frames of a discovery stream (`/fulmen/providers/1.0.0`, docs/protocol.md "Discovery"): tabs
 * tell the full node they are connected to which roots they hold, clients ask it who holds a
 * root. Same framing as every Fulmen stream (`kind:u8 length:u32be payload`).
 *
 *   ANNOUNCE  0x40  tab → node     count:u16be root[32]×count  addrs
 *   QUERY     0x41  client → node  root[32]
 *   PROVIDERS 0x42  node → client  root[32] count:u8 (peerLen:u8 peer[peerLen] addrs)×count
 *   ANNOUNCED 0x43  node → tab     roots:u16be addresses:u8 (what the node kept)
 *   TERMINATE 0x1f  node → peer    reason:u8 message:utf8 (as on session streams)
 *
 *   addrs = count:u8 (len:u16be multiaddr:utf8[len])×count
 *
 * Decoding is strict: every length is exact, every count within its limit, every address valid
 * UTF-8 of 1..256 bytes. What an address means is not the wire's business: the node checks it.
 */
import { WireError } from './errors.ts'
import { encodeRawFrame, FrameSplitter } from './frame-splitter.ts'
import {
  decodeSessionPayload,
  encodeSessionFrame,
  FRAME_TERMINATE,
  type TerminateFrame,
} from './session-frames.ts'

export const FRAME_ANNOUNCE = 0x40
export const FRAME_QUERY = 0x41
export const FRAME_PROVIDERS = 0x42
export const FRAME_ANNOUNCED = 0x43
export { FRAME_TERMINATE }

export const ROOT_LEN = 32
/** Roots in one ANNOUNCE. */
export const MAX_ANNOUNCE_ROOTS = 4096
/** Addresses per peer, in ANNOUNCE and in each PROVIDERS entry. */
export const MAX_ADDRESSES = 8
/** Bytes of one address (its string form, UTF-8). */
export const MAX_ADDRESS_LEN = 256
/** Entries in one PROVIDERS. */
export const MAX_PROVIDERS = 16
/** Bytes of a peer id (its multihash): 38 for Ed25519, 34 for RSA and secp256k1. */
export const MAX_PEER_ID_LEN = 64

const ADDRS_MAX_LEN = 1 + MAX_ADDRESSES * (2 + MAX_ADDRESS_LEN)
/** The largest ANNOUNCE payload: what a node must accept. */
export const MAX_ANNOUNCE_PAYLOAD = 2 + MAX_ANNOUNCE_ROOTS * ROOT_LEN + ADDRS_MAX_LEN
/** The largest PROVIDERS payload: what a client must accept. */
export const MAX_PROVIDERS_PAYLOAD =
  ROOT_LEN + 1 + MAX_PROVIDERS * (1 + MAX_PEER_ID_LEN + ADDRS_MAX_LEN)

export interface AnnounceFrame {
  readonly kind: 'announce'
  /** Everything the peer holds now; replaces what it announced before. Empty: withdraw. */
  readonly roots: readonly Uint8Array[]
  /** Where the peer can be dialled (string multiaddrs). */
  readonly multiaddrs: readonly string[]
}

export interface QueryFrame {
  readonly kind: 'query'
  readonly root: Uint8Array
}

export interface ProviderEntry {
  /** The peer id's binary form (its multihash). */
  readonly peer: Uint8Array
  readonly multiaddrs: readonly string[]
}

export interface ProvidersFrame {
  readonly kind: 'providers'
  readonly root: Uint8Array
  readonly providers: readonly ProviderEntry[]
}

export interface AnnouncedFrame {
  readonly kind: 'announced'
  /** Roots the node lists for the peer now. */
  readonly roots: number
  /** Addresses it accepted (the others were not circuit addresses through it). */
  readonly addresses: number
}

export type ProviderFrame =
  | AnnounceFrame
  | QueryFrame
  | ProvidersFrame
  | AnnouncedFrame
  | TerminateFrame

/** Which end reads the stream: each accepts only the kinds its peer may send. */
export type ProviderDirection = 'to-node' | 'to-client'

const TO_NODE: ReadonlySet<number> = new Set([FRAME_ANNOUNCE, FRAME_QUERY])
const TO_CLIENT: ReadonlySet<number> = new Set([FRAME_PROVIDERS, FRAME_ANNOUNCED, FRAME_TERMINATE])

/** Whether a frame of `kind` may travel in `direction`. */
export function acceptsProviderKind(direction: ProviderDirection, kind: number): boolean {
  return (direction === 'to-node' ? TO_NODE : TO_CLIENT).has(kind)
}

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

// ---- encoding: the caller's values are checked, so a bug cannot put a malformed frame on the wire

function fixed(b: Uint8Array, length: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes`)
  }
  return b
}

function addressBytes(multiaddrs: readonly string[]): Uint8Array[] {
  if (multiaddrs.length > MAX_ADDRESSES) {
    throw new RangeError(`${multiaddrs.length} addresses, at most ${MAX_ADDRESSES}`)
  }
  return multiaddrs.map((a) => {
    const b = utf8.encode(a)
    if (b.length === 0 || b.length > MAX_ADDRESS_LEN) {
      throw new RangeError(`address of ${b.length} bytes, 1..${MAX_ADDRESS_LEN} allowed`)
    }
    return b
  })
}

/** Appends bytes; grows as needed (payloads here are small and built once). */
class Builder {
  private parts: Uint8Array[] = []
  private length = 0

  u8(v: number): this {
    return this.raw(Uint8Array.of(v))
  }

  u16(v: number): this {
    return this.raw(Uint8Array.of(v >>> 8, v & 0xff))
  }

  raw(b: Uint8Array): this {
    this.parts.push(b)
    this.length += b.length
    return this
  }

  addresses(encoded: readonly Uint8Array[]): this {
    this.u8(encoded.length)
    for (const a of encoded) this.u16(a.length).raw(a)
    return this
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length)
    let at = 0
    for (const p of this.parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }
}

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeProviderFrame(f: ProviderFrame): Uint8Array {
  switch (f.kind) {
    case 'announce': {
      if (f.roots.length > MAX_ANNOUNCE_ROOTS) {
        throw new RangeError(`${f.roots.length} roots, at most ${MAX_ANNOUNCE_ROOTS}`)
      }
      const b = new Builder().u16(f.roots.length)
      for (const root of f.roots) b.raw(fixed(root, ROOT_LEN, 'root'))
      return encodeRawFrame(FRAME_ANNOUNCE, b.addresses(addressBytes(f.multiaddrs)).bytes())
    }
    case 'query':
      return encodeRawFrame(FRAME_QUERY, fixed(f.root, ROOT_LEN, 'root').slice())
    case 'providers': {
      if (f.providers.length > MAX_PROVIDERS) {
        throw new RangeError(`${f.providers.length} providers, at most ${MAX_PROVIDERS}`)
      }
      const b = new Builder().raw(fixed(f.root, ROOT_LEN, 'root')).u8(f.providers.length)
      for (const p of f.providers) {
        if (p.peer.length === 0 || p.peer.length > MAX_PEER_ID_LEN) {
          throw new RangeError(`peer id of ${p.peer.length} bytes, 1..${MAX_PEER_ID_LEN} allowed`)
        }
        b.u8(p.peer.length).raw(p.peer).addresses(addressBytes(p.multiaddrs))
      }
      return encodeRawFrame(FRAME_PROVIDERS, b.bytes())
    }
    case 'announced': {
      for (const [v, max, what] of [
        [f.roots, MAX_ANNOUNCE_ROOTS, 'roots'],
        [f.addresses, MAX_ADDRESSES, 'addresses'],
      ] as const) {
        if (!Number.isInteger(v) || v < 0 || v > max) {
          throw new RangeError(`${what} must be an integer in 0..${max}, got ${v}`)
        }
      }
      return encodeRawFrame(FRAME_ANNOUNCED, new Builder().u16(f.roots).u8(f.addresses).bytes())
    }
    case 'terminate':
      return encodeSessionFrame(f)
  }
}

// ---- decoding: untrusted bytes; every failure is a WireError

function malformed(message: string): WireError {
  return new WireError('WIRE_MALFORMED', message)
}

/** Reads a payload front to back; running off its end is WIRE_MALFORMED. */
class Reader {
  private readonly payload: Uint8Array
  private readonly name: string
  private at = 0

  constructor(payload: Uint8Array, name: string) {
    this.payload = payload
    this.name = name
  }

  bytes(n: number, what: string): Uint8Array {
    if (this.at + n > this.payload.length) {
      throw malformed(`${this.name} ends inside its ${what}`)
    }
    const out = this.payload.slice(this.at, this.at + n)
    this.at += n
    return out
  }

  u8(what: string): number {
    return this.bytes(1, what)[0]!
  }

  u16(what: string): number {
    const b = this.bytes(2, what)
    return (b[0]! << 8) | b[1]!
  }

  addresses(): string[] {
    const count = this.u8('address count')
    if (count > MAX_ADDRESSES) throw malformed(`${this.name} with ${count} addresses`)
    const out: string[] = []
    for (let i = 0; i < count; i++) {
      const length = this.u16('address length')
      if (length === 0 || length > MAX_ADDRESS_LEN) {
        throw malformed(`${this.name} address of ${length} bytes`)
      }
      try {
        out.push(strictUtf8.decode(this.bytes(length, 'address')))
      } catch (error) {
        if (error instanceof WireError) throw error
        throw malformed(`${this.name} address is not valid UTF-8`)
      }
    }
    return out
  }

  end(): void {
    if (this.at !== this.payload.length) {
      throw malformed(`${this.payload.length - this.at} bytes after the end of ${this.name}`)
    }
  }
}

/** Decodes the payload of a frame of `kind` (any direction). */
export function decodeProviderPayload(kind: number, payload: Uint8Array): ProviderFrame {
  switch (kind) {
    case FRAME_ANNOUNCE: {
      const r = new Reader(payload, 'ANNOUNCE')
      const count = r.u16('root count')
      if (count > MAX_ANNOUNCE_ROOTS) throw malformed(`ANNOUNCE with ${count} roots`)
      const roots: Uint8Array[] = []
      for (let i = 0; i < count; i++) roots.push(r.bytes(ROOT_LEN, 'roots'))
      const multiaddrs = r.addresses()
      r.end()
      return { kind: 'announce', roots, multiaddrs }
    }
    case FRAME_QUERY: {
      if (payload.length !== ROOT_LEN) {
        throw malformed(`QUERY of ${payload.length} bytes, ${ROOT_LEN} expected`)
      }
      return { kind: 'query', root: payload.slice() }
    }
    case FRAME_PROVIDERS: {
      const r = new Reader(payload, 'PROVIDERS')
      const root = r.bytes(ROOT_LEN, 'root')
      const count = r.u8('count')
      if (count > MAX_PROVIDERS) throw malformed(`PROVIDERS with ${count} entries`)
      const providers: ProviderEntry[] = []
      for (let i = 0; i < count; i++) {
        const length = r.u8('peer id length')
        if (length === 0 || length > MAX_PEER_ID_LEN) {
          throw malformed(`PROVIDERS peer id of ${length} bytes`)
        }
        const peer = r.bytes(length, 'peer id')
        providers.push({ peer, multiaddrs: r.addresses() })
      }
      r.end()
      return { kind: 'providers', root, providers }
    }
    case FRAME_ANNOUNCED: {
      const r = new Reader(payload, 'ANNOUNCED')
      const roots = r.u16('roots')
      const addresses = r.u8('addresses')
      r.end()
      if (roots > MAX_ANNOUNCE_ROOTS || addresses > MAX_ADDRESSES) {
        throw malformed(`ANNOUNCED ${roots} roots, ${addresses} addresses`)
      }
      return { kind: 'announced', roots, addresses }
    }
    case FRAME_TERMINATE:
      return decodeSessionPayload(kind, payload) as TerminateFrame
    default:
      throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame type ${kind}`)
  }
}

export interface ProviderFrameDecoderOptions {
  /** The reader's end: frames its peer may not send are WIRE_UNKNOWN_FRAME at their prefix. */
  readonly accepts: ProviderDirection
  /** Largest payload accepted (default: the largest ANNOUNCE, or PROVIDERS, the format allows). */
  readonly maxPayload?: number
}

/** Splits a discovery stream into frames. Throws WireError on a bad frame. */
export class ProviderFrameDecoder {
  private readonly splitter: FrameSplitter

  constructor(options: ProviderFrameDecoderOptions) {
    const direction = options.accepts
    this.splitter = new FrameSplitter({
      maxPayload:
        options.maxPayload ??
        (direction === 'to-node' ? MAX_ANNOUNCE_PAYLOAD : MAX_PROVIDERS_PAYLOAD),
      accepts: (kind) => acceptsProviderKind(direction, kind),
    })
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.splitter.pending
  }

  /** Adds bytes; returns the frames they complete. Throws WireError on a bad frame. */
  push(chunk: Uint8Array): ProviderFrame[] {
    return this.splitter.push(chunk).map((f) => decodeProviderPayload(f.kind, f.payload))
  }

  /** Call at the end of the stream: throws WIRE_TRUNCATED if it ended inside a frame. */
  end(): void {
    this.splitter.end()
  }
}

/** The frames of a discovery byte stream. */
export async function* decodeProviderFrames(
  source: AsyncIterable<Uint8Array>,
  options: ProviderFrameDecoderOptions,
): AsyncGenerator<ProviderFrame> {
  const decoder = new ProviderFrameDecoder(options)
  for await (const chunk of source) yield* decoder.push(chunk)
  decoder.end()
}
