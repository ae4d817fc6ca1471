/**
 * The chain state (issue 15). So far: its authenticated map (a compacted binary sparse Merkle
 * tree over BLAKE3, persisted in a KvStore) and the proofs a browser checks against a root.
 */

export { blockHash, blockToJson, bodyFromJson, headerToJson, receiptToJson } from './block.ts'
export { type BlockContext, BlockState } from './block-state.ts'
export { StateError, type StateErrorCode } from './errors.ts'
export {
  type ExecuteOptions,
  MAX_BLOCK_TRANSACTIONS,
  StateExecutor,
  type StateExecutorOptions,
} from './executor.ts'
export { checkGenesis, genesisHash, genesisToJson, PARAM_NAMES, parseGenesis } from './genesis.ts'
export type * from './model.ts'
export { DEFAULT_PARAMS, DEVNET_PARAMS } from './params.ts'
export { EMPTY_HASH as EMPTY_STATE_ROOT, keyPath } from './state-hash.ts'
export {
  checkStateProof,
  type DecodedStateProof,
  decodeStateProof,
  encodeStateProof,
  MAX_STATE_PROOF_LEN,
  verifyStateProof,
} from './state-proof.ts'
export { type StateEntry, stateRootOf } from './state-root.ts'
export {
  type StateChange,
  type StateProofResult,
  StateTree,
  type StateTreeOptions,
  type StateVersion,
} from './state-tree.ts'
export {
  decodeEntry,
  encodeEntry,
  entryToJson,
  isTableName,
  METADATA_KEY,
  parseTableKey,
  TABLES,
  type TableEntries,
  tableKeys,
} from './tables.ts'
export {
  accountAddress,
  accountAddressOfSecretKey,
  BLS_POP_DST,
  decodeTransaction,
  encodePayload,
  encodeTransaction,
  isValidNodeKey,
  MAX_CLAIMS,
  MAX_CONTENT_DIGESTS,
  MAX_NODE_ADDRESS_CHARS,
  MAX_NODE_ADDRESSES,
  MAX_REPORTS,
  MAX_TRANSACTION_BYTES,
  METHOD_TYPES,
  makeBlsKey,
  nodeKeyOfSeed,
  PROTOCOL_PARAMS,
  personalMessageHash,
  personalSign,
  proveBlsPossession,
  recoverPersonalSigner,
  senderId,
  signAccountTransaction,
  signNodeTransaction,
  TransactionError,
  type TransactionErrorCode,
  transactionDigest,
  verifyBlsPossession,
  verifyTransactionSignature,
} from './transaction.ts'
