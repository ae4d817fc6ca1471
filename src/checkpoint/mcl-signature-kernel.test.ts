/**
 * The mcl kernel against the noble kernel (the reference): the batch check and the search for
 * the first bad signature, grouped by key and per checkpoint, under each; the random weights;
 * and, over
 * valid signatures and keys with bits flipped and over random bytes (fast-check), the same
 * refusal code from `prepare` and the same answer from `verify` as noble's.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { signerBitfield } from '../consensus/dag/narwhal-messages.ts'
import { checkpointHash, type SignedCheckpoint } from './checkpoint.ts'
import { CheckpointError } from './errors.ts'
import {
  type CheckpointSignatureKernel,
  firstInvalidSignature,
  nobleCheckpointKernel,
  type PreparedCheckpointSignature,
} from './handoff-verifier.ts'
import { loadMclCheckpointKernel, type MclPreparedSignature } from './mcl-signature-kernel.ts'
import { buildCheckpointChain, fixtureKeys, signByCommittee } from './testing/checkpoint-fixture.ts'

let mcl: CheckpointSignatureKernel<MclPreparedSignature>
beforeAll(async () => {
  mcl = await loadMclCheckpointKernel()
})

const keys = fixtureKeys(5, 3)
const committee = keys.map((k) => k.publicKey)
const genesisBody = buildCheckpointChain({ epochs: 1, committeeSize: 4 }).genesis
  .body as SignedCheckpoint['body']
const body = (height: number) => ({ ...genesisBody, height })
const signed = (height: number, signers: number[]) =>
  signByCommittee(keys, body(height), signers) as SignedCheckpoint
/** Checkpoints 0–7 signed by members 0–3 (signing is the slow part of a property run). */
const signedSome = Array.from({ length: 8 }, (_, height) => signed(height, [0, 1, 2, 3]))

/** `prepare` then `verify` under `kernel`: 'valid', 'invalid', or the refusal's code. */
function outcome(
  kernel: CheckpointSignatureKernel,
  height: number,
  checkpoint: Pick<SignedCheckpoint, 'body' | 'signers' | 'signature'>,
  members: readonly Uint8Array[],
): string {
  let item: PreparedCheckpointSignature
  try {
    item = kernel.prepare(height, checkpointHash(checkpoint.body), checkpoint, members)
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e
    return e.code
  }
  return kernel.verify(item) ? 'valid' : 'invalid'
}

describe.each(['noble', 'mcl'] as const)('the batch check, %s kernel', (name) => {
  const kernel = () => (name === 'mcl' ? mcl : nobleCheckpointKernel) as CheckpointSignatureKernel
  /** Checkpoint `height` signed by `signers`, or carrying the signature of another height. */
  const item = (height: number, signers: number[], good = true) => {
    const s = signed(height, signers)
    const checkpoint = good ? s : { ...s, signature: signed(height + 1000, signers).signature }
    return kernel().prepare(height, checkpointHash(s.body), checkpoint, committee)
  }

  test('accepts valid items and finds the first bad one, grouped by key or per item', () => {
    const k = kernel()
    // 8 items over 5 keys: grouped by key. 2 items over 4–5 keys: one pairing per item.
    const many = Array.from({ length: 8 }, (_, i) =>
      item(10 + i, i % 2 ? [0, 1, 2, 3] : [1, 2, 3, 4]),
    )
    expect(k.verifyBatch(many)).toBe(true)
    expect(firstInvalidSignature(many, k)).toBe(-1)
    expect(k.verifyBatch(many.slice(0, 2))).toBe(true)
    expect(k.verifyBatch([])).toBe(true)
    for (const bad of [[0], [5], [7], [3, 6], [1, 2]]) {
      const items = many.slice()
      for (const b of bad) items[b] = item(10 + b, [0, 1, 2, 3], false)
      expect(k.verifyBatch(items)).toBe(false)
      const first = bad[0] as number
      expect(k.verifyBatch([...items.slice(0, 2), items[first] as (typeof items)[number]])).toBe(
        false,
      )
      expect(firstInvalidSignature(items, k)).toBe(first)
    }
  })
})

