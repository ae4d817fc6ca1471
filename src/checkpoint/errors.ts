/**
 * Typed errors of checkpoints (src/checkpoint): what a checkpoint that cannot be trusted is
 * refused with. `code` is stable and meant for programs (the light client drops the source that
 * sent it and asks another); `message` is for people.
 */
import { FulmenError } from '../core/errors.ts'

export type CheckpointErrorCode =
  /** Bytes or JSON that are not a checkpoint in canonical form, a signer bitfield past the
   * committee, a signature or a committee key that is not a curve point. */
  | 'CHECKPOINT_MALFORMED'
  /** A checkpoint of another chain than the trusted one. */
  | 'CHECKPOINT_WRONG_CHAIN'
  /** A checkpoint that does not follow the trusted one: another previous hash, a height not
   * above it, an epoch that skips one, or a served list with a hole. */
  | 'CHECKPOINT_GAP'
  /** Fewer signers than the committee's quorum (more than 2/3). */
  | 'CHECKPOINT_QUORUM'
  /** The aggregate signature does not verify against the signers' keys. */
  | 'CHECKPOINT_SIGNATURE'
  /** The committee keys given with a handoff are not the ones it binds, or an intra-epoch
   * checkpoint names another committee than its epoch's. */
  | 'CHECKPOINT_WRONG_COMMITTEE'

export class CheckpointError extends FulmenError<CheckpointErrorCode> {
  override readonly name = 'CheckpointError'
}
