/**
 * Narwhal's three messages (DESIGN.md "Consensus"), modelled on Sui's `narwhal/types`
 * (`Header`, `Vote`, `Certificate`) but written for Fulmen: deterministic DAG-CBOR maps
 * (src/state/cbor-shape.ts, so one value has one encoding), BLAKE3 derive-key digests whose
 * context names the type, Ed25519 signatures (DESIGN allows Ed25519 for headers and votes;
 * block attestations, not these, use BLS).
 *
 * - A header is signed by its author over its digest; the digest covers everything but the
 *   signature, and names the certificate made of it (`DagVertex.digest`).
 * - A vote signs the vote digest (header digest, round, author) under its own context, so a
 *   vote signature can never pass for a header signature or the reverse.
 * - A certificate is the signed header plus 2f + 1 vote signatures, named by a bitfield of
 *   signers (bit i of byte i >> 3 is member i) and their signatures in member order.
 *
 * Decoders are strict: canonical bytes only, no unknown fields, sorted unique parents, exact
 * lengths; anything else throws `ConsensusError('CONSENSUS_MALFORMED')`.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { deriveKey } from '../../b3/hash.ts'
import {
  type CborRecord,
  encodeCanonical,
  type FailWith,
  RecordReader,
} from '../../state/cbor-shape.ts'
import { ConsensusError } from '../errors.ts'
import type { Member } from './dag-types.ts'

export const HEADER_CONTEXT = 'fulmen 2026 narwhal header'
export const VOTE_CONTEXT = 'fulmen 2026 narwhal vote'

export const DIGEST_BYTES = 32
export const SIGNATURE_BYTES = 64
/** The most members a committee may have (bounds the decoders' arrays and bitfields). */
export const MAX_COMMITTEE = 1024
/** The most batch digests one header references. */
export const MAX_HEADER_BATCHES = 4096

/** The part of a header its digest covers. */
export interface HeaderBody {
  readonly epoch: bigint
  /** Rounds start at 1; round-1 headers have no parents. */
  readonly round: number
  readonly author: Member
  /** Digests of round − 1 certificates, sorted bytewise, unique. */
  readonly parents: readonly Uint8Array[]
  /** Digests of transaction batches, in the author's order. */
  readonly batches: readonly Uint8Array[]
  /**
   * The author's clock when it proposed (ms since the Unix epoch), at least its parents': a
   * committed leader's timestamp becomes its block's, so voters bound it (narwhal-core.ts).
   */
  readonly timestampMs: number
}

export interface Header extends HeaderBody {
  /** The author's signature over `headerDigest(header)`. */
  readonly signature: Uint8Array
}

export interface Vote {
  readonly headerDigest: Uint8Array
  readonly round: number
  /** The header's author (the one the vote is sent to). */
  readonly author: Member
  readonly voter: Member
  readonly signature: Uint8Array
}

export interface Certificate {
  readonly header: Header
  /** Bit i (byte i >> 3, bit i & 7) set when member i's vote is in `signatures`. */
  readonly signers: Uint8Array
  /** The set members' vote signatures, in increasing member order. */
  readonly signatures: readonly Uint8Array[]
}

/** Signs with this member's committee key. */
export interface DagSigner {
  readonly member: Member
  sign(message: Uint8Array): Uint8Array
}

/** Checks a committee member's signature; false (never a throw) for anything invalid. */
export interface DagVerifier {
  verify(member: Member, message: Uint8Array, signature: Uint8Array): boolean
}

// --- digests --------------------------------------------------------------------------------

/**
 * Digests already computed, by header object: a header is checked, voted for, certified,
 * delivered and referenced, each needing its digest, and in one process (the simulator) the
 * same object reaches every member. Headers are values: nothing may change one in place.
 */
const digests = new WeakMap<HeaderBody, Uint8Array>()

export function headerDigest(header: HeaderBody): Uint8Array {
  let digest = digests.get(header)
  if (digest === undefined) {
    digest = deriveKey(HEADER_CONTEXT, encodeCanonical(headerBodyRecord(header)))
    digests.set(header, digest)
  }
  return digest
}

