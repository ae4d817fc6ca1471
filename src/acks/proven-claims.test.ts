import { describe, expect, test } from 'vitest'
import { CLAIM_LEN, type ClaimCheck, checkClaims } from './claim.ts'
import { COMMITMENT_LEN } from './commitment.ts'
import { DA_BATCH_SLOTS } from './da-batch-artifacts.ts'
import { nobleGroth16Kernel, PROOF_BYTES } from './groth16.ts'
import { checkProvenClaims, proofsFor } from './proven-claims.ts'
import { FIXTURE_SLOTS, fixtureBatches } from './testing/da-batch-claims.ts'

const [full, short] = fixtureBatches()

const check = (claims: Uint8Array[], proofs: Uint8Array[]) =>
  checkProvenClaims(claims, proofs, nobleGroth16Kernel)
const codes = (checks: ClaimCheck[]) => checks.map((c) => (c.ok ? 'ok' : c.error.code))
const all = (n: number, code: string) => Array(n).fill(code)
const flip = (bytes: Uint8Array, at: number) => {
  bytes[at] = (bytes[at] as number) ^ 1
}

describe('claims proven in batches', () => {
  test('the fixture is for this circuit size', () => {
    expect(FIXTURE_SLOTS).toBe(DA_BATCH_SLOTS)
    expect(full.claims).toHaveLength(DA_BATCH_SLOTS)
    expect(short.claims.length).toBeLessThan(DA_BATCH_SLOTS)
  })

  test('a full and a padded batch settle with their proofs, as the native checks say', () => {
    const claims = [...full.claims, ...short.claims]
    const proven = check(claims, [full.proof, short.proof])
    expect(codes(proven)).toEqual(all(claims.length, 'ok'))
    expect(proven).toEqual(checkClaims(claims))
  })

  test('one signature forged: the whole batch is refused (the proof is for the real one)', () => {
    const claims = full.claims.map((c) => c.slice())
    // Another claim's signature over this commitment: the native check names the claim.
    claims[2]?.set(
      full.claims[3]?.subarray(COMMITMENT_LEN, COMMITMENT_LEN + 64) as Uint8Array,
      COMMITMENT_LEN,
    )
    expect(codes(checkClaims(claims))[2]).toBe('ACK_FORGED_COMMITMENT')
    // The signature is not in the digest, so a changed one passes… but only if it was proven:
    // the proof vouches for the commitment being signed, not for the bytes beside it.
    expect(codes(check(claims, [full.proof]))).toEqual(all(5, 'ok'))
    // A changed commitment (what a forger needs, to claim what the client never signed) fails.
    const forged = full.claims.map((c) => c.slice())
    flip(forged[2] as Uint8Array, 40)
    expect(codes(check(forged, [full.proof]))).toEqual(all(5, 'ACK_PROOF_INVALID'))
  })

  test('a claim from another batch, another order, or the other batch’s proof: refused', () => {
    const swapped = [short.claims[0] as Uint8Array, ...full.claims.slice(1)]
    expect(codes(check(swapped, [full.proof]))).toEqual(all(5, 'ACK_PROOF_INVALID'))
    const reordered = [full.claims[1], full.claims[0], ...full.claims.slice(2)] as Uint8Array[]
    expect(codes(check(reordered, [full.proof]))).toEqual(all(5, 'ACK_PROOF_INVALID'))
    expect(codes(check(full.claims, [short.proof]))).toEqual(all(5, 'ACK_PROOF_INVALID'))
    expect(codes(check([...full.claims, ...short.claims], [short.proof, full.proof]))).toEqual(
      all(7, 'ACK_PROOF_INVALID'),
    )
  })

  test('a claim put in a padded slot credits nothing: the batch is refused', () => {
    const padded = [...short.claims, full.claims[0] as Uint8Array]
    expect(codes(check(padded, [short.proof]))).toEqual(all(3, 'ACK_PROOF_INVALID'))
    // Fewer claims than proven is another digest as well.
    expect(codes(check(short.claims.slice(0, 1), [short.proof]))).toEqual(['ACK_PROOF_INVALID'])
  })

  test('the proof vouches for signatures only: a reveal or index that does not hold fails alone', () => {
    const claims = full.claims.map((c) => c.slice())
    const view = new DataView((claims[1] as Uint8Array).buffer)
    view.setUint32(COMMITMENT_LEN + 64, view.getUint32(COMMITMENT_LEN + 64) + 1)
    flip(claims[3] as Uint8Array, CLAIM_LEN - 1)
    const proven = codes(check(claims, [full.proof]))
    expect(proven).toEqual(['ok', 'ACK_BAD_REVEAL', 'ok', 'ACK_BAD_REVEAL', 'ok'])
    expect(proven).toEqual(codes(checkClaims(claims)))
  })

  test('malformed proofs and a wrong number of them: typed, never thrown', () => {
    const junk = new Uint8Array(PROOF_BYTES).fill(0xff)
    expect(codes(check(full.claims, [junk]))).toEqual(all(5, 'ACK_PROOF_MALFORMED'))
    const offCurve = full.proof.slice()
    offCurve[31] = (offCurve[31] as number) ^ 1
    expect(codes(check(full.claims, [offCurve]))).toEqual(all(5, 'ACK_PROOF_MALFORMED'))
    expect(codes(check(full.claims, [full.proof.subarray(1)]))).toEqual(
      all(5, 'ACK_PROOF_MALFORMED'),
    )
    expect(codes(check(full.claims, []))).toEqual(all(5, 'ACK_PROOF_MALFORMED'))
    expect(codes(check([...full.claims, ...short.claims], [full.proof]))).toEqual(
      all(7, 'ACK_PROOF_MALFORMED'),
    )
    expect(proofsFor(DA_BATCH_SLOTS + 1)).toBe(2)
    // A short claim in the batch: refused with the batch, nothing read past it.
    expect(codes(check([full.claims[0]?.subarray(1) as Uint8Array], [full.proof]))).toEqual([
      'ACK_MALFORMED',
    ])
  })

  test('every single-bit change of a proof is refused', () => {
    for (let bit = 0; bit < PROOF_BYTES * 8; bit += 97) {
      const flipped = full.proof.slice()
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
      const result = codes(check(full.claims, [flipped]))
      expect(result[0]).toMatch(/^ACK_PROOF_(MALFORMED|INVALID)$/)
      expect(new Set(result).size).toBe(1)
    }
  })
})
