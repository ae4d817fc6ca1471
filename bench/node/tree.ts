/**
 * The tree layer's costs on top of hashing: building the tree of a stream, cutting proofs,
 * and verifying a stream block by block with proofs. Uses whatever kernel is active.
 */
import { blockHash } from '../../src/b3/block.ts'
import { TREE_BLOCK_LEN } from '../../src/b3/constants.ts'
import { hash } from '../../src/b3/hash.ts'
import { initialProof, resumeProof } from '../../src/b3/proof.ts'
import { buildTree, type HashTree } from '../../src/b3/tree.ts'
import { IncrementalVerifier } from '../../src/b3/verifier.ts'
import { bestOf, chunksOf, type Figure, GiB, generatedStream, mibPerSecond } from '../shared.ts'

type Log = (line: string) => void

/** `buildTree` over `input` streamed in 64 KiB views vs `hash()` of the whole buffer. */
export async function measureTreeVsHash(
  input: Uint8Array,
  log: Log,
  reps = 5,
): Promise<{ figures: Figure[]; tree: HashTree }> {
  let tree: HashTree | undefined
  const treeSeconds = await bestOf(
    async () => {
      tree = await buildTree(chunksOf(input, 65_536))
    },
    { reps },
  )
  const hashSeconds = await bestOf(() => hash(input), { reps })
  const figures: Figure[] = [
    { name: 'node.tree.buildTree', value: mibPerSecond(input.length, treeSeconds), unit: 'MiB/s' },
    { name: 'node.tree.hash', value: mibPerSecond(input.length, hashSeconds), unit: 'MiB/s' },
  ]
  log(
    `buildTree ${figures[0]!.value.toFixed(0)} MiB/s, hash() ${figures[1]!.value.toFixed(0)} MiB/s`,
  )
  return { figures, tree: tree! }
}

/** Initial and resume proofs for every block of the tree of a 1 GiB stream. */
export async function measureProofs(log: Log, reps = 5): Promise<Figure[]> {
  const t0 = performance.now()
  const tree = await buildTree(generatedStream(GiB, 1 << 20))
  log(
    `1 GiB tree (${tree.blocks} blocks) built in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
  )
  let bytes = 0
  const initial = await bestOf(
    () => {
      bytes = 0
      for (let k = 0; k < tree.blocks; k++) bytes += initialProof(tree, k).length
    },
    { reps },
  )
  const initialBytes = bytes
  const resume = await bestOf(
    () => {
      bytes = 0
      for (let k = 1; k < tree.blocks; k++) bytes += resumeProof(tree, k).length
    },
    { reps },
  )
  return [
    { name: 'node.proof.initial', value: tree.blocks / initial, unit: 'proofs/s' },
    { name: 'node.proof.resume', value: (tree.blocks - 1) / resume, unit: 'proofs/s' },
    { name: 'node.proof.initial-bytes-per-block', value: initialBytes / tree.blocks, unit: 'B' },
    { name: 'node.proof.resume-bytes-per-block', value: bytes / (tree.blocks - 1), unit: 'B' },
  ]
}

/**
 * Verifying `input` with `IncrementalVerifier` (initial proof for block 0, resume proofs
 * after; proofs cut beforehand) vs building its tree with `buildTree` fed the same 256 KiB
 * blocks, and vs `blockHash` of every block (the hashing the verifier cannot avoid). All
 * start from bytes in memory.
 */
export async function measureVerify(
  input: Uint8Array,
  tree: HashTree,
  log: Log,
  reps = 5,
): Promise<Figure[]> {
  const proofs = [initialProof(tree, 0)]
  for (let k = 1; k < tree.blocks; k++) proofs.push(resumeProof(tree, k))
  const verifySeconds = await bestOf(
    () => {
      const v = new IncrementalVerifier(tree.root, { length: input.length })
      for (let k = 0; k < tree.blocks; k++) {
        v.feedProof(proofs[k]!)
        v.feedBlock(
          input.subarray(k * TREE_BLOCK_LEN, Math.min(input.length, (k + 1) * TREE_BLOCK_LEN)),
        )
      }
      if (v.state !== 'done') throw new Error('verifier did not finish')
    },
    { reps },
  )
  const buildSeconds = await bestOf(() => buildTree(chunksOf(input, TREE_BLOCK_LEN)), { reps })
  // Hashing alone: every block's chaining value, nothing checked, nothing copied.
  const blocksSeconds = await bestOf(
    () => {
      for (let k = 0; k < tree.blocks; k++) {
        const end = Math.min(input.length, (k + 1) * TREE_BLOCK_LEN)
        blockHash(input.subarray(k * TREE_BLOCK_LEN, end), k, tree.blocks === 1)
      }
    },
    { reps },
  )
  const verify = mibPerSecond(input.length, verifySeconds)
  const build = mibPerSecond(input.length, buildSeconds)
  log(`verify ${verify.toFixed(0)} MiB/s, buildTree ${build.toFixed(0)} MiB/s`)
  return [
    { name: 'node.verify.incremental', value: verify, unit: 'MiB/s' },
    { name: 'node.verify.buildTree', value: build, unit: 'MiB/s' },
    { name: 'node.verify.overhead', value: (verifySeconds / buildSeconds - 1) * 100, unit: '%' },
    {
      name: 'node.verify.blockHash',
      value: mibPerSecond(input.length, blocksSeconds),
      unit: 'MiB/s',
    },
    {
      name: 'node.verify.overhead-vs-blockHash',
      value: (verifySeconds / blocksSeconds - 1) * 100,
      unit: '%',
    },
  ]
}
