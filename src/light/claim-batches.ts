/**
 * A settlement's batch proofs checked where the reader is (issue 18): a `SubmitDeliveryClaims`
 * transaction as a block carries it, its claims in batches of DA_BATCH_SLOTS, each batch's
 * Groth16 proof verified against `batchDigest` of its commitments (src/acks/proven-claims.ts),
 * timed. The committee ran the same check to settle them; a page runs it in its light client's
 * worker (noble's kernel: ~75 ms a proof in Node, no WebAssembly) to see it hold for itself.
 *
 *   checkClaimBatches(bytes)   // [{ batch: '3fa2…', claims: 5, valid: true, ms: 74 }, …]
 *
 * Isomorphic and pure: no chain state is read, so it says whether the proofs hold for these
 * claims, not whether the chain settled them (a claim already settled, a client key not
 * registered: the receipt's events say that).
 */
import { batchDigest } from '../acks/batch-binding.ts'
import { COMMITMENT_LEN } from '../acks/commitment.ts'
import { DA_BATCH_SLOTS } from '../acks/da-batch-artifacts.ts'
import { type Groth16Kernel, nobleGroth16Kernel } from '../acks/groth16.ts'
import { checkProvenClaims } from '../acks/proven-claims.ts'
import { StateError } from '../state/errors.ts'
import { decodeTransaction } from '../state/transaction.ts'

/** One proven batch of a `SubmitDeliveryClaims`, as checked here. */
export interface ClaimBatchCheck {
  /** The batch's id: `batchDigest` of its commitments (the proof's public signal), 64 hex. */
  readonly batch: string
  /** Claims in the batch (DA_BATCH_SLOTS, the last batch maybe fewer). */
  readonly claims: number
  /** The proof verifies for exactly these claims, in this order. */
  readonly valid: boolean
  /** Why not, when not: ACK_PROOF_INVALID (it does not verify), ACK_PROOF_MALFORMED. */
  readonly code?: string
  /** The check's time, milliseconds. */
  readonly ms: number
}

export interface ClaimBatchOptions {
  /** The pairing kernel (default noble's: what a browser has). */
  readonly kernel?: Groth16Kernel
  /** The clock the check is timed with (default performance.now). */
  readonly now?: () => number
}

/**
 * Each proven batch of the encoded `SubmitDeliveryClaims` `transaction`, checked: [] when it
 * carries no proofs (its claims go through a signature check each). Throws TransactionError
 * (TX_MALFORMED, TX_TOO_LARGE) for bytes that are not a transaction, StateError
 * (STATE_INVALID_ARGUMENT) for a transaction of another method; a proof that fails is
 * `valid: false` with its code, never thrown.
 */
export function checkClaimBatches(
  transaction: Uint8Array,
  options: ClaimBatchOptions = {},
): ClaimBatchCheck[] {
  const { method } = decodeTransaction(transaction).payload
  if (method.type !== 'SubmitDeliveryClaims') {
    throw new StateError(
      'STATE_INVALID_ARGUMENT',
      `the transaction is a ${method.type}, not a SubmitDeliveryClaims`,
    )
  }
  const kernel = options.kernel ?? nobleGroth16Kernel
  const now = options.now ?? (() => performance.now())
  // The decoder took one proof per batch (TX_MALFORMED otherwise), each claim CLAIM_LEN bytes.
  return (method.proofs ?? []).map((proof, i) => {
    const members = method.claims.slice(i * DA_BATCH_SLOTS, (i + 1) * DA_BATCH_SLOTS)
    const started = now()
    const checks = checkProvenClaims(members, [proof], kernel)
    const ms = now() - started
    const batch = batchDigest(members.map((c) => c.subarray(0, COMMITMENT_LEN)))
      .toString(16)
      .padStart(64, '0')
    // A refused proof fails every claim of its batch with ACK_PROOF_*; a claim's own checks
    // (its reveal, its index) fail with other codes, and say nothing of the proof.
    const first = checks[0]
    const refused =
      first?.ok === false && first.error.code.startsWith('ACK_PROOF_')
        ? first.error.code
        : undefined
    return refused === undefined
      ? { batch, claims: members.length, valid: true, ms }
      : { batch, claims: members.length, valid: false, code: refused, ms }
  })
}
