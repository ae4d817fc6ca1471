/**
 * Little-endian 32-bit words over byte arrays. BLAKE3 is defined on little-endian words; on
 * little-endian hosts (all we know of) an aligned `Uint32Array` view costs nothing, elsewhere
 * the bytes are assembled one by one.
 */

export const IS_LE = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1

/** Reads 16 words from `bytes[off..off+64)` into `dst`, zero-padding past `bytes.length`. */
export function readBlockWords(
  bytes: Uint8Array,
  off: number,
  len: number,
  dst: Uint32Array,
): void {
  if (len === 64 && IS_LE && ((bytes.byteOffset + off) & 3) === 0) {
    dst.set(new Uint32Array(bytes.buffer, bytes.byteOffset + off, 16))
    return
  }
  dst.fill(0)
  for (let i = 0; i < len; i++) {
    const w = i >> 2
    dst[w] = dst[w]! | (bytes[off + i]! << ((i & 3) * 8))
  }
}

/** Writes `n` words of `src` from `srcOff` as little-endian bytes at `dst[dstOff]`. */
export function writeWords(
  src: Uint32Array,
  srcOff: number,
  n: number,
  dst: Uint8Array,
  dstOff: number,
): void {
  for (let i = 0; i < n; i++) {
    const w = src[srcOff + i]!
    const o = dstOff + 4 * i
    dst[o] = w
    dst[o + 1] = w >>> 8
    dst[o + 2] = w >>> 16
    dst[o + 3] = w >>> 24
  }
}

/** Reads `n` little-endian words from `src[srcOff..]` into `dst[dstOff..]`. */
export function readWords(
  src: Uint8Array,
  srcOff: number,
  n: number,
  dst: Uint32Array,
  dstOff: number,
): void {
  for (let i = 0; i < n; i++) {
    const o = srcOff + 4 * i
    dst[dstOff + i] =
      (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0
  }
}

/** A key (or chaining value) as 8 words. */
export function keyWords(key: Uint8Array): Uint32Array {
  const words = new Uint32Array(8)
  readWords(key, 0, 8, words, 0)
  return words
}
