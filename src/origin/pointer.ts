/**
 * Pointers: the ways a request can name content. A BLAKE3 root names it exactly; the others
 * name it at an origin and are resolved (fetched, verified, hashed) into a root once, then
 * remembered under their canonical spelling (`formatPointer`).
 *
 * Accepted spellings (`parsePointer`):
 *
 * - a content id in any spelling `parseContentId` reads (64 hex, `blake3:<hex>`, CIDv1 `raw`
 *   + blake3 `bafkr4…`) → `blake3`;
 * - `ipfs://<cid>`, `/ipfs/<cid>`, or a bare CID (v0 or v1, any multibase) → `ipfs`. The CID
 *   must be `raw` (0x55) or `dag-pb` (0x70, UnixFS: parsed, but no origin fetches it yet) with
 *   a 32-byte sha2-256 or blake3 multihash. A `raw` + blake3 CID names a BLAKE3 root and is
 *   read as `blake3` in every form (the resolver may still fetch it from IPFS on a miss);
 * - `http(s)://…#integrity=<sri>`: the URL pinned by Subresource Integrity metadata, alone in
 *   the fragment or among other `&`-separated fragment parameters, percent-encoded or not.
 *   Several space-separated hashes are allowed; as in the SRI spec only those of the strongest
 *   algorithm count (any one of them may match), unknown algorithms are ignored and options
 *   (`?…`) after a digest are dropped. Unlike the spec, a malformed digest of a known
 *   algorithm is refused rather than skipped. A URL without usable integrity is refused:
 *   nothing could verify what it returns.
 *
 * Anything else throws `OriginError('ORIGIN_BAD_POINTER')`, and nothing but that.
 */

import * as base32s from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import {
  BLAKE3_MULTIHASH,
  decodeCid,
  formatContentId,
  parseContentId,
  RAW_CODEC,
  shown,
} from '../b3/content-id.ts'
import { B3Error } from '../b3/errors.ts'
import { equalBytes } from '../core/bytes.ts'
import { FulmenError } from '../core/errors.ts'

export type Pointer =
  /** Content by its BLAKE3 root (32 bytes): a store's, or an origin's that fetches by root. */
  | { readonly kind: 'blake3'; readonly root: Uint8Array }
  /**
   * An IPFS CID, canonical CIDv1 in base32 (`bafk…` raw, `bafy…` dag-pb), with a sha2-256 or
   * blake3 multihash; fetched from a trustless gateway (raw blocks only, for now).
   */
  | { readonly kind: 'ipfs'; readonly cid: string }
  /**
   * An HTTP(S) URL (normalised, no fragment, no credentials) pinned by Subresource Integrity
   * metadata: canonical form is the strongest algorithm's hashes only, sorted, standard padded
   * base64, space-separated (`sha384-… sha384-…`).
   */
  | { readonly kind: 'http'; readonly url: string; readonly integrity: string }

export type OriginErrorCode =
  /** The pointer cannot be parsed, or names content in a way nothing could verify. */
  | 'ORIGIN_BAD_POINTER'
  /** No configured origin serves this kind of pointer, or the origin cannot serve it yet. */
  | 'ORIGIN_UNAVAILABLE'
  /** A BLAKE3 root that no store holds and no configured origin can fetch. */
  | 'ORIGIN_NOT_FOUND'
  /** The origin answered with a status other than 200 or the connection failed. */
  | 'ORIGIN_FETCH_FAILED'
  /** The bytes do not match the pointer (SRI or CID mismatch): nothing is stored. */
  | 'ORIGIN_INTEGRITY'
  /** The origin sent (or announced) more than the size limit: cut off, nothing stored. */
  | 'ORIGIN_TOO_LARGE'
  /** The origin took longer than the time limit (for the whole fetch): nothing stored. */
  | 'ORIGIN_TIMEOUT'

export class OriginError extends FulmenError<OriginErrorCode> {
  override readonly name = 'OriginError'
}