/**
 * Vote digests already computed, by header digest object: each voter signs one, the author
 * checks each vote against it and every member checks 2f + 1 vote signatures on each certificate
 * against it, and `headerDigest` hands out one digest object per header. Digests are values too:
 * nothing may change one (or a vote digest returned here) in place.
 */
const voteDigests = new WeakMap<
  Uint8Array,
  { readonly round: number; readonly author: Member; readonly digest: Uint8Array }
>()

/** `body` signed: a header whose digest is body's, already computed if it was. */
export function signedHeader(body: HeaderBody, signature: Uint8Array): Header {
  const header: Header = { ...body, signature }
  const digest = digests.get(body)
  if (digest !== undefined) digests.set(header, digest)
  return header
}

/** What a voter signs: which header, of which round and author. */
export function voteDigest(headerDigest: Uint8Array, round: number, author: Member): Uint8Array {
  const known = voteDigests.get(headerDigest)
  if (known !== undefined && known.round === round && known.author === author) return known.digest
  const digest = deriveKey(VOTE_CONTEXT, encodeCanonical({ header: headerDigest, round, author }))
  // Kept for the first (round, author) asked, which in the core is always the header's own.
  if (known === undefined) voteDigests.set(headerDigest, { round, author, digest })
  return digest
}

// --- encoders -------------------------------------------------------------------------------

function headerBodyRecord(header: HeaderBody): CborRecord {
  if (header.epoch < 0n || header.epoch > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`epoch ${header.epoch} is out of range`)
  }
  return {
    epoch: Number(header.epoch),
    round: header.round,
    author: header.author,
    parents: header.parents,
    batches: header.batches,
    time: header.timestampMs,
  }
}

function headerRecord(header: Header): CborRecord {
  return { ...headerBodyRecord(header), sig: header.signature }
}

export function encodeHeader(header: Header): Uint8Array {
  return encodeCanonical(headerRecord(header))
}

export function encodeVote(vote: Vote): Uint8Array {
  return encodeCanonical({
    header: vote.headerDigest,
    round: vote.round,
    author: vote.author,
    voter: vote.voter,
    sig: vote.signature,
  })
}

export function encodeCertificate(certificate: Certificate): Uint8Array {
  return encodeCanonical({
    header: headerRecord(certificate.header),
    signers: certificate.signers,
    sigs: certificate.signatures,
  })
}

// --- decoders -------------------------------------------------------------------------------

const malformed: FailWith = (message) => new ConsensusError('CONSENSUS_MALFORMED', message)

/** Runs a decoder; whatever else it throws on hostile bytes becomes CONSENSUS_MALFORMED. */
function strictly<T>(what: string, decode: () => T): T {
  try {
    return decode()
  } catch (e) {
    if (e instanceof ConsensusError) throw e
    throw new ConsensusError('CONSENSUS_MALFORMED', `${what}: ${(e as Error).message}`, {
      cause: e,
    })
  }
}

function digestItem(r: RecordReader, field: string) {
  return (value: unknown, index: number): Uint8Array => {
    if (!(value instanceof Uint8Array) || value.length !== DIGEST_BYTES) {
      throw r.fail(`${field}[${index}] is not a ${DIGEST_BYTES}-byte digest`)
    }
    return value
  }
}

function readHeader(r: RecordReader): Header {
  const epoch = BigInt(r.uint('epoch'))
  const round = r.uint('round')
  if (round < 1) throw r.fail('round is 0 (rounds start at 1)')
  const author = r.uint('author', MAX_COMMITTEE - 1)
  const parents = r.array('parents', MAX_COMMITTEE, digestItem(r, 'parents'))
  for (let i = 1; i < parents.length; i++) {
    if (compareBytes(parents[i - 1] as Uint8Array, parents[i] as Uint8Array) >= 0) {
      throw r.fail('parents are not sorted and unique')
    }
  }
  const batches = r.array('batches', MAX_HEADER_BATCHES, digestItem(r, 'batches'))
  const timestampMs = r.uint('time')
  const signature = r.bytes('sig', SIGNATURE_BYTES)
  r.done()
  return { epoch, round, author, parents, batches, timestampMs, signature }
}

