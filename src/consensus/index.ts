/**
 * Ordering (src/consensus): the mempool, the solo orderer with the node's epoch duty, and the
 * claim settler that brings the DA pool's claims on chain. A committee orderer (Narwhal and
 * Bullshark, DESIGN.md "Consensus") comes behind the same `Orderer` face.
 */

export {
  decodeAttestation,
  encodeAttestation,
  MAX_ATTESTATION_BYTES,
} from './attestation/attestation-codec.ts'
export {
  AttestationCollector,
  type AttestationCollectorOptions,
  type AttestationCollectorResult,
  type AttestationEquivocation,
  DEFAULT_ATTESTATION_WINDOW,
} from './attestation/attestation-collector.ts'
export {
  type AggregateSignature,
  ATTESTATION_KEY_BYTES,
  ATTESTATION_SIGNATURE_BYTES,
  aggregateAttestation,
  attestationMessage,
  attestationQuorum,
  attestationSigners,
  BLOCK_ATTESTATION_DST,
  type BlockAttestation,
  signBlock,
  signBlockHash,
  verifyAttestation,
  verifyAttestedHash,
  verifyBlockHashSignature,
  verifyBlockSignature,
} from './attestation/block-attestation.ts'
export {
  readCommittee,
  readMetadata,
  readNonce,
  readParam,
  readSettledIndex,
} from './chain-reads.ts'
export {
  type ClaimSettler,
  type ClaimSettlerOptions,
  createClaimSettler,
  MAX_CLAIMS_PER_TRANSACTION,
} from './claim-settler.ts'
export {
  DEFAULT_MAX_WAITING,
  type NarwhalAction,
  NarwhalCore,
  type NarwhalCoreOptions,
  type NarwhalEvent,
  type NarwhalMessage,
  type NarwhalRecord,
} from './dag/narwhal-core.ts'
export {
  type Certificate,
  type DagSigner,
  type DagVerifier,
  decodeCertificate,
  decodeHeader,
  decodeVote,
  ed25519DagSigner,
  ed25519DagVerifier,
  encodeCertificate,
  encodeHeader,
  encodeVote,
  type Header,
  type HeaderBody,
  headerDigest,
  signerBitfield,
  signersOf,
  type Vote,
  voteDigest,
} from './dag/narwhal-messages.ts'
export {
  beaconRevealOf,
  createEpochDuty,
  type EpochDuty,
  type EpochDutyOptions,
  type EpochDutyResult,
} from './epoch-duty.ts'
export { createEpochDutyLoop, type EpochDutyLoopOptions } from './epoch-duty-loop.ts'
export { ConsensusError, type ConsensusErrorCode } from './errors.ts'
export {
  DEFAULT_MEMPOOL_MAX_BYTES,
  DEFAULT_MEMPOOL_MAX_COUNT,
  DEFAULT_MEMPOOL_MAX_PER_SENDER,
  Mempool,
  type MempoolCandidate,
  type MempoolOptions,
  type PendingTransaction,
} from './mempool.ts'
export { createNodeSender, type NodeSender } from './node-sender.ts'
export type { Orderer, SubmitOptions } from './orderer.ts'
export {
  createSoloOrderer,
  DEFAULT_MAX_BLOCK_BYTES,
  type SoloOrderer,
  type SoloOrdererOptions,
} from './solo-orderer.ts'
export { defaultSetTimer, type SetTimer } from './timer.ts'
