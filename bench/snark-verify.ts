/**
 * The snark section's verification timing (issue 18), shared by Node (bench/node/snark.ts) and
 * the Chromium worker (bench/browser/snark-page): no Node built-ins. One DA batch proof checked
 * as the executor checks it (src/acks/proven-claims.ts): `readProof` of its 256 bytes, then
 * `verifyGroth16` under the chain's key (`daBatchKey`) with its one public signal, the batch's
 * `batchDigest`, on the kernel the caller gives (Node: mcl; browsers: noble).
 *
 * Times come from the caller's clock: CPU ms in Node, wall ms in the worker (no CPU clock).
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import { type Groth16Kernel, readProof, verifyGroth16 } from '../src/acks/groth16.ts'
import { daBatchKey } from '../src/acks/proven-claims.ts'
import { median } from './shared.ts'

export interface SnarkVerifyConfig {
  /** The proofs' bytes, hex. */
  readonly proofs: readonly string[]
  /** Each proof's public signal (`batchDigest` of its claims), decimal. */
  readonly digests: readonly string[]
  /** Passes over every proof after the first check. */
  readonly rounds: number
}

export interface SnarkVerifyResult {
  /** The first check of the process (the key parsed, the kernel's tables made), ms. */
  readonly firstMs: number
  /** Median of the later checks, ms a proof. */
  readonly ms: number
  readonly checks: number
  /** Every check said yes. */
  readonly accepted: boolean
}

/** Checks every proof `rounds` times on `kernel`, timed one by one with `clock` (ms). */
export function measureSnarkVerify(
  config: SnarkVerifyConfig,
  kernel: Groth16Kernel,
  clock: () => number,
): SnarkVerifyResult {
  const proofs = config.proofs.map((p) => hexToBytes(p))
  const digests = config.digests.map((d) => BigInt(d))
  const check = (i: number): boolean =>
    verifyGroth16(kernel, daBatchKey(), [digests[i] as bigint], readProof(proofs[i] as Uint8Array))
  let t0 = clock()
  let accepted = check(0)
  const firstMs = clock() - t0
  const times: number[] = []
  for (let round = 0; round < config.rounds; round++) {
    for (let i = 0; i < proofs.length; i++) {
      t0 = clock()
      accepted = check(i) && accepted
      times.push(clock() - t0)
    }
  }
  return { firstMs, ms: median(times), checks: times.length, accepted }
}
