/**
 * EdDSA-Poseidon on Baby Jubjub, byte-for-byte circomlib's (circomlibjs `signPoseidon`,
 * `verifyPoseidon`, `prv2pub`, `packPoint`, `packSignature`), so that a signature made here is
 * accepted by circom's `EdDSAPoseidonVerifier`.
 *
 *   h = BLAKE-512(privateKey); s = prune(h[0..32]) as LE integer; A = Base8 * (s >> 3)
 *   r = LE(BLAKE-512(h[32..64] || LE32(msg))) mod l; R8 = Base8 * r
 *   hm = Poseidon(R8.x, R8.y, A.x, A.y, msg); S = (r + hm * s) mod l
 *   signature = pack(R8) || LE32(S); valid iff Base8 * S == R8 + A * (8 * hm)
 *
 * Stricter than circomlibjs only where that costs honest signers nothing: encodings must be
 * canonical (y < p, x != 0) and keys of small order are refused. A key with a torsion component
 * verifies as in circomlib (its equation clears the cofactor), without a subgroup check.
 *
 * Measured (AMD EPYC, 2 shared cores; medians of 2,000 runs after warm-up in Node 24.21, mean of
 * 500 in Chromium 150): sign 0.9 ms / 0.5 ms (0.67 ms in Node through a `ClientKey`, which
 * keeps the expanded key); verify 1.7 / 0.7 ms for a public key seen before (decoded keys are
 * cached: public-key-cache.ts), 2.9 / 1.4 ms for a new one; Poseidon of 5 inputs 0.20 / 0.11 ms
 * of either. A verify is Base8 * S from noble's precomputed W=6 table (~0.15 ms), 8A * hm by
 * wNAF (~0.7 ms), a square root to decompress R8 (~0.5 ms) and the Poseidon hash. Checking that
 * a new key lies in the prime-order subgroup (l·A = 0) cost another ~1.2 ms (handshake message
 * + verify of a new key, same run, medians of 200: 4.68 ms with it, 3.46 ms without); it is not
 * needed, because the equation multiplies A by 8 as circomlib's does.
 */

import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import { blake512 } from '@noble/hashes/blake1.js'
import { concatBytes, randomBytes } from '@noble/hashes/utils.js'
import { BASE8, POINT_BYTES, Point, packPoint, SUBGROUP_ORDER, unpackPoint } from './babyjub.ts'
import { CryptoError } from './errors.ts'
import { assertFieldElement, FIELD_BYTES, isFieldElement } from './field.ts'
import { poseidon } from './poseidon.ts'
import { type PublicPoint, publicPointOf } from './public-key-cache.ts'

export const PRIVATE_KEY_LEN = 32
export const PUBLIC_KEY_LEN = POINT_BYTES
export const SIGNATURE_LEN = POINT_BYTES + FIELD_BYTES

/** A private key expanded once: what signing needs, so repeated signing skips the hashing. */
export interface ExpandedKey {
  /** The pruned secret scalar s (A = Base8 * (s >> 3)). */
  readonly scalar: bigint
  /** h[32..64]: the secret that makes the nonce r deterministic. */
  readonly prefix: Uint8Array
  readonly x: bigint
  readonly y: bigint
  /** The packed public key. */
  readonly publicKey: Uint8Array
}

// Base8 * k for a secret k, constant-time; noble's multiply refuses 0 (probability 2^-251).
function baseTimes(k: bigint): Point {
  return k === 0n ? Point.ZERO : BASE8.multiply(k)
}

/** 32 random bytes from the platform CSPRNG. */
export function randomPrivateKey(): Uint8Array {
  return randomBytes(PRIVATE_KEY_LEN)
}

/** Hashes and prunes a private key as circomlibjs does; throws CRYPTO_INVALID_KEY on a bad length. */
export function expandPrivateKey(privateKey: Uint8Array): ExpandedKey {
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== PRIVATE_KEY_LEN) {
    throw new CryptoError(
      'CRYPTO_INVALID_KEY',
      `a private key is ${PRIVATE_KEY_LEN} bytes, got ${privateKey instanceof Uint8Array ? privateKey.length : typeof privateKey}`,
    )
  }
  const h = blake512(privateKey)
  const pruned = h.slice(0, 32)
  pruned[0]! &= 0xf8
  pruned[31]! &= 0x7f
  pruned[31]! |= 0x40
  const scalar = bytesToNumberLE(pruned)
  const point = baseTimes((scalar >> 3n) % SUBGROUP_ORDER)
  const { x, y } = point.toAffine()
  return { scalar, prefix: h.slice(32), x, y, publicKey: packPoint(point) }
}