/** Multicodec `dag-pb`: UnixFS files and directories. */
export const DAG_PB_CODEC = 0x70
/** Multihash code of sha2-256. */
export const SHA2_256_MULTIHASH = 0x12

/** Longest pointer accepted: URLs beyond this are not worth parsing. */
export const MAX_POINTER_LEN = 8192
/** Longer than any acceptable CID in any multibase. */
const MAX_CID_LEN = 512

function bad(message: string, cause?: unknown): OriginError {
  return new OriginError('ORIGIN_BAD_POINTER', message, cause === undefined ? undefined : { cause })
}

// ---------------------------------------------------------------------------------------------
// Subresource Integrity metadata

export type SriAlgorithm = 'sha256' | 'sha384' | 'sha512'

/** Digest length of each SRI algorithm, weakest first. */
export const SRI_DIGEST_LEN: Readonly<Record<SriAlgorithm, number>> = {
  sha256: 32,
  sha384: 48,
  sha512: 64,
}
const SRI_ORDER: readonly SriAlgorithm[] = ['sha256', 'sha384', 'sha512']

/** Parsed SRI metadata: the strongest algorithm present and its acceptable digests. */
export interface Integrity {
  readonly algorithm: SriAlgorithm
  /** Any one of these matching is a match (the SRI spec's rule). Never empty. */
  readonly digests: readonly Uint8Array[]
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64_VALUE = new Map<string, number>([
  ...[...B64].map((c, i) => [c, i] as [string, number]),
  ['-', 62],
  ['_', 63],
])

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!
    const b = bytes[i + 1]
    const c = bytes[i + 2]
    out += B64[a >> 2]
    out += B64[((a & 3) << 4) | ((b ?? 0) >> 4)]
    out += b === undefined ? '=' : B64[((b & 15) << 2) | ((c ?? 0) >> 6)]
    out += c === undefined ? '=' : B64[c & 63]
  }
  return out
}

