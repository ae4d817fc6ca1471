/**
 * The DA batch prover (circuits/da_batch.circom): claims in, a Groth16 proof of their
 * signatures out, bound to `batchDigest` of their commitments. What is here runs anywhere (a
 * Node worker thread, later a browser's Worker): the interface, the checks of a batch before it
 * is proven, and the check of a prover's output against its claims. The Node prover is
 * src/node/prover/worker-prover.ts.
 */

import {
  type BatchWitnessInput,
  batchDigest,
  batchWitnessInput,
  canonicalClientKey,
  type SignedCommitment,
} from '../acks/batch-binding.ts'
import { COMMITMENT_LEN, SIGNATURE_LEN, verifyCommitment } from '../acks/commitment.ts'
import { AckError } from '../acks/errors.ts'
import { encodeProof, PROOF_BYTES, parseProof } from '../acks/groth16.ts'
import type { Component } from '../core/lifecycle.ts'

export interface ProvenBatch {
  /** The proof's 256 bytes (`encodeProof`). */
  readonly proof: Uint8Array
  /** Its one public signal: `batchDigest` of the claims' commitments, in their order. */
  readonly digest: bigint
  /** How many claims it proves (the rest of the slots are padding). */
  readonly claims: number
  /** The prover's time for this proof (witness and Groth16), queueing left out. */
  readonly proveMs: number
}

export interface DaBatchProver extends Component {
  /** Claims per proof at most (the circuit's S); known once started. */
  readonly slots: number
  start(signal?: AbortSignal): Promise<void>
  /** Rejects the proves queued and in flight with ACK_PROVER_STOPPED. */
  stop(): Promise<void>
  /**
   * A proof of `claims` (1 to `slots`, in this order). Proofs are made one at a time, in call
   * order. Rejects with the signal's reason when it aborts; ACK_BATCH_TOO_LARGE, ACK_MALFORMED
   * or ACK_FORGED_COMMITMENT for claims that cannot be proven; ACK_PROVER_FAILED when the prover
   * made no proof that matches them; ACK_PROVER_STOPPED when not running.
   */
  prove(claims: readonly SignedCommitment[], signal?: AbortSignal): Promise<ProvenBatch>
}

/**
 * The cheap checks of a batch, before it is queued: its size, and that each claim has a
 * commitment and a signature of the right lengths. Returns the claims as plain objects (what a
 * thread boundary can carry). Throws ACK_BATCH_TOO_LARGE or ACK_MALFORMED.
 */
export function checkBatchShape(
  claims: readonly SignedCommitment[],
  slots: number,
): SignedCommitment[] {
  if (!Array.isArray(claims) || claims.length === 0) {
    // A proof of no claims is valid (digest 0) and settles nothing: a caller's mistake.
    throw new AckError('ACK_MALFORMED', 'a batch has at least one claim')
  }
  if (claims.length > slots) {
    throw new AckError('ACK_BATCH_TOO_LARGE', `${claims.length} claims do not fit ${slots} slots`)
  }
  return claims.map((claim, i) => {
    const { commitment, signature } = claim ?? {}
    if (!(commitment instanceof Uint8Array) || commitment.length !== COMMITMENT_LEN) {
      throw new AckError('ACK_MALFORMED', `claim ${i}: a commitment is ${COMMITMENT_LEN} bytes`)
    }
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LEN) {
      throw new AckError('ACK_MALFORMED', `claim ${i}: a signature is ${SIGNATURE_LEN} bytes`)
    }
    return { commitment, signature }
  })
}

/**
 * The circuit's input for `claims`, each checked as the executor will: decoded, its signature
 * verified, its client key canonical. A claim the circuit would refuse fails here with its
 * index and a typed code (ACK_MALFORMED, ACK_FORGED_COMMITMENT, ACK_BATCH_TOO_LARGE) instead
 * of as a failed witness; one EdDSA-Poseidon verification a claim, on the prover's thread.
 */
export function proverInput(claims: readonly SignedCommitment[], slots: number): BatchWitnessInput {
  checkBatchShape(claims, slots)
  claims.forEach(({ commitment, signature }, i) => {
    try {
      verifyCommitment(commitment, signature)
    } catch (error) {
      if (error instanceof AckError) {
        throw new AckError(error.code, `claim ${i}: ${error.message}`, { cause: error })
      }
      throw error
    }
    if (!canonicalClientKey(commitment)) {
      throw new AckError('ACK_MALFORMED', `claim ${i}: the client key is not canonical (y ≥ p)`)
    }
  })
  return batchWitnessInput(claims, slots)
}

/** What snarkjs's `groth16.prove` and `fullProve` resolve to. */
export interface SnarkjsProofOutput {
  readonly proof: unknown
  readonly publicSignals: unknown
}

function failed(message: string, cause?: unknown): AckError {
  return new AckError('ACK_PROVER_FAILED', message, cause === undefined ? {} : { cause })
}

/**
 * A prover's output as a `ProvenBatch` of `claims`, or ACK_PROVER_FAILED: a proof that does not
 * parse, or a public signal other than `batchDigest` of the claims (wrong artifacts, or a witness
 * of other claims), is never returned. The pairing is not checked here (the verifier's part).
 */
export function provenBatch(
  claims: readonly SignedCommitment[],
  output: SnarkjsProofOutput,
  proveMs: number,
): ProvenBatch {
  let proof: Uint8Array
  try {
    proof = encodeProof(parseProof(output.proof))
  } catch (error) {
    throw failed(`the prover's proof does not parse: ${(error as Error).message}`, error)
  }
  const signals = output.publicSignals
  if (!Array.isArray(signals) || signals.length !== 1 || typeof signals[0] !== 'string') {
    throw failed('the prover did not give one public signal')
  }
  const digest = batchDigest(claims.map((c) => c.commitment))
  if (signals[0] !== digest.toString()) {
    throw failed('the proof’s public signal is not the digest of its claims')
  }
  return { proof, digest, claims: claims.length, proveMs }
}

/**
 * `batch` if it is a proof of `claims` as a prover thread answered it (256 bytes, the claims'
 * digest and count), checked again on the side that asked; otherwise ACK_PROVER_FAILED.
 */
export function checkProvenBatch(
  claims: readonly SignedCommitment[],
  batch: ProvenBatch,
): ProvenBatch {
  const ok =
    batch.proof instanceof Uint8Array &&
    batch.proof.length === PROOF_BYTES &&
    batch.claims === claims.length &&
    batch.digest === batchDigest(claims.map((c) => c.commitment))
  if (!ok) throw failed('the prover answered with a proof of other claims')
  return batch
}
