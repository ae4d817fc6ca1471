/**
 * Test material for DA batch proofs: the fixture's batches as bytes (da-batch-fixture.json,
 * real proofs made by scripts/da-batch-fixture.ts) and signed commitments of fresh keys.
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import type { GeneratedClientKey } from '../../crypto/client-key.ts'
import type { SignedCommitment } from '../batch-binding.ts'
import { type Commitment, signCommitment } from '../commitment.ts'
import fixture from './da-batch-fixture.json' with { type: 'json' }

export interface FixtureBatch {
  readonly recipe: readonly (readonly number[])[]
  readonly claims: Uint8Array[]
  readonly proof: Uint8Array
}

/** The fixture's full batch (S claims) and short batch (fewer, padded). */
export function fixtureBatches(): [full: FixtureBatch, short: FixtureBatch] {
  const [full, short] = fixture.batches.map((b) => ({
    recipe: b.recipe,
    claims: b.claims.map(hexToBytes),
    proof: hexToBytes(b.proof),
  }))
  if (full === undefined || short === undefined) throw new Error('the fixture has two batches')
  return [full, short]
}

export const FIXTURE_SLOTS = fixture.slots

/**
 * A commitment of claim number `k` signed by `key`: distinct session, seq, chain length and
 * anchor per k, a node key and epoch of the caller's choosing (`base` keeps the tests' sessions
 * apart).
 */
export function signedClaim(
  key: GeneratedClientKey,
  k: number,
  base: { readonly session: bigint; readonly anchor: number; readonly epoch: bigint },
  nodeKey: Uint8Array,
  over: Partial<Commitment> = {},
): SignedCommitment {
  return signCommitment(
    {
      version: 1,
      service: 0,
      commodity: 0,
      unit: 262_144,
      chainLength: 64 + k,
      seq: k,
      epoch: base.epoch,
      session: base.session + BigInt(k),
      nodeKey,
      clientKey: key.publicKey,
      anchor: new Uint8Array(32).fill(base.anchor + k),
      ...over,
    },
    key,
  )
}
