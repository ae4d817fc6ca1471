/**
 * State proofs: that (table, key) holds a value, or nothing, under a state root. The verifier is
 * a pure function of (root, table, key, value | undefined, proof bytes): no storage, no Node
 * built-ins, so a browser checks an entry a node served it.
 *
 * Layout (docs/protocol.md, "State proofs"), fixed binary, one encoding per proof:
 *
 *   kind      u8     0 = the key's own leaf (presence; the verifier brings the value)
 *                    1 = an empty subtree on the key's path (absence)
 *                    2 = another key's leaf on the key's path (absence)
 *   depth     u16be  where the path ends: 0..256
 *   bitmap    ⌈depth/8⌉ bytes, bit i (MSB first) set when the sibling at depth i is not empty;
 *                    bits past `depth` are zero
 *   siblings  32 bytes for each set bit, from the root down
 *   leaf      kind 2 only: the other key's path (32) and value hash (32)
 *
 * Empty siblings cost one bit, which is what keeps a proof in a million-entry table near
 * 21 × 32 bytes.
 */
import { equalBytes } from '../core/bytes.ts'
import { StateError } from './errors.ts'
import {
  checkBytes,
  EMPTY_HASH,
  HASH_LEN,
  isEmptyHash,
  keyPath,
  leafHash,
  nodeHash,
  PATH_BITS,
  pathBit,
  valueHash,
} from './state-hash.ts'

export const PROOF_PRESENT = 0
export const PROOF_EMPTY = 1
export const PROOF_OTHER_LEAF = 2

export type StateProofTerminal =
  | { readonly kind: typeof PROOF_PRESENT }
  | { readonly kind: typeof PROOF_EMPTY }
  | {
      readonly kind: typeof PROOF_OTHER_LEAF
      readonly path: Uint8Array
      readonly valueHash: Uint8Array
    }

/** A decoded proof: the siblings from the root down (EMPTY_HASH where empty) and its end. */
export interface DecodedStateProof {
  readonly siblings: readonly Uint8Array[]
  readonly terminal: StateProofTerminal
}

/** The largest proof: depth 256 with every sibling written out and another key's leaf. */
export const MAX_STATE_PROOF_LEN = 3 + PATH_BITS / 8 + PATH_BITS * HASH_LEN + 2 * HASH_LEN

export function encodeStateProof(proof: DecodedStateProof): Uint8Array {
  const depth = proof.siblings.length
  if (depth > PATH_BITS) {
    throw new StateError('STATE_INVALID_ARGUMENT', `a proof is at most ${PATH_BITS} deep`)
  }
  const bitmapLen = Math.ceil(depth / 8)
  let present = 0
  for (const s of proof.siblings) if (!isEmptyHash(s)) present++
  const tail = proof.terminal.kind === PROOF_OTHER_LEAF ? 2 * HASH_LEN : 0
  const out = new Uint8Array(3 + bitmapLen + present * HASH_LEN + tail)
  out[0] = proof.terminal.kind
  out[1] = depth >> 8
  out[2] = depth & 0xff
  let at = 3 + bitmapLen
  proof.siblings.forEach((s, i) => {
    if (isEmptyHash(s)) return
    out[3 + (i >> 3)]! |= 0x80 >> (i & 7)
    out.set(s, at)
    at += HASH_LEN
  })
  if (proof.terminal.kind === PROOF_OTHER_LEAF) {
    out.set(proof.terminal.path, at)
    out.set(proof.terminal.valueHash, at + HASH_LEN)
  }
  return out
}

function malformed(message: string): StateError {
  return new StateError('STATE_PROOF_MALFORMED', message)
}

