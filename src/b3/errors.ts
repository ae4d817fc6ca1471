/**
 * Typed errors of the BLAKE3 layer. `code` is stable and meant for programs; `message` is
 * for people. Verification failures carry the block they concern.
 */
import { FulmenError } from '../core/errors.ts'

export type B3ErrorCode =
  /** A caller passed something out of range (key length, block index, output length). */
  | 'B3_INVALID_ARGUMENT'
  /** A proof whose length is not a valid encoding, or not the length this position needs. */
  | 'B3_PROOF_LENGTH'
  /** A proof whose hashes or sign bits do not lead to the trusted hash. */
  | 'B3_PROOF_MISMATCH'
  /** A block (or block hash) that does not match the verified tree. */
  | 'B3_BLOCK_MISMATCH'
  /** A block whose length cannot be right for its position (short middle block, long last). */
  | 'B3_BLOCK_LENGTH'
  /** Input in the wrong order: a block where a proof is due, a proof twice, a wrong index. */
  | 'B3_OUT_OF_ORDER'
  /** Input after the verifier has verified its last block. */
  | 'B3_AFTER_END'
  /** A stream that ended before every announced block was verified. */
  | 'B3_TRUNCATED'
  /** A malformed content id. */
  | 'B3_BAD_CONTENT_ID'

export class B3Error extends FulmenError<B3ErrorCode> {
  override readonly name = 'B3Error'
  /** The block index the failure concerns, when there is one. */
  readonly block: number | undefined

  constructor(code: B3ErrorCode, message: string, block?: number) {
    super(code, message)
    this.block = block
  }
}
