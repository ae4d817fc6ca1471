/**
 * Test support: BLAKE3 as two other implementations compute it, hash-wasm (the reference C
 * compiled to WebAssembly) and @noble/hashes (plain JavaScript), which must agree with each
 * other. Fulmen's hashes of files and streams are checked against this, and against the
 * committed vectors, instead of against the b3sum binary: nothing to install for `npm test`.
 */
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { blake3 as wasmBlake3 } from 'hash-wasm'

/** Lowercase hex of the 32-byte BLAKE3 hash of `data`; throws if the two implementations differ. */
export async function referenceBlake3Hex(data: Uint8Array): Promise<string> {
  const wasm = await wasmBlake3(data)
  const noble = bytesToHex(nobleBlake3(data))
  if (wasm !== noble)
    throw new Error(
      `hash-wasm and @noble/hashes disagree on ${data.length} bytes: ${wasm} vs ${noble}`,
    )
  return wasm
}