/** The packed public key (circomlib `packPoint(prv2pub(privateKey))`). */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return expandPrivateKey(privateKey).publicKey
}

/** Signs with an expanded key; throws CRYPTO_INVALID_FIELD unless 0 <= message < p. */
export function signExpanded(key: ExpandedKey, message: bigint): Uint8Array {
  assertFieldElement(message, 'message')
  const nonce = blake512(concatBytes(key.prefix, numberToBytesLE(message, FIELD_BYTES)))
  const r = bytesToNumberLE(nonce) % SUBGROUP_ORDER
  const R8 = baseTimes(r)
  const { x, y } = R8.toAffine()
  const hm = poseidon([x, y, key.x, key.y, message])
  const S = (r + hm * key.scalar) % SUBGROUP_ORDER
  return concatBytes(packPoint(R8), numberToBytesLE(S, FIELD_BYTES))
}

/** A 64-byte signature of `message` (a field element: see `messageOf` for bytes). */
export function sign(privateKey: Uint8Array, message: bigint): Uint8Array {
  return signExpanded(expandPrivateKey(privateKey), message)
}

/** A signature's parts, decoded and checked (encodings, ranges, key), with its hm. */
export interface ParsedSignature {
  readonly A: PublicPoint
  readonly R8: Point
  readonly S: bigint
  /** Poseidon(R8.x, R8.y, A.x, A.y, message) mod l. */
  readonly h: bigint
}

/**
 * Every check of `verify` but the equation: undefined for anything malformed (wrong lengths or
 * types, a message outside the field, a non-canonical or off-curve point, a key of small order,
 * S >= l). Shared with the cofactored check of eddsa-poseidon-batch.ts.
 */
export function parseSignature(
  publicKey: Uint8Array,
  message: bigint,
  signature: Uint8Array,
): ParsedSignature | undefined {
  if (!isFieldElement(message)) return undefined
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LEN) return undefined
  const A = publicPointOf(publicKey)
  if (A === undefined) return undefined
  const S = bytesToNumberLE(signature.subarray(POINT_BYTES))
  if (S >= SUBGROUP_ORDER) return undefined
  const R8 = unpackPoint(signature.subarray(0, POINT_BYTES))
  if (R8 === undefined) return undefined
  const { x, y } = R8.toAffine()
  // A * (8 * hm) = (8A) * hm, and 8A has order l, so hm reduces mod l.
  const h = poseidon([x, y, A.x, A.y, message]) % SUBGROUP_ORDER
  return { A, R8, S, h }
}

/**
 * True iff `signature` is a valid signature of `message` under `publicKey`. False, never an
 * exception, for anything malformed (see `parseSignature`).
 */
export function verify(publicKey: Uint8Array, message: bigint, signature: Uint8Array): boolean {
  const parsed = parseSignature(publicKey, message, signature)
  if (parsed === undefined) return false
  // Variable-time is fine: everything here is public. circomlib's equation, torsion in A included.
  const left = BASE8.multiplyUnsafe(parsed.S)
  const right = parsed.R8.add(parsed.A.cleared.multiplyUnsafe(parsed.h))
  return left.equals(right)
}

/**
 * The affine point of a packed public key; throws CRYPTO_INVALID_KEY unless it is the canonical
 * encoding of a curve point not of small order.
 */
export function decodePublicKey(bytes: Uint8Array): { x: bigint; y: bigint } {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PUBLIC_KEY_LEN) {
    throw new CryptoError(
      'CRYPTO_INVALID_KEY',
      `a public key is ${PUBLIC_KEY_LEN} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
    )
  }
  const decoded = publicPointOf(bytes)
  if (decoded === undefined) {
    throw new CryptoError(
      'CRYPTO_INVALID_KEY',
      'not a public key: no curve point outside the small-order ones has this encoding',
    )
  }
  return { x: decoded.x, y: decoded.y }
}