describe('the mcl kernel', () => {
  const prepared = (height: number, signers: number[]): MclPreparedSignature => {
    const s = signed(height, signers)
    return mcl.prepare(height, checkpointHash(s.body), s, committee)
  }

  test('two wrong signatures that sum to the right ones are caught (the random weights)', () => {
    const a = signed(20, [0, 1, 2, 3])
    const b = signed(21, [0, 1, 2, 3])
    // σa' = σa + Δ, σb' = σb − Δ: the plain sum is unchanged, each is wrong.
    const delta = bls12_381.G1.Point.BASE.multiply(12345n)
    const shifted = (s: SignedCheckpoint, by: typeof delta) => ({
      ...s,
      signature: bls12_381.G1.Point.fromBytes(s.signature).add(by).toBytes(),
    })
    const items = [shifted(a, delta), shifted(b, delta.negate())].map((s) =>
      mcl.prepare(s.body.height, checkpointHash(s.body), s, committee),
    )
    expect(mcl.verify(items[0] as MclPreparedSignature)).toBe(false)
    expect(mcl.verifyBatch(items)).toBe(false)
    expect(firstInvalidSignature(items, mcl)).toBe(0)
  })

  test('valid signatures and keys with bits flipped: the same outcome as noble (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: signedSome.length - 1 }),
        fc.constantFrom('signature', 'key', 'signers', 'none'),
        fc.nat({ max: 95 }),
        fc.integer({ min: 1, max: 255 }),
        (height, where, at, mask) => {
          const s = signedSome[height] as SignedCheckpoint
          let checkpoint: SignedCheckpoint = s
          let members = committee
          if (where === 'signature') {
            const signature = s.signature.slice()
            signature[at % 48] = (signature[at % 48] as number) ^ mask
            checkpoint = { ...s, signature }
          } else if (where === 'key') {
            const key = (committee[at % 4] as Uint8Array).slice()
            key[at] = (key[at] as number) ^ mask
            members = committee.map((k, i) => (i === at % 4 ? key : k))
          } else if (where === 'signers') {
            checkpoint = {
              ...s,
              signers: signerBitfield([0, 1, 2, 3, 4].filter((m) => m !== at % 5)),
            }
          }
          const reference = outcome(
            nobleCheckpointKernel as CheckpointSignatureKernel,
            height,
            checkpoint,
            members,
          )
          expect(outcome(mcl as CheckpointSignatureKernel, height, checkpoint, members)).toBe(
            reference,
          )
          if (where === 'none') expect(reference).toBe('valid')
        },
      ),
      { numRuns: 150 },
    )
  })

  test('random bytes as signature and keys: the same outcome as noble (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 48, maxLength: 48 }),
        fc.uint8Array({ minLength: 96, maxLength: 96 }),
        fc.boolean(),
        (signature, key, compressed) => {
          // The flag bits set as a compressed point's, or left random.
          if (compressed) signature[0] = ((signature[0] as number) & 0x3f) | 0x80
          const s = { ...(signedSome[7] as SignedCheckpoint), signature }
          const members = [key, ...committee.slice(1, 4)]
          const reference = outcome(
            nobleCheckpointKernel as CheckpointSignatureKernel,
            7,
            s,
            members,
          )
          expect(outcome(mcl as CheckpointSignatureKernel, 7, s, members)).toBe(reference)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('the point at infinity as a signature: prepared, never valid, as in noble', () => {
    const signature = new Uint8Array(48)
    signature[0] = 0xc0
    const s = { ...signed(9, [0, 1, 2, 3]), signature }
    expect(outcome(mcl as CheckpointSignatureKernel, 9, s, committee)).toBe('invalid')
    expect(outcome(nobleCheckpointKernel as CheckpointSignatureKernel, 9, s, committee)).toBe(
      'invalid',
    )
    const item = mcl.prepare(9, checkpointHash(s.body), s, committee)
    expect(mcl.verifyBatch([item, prepared(10, [0, 1, 2, 3])])).toBe(false)
  })
})
