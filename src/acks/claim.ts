/**
 * A node's claim for one commitment of a session: the signed commitment, the highest index the
 * client revealed and the value it revealed. Self-contained: anyone checks it with one
 * signature verification and `index` hashes, without the node or the client.
 *
 *   commitment[130] signature[64] index:u32be reveal[32]          (230 bytes)
 */
import { verifyBatch } from '../crypto/eddsa-poseidon-batch.ts'
import {
  COMMITMENT_LEN,
  type Commitment,
  decodeCommitment,
  messageOfBytes,
  SIGNATURE_LEN,
  verifyCommitment,
} from './commitment.ts'
import { AckError } from './errors.ts'
import { CHAIN_VALUE_LEN, chainsTo } from './hash-chain.ts'

export interface Claim {
  readonly commitment: Uint8Array
  readonly signature: Uint8Array
  /** Units acknowledged under this commitment. */
  readonly index: number
  /** c_index = H^(L-index)(seed). */
  readonly reveal: Uint8Array
}

export const CLAIM_LEN = COMMITMENT_LEN + SIGNATURE_LEN + 4 + CHAIN_VALUE_LEN

const SIGNATURE_AT = COMMITMENT_LEN
const INDEX_AT = SIGNATURE_AT + SIGNATURE_LEN
const REVEAL_AT = INDEX_AT + 4

function malformed(message: string): AckError {
  return new AckError('ACK_MALFORMED', message)
}

function checkShape(claim: Claim): void {
  if (!(claim.commitment instanceof Uint8Array) || claim.commitment.length !== COMMITMENT_LEN) {
    throw malformed(`a claim's commitment is ${COMMITMENT_LEN} bytes`)
  }
  if (!(claim.signature instanceof Uint8Array) || claim.signature.length !== SIGNATURE_LEN) {
    throw malformed(`a claim's signature is ${SIGNATURE_LEN} bytes`)
  }
  if (!Number.isInteger(claim.index) || claim.index < 0 || claim.index > 0xffff_ffff) {
    throw malformed(`a claim's index is a u32, got ${claim.index}`)
  }
  if (!(claim.reveal instanceof Uint8Array) || claim.reveal.length !== CHAIN_VALUE_LEN) {
    throw malformed(`a claim's reveal is ${CHAIN_VALUE_LEN} bytes`)
  }
}

export function encodeClaim(claim: Claim): Uint8Array {
  checkShape(claim)
  const out = new Uint8Array(CLAIM_LEN)
  out.set(claim.commitment, 0)
  out.set(claim.signature, SIGNATURE_AT)
  new DataView(out.buffer).setUint32(INDEX_AT, claim.index)
  out.set(claim.reveal, REVEAL_AT)
  return out
}

/** Reads a claim (copying it out of `bytes`); the commitment must decode, nothing is verified. */
export function decodeClaim(bytes: Uint8Array): Claim {
  if (!(bytes instanceof Uint8Array) || bytes.length !== CLAIM_LEN) {
    throw malformed(`a claim is ${CLAIM_LEN} bytes, got ${bytes?.length}`)
  }
  const commitment = bytes.slice(0, COMMITMENT_LEN)
  decodeCommitment(commitment)
  return {
    commitment,
    signature: bytes.slice(SIGNATURE_AT, INDEX_AT),
    index: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(INDEX_AT),
    reveal: bytes.slice(REVEAL_AT, CLAIM_LEN),
  }
}

/**
 * Checks a claim from scratch: the commitment's signature, `index ≤ L`, and that `reveal`
 * hashes to the anchor in `index` steps. Returns the commitment; throws AckError otherwise.
 */
export function verifyClaim(claim: Claim): Commitment {
  checkShape(claim)
  const checked = checkReveal(claim, verifyCommitment(claim.commitment, claim.signature))
  if (!checked.ok) throw checked.error
  return checked.commitment
}

/** The outcome of one claim of `checkClaims`. */
export type ClaimCheck =
  | { readonly ok: true; readonly claim: Claim; readonly commitment: Commitment }
  | { readonly ok: false; readonly error: AckError }

const FORGED = 'the commitment signature does not verify under its client key'

/**
 * Decodes and checks encoded claims together, as the chain settles them: the checks of
 * `verifyClaim`, reported in the same order (malformed, signature, overclaim, reveal), with
 * the signatures checked as one batch (eddsa-poseidon-batch.ts: the cofactored equation, about
 * a tenth of the cost of checking each alone). Never throws: a bad claim is an `ok: false`.
 */
export function checkClaims(encoded: readonly Uint8Array[]): ClaimCheck[] {
  const results: (ClaimCheck | undefined)[] = []
  const pending: { index: number; claim: Claim; commitment: Commitment }[] = []
  encoded.forEach((bytes, index) => {
    try {
      const claim = decodeClaim(bytes)
      pending.push({ index, claim, commitment: decodeCommitment(claim.commitment) })
      results.push(undefined)
    } catch (e) {
      results.push({ ok: false, error: asAckError(e) })
    }
  })
  const signed = verifyBatch(
    pending.map(({ claim, commitment }) => ({
      publicKey: commitment.clientKey,
      message: messageOfBytes(claim.commitment),
      signature: claim.signature,
    })),
  )
  pending.forEach(({ index, claim, commitment }, i) => {
    results[index] = signed[i]
      ? checkReveal(claim, commitment)
      : { ok: false, error: new AckError('ACK_FORGED_COMMITMENT', FORGED) }
  })
  return results as ClaimCheck[]
}

/** The checks after the signature's: `index ≤ L`, and the reveal hashes to the anchor. */
export function checkReveal(claim: Claim, commitment: Commitment): ClaimCheck {
  if (claim.index > commitment.chainLength) {
    return {
      ok: false,
      error: new AckError(
        'ACK_OVERCLAIM',
        `index ${claim.index} is beyond the chain's length ${commitment.chainLength}`,
      ),
    }
  }
  if (!chainsTo(claim.reveal, claim.index, commitment.anchor)) {
    return {
      ok: false,
      error: new AckError(
        'ACK_BAD_REVEAL',
        `the reveal does not hash to the anchor in ${claim.index} steps`,
      ),
    }
  }
  return { ok: true, claim, commitment }
}

export function asAckError(e: unknown): AckError {
  return e instanceof AckError ? e : new AckError('ACK_MALFORMED', (e as Error).message)
}
