/**
 * The batched walk (handoff-verifier.ts, `checkCheckpointRun`): it accepts what a one-by-one
 * walk with `checkNextCheckpoint` accepts and stops at the same first bad checkpoint with the
 * same error (fast-check over random corruptions of a signed fixture); the batch check and the
 * search for the first bad signature, grouped by key and per checkpoint; the single check
 * against @noble/curves' `verify`; the key cache. The walk's tests run under both kernels
 * (noble, mcl), and under mcl every answer is also held against noble's.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { numberToBytesBE } from '@noble/curves/utils.js'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { attestationPoint } from '../consensus/attestation/block-attestation.ts'
import { signerBitfield } from '../consensus/dag/narwhal-messages.ts'
import { CHECKPOINT_DST, checkpointHash, type SignedCheckpoint } from './checkpoint.ts'
import {
  type CheckpointAnchor,
  type CheckpointStep,
  checkCheckpointRun,
  checkNextCheckpoint,
} from './checkpoint-chain.ts'
import type { ServedCheckpoint } from './checkpoint-codec.ts'
import { CheckpointError } from './errors.ts'
import {
  type CheckpointSignatureKernel,
  clearKeyCache,
  firstInvalidSignature,
  nobleCheckpointKernel,
  type PreparedSignature,
  prepareCheckpointSignature,
  useCheckpointSignatureKernel,
  verifyPrepared,
  verifyPreparedBatch,
} from './handoff-verifier.ts'
import { messageOnCurve } from './hash-to-g1.ts'
import { loadMclCheckpointKernel } from './mcl-signature-kernel.ts'
import { buildCheckpointChain, fixtureKeys, signByCommittee } from './testing/checkpoint-fixture.ts'

/** The ZCash compressed encoding of any point of E(Fp) (noble's refuses points outside G1). */
function compressedG1(point: ReturnType<typeof messageOnCurve>): Uint8Array {
  const { x, y } = point.toAffine()
  const bytes = numberToBytesBE(x, 48)
  const p = bls12_381.fields.Fp.ORDER
  bytes[0] = (bytes[0] as number) | 0x80 | (y > (p - 1n) / 2n ? 0x20 : 0)
  return bytes
}

/** What a walk with `checkNextCheckpoint` item after item establishes, and where it stops. */
function walkOneByOne(anchor: CheckpointAnchor, run: readonly ServedCheckpoint[]) {
  const steps: CheckpointStep[] = []
  let current = anchor
  for (let i = 0; i < run.length; i++) {
    const { checkpoint, committee } = run[i] as ServedCheckpoint
    try {
      const step = checkNextCheckpoint(current, checkpoint, committee)
      steps.push(step)
      if (step.kind === 'handoff') current = step.anchor
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e
      return { anchor: current, steps, failure: { index: i, error: e } }
    }
  }
  return { anchor: current, steps, failure: undefined }
}

const summary = (r: {
  anchor: CheckpointAnchor
  steps: readonly CheckpointStep[]
  failure?: { index: number; error: CheckpointError } | undefined
}) => ({
  anchorHeight: r.anchor.body.height,
  anchorHash: r.anchor.hash,
  steps: r.steps.map((s) => (s.kind === 'handoff' ? s.anchor.hash : s.hash)),
  failure:
    r.failure === undefined
      ? undefined
      : { index: r.failure.index, code: r.failure.error.code, message: r.failure.error.message },
})

// Committees of 4 from a pool of 7 (keys repeat across epochs), a checkpoint inside each epoch.
const pooled = buildCheckpointChain({
  epochs: 6,
  committeeSize: 4,
  poolSize: 7,
  insidePerEpoch: 1,
})
// Fresh keys every epoch (no repeats: the batch pairs per checkpoint).
const fresh = buildCheckpointChain({ epochs: 4, committeeSize: 4 })

