/**
 * Content ids: the 32-byte BLAKE3 root of some content, and its accepted spellings.
 *
 * - 64 hex characters, any case (the canonical, printed form is lowercase);
 * - `blake3:` followed by 64 hex characters;
 * - a CIDv1 with codec `raw` (0x55) and a blake3 multihash (0x1e) of 32 bytes, in any
 *   multibase `multiformats` decodes. The canonical CID is base32 (`bafkr4...`).
 *
 * A string of exactly 64 hex characters is always read as hex, never as a multibase string.
 * Anything else throws `B3Error('B3_BAD_CONTENT_ID')`, and nothing but that.
 */

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { base2 } from 'multiformats/bases/base2'
import { base8 } from 'multiformats/bases/base8'
import { base10 } from 'multiformats/bases/base10'
import { base16, base16upper } from 'multiformats/bases/base16'
import * as base32s from 'multiformats/bases/base32'
import { base36, base36upper } from 'multiformats/bases/base36'
import { base58btc, base58flickr } from 'multiformats/bases/base58'
import * as base64s from 'multiformats/bases/base64'
import { base256emoji } from 'multiformats/bases/base256emoji'
import { identity } from 'multiformats/bases/identity'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { HASH_LEN } from './constants.ts'
import { B3Error } from './errors.ts'

/** Multicodec `raw`: the CID names plain bytes. */
export const RAW_CODEC = 0x55
/** Multihash code of BLAKE3. */
export const BLAKE3_MULTIHASH = 0x1e

/** How `formatContentId` spells an id. */
export type ContentIdSpelling = 'hex' | 'blake3' | 'cid'

/** One content id in every spelling. */
export interface ContentIdSpellings {
  readonly hex: string
  readonly blake3: string
  readonly cid: string
}

const BLAKE3_PREFIX = 'blake3:'
const HEX_ID = /^[0-9a-f]{64}$/i
const HEX_ONLY = /^[0-9a-f]*$/i
/** Longer than any CID of 36 bytes in any multibase (base2 needs 289 characters). */
const MAX_INPUT_LEN = 512

/** Every multibase `multiformats` ships, by prefix (some prefixes are two UTF-16 units). */
const multibases = [
  base2,
  base8,
  base10,
  base16,
  base16upper,
  ...Object.values(base32s),
  base36,
  base36upper,
  base58btc,
  base58flickr,
  ...Object.values(base64s),
  base256emoji,
  identity,
]

function bad(message: string): B3Error {
  return new B3Error('B3_BAD_CONTENT_ID', message)
}

/** The input as it may appear in a message: quoted, control characters escaped, shortened. */
export function shown(input: string): string {
  const short = input.length > 80 ? `${input.slice(0, 77)}...` : input
  return JSON.stringify(short)
}

/**
 * Any CID in any multibase `multiformats` knows (a CIDv0 is bare base58btc starting with "Q"),
 * or why the text is not one: `'no-multibase'` when no known prefix starts it.
 */
export function decodeCid(text: string): { readonly cid: CID } | { readonly reason: string } {
  if (text.length === 0 || text.length > MAX_INPUT_LEN) return { reason: `length ${text.length}` }
  const base = multibases.find((b) => text.startsWith(b.prefix))
  if (base === undefined && !text.startsWith('Q')) return { reason: 'no-multibase' }
  try {
    return { cid: CID.parse(text, base?.decoder) as CID }
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) }
  }
}

function parseCid(text: string): Uint8Array {
  const decoded = decodeCid(text)
  if ('reason' in decoded) {
    // Plain hex of the wrong length is far more likely than a broken base16 CID: say so.
    if (HEX_ONLY.test(text)) throw bad(`hex content id must be 64 characters, got ${text.length}`)
    if (decoded.reason === 'no-multibase') {
      throw bad(
        `${shown(text)} is not a content id: expected 64 hex characters, blake3:<hex> or a CIDv1 (raw, blake3)`,
      )
    }
    throw bad(`${shown(text)} is not a valid CID: ${decoded.reason}`)
  }
  const { cid } = decoded
  if (cid.version !== 1) {
    throw bad(`${shown(text)} is a CIDv0 (dag-pb, sha2-256), not a content id; expected a CIDv1`)
  }
  if (cid.code !== RAW_CODEC) {
    throw bad(`CID codec is 0x${cid.code.toString(16)}, expected raw (0x55)`)
  }
  if (cid.multihash.code !== BLAKE3_MULTIHASH) {
    throw bad(`CID multihash is 0x${cid.multihash.code.toString(16)}, expected blake3 (0x1e)`)
  }
  if (cid.multihash.size !== HASH_LEN || cid.multihash.digest.length !== HASH_LEN) {
    throw bad(`CID blake3 digest is ${cid.multihash.size} bytes, expected ${HASH_LEN}`)
  }
  return cid.multihash.digest.slice()
}

/** Reads a content id in any accepted spelling. Errors: B3_BAD_CONTENT_ID. */
export function parseContentId(input: string): Uint8Array {
  if (typeof input !== 'string') throw bad(`a content id is a string, got ${typeof input}`)
  const text = input.trim()
  if (text === '') throw bad('content id is empty')
  if (text.length > MAX_INPUT_LEN) {
    throw bad(
      `content id is ${text.length} characters long; no spelling is longer than ${MAX_INPUT_LEN}`,
    )
  }
  if (HEX_ID.test(text)) return hexToBytes(text)
  if (text.toLowerCase().startsWith(BLAKE3_PREFIX)) {
    const rest = text.slice(BLAKE3_PREFIX.length)
    if (HEX_ID.test(rest)) return hexToBytes(rest)
    throw bad(`${shown(text)}: ${BLAKE3_PREFIX} must be followed by exactly 64 hex characters`)
  }
  return parseCid(text)
}

/** Spells a 32-byte root. `cid` is the canonical CIDv1 (raw, blake3) in base32. */
export function formatContentId(root: Uint8Array, spelling: ContentIdSpelling = 'hex'): string {
  if (!(root instanceof Uint8Array) || root.length !== HASH_LEN) {
    throw new B3Error(
      'B3_INVALID_ARGUMENT',
      `a content id has ${HASH_LEN} bytes, got ${root?.length}`,
    )
  }
  switch (spelling) {
    case 'hex':
      return bytesToHex(root)
    case 'blake3':
      return `${BLAKE3_PREFIX}${bytesToHex(root)}`
    case 'cid':
      return CID.createV1(RAW_CODEC, createDigest(BLAKE3_MULTIHASH, root)).toString(base32s.base32)
    default:
      throw new B3Error(
        'B3_INVALID_ARGUMENT',
        `unknown content id spelling ${JSON.stringify(spelling)}`,
      )
  }
}

/** The root in all three spellings. */
export function contentIdSpellings(root: Uint8Array): ContentIdSpellings {
  return {
    hex: formatContentId(root, 'hex'),
    blake3: formatContentId(root, 'blake3'),
    cid: formatContentId(root, 'cid'),
  }
}
