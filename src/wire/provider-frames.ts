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
import {
  CodecDecoder,
  type CodecDecoderOptions,
  decodeCodecFrames,
  type FrameCodec,
} from './frame-codec.ts'
import {
  decodeHandshakePayload,
  encodeHandshakeFrame,
  FRAME_TERMINATE,
  type TerminateFrame,
} from './handshake-frames.ts'
import { malformed, PayloadReader, PayloadWriter } from './payload.ts'

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

// ---- encoding: the caller's values are checked, so a bug cannot put a malformed frame on the wire

function writeAddresses(w: PayloadWriter, multiaddrs: readonly string[]): PayloadWriter {
  if (multiaddrs.length > MAX_ADDRESSES) {
    throw new RangeError(`${multiaddrs.length} addresses, at most ${MAX_ADDRESSES}`)
  }
  w.u8(multiaddrs.length)
  for (const a of multiaddrs) {
    const b = utf8.encode(a)
    if (b.length === 0 || b.length > MAX_ADDRESS_LEN) {
      throw new RangeError(`address of ${b.length} bytes, 1..${MAX_ADDRESS_LEN} allowed`)
    }
    w.u16(b.length).raw(b)
  }
  return w
}

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeProviderFrame(f: ProviderFrame): Uint8Array {
  switch (f.kind) {
    case 'announce': {
      if (f.roots.length > MAX_ANNOUNCE_ROOTS) {
        throw new RangeError(`${f.roots.length} roots, at most ${MAX_ANNOUNCE_ROOTS}`)
      }
      const w = new PayloadWriter(2 + f.roots.length * ROOT_LEN + 64).u16(f.roots.length)
      for (const root of f.roots) w.raw(root, ROOT_LEN, 'root')
      return writeAddresses(w, f.multiaddrs).frame(FRAME_ANNOUNCE)
    }
    case 'query':
      return new PayloadWriter(ROOT_LEN).raw(f.root, ROOT_LEN, 'root').frame(FRAME_QUERY)
    case 'providers': {
      if (f.providers.length > MAX_PROVIDERS) {
        throw new RangeError(`${f.providers.length} providers, at most ${MAX_PROVIDERS}`)
      }
      const w = new PayloadWriter().raw(f.root, ROOT_LEN, 'root').u8(f.providers.length)
      for (const p of f.providers) {
        if (p.peer.length === 0 || p.peer.length > MAX_PEER_ID_LEN) {
          throw new RangeError(`peer id of ${p.peer.length} bytes, 1..${MAX_PEER_ID_LEN} allowed`)
        }
        writeAddresses(w.u8(p.peer.length).raw(p.peer), p.multiaddrs)
      }
      return w.frame(FRAME_PROVIDERS)
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
      return new PayloadWriter(3).u16(f.roots).u8(f.addresses).frame(FRAME_ANNOUNCED)
    }
    case 'terminate':
      return encodeHandshakeFrame(f)
  }
}

// ---- decoding: untrusted bytes; every failure is a WireError

function readAddresses(r: PayloadReader): string[] {
  const count = r.u8('address count')
  if (count > MAX_ADDRESSES) throw malformed(`${r.name} with ${count} addresses`)
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    const length = r.u16('address length')
    if (length === 0 || length > MAX_ADDRESS_LEN) {
      throw malformed(`${r.name} address of ${length} bytes`)
    }
    out.push(r.utf8(length, 'address'))
  }
  return out
}

/** Decodes the payload of a frame of `kind` (any direction). */
export function decodeProviderPayload(kind: number, payload: Uint8Array): ProviderFrame {
  switch (kind) {
    case FRAME_ANNOUNCE: {
      const r = new PayloadReader(payload, 'ANNOUNCE')
      const count = r.u16('root count')
      if (count > MAX_ANNOUNCE_ROOTS) throw malformed(`ANNOUNCE with ${count} roots`)
      const roots: Uint8Array[] = []
      for (let i = 0; i < count; i++) roots.push(r.bytes(ROOT_LEN, 'roots'))
      const multiaddrs = readAddresses(r)
      r.end()
      return { kind: 'announce', roots, multiaddrs }
    }
    case FRAME_QUERY:
      return { kind: 'query', root: PayloadReader.exact(payload, ROOT_LEN, 'QUERY').rest().slice() }
    case FRAME_PROVIDERS: {
      const r = new PayloadReader(payload, 'PROVIDERS')
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
        providers.push({ peer, multiaddrs: readAddresses(r) })
      }
      r.end()
      return { kind: 'providers', root, providers }
    }
    case FRAME_ANNOUNCED: {
      const r = new PayloadReader(payload, 'ANNOUNCED')
      const roots = r.u16('roots')
      const addresses = r.u8('addresses')
      r.end()
      if (roots > MAX_ANNOUNCE_ROOTS || addresses > MAX_ADDRESSES) {
        throw malformed(`ANNOUNCED ${roots} roots, ${addresses} addresses`)
      }
      return { kind: 'announced', roots, addresses }
    }
    case FRAME_TERMINATE:
      return decodeHandshakePayload(kind, payload) as TerminateFrame
    default:
      throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame type ${kind}`)
  }
}

/**
 * The discovery codec for one end of the stream: it accepts only the kinds its peer may send,
 * up to the largest ANNOUNCE (node) or PROVIDERS (client) payload the format allows.
 */
export function providerCodec(direction: ProviderDirection): FrameCodec<ProviderFrame> {
  return {
    accepts: (kind) => acceptsProviderKind(direction, kind),
    maxPayload: direction === 'to-node' ? MAX_ANNOUNCE_PAYLOAD : MAX_PROVIDERS_PAYLOAD,
    decode: decodeProviderPayload,
    encode: encodeProviderFrame,
  }
}

export interface ProviderFrameDecoderOptions extends CodecDecoderOptions {
  /** The reader's end: frames its peer may not send are WIRE_UNKNOWN_FRAME at their prefix. */
  readonly accepts: ProviderDirection
}

/** Splits a discovery stream into frames. Throws WireError on a bad frame. */
export class ProviderFrameDecoder extends CodecDecoder<ProviderFrame> {
  constructor(options: ProviderFrameDecoderOptions) {
    super(providerCodec(options.accepts), options)
  }
}

/** The frames of a discovery byte stream. */
export function decodeProviderFrames(
  source: AsyncIterable<Uint8Array>,
  options: ProviderFrameDecoderOptions,
): AsyncGenerator<ProviderFrame> {
  return decodeCodecFrames(source, providerCodec(options.accepts), options)
}