/** Decodes proof bytes, refusing every encoding but the one `encodeStateProof` writes. */
export function decodeStateProof(bytes: Uint8Array): DecodedStateProof {
  checkBytes('a proof', bytes)
  if (bytes.length < 3) throw malformed(`a proof is at least 3 bytes, got ${bytes.length}`)
  const kind = bytes[0]!
  if (kind !== PROOF_PRESENT && kind !== PROOF_EMPTY && kind !== PROOF_OTHER_LEAF) {
    throw malformed(`unknown proof kind ${kind}`)
  }
  const depth = (bytes[1]! << 8) | bytes[2]!
  if (depth > PATH_BITS) throw malformed(`proof depth ${depth} is over ${PATH_BITS}`)
  const bitmapLen = Math.ceil(depth / 8)
  if (bytes.length < 3 + bitmapLen) throw malformed('a proof shorter than its bitmap')
  let present = 0
  for (let i = 0; i < bitmapLen * 8; i++) {
    const bit = (bytes[3 + (i >> 3)]! >> (7 - (i & 7))) & 1
    if (bit === 0) continue
    if (i >= depth) throw malformed('a bitmap bit set past the proof depth')
    present++
  }
  const tail = kind === PROOF_OTHER_LEAF ? 2 * HASH_LEN : 0
  const expected = 3 + bitmapLen + present * HASH_LEN + tail
  if (bytes.length !== expected) {
    throw malformed(`a proof of this bitmap is ${expected} bytes, got ${bytes.length}`)
  }
  const siblings: Uint8Array[] = []
  let at = 3 + bitmapLen
  for (let i = 0; i < depth; i++) {
    if (((bytes[3 + (i >> 3)]! >> (7 - (i & 7))) & 1) === 0) {
      siblings.push(EMPTY_HASH)
      continue
    }
    const s = bytes.slice(at, at + HASH_LEN)
    if (isEmptyHash(s)) throw malformed('an empty sibling written out (its bit must be clear)')
    siblings.push(s)
    at += HASH_LEN
  }
  if (kind === PROOF_OTHER_LEAF) {
    const path = bytes.slice(at, at + HASH_LEN)
    const vh = bytes.slice(at + HASH_LEN, at + 2 * HASH_LEN)
    return { siblings, terminal: { kind, path, valueHash: vh } }
  }
  return { siblings, terminal: { kind } }
}

function mismatch(message: string): StateError {
  return new StateError('STATE_PROOF_MISMATCH', message)
}

/** Whether the first `bits` bits of `a` and `b` agree. */
function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) if (pathBit(a, i) !== pathBit(b, i)) return false
  return true
}

/**
 * Checks that under `root`, (table, key) holds `value` (or nothing, when `value` is undefined).
 * Returns normally when the proof proves it; throws `StateError` otherwise:
 * STATE_PROOF_MALFORMED for bytes that are no proof, STATE_PROOF_MISMATCH for a proof of
 * something else, STATE_INVALID_ARGUMENT for a bad root, table or key.
 */
export function checkStateProof(
  root: Uint8Array,
  table: string,
  key: Uint8Array,
  value: Uint8Array | undefined,
  proof: Uint8Array,
): void {
  checkBytes('a root', root)
  if (root.length !== HASH_LEN) {
    throw new StateError('STATE_INVALID_ARGUMENT', `a root is ${HASH_LEN} bytes`)
  }
  if (value !== undefined) checkBytes('a value', value)
  const path = keyPath(table, key)
  const { siblings, terminal } = decodeStateProof(proof)
  const depth = siblings.length
  let hash: Uint8Array
  if (value !== undefined) {
    if (terminal.kind !== PROOF_PRESENT) throw mismatch('the proof shows the key absent')
    hash = leafHash(path, valueHash(value))
  } else if (terminal.kind === PROOF_PRESENT) {
    throw mismatch('the proof shows the key present')
  } else if (terminal.kind === PROOF_EMPTY) {
    hash = EMPTY_HASH
  } else {
    // Another key's leaf where the key's path ends: it must lie on that path, and not be the key.
    if (equalBytes(terminal.path, path)) throw mismatch('the proof shows the key present')
    if (!samePrefix(terminal.path, path, depth)) {
      throw mismatch("the proof's leaf is off the key's path")
    }
    hash = leafHash(terminal.path, terminal.valueHash)
  }
  for (let d = depth - 1; d >= 0; d--) {
    const sibling = siblings[d]!
    hash = pathBit(path, d) === 0 ? nodeHash(hash, sibling) : nodeHash(sibling, hash)
  }
  if (!equalBytes(hash, root)) throw mismatch('the proof leads to another root')
}

/** `checkStateProof` as a boolean: false for any proof that does not prove the claim. */
export function verifyStateProof(
  root: Uint8Array,
  table: string,
  key: Uint8Array,
  value: Uint8Array | undefined,
  proof: Uint8Array,
): boolean {
  try {
    checkStateProof(root, table, key, value, proof)
    return true
  } catch (e) {
    if (e instanceof StateError) return false
    throw e
  }
}