// The walk's tests run under each kernel; under mcl each answer is also held against noble's.
describe.each(['noble', 'mcl'] as const)('checkCheckpointRun (%s kernel)', (kernelName) => {
  let kernel: CheckpointSignatureKernel = nobleCheckpointKernel as CheckpointSignatureKernel
  beforeAll(async () => {
    if (kernelName === 'mcl') kernel = await loadMclCheckpointKernel()
    useCheckpointSignatureKernel(kernel)
  })
  afterAll(() => useCheckpointSignatureKernel())
  /** `checkCheckpointRun` under the noble kernel (the reference). */
  const underNoble = (anchor: CheckpointAnchor, run: readonly ServedCheckpoint[]) => {
    useCheckpointSignatureKernel()
    try {
      return checkCheckpointRun(anchor, run)
    } finally {
      useCheckpointSignatureKernel(kernel)
    }
  }

  test('accepts a whole run as checkNextCheckpoint does, handoffs and heads', () => {
    for (const fixture of [pooled, fresh]) {
      const result = checkCheckpointRun(fixture.genesis, fixture.served)
      expect(result.failure).toBeUndefined()
      expect(summary(result)).toEqual(summary(walkOneByOne(fixture.genesis, fixture.served)))
      const last = fixture.handoffs[fixture.handoffs.length - 1]?.checkpoint as SignedCheckpoint
      expect(result.anchor.body).toEqual(last.body)
      expect(result.anchor.committee).toEqual(fixture.handoffs.at(-1)?.committee)
      expect(result.head.hash).toEqual(checkpointHash(last.body))
    }
  })

  test('an empty run establishes nothing; a run that starts later starts from its anchor', () => {
    const empty = checkCheckpointRun(pooled.genesis, [])
    expect(empty).toEqual({
      anchor: pooled.genesis,
      head: { body: pooled.genesis.body, hash: pooled.genesis.hash },
      steps: [],
    })
    // Resume from the third handoff: the rest of the run.
    const third = checkCheckpointRun(pooled.genesis, pooled.served.slice(0, 6))
    const rest = checkCheckpointRun(third.anchor, pooled.served.slice(6))
    expect(rest.failure).toBeUndefined()
    expect(rest.anchor.hash).toEqual(checkCheckpointRun(pooled.genesis, pooled.served).anchor.hash)
    // The head of a run that ends inside an epoch is that checkpoint, the anchor its handoff.
    const inside = checkCheckpointRun(pooled.genesis, pooled.served.slice(0, 3))
    expect(inside.steps.map((s) => s.kind)).toEqual(['head', 'handoff', 'head'])
    expect(inside.head.body).toEqual(pooled.served[2]?.checkpoint.body)
    expect(inside.anchor.body).toEqual(pooled.served[1]?.checkpoint.body)
  })

  // A corruption of one item: what a hostile or broken source could serve.
  type Corruption = (run: ServedCheckpoint[], i: number, other: number) => void
  const withCheckpoint = (
    run: ServedCheckpoint[],
    i: number,
    change: (c: SignedCheckpoint) => SignedCheckpoint,
  ) => {
    const item = run[i] as ServedCheckpoint
    run[i] = { ...item, checkpoint: change(item.checkpoint) }
  }
  const corruptions: Record<string, Corruption> = {
    // Another checkpoint's valid signature: a point, the wrong one (CHECKPOINT_SIGNATURE).
    'signature of another': (run, i, other) =>
      withCheckpoint(run, i, (c) => ({
        ...c,
        signature: (run[(i + 1 + other) % run.length] as ServedCheckpoint).checkpoint.signature,
      })),
    'flipped signature byte': (run, i, other) =>
      withCheckpoint(run, i, (c) => {
        const signature = c.signature.slice()
        const at = 1 + (other % 46)
        signature[at] = (signature[at] as number) ^ 0x01
        return { ...c, signature }
      }),
    // The point at infinity (canonical compressed encoding): refused as a signature.
    'infinity signature': (run, i) =>
      withCheckpoint(run, i, (c) => {
        const signature = new Uint8Array(48)
        signature[0] = 0xc0
        return { ...c, signature }
      }),
    // A point of the curve outside G1 (a message mapped, its cofactor not cleared).
    'signature outside G1': (run, i, other) =>
      withCheckpoint(run, i, (c) => ({
        ...c,
        signature: compressedG1(messageOnCurve(new Uint8Array([other]), 'NOT-IN-G1')),
      })),
    'too few signers': (run, i) =>
      withCheckpoint(run, i, (c) => ({ ...c, signers: signerBitfield([0, 1]) })),
    'signer past the committee': (run, i) =>
      withCheckpoint(run, i, (c) => ({ ...c, signers: signerBitfield([0, 1, 2, 9]) })),
    // One signer left out of the bitfield: the sum of keys no longer matches.
    'one signer swapped': (run, i) =>
      withCheckpoint(run, i, (c) => ({ ...c, signers: signerBitfield([0, 1, 3]) })),
    'another state root': (run, i) =>
      withCheckpoint(run, i, (c) => ({
        ...c,
        body: { ...c.body, stateRoot: new Uint8Array(32).fill(9) },
      })),
    'another chain': (run, i) =>
      withCheckpoint(run, i, (c) => ({ ...c, body: { ...c.body, chainId: c.body.chainId + 1 } })),
    'dropped item': (run, i) => {
      run.splice(i, 1)
    },
    'items swapped': (run, i, other) => {
      const j = other % run.length
      ;[run[i], run[j]] = [run[j] as ServedCheckpoint, run[i] as ServedCheckpoint]
    },
    'wrong committee keys': (run, i) => {
      const item = run[i] as ServedCheckpoint
      const committee = (item.committee ?? fixtureKeys(4, 99).map((k) => k.publicKey)).slice()
      committee[0] = fixtureKeys(1, 77)[0]?.publicKey as Uint8Array
      run[i] = { ...item, committee }
    },
    // A committee key that is not a G2 point, bound honestly (the next committee signed it):
    // the checkpoint after the handoff is MALFORMED, when a member of it signed.
    'bad key bound by the chain': (run, i) => {
      const item = run[i] as ServedCheckpoint
      if (item.committee === undefined) return
      const committee = item.committee.slice()
      committee[0] = new Uint8Array(96).fill(0x11)
      run[i] = { ...item, committee }
    },
  }

  test('stops where checkNextCheckpoint stops, with the same error (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(pooled, fresh),
        fc.array(
          fc.tuple(
            fc.constantFrom(...Object.keys(corruptions)),
            fc.nat({ max: 100 }),
            fc.nat({ max: 100 }),
          ),
          { minLength: 0, maxLength: 3 },
        ),
        (fixture, changes) => {
          const run = fixture.served.slice()
          for (const [name, at, other] of changes) {
            if (run.length === 0) break
            ;(corruptions[name] as Corruption)(run, at % run.length, other)
          }
          const batched = checkCheckpointRun(fixture.genesis, run)
          expect(summary(batched)).toEqual(summary(walkOneByOne(fixture.genesis, run)))
          expect(summary(batched)).toEqual(summary(underNoble(fixture.genesis, run)))
        },
      ),
      { numRuns: 40 },
    )
  })

  test('a bad signature before a structural error is the failure reported', () => {
    const run = pooled.served.slice()
    const bad = run[2] as ServedCheckpoint
    run[2] = {
      ...bad,
      checkpoint: {
        ...bad.checkpoint,
        signature: (run[4] as ServedCheckpoint).checkpoint.signature,
      },
    }
    run.splice(6, 1) // a hole after it
    const result = checkCheckpointRun(pooled.genesis, run)
    expect(result.failure?.index).toBe(2)
    expect(result.failure?.error.code).toBe('CHECKPOINT_SIGNATURE')
    expect(result.steps).toHaveLength(2)
  })

  test('an error that is not a CheckpointError is thrown, as checkNextCheckpoint throws it', () => {
    const run = pooled.served.slice()
    const item = run[3] as ServedCheckpoint
    run[3] = {
      ...item,
      checkpoint: {
        ...item.checkpoint,
        body: { ...item.checkpoint.body, height: item.checkpoint.body.height + 0.5 },
      },
    }
    // A height above the anchor's but not an integer: the body cannot be hashed.
    expect(() => walkOneByOne(pooled.genesis, run)).toThrow(RangeError)
    expect(() => checkCheckpointRun(pooled.genesis, run)).toThrow(RangeError)
  })
})

