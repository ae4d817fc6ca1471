/**
 * Claims settled with DA batch proofs (circuits/da_batch.circom) instead of one signature check
 * each: the claims of a `SubmitDeliveryClaims` come in batches of `DA_BATCH_SLOTS`, in order
 * (the last may be short), and batch i is proven by proofs[i]. A batch's proof is checked
 * against `batchDigest` of its commitments, so it vouches for exactly those commitments in
 * that order; its claims' reveals are then checked natively, as `checkClaims` does.
 *
 * A batch whose proof is malformed or does not verify fails as a whole (the proof cannot say
 * which signature was bad; an honest prover cannot prove a forged one). The outcome has the
 * shape of `checkClaims`'s, so the chain settles both the same way.
 */
import { batchDigest, canonicalClientKey } from './batch-binding.ts'
import { asAckError, CLAIM_LEN, type ClaimCheck, checkReveal, decodeClaim } from './claim.ts'
import { COMMITMENT_LEN, decodeCommitment } from './commitment.ts'
import { DA_BATCH_SLOTS, DA_BATCH_VERIFICATION_KEY_JSON } from './da-batch-artifacts.ts'
import { AckError } from './errors.ts'
import {
  activeGroth16Kernel,
  type Groth16Kernel,
  type Groth16VerificationKey,
  parseVerificationKey,
  readProof,
  verifyGroth16,
} from './groth16.ts'

let key: Groth16VerificationKey | undefined

/** The chain's verification key for DA batch proofs (parsed, with its checks, once). */
export function daBatchKey(): Groth16VerificationKey {
  key ??= parseVerificationKey(DA_BATCH_VERIFICATION_KEY_JSON)
  return key
}

/** How many proofs `claims` claims need: one per batch of DA_BATCH_SLOTS. */
export function proofsFor(claims: number): number {
  return Math.ceil(claims / DA_BATCH_SLOTS)
}

/**
 * Checks claims that came with batch proofs. Never throws: a bad claim or batch is an
 * `ok: false` (ACK_PROOF_MALFORMED, ACK_PROOF_INVALID for the whole batch; the per-claim codes
 * of `checkClaims` otherwise). The caller has checked `proofs.length === proofsFor(n)`.
 */
export function checkProvenClaims(
  encoded: readonly Uint8Array[],
  proofs: readonly Uint8Array[],
  kernel: Groth16Kernel = activeGroth16Kernel(),
): ClaimCheck[] {
  if (proofs.length !== proofsFor(encoded.length)) {
    const error = new AckError(
      'ACK_PROOF_MALFORMED',
      `${encoded.length} claims take ${proofsFor(encoded.length)} proofs, got ${proofs.length}`,
    )
    return encoded.map(() => ({ ok: false, error }))
  }
  const results: ClaimCheck[] = []
  proofs.forEach((proofBytes, batch) => {
    const members = encoded.slice(batch * DA_BATCH_SLOTS, (batch + 1) * DA_BATCH_SLOTS)
    const failed = batchFailure(members, proofBytes, kernel)
    for (const bytes of members) {
      results.push(failed === undefined ? checkMember(bytes) : { ok: false, error: failed })
    }
  })
  return results
}

function batchFailure(
  members: readonly Uint8Array[],
  proofBytes: Uint8Array,
  kernel: Groth16Kernel,
): AckError | undefined {
  try {
    for (const bytes of members) {
      if (!(bytes instanceof Uint8Array) || bytes.length !== CLAIM_LEN) {
        throw new AckError('ACK_MALFORMED', `a claim is ${CLAIM_LEN} bytes, got ${bytes?.length}`)
      }
    }
    const proof = readProof(proofBytes)
    const digest = batchDigest(members.map((b) => b.subarray(0, COMMITMENT_LEN)))
    if (!verifyGroth16(kernel, daBatchKey(), [digest], proof)) {
      return new AckError('ACK_PROOF_INVALID', 'the batch proof does not verify for these claims')
    }
    return undefined
  } catch (e) {
    const error = asAckError(e)
    // Said of the batch's proof, so that a reader of the reason knows what was refused.
    return error.code === 'ACK_PROOF_MALFORMED'
      ? new AckError(error.code, `the batch proof is malformed: ${error.message}`)
      : error
  }
}

/** A claim of a proven batch: its signature is vouched for; the rest is checked here. */
function checkMember(bytes: Uint8Array): ClaimCheck {
  try {
    const claim = decodeClaim(bytes)
    // The circuit ties the key's bytes to a point modulo p: y + p would pass it as y.
    if (!canonicalClientKey(claim.commitment)) {
      throw new AckError('ACK_MALFORMED', 'the client key is not canonically encoded')
    }
    return checkReveal(claim, decodeCommitment(claim.commitment))
  } catch (e) {
    return { ok: false, error: asAckError(e) }
  }
}
