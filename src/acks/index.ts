/** Delivery acknowledgements: commitments, hash chains, claims, and both sides of a session. */
export {
  CLAIM_LEN,
  type Claim,
  type ClaimCheck,
  checkClaims,
  decodeClaim,
  encodeClaim,
  verifyClaim,
} from './claim.ts'
export {
  type AckFrame,
  type CommitFrame,
  DEFAULT_CHAIN_LENGTH,
  type RevealFrame,
  SessionAcks,
  type SessionAcksOptions,
} from './client-acks.ts'
export {
  COMMITMENT_LEN,
  COMMITMENT_VERSION,
  COMMODITY_BANDWIDTH,
  COMMODITY_COMPUTE,
  type Commitment,
  commitmentMessage,
  decodeCommitment,
  encodeCommitment,
  SIGNATURE_LEN,
  signCommitment,
  verifyCommitment,
} from './commitment.ts'
export { AckError, type AckErrorCode } from './errors.ts'
export {
  CHAIN_KEY,
  CHAIN_VALUE_LEN,
  chainStep,
  chainsTo,
  HashChain,
  MAX_CHAIN_LENGTH,
} from './hash-chain.ts'
export { ACK_UNIT, AckLedger, type AckLedgerOptions } from './ledger.ts'
export { StreamAcks } from './stream-acks.ts'
