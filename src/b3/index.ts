/**
 * Fulmen's BLAKE3 engine: hashing, Fleek's blake3-tree, Lightning-compatible proofs and the
 * incremental verifier. `await ready()` once to switch to the WebAssembly SIMD kernel.
 */
export { blockHash, mergeHashes } from './block.ts'
export * from './constants.ts'
export {
  BLAKE3_MULTIHASH,
  type ContentIdSpelling,
  type ContentIdSpellings,
  contentIdSpellings,
  formatContentId,
  parseContentId,
  RAW_CODEC,
} from './content-id.ts'
export { activeKernel, ready, readySync, useKernel } from './engine.ts'
export { B3Error, type B3ErrorCode } from './errors.ts'
export {
  type ByteRange,
  blockCount,
  blockIndexOf,
  blockLength,
  blockSpan,
  blockStart,
  blocksHolding,
  blocksOfRange,
} from './geometry.ts'
export { deriveKey, hash, keyedHash } from './hash.ts'
export type { Blake3Kernel } from './kernel.ts'
export { portableKernel } from './portable-kernel.ts'
export {
  type DecodedProof,
  decodeProof,
  encodeProof,
  initialProof,
  MAX_PROOF_HASHES,
  proofLength,
  resumeProof,
} from './proof.ts'
export {
  buildTree,
  type HashTree,
  type ProgressListener,
  TreeAssembler,
  TreeBuilder,
  treeOf,
} from './tree.ts'
export { treeIndex } from './tree-shape.ts'
export {
  type BlockVerifiedEvent,
  type ContentFrame,
  type DataFrame,
  type ProofFrame,
  type VerifyStreamOptions,
  verifyStream,
} from './verified-stream.ts'
export { IncrementalVerifier, type VerifierOptions, type VerifierState } from './verifier.ts'
