/**
 * A block attestation on the wire and on disk: the deterministic DAG-CBOR map
 * `{ height, blockHash, signers, signature }` (src/state/cbor-shape.ts, so one attestation has
 * one encoding). The decoder is strict, as narwhal-messages.ts's: canonical bytes only, no
 * unknown fields, exact lengths, a signer bitfield in `signerBitfield`'s shortest form; anything
 * else throws `ConsensusError('ATTESTATION_MALFORMED')`. Whether the signature is a curve point,
 * the bits fit the committee and the quorum signed is `verifyAttestation`'s to say: the decoder
 * does not know the committee, and a point decode costs more than the whole parse.
 */
import { encodeCanonical, type FailWith, RecordReader } from '../../state/cbor-shape.ts'
import { ConsensusError } from '../errors.ts'
import {
  ATTESTATION_SIGNATURE_BYTES,
  BLOCK_HASH_BYTES,
  type BlockAttestation,
  MAX_ATTESTATION_COMMITTEE,
} from './block-attestation.ts'

/** Above the most bytes an encoded attestation takes (259: a 1,024-member bitfield, the largest
 * height): larger input is refused before it is parsed. */
export const MAX_ATTESTATION_BYTES = 320

export function encodeAttestation(attestation: BlockAttestation): Uint8Array {
  const { height, blockHash, signers, signature } = attestation
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new RangeError(`a block height is a safe non-negative integer, got ${height}`)
  }
  return encodeCanonical({ height, blockHash, signers, signature })
}

const malformed: FailWith = (message) => new ConsensusError('ATTESTATION_MALFORMED', message)

export function decodeAttestation(bytes: Uint8Array): BlockAttestation {
  try {
    if (!(bytes instanceof Uint8Array) || bytes.length > MAX_ATTESTATION_BYTES) {
      throw malformed(`an attestation is at most ${MAX_ATTESTATION_BYTES} bytes`)
    }
    const r = RecordReader.decode(bytes, 'attestation', malformed)
    const height = r.uint('height')
    const blockHash = r.bytes('blockHash', BLOCK_HASH_BYTES)
    const signers = r.bytes('signers')
    if (signers.length === 0 || signers.length > MAX_ATTESTATION_COMMITTEE / 8) {
      throw r.fail(`signers is ${signers.length} bytes`)
    }
    // The last byte names at least one signer: one bitfield, one encoding.
    if (signers[signers.length - 1] === 0) throw r.fail('signers has a trailing zero byte')
    const signature = r.bytes('signature', ATTESTATION_SIGNATURE_BYTES)
    r.done()
    return { height, blockHash, signers, signature }
  } catch (e) {
    // Whatever else the CBOR layer throws on hostile bytes is malformed input too.
    if (e instanceof ConsensusError) throw e
    throw new ConsensusError('ATTESTATION_MALFORMED', `attestation: ${(e as Error).message}`, {
      cause: e,
    })
  }
}
