/**
 * The BLS keys an epoch's attestations are checked against, read from the state: the epoch's
 * committee (`committees/<epoch>`) in member order, each member's `blsKey` from its node entry.
 * Both the committee orderer (to collect partials) and a follower (to check a served block)
 * read them here, so they agree on the order the signer bitfield refers to.
 */
import type { ChainExecutor } from '../../state/model.ts'
import { decodeEntry } from '../../state/tables.ts'
import { readCommittee } from '../chain-reads.ts'
import { ConsensusError } from '../errors.ts'
import { decodeAttestation } from './attestation-codec.ts'
import { type BlockAttestation, verifyAttestedHash } from './block-attestation.ts'

type Reader = Pick<ChainExecutor, 'get'>

/** The members' BLS keys, from their node entries, in member order. */
export async function readBlsKeys(
  executor: Reader,
  members: readonly Uint8Array[],
): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = []
  for (const m of members) {
    const bytes = await executor.get('nodes', m)
    // A member without a node entry is a broken state: no signature can count for it, and an
    // all-zero key is not a point, so the attestation's check names it.
    keys.push(bytes === undefined ? new Uint8Array(96) : decodeEntry('nodes', bytes).blsKey)
  }
  return keys
}

/**
 * Checks `attestationBytes` (DAG-CBOR) as the attestation of the block at `height` with hash
 * `hash`, ordered in `epoch` (the epoch of the state before the block), against that epoch's
 * committee in the reader's state. Throws ConsensusError (ATTESTATION_MALFORMED,
 * ATTESTATION_WRONG_BLOCK, ATTESTATION_QUORUM, ATTESTATION_INVALID); returns the attestation.
 */
export async function checkServedAttestation(
  executor: Reader,
  epoch: number,
  height: number,
  hash: Uint8Array,
  attestationBytes: Uint8Array,
  keysOf: (epoch: number) => Promise<readonly Uint8Array[]> = (e) => committeeKeys(executor, e),
): Promise<BlockAttestation> {
  const attestation = decodeAttestation(attestationBytes)
  if (attestation.height !== height) {
    throw new ConsensusError(
      'ATTESTATION_WRONG_BLOCK',
      `the attestation is for height ${attestation.height}, the block is ${height}`,
    )
  }
  verifyAttestedHash(height, hash, attestation, await keysOf(epoch))
  return attestation
}

/** The committee's BLS keys of `epoch`, in member order (none: ATTESTATION_MALFORMED). */
export async function committeeKeys(executor: Reader, epoch: number): Promise<Uint8Array[]> {
  const committee = await readCommittee(executor, epoch)
  if (committee === undefined || committee.members.length === 0) {
    throw new ConsensusError(
      'ATTESTATION_MALFORMED',
      `the state holds no committee of epoch ${epoch}`,
    )
  }
  return readBlsKeys(executor, committee.members)
}
