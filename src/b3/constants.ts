/** BLAKE3 parameters (spec §2) and Fleek's blake3-tree block size. */

/** Bytes per compression input. */
export const BLOCK_LEN = 64
/** Bytes per chunk: 16 compressions. */
export const CHUNK_LEN = 1024
/** Bytes of a chaining value / default output. */
export const OUT_LEN = 32
export const KEY_LEN = 32

/** Fleek's blake3-tree block: 256 KiB, i.e. 256 chunks, the unit of proofs and streaming. */
export const TREE_BLOCK_LEN = 262_144
export const CHUNKS_PER_TREE_BLOCK = TREE_BLOCK_LEN / CHUNK_LEN
/** Size of one proof hash (a chaining value or the root). */
export const HASH_LEN = 32

export const CHUNK_START = 1
export const CHUNK_END = 2
export const PARENT = 4
export const ROOT = 8
export const KEYED_HASH = 16
export const DERIVE_KEY_CONTEXT = 32
export const DERIVE_KEY_MATERIAL = 64

/** The initialisation vector: SHA-256's, as 8 little-endian words. */
export const IV: Readonly<Uint32Array> = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
)

/** The message word permutation applied between rounds. */
export const MSG_PERMUTATION: readonly number[] = [
  2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8,
]
