/**
 * The seam between the BLAKE3 tree logic and the code that does the compressions.
 *
 * A kernel hashes many independent inputs of equal shape at once (BLAKE3's `hash_many`):
 * whole chunks of a subtree, or the parent nodes of one tree level. Everything else (partial
 * chunks, root finalisation, extendable output, tree shape) lives in portable TypeScript
 * above this interface, so a SIMD kernel only has to be fast at the bulk of the work.
 */
export interface Blake3Kernel {
  /** Short name for benchmarks and logs, e.g. `wasm-simd` or `portable`. */
  readonly name: string

  /**
   * Chaining values of `count` whole chunks (1024 bytes each) stored back to back in `input`
   * starting at `inputOffset`. Chunk `i` uses counter `counter + i`; every compression ORs
   * `flags` (0, KEYED_HASH or DERIVE_KEY_*), the first CHUNK_START, the last CHUNK_END.
   * Writes `32 * count` bytes to `out` at `outOffset`. `counter` may exceed 2^32 (up to 2^53).
   */
  chunks(
    input: Uint8Array,
    inputOffset: number,
    count: number,
    counter: number,
    key: Uint32Array,
    flags: number,
    out: Uint8Array,
    outOffset: number,
  ): void

  /**
   * Non-root parent chaining values of `count` parents. Parent `i` compresses the 64 bytes
   * `input[inputOffset + 64 i ..]` (left CV then right CV) with counter 0, block length 64 and
   * flags `PARENT | flags`. Writes `32 * count` bytes to `out` at `outOffset`; `out` may be
   * `input` with `outOffset <= inputOffset` (levels are reduced in place).
   */
  parents(
    input: Uint8Array,
    inputOffset: number,
    count: number,
    key: Uint32Array,
    flags: number,
    out: Uint8Array,
    outOffset: number,
  ): void
}
