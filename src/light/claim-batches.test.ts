/**
 * A settlement's batch proofs checked by a reader (claim-batches.ts), in Node and Chromium with
 * noble's kernel (a browser worker's): real proofs of the committed circuit
 * (acks/testing/da-batch-fixture.json) in node-signed `SubmitDeliveryClaims` transactions, as
 * blocks carry them. Each batch is named by its digest and timed; a proof that fails, or that
 * is for other claims, is `valid: false` with its code; bytes that are not such a transaction
 * are a typed error.
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import { describe, expect, test } from 'vitest'
import { batchDigest } from '../acks/batch-binding.ts'
import { COMMITMENT_LEN } from '../acks/commitment.ts'
import { PROOF_BYTES } from '../acks/groth16.ts'
import { fixtureBatches } from '../acks/testing/da-batch-claims.ts'
import { StateError } from '../state/errors.ts'
import type { Method } from '../state/model.ts'
import { nodeTx, testAccount, testNode } from '../state/testing/chain-fixture.ts'
import { TransactionError } from '../state/transaction.ts'
import { checkClaimBatches } from './claim-batches.ts'

const [full, short] = fixtureBatches()

const node = testNode('n0', testAccount('operator'))
const submit = (claims: Uint8Array[], proofs?: Uint8Array[]) =>
  nodeTx(
    node,
    0,
    proofs === undefined
      ? { type: 'SubmitDeliveryClaims', claims }
      : { type: 'SubmitDeliveryClaims', claims, proofs },
  )
const idOf = (claims: Uint8Array[]) =>
  batchDigest(claims.map((c) => c.subarray(0, COMMITMENT_LEN)))
    .toString(16)
    .padStart(64, '0')

function thrown(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('it did not throw')
}

describe('a settlement’s batch proofs checked by a reader', () => {
  test('each batch verifies, named by its digest and timed', () => {
    const checks = checkClaimBatches(
      submit([...full.claims, ...short.claims], [full.proof, short.proof]),
    )
    expect(checks.map(({ ms, ...rest }) => rest)).toEqual([
      { batch: idOf(full.claims), claims: 5, valid: true },
      { batch: idOf(short.claims), claims: 2, valid: true },
    ])
    for (const { ms } of checks) expect(ms).toBeGreaterThan(0)
    expect(checks[0]?.batch).toMatch(/^[0-9a-f]{64}$/)
  })

  test('the clock given times each batch', () => {
    let t = 0
    const checks = checkClaimBatches(submit(full.claims, [full.proof]), { now: () => (t += 7) })
    expect(checks.map((c) => c.ms)).toEqual([7])
  })

  test('a proof for other claims, or a changed one, is refused with its code, not thrown', () => {
    // The batches' proofs swapped: each is a sound proof, of the other batch.
    const swapped = checkClaimBatches(
      submit([...full.claims, ...short.claims], [short.proof, full.proof]),
    )
    expect(swapped.map((c) => [c.valid, c.code])).toEqual([
      [false, 'ACK_PROOF_INVALID'],
      [false, 'ACK_PROOF_INVALID'],
    ])
    // Only the second batch's proof damaged: the first still holds.
    const damaged = short.proof.slice()
    damaged[PROOF_BYTES - 1] = (damaged[PROOF_BYTES - 1] as number) ^ 1
    const checks = checkClaimBatches(
      submit([...full.claims, ...short.claims], [full.proof, damaged]),
    )
    expect(checks[0]).toMatchObject({ valid: true, claims: 5 })
    expect(checks[0]?.code).toBeUndefined()
    expect(checks[1]).toMatchObject({ valid: false, claims: 2, batch: idOf(short.claims) })
    expect(checks[1]?.code).toMatch(/^ACK_PROOF_(INVALID|MALFORMED)$/)
    const junk = new Uint8Array(PROOF_BYTES).fill(0xff)
    expect(checkClaimBatches(submit(full.claims, [junk]))).toMatchObject([
      { valid: false, code: 'ACK_PROOF_MALFORMED', claims: 5 },
    ])
  })

  test('a claim that fails its own checks leaves the proof valid (the chain rejects the claim)', () => {
    const claims = full.claims.map((c) => c.slice())
    const last = claims[3] as Uint8Array
    last[last.length - 1] = (last[last.length - 1] as number) ^ 1 // its reveal
    expect(checkClaimBatches(submit(claims, [full.proof]))).toMatchObject([
      { valid: true, claims: 5 },
    ])
  })

  test('claims without proofs: no proven batch', () => {
    expect(checkClaimBatches(submit(short.claims))).toEqual([])
  })

  test('bytes that are not a SubmitDeliveryClaims: a typed error', () => {
    const tx = submit(full.claims, [full.proof])
    for (const bytes of [
      new Uint8Array(0),
      tx.subarray(0, tx.length - 1),
      hexToBytes('deadbeef'),
    ]) {
      const error = thrown(() => checkClaimBatches(bytes))
      expect(error).toBeInstanceOf(TransactionError)
      expect((error as TransactionError).code).toBe('TX_MALFORMED')
    }
    expect((thrown(() => checkClaimBatches('ab' as never)) as TransactionError).code).toBe(
      'TX_MALFORMED',
    )
    const optIn: Method = { type: 'OptIn' }
    const other = thrown(() => checkClaimBatches(nodeTx(node, 0, optIn)))
    expect(other).toBeInstanceOf(StateError)
    expect((other as StateError).code).toBe('STATE_INVALID_ARGUMENT')
  })
})
