/** Messages between the DA batch prover (worker-prover.ts) and its worker thread. */
import type { SignedCommitment } from '../../acks/batch-binding.ts'
import { AckError } from '../../acks/errors.ts'
import { type ErrorData, ErrorRegistry } from '../../core/error-registry.ts'
import type { ProvenBatch } from '../../prover/da-batch-prover.ts'

/** The worker's `workerData`: the artifacts' bytes as checked by the main thread, shared. */
export interface ProverWorkerData {
  readonly slots: number
  /** Views of SharedArrayBuffers: a respawned worker reads them again, uncopied. */
  readonly wasm: Uint8Array
  readonly zkey: Uint8Array
  /** ffjavascript's single-thread mode (worker-prover.ts says why it is the default). */
  readonly singleThread: boolean
}

export interface ProveRequest {
  readonly type: 'prove'
  readonly id: number
  readonly claims: readonly SignedCommitment[]
}

export type ProverWorkerMessage =
  /** snarkjs is loaded: the worker takes requests. */
  | { readonly type: 'ready' }
  | { readonly type: 'proved'; readonly id: number; readonly batch: ProvenBatch }
  | { readonly type: 'failed'; readonly id: number; readonly error: ErrorData }

/** AckError keeps its class and code across the thread (a claim's ACK_FORGED_COMMITMENT…). */
export const proverErrors = new ErrorRegistry({ AckError })