describe('the batch check', () => {
  const keys = fixtureKeys(5, 3)
  const committee = keys.map((k) => k.publicKey)
  const body = (height: number) => ({
    ...(pooled.genesis.body as SignedCheckpoint['body']),
    height,
  })
  const prepared = (height: number, signers: number[]): PreparedSignature => {
    const signed = signByCommittee(keys, body(height), signers)
    return prepareCheckpointSignature(height, checkpointHash(signed.body), signed, committee)
  }
  const wrong = (height: number): PreparedSignature => ({
    ...prepared(height, [0, 1, 2, 3]),
    signature: prepared(height + 1000, [0, 1, 2, 3]).signature,
  })

  test('two wrong signatures that sum to the right ones are caught (the random weights)', () => {
    const a = prepared(20, [0, 1, 2, 3])
    const b = prepared(21, [0, 1, 2, 3])
    // σa' = σa + Δ, σb' = σb − Δ: the plain sum is unchanged, each is wrong.
    const delta = bls12_381.G1.Point.BASE.multiply(12345n)
    const items = [
      { ...a, signature: a.signature.add(delta) },
      { ...b, signature: b.signature.subtract(delta) },
    ]
    expect(verifyPrepared(items[0] as PreparedSignature)).toBe(false)
    expect(verifyPreparedBatch(items)).toBe(false)
    expect(firstInvalidSignature(items, nobleCheckpointKernel)).toBe(0)
  })

  test('a single check answers as noble verify does', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.boolean(), (height, good) => {
        const item = good ? prepared(height, [0, 1, 2, 3]) : wrong(height)
        const apk = item.keys.map((k) => k.point).reduce((s, p) => s.add(p))
        const expected = bls12_381.shortSignatures.verify(
          item.signature,
          attestationPoint(height, checkpointHash(body(height)), CHECKPOINT_DST),
          apk,
        )
        expect(verifyPrepared(item)).toBe(expected)
        expect(expected).toBe(good)
      }),
      { numRuns: 8 },
    )
  })

  test('keys are decoded once by their bytes; bytes that are no key stay refused', () => {
    clearKeyCache()
    const a = prepared(30, [0, 1, 2, 3])
    // Another committee array with the same bytes: the same decoded keys.
    const again = signByCommittee(keys, body(31), [0, 1, 2, 3])
    const b = prepareCheckpointSignature(
      31,
      checkpointHash(again.body),
      again,
      committee.map((k) => k.slice()),
    )
    expect(b.keys[0]).toBe(a.keys[0])
    const broken = committee.slice()
    broken[2] = new Uint8Array(96).fill(0x11)
    for (let i = 0; i < 2; i++) {
      let code: string | undefined
      try {
        prepareCheckpointSignature(31, checkpointHash(again.body), again, broken)
      } catch (e) {
        code = (e as CheckpointError).code
      }
      expect(code).toBe('CHECKPOINT_MALFORMED')
    }
  })
})
