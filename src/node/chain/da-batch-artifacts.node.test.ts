/**
 * The committed DA batch artifacts (circuits/artifacts, made by `npm run circuits:setup`) belong
 * to the committed circuit and to the key the chain checks with (src/acks/da-batch-artifacts.ts):
 *
 * - the generated module says what artifacts.json and verification_key.json say;
 * - the wasm and zkey are the bytes the manifest hashed;
 * - circuits/da_batch.circom compiled now gives the r1cs the setup was made from;
 * - the zkey's own verification key is the committed one;
 * - a witness of the circuit compiled now, proven with the committed zkey, verifies under the
 *   chain's key (a zkey made for another circuit cannot prove it).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as snarkjs from 'snarkjs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type CompiledCircuit, compileDaBatch, ROOT } from '../../../scripts/circuits-compile.ts'
import { batchDigest, batchWitnessInput } from '../../acks/batch-binding.ts'
import { signCommitment } from '../../acks/commitment.ts'
import {
  DA_BATCH_CONSTRAINTS,
  DA_BATCH_FILES,
  DA_BATCH_R1CS_SHA256,
  DA_BATCH_SLOTS,
  DA_BATCH_VERIFICATION_KEY_JSON,
} from '../../acks/da-batch-artifacts.ts'
import { nobleGroth16Kernel, parseProof, verifyGroth16 } from '../../acks/groth16.ts'
import { daBatchKey } from '../../acks/proven-claims.ts'
import { generateClientKey } from '../../crypto/client-key.ts'

const dir = join(ROOT, 'circuits', 'artifacts')
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')
let circuit: CompiledCircuit | undefined

beforeAll(() => {
  circuit = compileDaBatch(DA_BATCH_SLOTS)
}, 180_000)

afterAll(async () => {
  circuit?.remove()
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
})

describe('the committed DA batch artifacts', () => {
  test('the chain’s module is what the setup wrote, and the files are the bytes it hashed', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'artifacts.json'), 'utf8'))
    expect(manifest.slots).toBe(DA_BATCH_SLOTS)
    expect(manifest.constraints).toBe(DA_BATCH_CONSTRAINTS)
    expect(manifest.r1csSha256).toBe(DA_BATCH_R1CS_SHA256)
    expect(JSON.parse(readFileSync(join(dir, 'verification_key.json'), 'utf8'))).toEqual(
      DA_BATCH_VERIFICATION_KEY_JSON,
    )
    for (const file of Object.values(DA_BATCH_FILES)) {
      expect(manifest.files[file.name]).toEqual({ bytes: file.bytes, sha256: file.sha256 })
      expect(sha256(join(dir, file.name))).toBe(file.sha256)
    }
  })

  test('the circuit compiled now is the one the setup used, and the zkey holds the key', async () => {
    expect(sha256((circuit as CompiledCircuit).r1cs)).toBe(DA_BATCH_R1CS_SHA256)
    const info = await snarkjs.r1cs.info((circuit as CompiledCircuit).r1cs)
    expect(info.nConstraints).toBe(DA_BATCH_CONSTRAINTS)
    const fromZkey = await snarkjs.zKey.exportVerificationKey(join(dir, DA_BATCH_FILES.zkey.name))
    expect(fromZkey).toEqual(DA_BATCH_VERIFICATION_KEY_JSON)
  }, 60_000)

  test('a witness of the circuit compiled now, proven with the zkey, verifies under the chain’s key', async () => {
    const client = generateClientKey()
    const claims = [0, 1].map((k) =>
      signCommitment(
        {
          version: 1,
          service: 0,
          commodity: 0,
          unit: 262_144,
          chainLength: 64,
          seq: k,
          epoch: 3n,
          session: 77n + BigInt(k),
          nodeKey: new Uint8Array(32).fill(5),
          clientKey: client.publicKey,
          anchor: new Uint8Array(32).fill(0xc0 + k),
        },
        client,
      ),
    )
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(
      batchWitnessInput(claims, DA_BATCH_SLOTS) as unknown as snarkjs.CircuitSignals,
      (circuit as CompiledCircuit).wasm,
      join(dir, DA_BATCH_FILES.zkey.name),
    )
    const digest = batchDigest(claims.map((c) => c.commitment))
    expect(publicSignals).toEqual([digest.toString()])
    expect(verifyGroth16(nobleGroth16Kernel, daBatchKey(), [digest], parseProof(proof))).toBe(true)
    expect(verifyGroth16(nobleGroth16Kernel, daBatchKey(), [digest + 1n], parseProof(proof))).toBe(
      false,
    )
  }, 120_000)
})
