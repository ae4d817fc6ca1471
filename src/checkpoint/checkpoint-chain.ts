/**
 * Checking one checkpoint against the last trusted handoff: a pure function, no I/O, so the
 * light client (src/light) in a worker and a node checking what a peer served use the same one.
 *
 * The anchor is the last trusted handoff (or the genesis checkpoint) with the keys of the
 * committee it binds. A checkpoint C is accepted from anchor A when
 *
 * - C is of A's chain (CHECKPOINT_WRONG_CHAIN),
 * - C.previous is A's hash, C.height is above A's, and C.epoch is A's (a checkpoint inside the
 *   epoch) or A's + 1 (the next handoff) (CHECKPOINT_GAP otherwise),
 * - inside the epoch, C names the same committee as A; a handoff comes with keys whose hash is
 *   the committee it names (CHECKPOINT_WRONG_COMMITTEE),
 * - more than 2/3 of A's committee signed (CHECKPOINT_QUORUM) and the aggregate verifies under
 *   the sum of their keys (CHECKPOINT_SIGNATURE); a bitfield or a point that is not one is
 *   CHECKPOINT_MALFORMED.
 *
 * A handoff becomes the next anchor; a checkpoint inside the epoch becomes the head only.
 */

import { equalBytes } from '../core/bytes.ts'
import {
  type CheckpointBody,
  checkpointHash,
  committeeKeysHash,
  type SignedCheckpoint,
} from './checkpoint.ts'
import type { ServedCheckpoint } from './checkpoint-codec.ts'
import { CheckpointError } from './errors.ts'
import {
  type CheckpointSignatureKernel,
  checkpointSignatureKernel,
  firstInvalidSignature,
  type PreparedCheckpointSignature,
  signatureError,
} from './handoff-verifier.ts'

/** A trusted handoff: its body, its hash, and the keys of the committee that signs after it. */
export interface CheckpointAnchor {
  readonly body: CheckpointBody
  readonly hash: Uint8Array
  /** In member order; `committeeKeysHash(committee)` is `body.nextCommittee`. */
  readonly committee: readonly Uint8Array[]
}

/** The anchor of a body trusted without a signature (genesis, or one the user names). */
export function trustedAnchor(
  body: CheckpointBody,
  committee: readonly Uint8Array[],
): CheckpointAnchor {
  if (!equalBytes(committeeKeysHash(committee), body.nextCommittee)) {
    throw new CheckpointError(
      'CHECKPOINT_WRONG_COMMITTEE',
      'the committee keys are not the ones the trusted checkpoint binds',
    )
  }
  return { body, hash: checkpointHash(body), committee }
}

export type CheckpointStep =
  /** A handoff: the new anchor (its committee signs what follows). */
  | { readonly kind: 'handoff'; readonly anchor: CheckpointAnchor }
  /** A checkpoint inside the anchor's epoch: a newer head, the anchor stays. */
  | { readonly kind: 'head'; readonly body: CheckpointBody; readonly hash: Uint8Array }

const gap = (message: string) => new CheckpointError('CHECKPOINT_GAP', message)

/**
 * Checks `checkpoint` as the next one after `anchor` (see above); `committee` is required for a
 * handoff (the keys it binds). Throws CheckpointError; returns what it established.
 */
export function checkNextCheckpoint(
  anchor: CheckpointAnchor,
  checkpoint: SignedCheckpoint,
  committee?: readonly Uint8Array[],
): CheckpointStep {
  const kernel = checkpointSignatureKernel()
  const { step, signature } = nextStep(anchor, checkpoint, committee, kernel)
  if (!kernel.verify(signature)) throw signatureError(signature)
  return step
}

