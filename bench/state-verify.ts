/**
 * The state section's verification timing, shared by Node (bench/node/state.ts) and the
 * Chromium page (bench/browser/state-page): no Node built-ins.
 *
 * Figure: µs per `checkStateProof` over a set of proofs from a million-entry tree. Peer: one
 * BLAKE3 hash (`hash` of src/b3) over as many bytes as those proofs make the verifier compress
 * (64 bytes per node or leaf hash, the key material, the value): the cost of the hashing alone.
 */
import { hash } from '../src/b3/hash.ts'
import { checkStateProof } from '../src/state/state-proof.ts'
import { median } from './shared.ts'

export interface StateClaim {
  readonly key: string
  /** Hex of the value, or null for a proof of absence. */
  readonly value: string | null
  readonly proof: string
}

export interface StateVerifyConfig {
  readonly root: string
  readonly table: string
  readonly claims: readonly StateClaim[]
  readonly rounds: number
}

export interface StateVerifyResult {
  /** Median over rounds of the mean µs per proof. */
  readonly verifyMicros: number
  readonly hashMicros: number
  /** Every proof verified (a wrong answer would make the timing meaningless). */
  readonly allVerified: boolean
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function measureStateVerify(config: StateVerifyConfig): StateVerifyResult {
  const root = fromHex(config.root)
  const claims = config.claims.map((c) => ({
    key: fromHex(c.key),
    value: c.value === null ? undefined : fromHex(c.value),
    proof: fromHex(c.proof),
  }))
  let allVerified = true
  const verifyOnce = (): void => {
    for (const c of claims) {
      try {
        checkStateProof(root, config.table, c.key, c.value, c.proof)
      } catch {
        allVerified = false
      }
    }
  }
  // The peer's input: per proof, one 64-byte block per tree level (depth from the proof's
  // header) and for the leaf, plus the key material and the value.
  const peerInputs = claims.map((c) => {
    const depth = (c.proof[1]! << 8) | c.proof[2]!
    return new Uint8Array(
      64 * (depth + 1) + 1 + config.table.length + c.key.length + (c.value?.length ?? 0),
    )
  })
  const hashOnce = (): void => {
    for (const input of peerInputs) hash(input)
  }
  const time = (run: () => void): number => {
    for (let i = 0; i < 3; i++) run()
    const rounds: number[] = []
    for (let r = 0; r < config.rounds; r++) {
      const t0 = performance.now()
      run()
      rounds.push(((performance.now() - t0) * 1000) / claims.length)
    }
    return median(rounds)
  }
  return { verifyMicros: time(verifyOnce), hashMicros: time(hashOnce), allVerified }
}
