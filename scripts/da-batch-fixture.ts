/**
 * Writes src/acks/testing/da-batch-fixture.json: real DA batch proofs, made with the committed
 * artifacts (circuits/artifacts), for claims the chain fixture makes deterministically
 * (chain-fixture.ts `makeClaim`: the test chain's first node, the client 'client'). The
 * executor and proven-claims tests settle them; run again after `npm run circuits:setup`.
 *
 *   npx node scripts/da-batch-fixture.ts
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import * as snarkjs from 'snarkjs'
import { batchDigest, batchWitnessInput } from '../src/acks/batch-binding.ts'
import { decodeClaim } from '../src/acks/claim.ts'
import { DA_BATCH_FILES, DA_BATCH_SLOTS } from '../src/acks/da-batch-artifacts.ts'
import { encodeProof, parseProof } from '../src/acks/groth16.ts'
import { clientKeyFromPrivate } from '../src/crypto/client-key.ts'
import { fixedSecret, makeClaim, testChain } from '../src/state/testing/chain-fixture.ts'
import { ROOT } from './circuits-compile.ts'

/** The batches: [session, units] of each claim. */
export const FIXTURE_BATCHES: readonly (readonly (readonly [number, number])[])[] = [
  [
    [1, 10],
    [2, 11],
    [3, 12],
    [4, 13],
    [5, 14],
  ],
  [
    [6, 20],
    [7, 21],
  ],
]

const artifacts = join(ROOT, 'circuits', 'artifacts')
const node = testChain().nodes[0]
if (node === undefined) throw new Error('the test chain has no node')
const client = clientKeyFromPrivate(fixedSecret('client'))
const batches = []
try {
  for (const recipe of FIXTURE_BATCHES) {
    const claims = recipe.map(([session, units]) =>
      makeClaim(client, node.key, units, { session: BigInt(session) }),
    )
    const decoded = claims.map(decodeClaim)
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(
      batchWitnessInput(decoded, DA_BATCH_SLOTS) as unknown as snarkjs.CircuitSignals,
      join(artifacts, DA_BATCH_FILES.wasm.name),
      join(artifacts, DA_BATCH_FILES.zkey.name),
    )
    const digest = batchDigest(decoded.map((c) => c.commitment))
    if (publicSignals[0] !== digest.toString()) throw new Error('the proof is not for batchDigest')
    batches.push({
      recipe,
      claims: claims.map(bytesToHex),
      proof: bytesToHex(encodeProof(parseProof(proof))),
    })
  }
} finally {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
}
const out = join(ROOT, 'src', 'acks', 'testing', 'da-batch-fixture.json')
writeFileSync(out, `${JSON.stringify({ slots: DA_BATCH_SLOTS, batches }, null, 2)}\n`)
execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', out])
process.stderr.write(`wrote ${out}\n`)