/** Everything `checkNextCheckpoint` checks but the pairing, whose inputs it returns. */
function nextStep(
  anchor: CheckpointAnchor,
  checkpoint: SignedCheckpoint,
  committee: readonly Uint8Array[] | undefined,
  kernel: CheckpointSignatureKernel,
): { readonly step: CheckpointStep; readonly signature: PreparedCheckpointSignature } {
  const { body } = checkpoint
  const from = anchor.body
  if (body.chainId !== from.chainId) {
    throw new CheckpointError(
      'CHECKPOINT_WRONG_CHAIN',
      `a checkpoint of chain ${body.chainId}, not ${from.chainId}`,
    )
  }
  if (!equalBytes(body.previous, anchor.hash)) {
    throw gap(`checkpoint ${body.height} does not follow the handoff of height ${from.height}`)
  }
  if (body.height <= from.height) {
    throw gap(`checkpoint ${body.height} is not above the handoff of height ${from.height}`)
  }
  const handoff = body.epoch === from.epoch + 1
  if (!handoff && body.epoch !== from.epoch) {
    throw gap(`checkpoint of epoch ${body.epoch} after the handoff into epoch ${from.epoch}`)
  }
  if (handoff) {
    if (committee === undefined || !equalBytes(committeeKeysHash(committee), body.nextCommittee)) {
      throw new CheckpointError(
        'CHECKPOINT_WRONG_COMMITTEE',
        `the committee given with the handoff into epoch ${body.epoch} is not the one it binds`,
      )
    }
  } else if (!equalBytes(body.nextCommittee, from.nextCommittee)) {
    throw new CheckpointError(
      'CHECKPOINT_WRONG_COMMITTEE',
      `checkpoint ${body.height} names another committee than epoch ${body.epoch}'s`,
    )
  }
  const hash = checkpointHash(body)
  const signature = kernel.prepare(body.height, hash, checkpoint, anchor.committee)
  const step: CheckpointStep = handoff
    ? { kind: 'handoff', anchor: { body, hash, committee: committee as readonly Uint8Array[] } }
    : { kind: 'head', body, hash }
  return { step, signature }
}

/** What a run of checkpoints established, up to its first bad one. */
export interface CheckpointRunResult {
  /** The last handoff accepted (the anchor given when there is none). */
  readonly anchor: CheckpointAnchor
  /** The newest checkpoint accepted, handoff or not (the anchor's when none was). */
  readonly head: { readonly body: CheckpointBody; readonly hash: Uint8Array }
  /** One step per checkpoint accepted, in order: `checkNextCheckpoint`'s answers. */
  readonly steps: readonly CheckpointStep[]
  /** The first checkpoint refused, at `index` of the run, with the error
   * `checkNextCheckpoint` throws for it; absent when the whole run was accepted. */
  readonly failure?: { readonly index: number; readonly error: CheckpointError }
}

/**
 * Checks a served run (handoffs with their committees, checkpoints inside an epoch) from
 * `anchor`, as `checkNextCheckpoint` item after item would, and stops at the same first bad
 * item with the same error; but every signature of the run is checked with one product of
 * pairings (handoff-verifier.ts), the first bad one found by bisection only when it fails.
 * A CheckpointError is returned as `failure` (with what was established before it); any other
 * error (a body whose fields are not numbers and bytes) is thrown, as `checkNextCheckpoint`
 * throws it, once the signatures before it are known to hold.
 */
export function checkCheckpointRun(
  anchor: CheckpointAnchor,
  run: readonly ServedCheckpoint[],
): CheckpointRunResult {
  const kernel = checkpointSignatureKernel()
  const steps: CheckpointStep[] = []
  const signatures: PreparedCheckpointSignature[] = []
  let current = anchor
  let stopped: { index: number; error: unknown } | undefined
  for (let i = 0; i < run.length; i++) {
    const { checkpoint, committee } = run[i] as ServedCheckpoint
    try {
      const { step, signature } = nextStep(current, checkpoint, committee, kernel)
      steps.push(step)
      signatures.push(signature)
      if (step.kind === 'handoff') current = step.anchor
    } catch (e) {
      stopped = { index: i, error: e }
      break
    }
  }
  // A bad signature before the item that stopped the walk is the first error.
  const bad = firstInvalidSignature(signatures, kernel)
  if (bad >= 0) {
    stopped = { index: bad, error: signatureError(signatures[bad] as PreparedCheckpointSignature) }
    steps.length = bad
  } else if (stopped !== undefined && !(stopped.error instanceof CheckpointError)) {
    throw stopped.error
  }
  let last = anchor
  let head: CheckpointRunResult['head'] = anchor
  for (const step of steps) {
    if (step.kind === 'handoff') last = step.anchor
    head = step.kind === 'handoff' ? step.anchor : step
  }
  return {
    anchor: last,
    head: { body: head.body, hash: head.hash },
    steps,
    ...(stopped === undefined
      ? {}
      : { failure: { index: stopped.index, error: stopped.error as CheckpointError } }),
  }
}

/** The aggregate check of a checkpoint's signers under the checkpoint tag, in checkpoint
 * codes: CHECKPOINT_MALFORMED, CHECKPOINT_QUORUM, CHECKPOINT_SIGNATURE. */
export function verifyCheckpointSignature(
  height: number,
  hash: Uint8Array,
  signed: Pick<SignedCheckpoint, 'signers' | 'signature'>,
  committee: readonly Uint8Array[],
): void {
  const kernel = checkpointSignatureKernel()
  const prepared = kernel.prepare(height, hash, signed, committee)
  if (!kernel.verify(prepared)) throw signatureError(prepared)
}
