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

import { verifyAttestedHash } from '../consensus/attestation/block-attestation.ts'
import { ConsensusError } from '../consensus/errors.ts'
import { equalBytes } from '../core/bytes.ts'
import {
  CHECKPOINT_DST,
  type CheckpointBody,
  checkpointHash,
  committeeKeysHash,
  type SignedCheckpoint,
} from './checkpoint.ts'
import { CheckpointError } from './errors.ts'

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
  verifyCheckpointSignature(body.height, hash, checkpoint, anchor.committee)
  return handoff
    ? { kind: 'handoff', anchor: { body, hash, committee: committee as readonly Uint8Array[] } }
    : { kind: 'head', body, hash }
}

const CODE_OF = {
  ATTESTATION_QUORUM: 'CHECKPOINT_QUORUM',
  ATTESTATION_INVALID: 'CHECKPOINT_SIGNATURE',
} as const

/** The aggregate check of block attestations under the checkpoint tag, in checkpoint codes. */
export function verifyCheckpointSignature(
  height: number,
  hash: Uint8Array,
  signed: Pick<SignedCheckpoint, 'signers' | 'signature'>,
  committee: readonly Uint8Array[],
): void {
  try {
    verifyAttestedHash(height, hash, signed, committee, CHECKPOINT_DST)
  } catch (e) {
    if (!(e instanceof ConsensusError)) throw e
    const code = (CODE_OF as Record<string, 'CHECKPOINT_QUORUM' | 'CHECKPOINT_SIGNATURE'>)[e.code]
    throw new CheckpointError(code ?? 'CHECKPOINT_MALFORMED', e.message, { cause: e })
  }
}
