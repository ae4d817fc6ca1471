/**
 * The hashes of the state's authenticated map: BLAKE3 in derive-key mode, one context per kind
 * of input (DESIGN.md, "Encoding and hashing"), so a leaf can never pass for a node nor a value
 * for a key path.
 *
 *   path(table, key) = derive("fulmen 2026 state key",   u8 len(table) ‖ table ‖ key)
 *   valueHash(value) = derive("fulmen 2026 state value", value)
 *   leaf(path, vh)   = derive("fulmen 2026 state leaf",  path ‖ vh)
 *   node(left, right)= derive("fulmen 2026 state node",  left ‖ right)
 *
 * The empty subtree (and so the empty map's root) is 32 zero bytes, never hashed.
 *
 * Each context key is derived once (BLAKE3 derive-key is the keyed compression of the material
 * under the context's key): this is 3x faster than `deriveKey` per call and faster than
 * `@noble/hashes` on these 64-byte inputs (docs/benchmarks.md, "state").
 */
import { compress } from '../b3/compress.ts'
import {
  BLOCK_LEN,
  CHUNK_END,
  CHUNK_START,
  DERIVE_KEY_CONTEXT,
  DERIVE_KEY_MATERIAL,
  IV,
  ROOT,
} from '../b3/constants.ts'
import { activeKernel } from '../b3/engine.ts'
import { outputRoot } from '../b3/output.ts'
import { subtreeOutput } from '../b3/subtree.ts'
import { keyWords, readBlockWords, readWords, writeWords } from '../b3/words.ts'
import { StateError } from './errors.ts'

export const HASH_LEN = 32
/** Bits in a key path: the tree's depth bound. */
export const PATH_BITS = 256
/** The root of the empty map and the hash of every empty subtree. */
export const EMPTY_HASH: Uint8Array = new Uint8Array(HASH_LEN)

const utf8 = new TextEncoder()

type ContextKey = Uint32Array

function contextKey(context: string): ContextKey {
  const bytes = utf8.encode(context)
  const out = subtreeOutput(
    activeKernel(),
    bytes,
    0,
    bytes.length,
    0,
    IV as Uint32Array,
    DERIVE_KEY_CONTEXT,
  )
  return keyWords(outputRoot(out, HASH_LEN))
}

const KEY_CONTEXT = contextKey('fulmen 2026 state key')
const VALUE_CONTEXT = contextKey('fulmen 2026 state value')
const LEAF_CONTEXT = contextKey('fulmen 2026 state leaf')
const NODE_CONTEXT = contextKey('fulmen 2026 state node')

/** One block's message words and the compression's output: reused, the hashing is synchronous. */
const blockWords = new Uint32Array(16)
const outWords = new Uint32Array(16)
/** The flags of a one-block input's only compression: a whole chunk that is the root. */
const ONE_BLOCK_FLAGS = DERIVE_KEY_MATERIAL | CHUNK_START | CHUNK_END | ROOT

/**
 * The 32-byte root of a one-block input (≤ 64 bytes, in `blockWords`): one compression, no
 * chunk or output objects (the tree hashes ~25 such inputs per changed entry; this path is
 * BLAKE3's own for a one-block chunk, equal to `derive` byte for byte).
 */
function deriveOneBlock(key: ContextKey, blockLen: number): Uint8Array {
  compress(key, 0, blockWords, 0, 0, blockLen, ONE_BLOCK_FLAGS, outWords, 0)
  const out = new Uint8Array(HASH_LEN)
  writeWords(outWords, 0, 8, out, 0)
  return out
}

function derive(key: ContextKey, material: Uint8Array): Uint8Array {
  if (material.length <= BLOCK_LEN) {
    readBlockWords(material, 0, material.length, blockWords)
    return deriveOneBlock(key, material.length)
  }
  const out = subtreeOutput(
    activeKernel(),
    material,
    0,
    material.length,
    0,
    key,
    DERIVE_KEY_MATERIAL,
  )
  return outputRoot(out, HASH_LEN)
}

/**
 * BLAKE3 derive-key under `context` with the context's key derived once, here: equal to
 * `deriveKey(context, material)` byte for byte, without hashing the context string per call
 * (the executor derives a transaction digest and a block's roots this way).
 */
export function deriverOf(context: string): (material: Uint8Array) => Uint8Array {
  const key = contextKey(context)
  return (material) => derive(key, material)
}

/** Table names encoded before (a block hashes a key path per change, over a few tables).
 * Bounded: cleared when full. Callers only read the bytes. */
const tableNames = new Map<string, Uint8Array>()

/** The encoded table name, checked: 1..255 UTF-8 bytes. */
export function tableBytes(table: string): Uint8Array {
  if (typeof table !== 'string') {
    throw new StateError('STATE_INVALID_ARGUMENT', 'a table name is a string')
  }
  const known = tableNames.get(table)
  if (known !== undefined) return known
  const bytes = utf8.encode(table)
  if (bytes.length === 0 || bytes.length > 255) {
    throw new StateError(
      'STATE_INVALID_ARGUMENT',
      `a table name is 1 to 255 UTF-8 bytes, got ${bytes.length}`,
    )
  }
  if (tableNames.size >= 256) tableNames.clear()
  tableNames.set(table, bytes)
  return bytes
}

export function checkBytes(what: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new StateError('STATE_INVALID_ARGUMENT', `${what} is a Uint8Array`)
  }
}

/** The 256-bit path of an entry: where (table, key) sits in the tree. */
export function keyPath(table: string, key: Uint8Array): Uint8Array {
  checkBytes('a key', key)
  const name = tableBytes(table)
  // The length prefix makes (table, key) → material one-to-one: ("ab", "c") ≠ ("a", "bc").
  const material = new Uint8Array(1 + name.length + key.length)
  material[0] = name.length
  material.set(name, 1)
  material.set(key, 1 + name.length)
  return derive(KEY_CONTEXT, material)
}

export function valueHash(value: Uint8Array): Uint8Array {
  return derive(VALUE_CONTEXT, value)
}

/** Two 32-byte hashes as one block's words: the material of a leaf or a node. */
function pairWords(a: Uint8Array, b: Uint8Array): void {
  readWords(a, 0, 8, blockWords, 0)
  readWords(b, 0, 8, blockWords, 8)
}

export function leafHash(path: Uint8Array, valueDigest: Uint8Array): Uint8Array {
  pairWords(path, valueDigest)
  return deriveOneBlock(LEAF_CONTEXT, 2 * HASH_LEN)
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  pairWords(left, right)
  return deriveOneBlock(NODE_CONTEXT, 2 * HASH_LEN)
}

/** Bit `depth` of `path`, most significant bit of byte 0 first: 0 goes left, 1 right. */
export function pathBit(path: Uint8Array, depth: number): number {
  return (path[depth >> 3]! >> (7 - (depth & 7))) & 1
}

export function isEmptyHash(hash: Uint8Array): boolean {
  for (let i = 0; i < HASH_LEN; i++) if (hash[i] !== 0) return false
  return true
}
