/**
 * BLAKE3's three modes over in-memory input (spec §2.3): hash, keyed hash and derive-key,
 * each with extendable output. Streams go through `TreeBuilder` instead.
 */
import {
  DERIVE_KEY_CONTEXT,
  DERIVE_KEY_MATERIAL,
  IV,
  KEY_LEN,
  KEYED_HASH,
  OUT_LEN,
} from './constants.ts'
import { activeKernel } from './engine.ts'
import { B3Error } from './errors.ts'
import { outputRoot } from './output.ts'
import { subtreeOutput } from './subtree.ts'
import { keyWords } from './words.ts'

const utf8 = new TextEncoder()

function rootOf(data: Uint8Array, key: Uint32Array, flags: number, outLen: number): Uint8Array {
  if (!Number.isSafeInteger(outLen) || outLen < 0) {
    throw new B3Error(
      'B3_INVALID_ARGUMENT',
      `output length must be a non-negative integer, got ${outLen}`,
    )
  }
  return outputRoot(subtreeOutput(activeKernel(), data, 0, data.length, 0, key, flags), outLen)
}

/** BLAKE3 hash of `data` (32 bytes unless `outLen` asks for more). */
export function hash(data: Uint8Array, outLen = OUT_LEN): Uint8Array {
  return rootOf(data, IV as Uint32Array, 0, outLen)
}

/** BLAKE3 keyed hash (a MAC / PRF) with a 32-byte key. */
export function keyedHash(key: Uint8Array, data: Uint8Array, outLen = OUT_LEN): Uint8Array {
  if (key.length !== KEY_LEN) {
    throw new B3Error(
      'B3_INVALID_ARGUMENT',
      `keyed hash needs a ${KEY_LEN}-byte key, got ${key.length}`,
    )
  }
  return rootOf(data, keyWords(key), KEYED_HASH, outLen)
}

/** BLAKE3 derive-key: a context string (hard-coded, application-unique) and key material. */
export function deriveKey(context: string, material: Uint8Array, outLen = OUT_LEN): Uint8Array {
  const contextKey = rootOf(utf8.encode(context), IV as Uint32Array, DERIVE_KEY_CONTEXT, KEY_LEN)
  return rootOf(material, keyWords(contextKey), DERIVE_KEY_MATERIAL, outLen)
}