/** Base64 or base64url, padding optional; undefined when malformed. */
function fromBase64(text: string): Uint8Array | undefined {
  const body = text.replace(/={1,2}$/, '')
  if (body.length % 4 === 1) return undefined
  if (text.length !== body.length && text.length % 4 !== 0) return undefined
  const out = new Uint8Array(Math.floor((body.length * 3) / 4))
  let acc = 0
  let bits = 0
  let o = 0
  for (const ch of body) {
    const v = B64_VALUE.get(ch)
    if (v === undefined) return undefined
    acc = ((acc << 6) | v) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  return out
}

/**
 * Reads SRI metadata (`sha384-<base64> sha512-<base64>?opt …`). Keeps the strongest algorithm
 * present; ignores tokens of unknown algorithms. Errors: `ORIGIN_BAD_POINTER` when no token of
 * a known algorithm is left, or a known algorithm's digest is not base64 of the right length.
 */
export function parseIntegrity(metadata: string): Integrity {
  if (typeof metadata !== 'string') throw bad(`integrity is a string, got ${typeof metadata}`)
  const found = new Map<SriAlgorithm, Uint8Array[]>()
  for (const token of metadata.split(/[\t\n\f\r ]+/)) {
    if (token === '') continue
    const dash = token.indexOf('-')
    if (dash < 0) continue
    const algorithm = token.slice(0, dash).toLowerCase()
    if (!(algorithm in SRI_DIGEST_LEN)) continue
    const alg = algorithm as SriAlgorithm
    const value = token.slice(dash + 1).split('?')[0]!
    const digest = fromBase64(value)
    if (digest === undefined || digest.length !== SRI_DIGEST_LEN[alg]) {
      throw bad(
        `integrity ${shown(token)}: a ${alg} digest is ${SRI_DIGEST_LEN[alg]} bytes in base64`,
      )
    }
    const list = found.get(alg) ?? []
    if (!list.some((d) => equalBytes(d, digest))) list.push(digest)
    found.set(alg, list)
  }
  for (let i = SRI_ORDER.length - 1; i >= 0; i--) {
    const alg = SRI_ORDER[i]!
    const digests = found.get(alg)
    if (digests !== undefined) {
      return { algorithm: alg, digests: digests.sort(compareDigests) }
    }
  }
  throw bad(
    `integrity ${shown(metadata)} has no sha256, sha384 or sha512 hash: the content could not be verified`,
  )
}

function compareDigests(a: Uint8Array, b: Uint8Array): number {
  const x = toBase64(a)
  const y = toBase64(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Canonical SRI metadata: `<alg>-<base64>` per digest, space-separated. */
export function formatIntegrity(integrity: Integrity): string {
  return integrity.digests.map((d) => `${integrity.algorithm}-${toBase64(d)}`).join(' ')
}

// ---------------------------------------------------------------------------------------------
// CIDs

/** A CID in any multibase (CIDv0 bare base58btc too); undefined when it is not one. */
function decodeAnyCid(text: string): CID | undefined {
  if (text.length > MAX_CID_LEN) return undefined
  const decoded = decodeCid(text)
  return 'cid' in decoded ? decoded.cid : undefined
}

/** The pointer a parsed CID stands for, or a refusal saying why it cannot be verified. */
function pointerOfCid(cid: CID, text: string): Pointer {
  const code = cid.version === 0 ? DAG_PB_CODEC : cid.code
  if (code !== RAW_CODEC && code !== DAG_PB_CODEC) {
    throw bad(
      `CID ${shown(text)} has codec 0x${code.toString(16)}; only raw (0x55) and dag-pb (0x70) name content`,
    )
  }
  const mh = cid.multihash
  if (mh.code !== SHA2_256_MULTIHASH && mh.code !== BLAKE3_MULTIHASH) {
    throw bad(
      `CID ${shown(text)} uses multihash 0x${mh.code.toString(16)}; only sha2-256 (0x12) and blake3 (0x1e) can be verified`,
    )
  }
  if (mh.size !== 32 || mh.digest.length !== 32) {
    throw bad(`CID ${shown(text)} has a ${mh.digest.length}-byte digest, expected 32`)
  }
  if (code === RAW_CODEC && mh.code === BLAKE3_MULTIHASH) {
    return { kind: 'blake3', root: mh.digest.slice() }
  }
  const v1 = cid.version === 0 ? cid.toV1() : cid
  return { kind: 'ipfs', cid: v1.toString(base32s.base32) }
}

function parseIpfs(rest: string, text: string): Pointer {
  const bare = rest.endsWith('/') ? rest.slice(0, -1) : rest
  if (/[/?#]/.test(bare)) {
    throw bad(`${shown(text)}: paths, queries and fragments inside IPFS content are not supported`)
  }
  const cid = decodeAnyCid(bare)
  if (cid === undefined) throw bad(`${shown(text)}: ${shown(bare)} is not a valid CID`)
  return pointerOfCid(cid, bare)
}

/** The CID an IPFS gateway knows this content by: the pointer's, or raw + blake3 for a root. */
export function cidOf(pointer: Pointer): CID {
  switch (pointer.kind) {
    case 'blake3':
      return CID.parse(formatContentId(pointer.root, 'cid'), base32s.base32) as CID
    case 'ipfs': {
      const cid = decodeAnyCid(pointer.cid)
      if (cid === undefined) throw bad(`${shown(pointer.cid)} is not a valid CID`)
      pointerOfCid(cid, pointer.cid)
      return cid.version === 0 ? (cid.toV1() as CID) : cid
    }
    default:
      throw bad(`a ${pointer.kind} pointer has no CID`)
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP(S)

function parseHttp(text: string): Pointer {
  let url: URL
  try {
    url = new URL(text)
  } catch (e) {
    throw bad(`${shown(text)} is not a valid URL`, e)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad(`${shown(text)}: unsupported scheme ${url.protocol}`)
  }
  if (url.username !== '' || url.password !== '') {
    throw bad(`${shown(text)}: URLs with credentials are not accepted`)
  }
  let metadata: string | undefined
  const fragment = url.hash.slice(1)
  if (fragment !== '') {
    for (const part of fragment.split('&')) {
      const eq = part.indexOf('=')
      if (eq < 0) continue
      let name: string
      let value: string
      try {
        name = decodeURIComponent(part.slice(0, eq))
        value = decodeURIComponent(part.slice(eq + 1))
      } catch (e) {
        throw bad(`${shown(text)}: malformed percent-encoding in the fragment`, e)
      }
      if (name !== 'integrity') continue
      if (metadata !== undefined) throw bad(`${shown(text)}: integrity is given twice`)
      metadata = value
    }
  }
  if (metadata === undefined) {
    throw bad(
      `${shown(text)} has no #integrity=<sri>: the content of a plain URL could not be verified`,
    )
  }
  const integrity = formatIntegrity(parseIntegrity(metadata))
  url.hash = ''
  return { kind: 'http', url: url.href, integrity }
}

// ---------------------------------------------------------------------------------------------

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i

/** Reads a pointer in any accepted spelling (see the top of this file). */
export function parsePointer(input: string): Pointer {
  if (typeof input !== 'string') throw bad(`a pointer is a string, got ${typeof input}`)
  const text = input.trim()
  if (text === '') throw bad('pointer is empty')
  if (text.length > MAX_POINTER_LEN) {
    throw bad(`pointer is ${text.length} characters long; at most ${MAX_POINTER_LEN} are accepted`)
  }
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase()
  if (scheme === 'ipfs') return parseIpfs(text.slice('ipfs://'.length), text)
  if (scheme === 'http' || scheme === 'https') return parseHttp(text)
  if (scheme !== undefined) throw bad(`${shown(text)}: unsupported scheme ${scheme}:`)
  if (text.toLowerCase().startsWith('/ipfs/')) return parseIpfs(text.slice('/ipfs/'.length), text)

  let reason: string
  try {
    return { kind: 'blake3', root: parseContentId(text) }
  } catch (e) {
    if (!(e instanceof B3Error)) throw bad(`${shown(text)} is not a pointer`, e)
    reason = e.message
  }
  const cid = decodeAnyCid(text)
  if (cid !== undefined) return pointerOfCid(cid, text)
  throw bad(
    `${reason}; a pointer is a content id, an IPFS CID (ipfs://…, /ipfs/…) or an http(s) URL with #integrity=<sri>`,
  )
}

/**
 * The canonical spelling of a pointer: `blake3:<hex>`, `ipfs://<cidv1 base32>` or
 * `<url>#integrity=<sri>` (spaces as `%20`). Equal pointers format equally, and
 * `parsePointer(formatPointer(p))` gives back the canonical `p`. It is the key a store
 * remembers a pointer's root under. Errors: `ORIGIN_BAD_POINTER` for a malformed pointer.
 */
export function formatPointer(pointer: Pointer): string {
  switch (pointer?.kind) {
    case 'blake3':
      if (!(pointer.root instanceof Uint8Array) || pointer.root.length !== 32) {
        throw bad(`a blake3 pointer's root is 32 bytes, got ${pointer.root?.length}`)
      }
      return formatContentId(pointer.root, 'blake3')
    case 'ipfs': {
      const canonical = pointerOfCid(cidOf(pointer), pointer.cid)
      return canonical.kind === 'ipfs' ? `ipfs://${canonical.cid}` : formatPointer(canonical)
    }
    case 'http': {
      const canonical = parseHttp(
        `${String(pointer.url).split('#')[0]}#integrity=${encodeURIComponent(pointer.integrity)}`,
      ) as Extract<Pointer, { kind: 'http' }>
      return `${canonical.url}#integrity=${canonical.integrity.replaceAll(' ', '%20')}`
    }
    default:
      throw bad(`unknown pointer kind ${JSON.stringify((pointer as { kind?: unknown })?.kind)}`)
  }
}