export function decodeHeader(bytes: Uint8Array): Header {
  return strictly('header', () => readHeader(RecordReader.decode(bytes, 'header', malformed)))
}

export function decodeVote(bytes: Uint8Array): Vote {
  return strictly('vote', () => {
    const r = RecordReader.decode(bytes, 'vote', malformed)
    const headerDigest = r.bytes('header', DIGEST_BYTES)
    const round = r.uint('round')
    if (round < 1) throw r.fail('round is 0 (rounds start at 1)')
    const author = r.uint('author', MAX_COMMITTEE - 1)
    const voter = r.uint('voter', MAX_COMMITTEE - 1)
    const signature = r.bytes('sig', SIGNATURE_BYTES)
    r.done()
    return { headerDigest, round, author, voter, signature }
  })
}

export function decodeCertificate(bytes: Uint8Array): Certificate {
  return strictly('certificate', () => {
    const r = RecordReader.decode(bytes, 'certificate', malformed)
    const header = readHeader(r.record('header'))
    const signers = r.bytes('signers')
    if (signers.length === 0 || signers.length > MAX_COMMITTEE / 8) {
      throw r.fail(`signers is ${signers.length} bytes`)
    }
    // The last byte names at least one signer: one bitfield, one encoding.
    if (signers[signers.length - 1] === 0) throw r.fail('signers has a trailing zero byte')
    const signatures = r.array('sigs', MAX_COMMITTEE, (value, index) => {
      if (!(value instanceof Uint8Array) || value.length !== SIGNATURE_BYTES) {
        throw r.fail(`sigs[${index}] is not a ${SIGNATURE_BYTES}-byte signature`)
      }
      return value
    })
    if (signersOf(signers).length !== signatures.length) {
      throw r.fail('signers and sigs differ in number')
    }
    r.done()
    return { header, signers, signatures }
  })
}

// --- signer bitfields -----------------------------------------------------------------------

/** The members whose bits are set, in increasing order. */
export function signersOf(bitfield: Uint8Array): Member[] {
  const members: Member[] = []
  for (let i = 0; i < bitfield.length * 8; i++) {
    if (((bitfield[i >> 3] as number) >> (i & 7)) & 1) members.push(i)
  }
  return members
}

/** The shortest bitfield naming `members` (its last byte non-zero). */
export function signerBitfield(members: readonly Member[]): Uint8Array {
  const highest = Math.max(-1, ...members)
  const bitfield = new Uint8Array(Math.max(1, (highest >> 3) + 1))
  for (const m of members) bitfield[m >> 3] = (bitfield[m >> 3] as number) | (1 << (m & 7))
  return bitfield
}

// --- bytes ----------------------------------------------------------------------------------

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

/** Lowercase hex (digests name certificates in maps: this runs for every parent of every one). */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] as number]
  return s
}

/**
 * Hex already computed, by digest object: a header's digest (and each parent digest) is looked
 * up by hex when the header is checked, voted for, certified, delivered and referenced, and
 * `headerDigest` hands out one object per header. Digests are never changed in place.
 */
const hexes = new WeakMap<Uint8Array, string>()

/** `toHex(digest)`, computed once per digest object. */
export function digestHex(digest: Uint8Array): string {
  let hex = hexes.get(digest)
  if (hex === undefined) {
    hex = toHex(digest)
    hexes.set(digest, hex)
  }
  return hex
}

// --- Ed25519 --------------------------------------------------------------------------------

/** A member's signer over its 32-byte Ed25519 secret key. */
export function ed25519DagSigner(member: Member, secretKey: Uint8Array): DagSigner {
  return { member, sign: (message) => ed25519.sign(message, secretKey) }
}

/** Checks signatures against the committee's Ed25519 public keys, in member order. */
export function ed25519DagVerifier(publicKeys: readonly Uint8Array[]): DagVerifier {
  return {
    verify(member, message, signature) {
      const key = publicKeys[member]
      if (key === undefined || signature.length !== SIGNATURE_BYTES) return false
      try {
        return ed25519.verify(signature, message, key)
      } catch {
        // Malformed points throw in noble: to a caller they are just invalid signatures.
        return false
      }
    },
  }
}
