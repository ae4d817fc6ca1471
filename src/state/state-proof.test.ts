/**
 * State proofs, in Node and Chromium: the layout round-trips, the decoder takes any bytes and
 * fails only with STATE_PROOF_MALFORMED, and no mutation of a valid proof proves anything the
 * tree does not hold.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { StateError } from './errors.ts'
import { EMPTY_HASH, HASH_LEN } from './state-hash.ts'
import {
  checkStateProof,
  decodeStateProof,
  encodeStateProof,
  MAX_STATE_PROOF_LEN,
  verifyStateProof,
} from './state-proof.ts'
import { StateTree } from './state-tree.ts'

const utf8 = new TextEncoder()

/** A tree of 64 entries, with a proof of presence, of absence (empty) and of absence (a leaf). */
async function sampleProofs() {
  const tree = await StateTree.open(new MemoryKvStore())
  await tree.commit(
    Array.from({ length: 64 }, (_, i) => ({
      table: 'accounts',
      key: utf8.encode(`k${i}`),
      value: utf8.encode(`v${i}`),
    })),
  )
  const claims: { key: Uint8Array; value: Uint8Array | undefined; proof: Uint8Array }[] = []
  for (let i = 0; i < 200; i++) {
    const key = utf8.encode(`k${i}`)
    const got = await tree.prove('accounts', key)
    claims.push({ key, value: got.value, proof: got.proof })
  }
  return { root: tree.root, claims }
}

describe('state proof layout', () => {
  test('decode ∘ encode is the identity, and all three kinds occur', async () => {
    const { claims } = await sampleProofs()
    const kinds = new Set<number>()
    for (const { proof } of claims) {
      kinds.add(proof[0]!)
      expect(encodeStateProof(decodeStateProof(proof))).toEqual(proof)
    }
    expect([...kinds].sort()).toEqual([0, 1, 2])
  })

  test('random bytes: decoded, or refused with STATE_PROOF_MALFORMED, never another throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          // Plausible headers, to reach past the first checks.
          fc
            .tuple(
              fc.integer({ min: 0, max: 3 }),
              fc.integer({ min: 0, max: 300 }),
              fc.uint8Array({ maxLength: 400 }),
            )
            .map(([k, d, rest]) => Uint8Array.of(k, d >> 8, d & 0xff, ...rest)),
        ),
        (bytes) => {
          try {
            const decoded = decodeStateProof(bytes)
            // What decodes re-encodes to the same bytes: one encoding per proof.
            expect(encodeStateProof(decoded)).toEqual(bytes)
            expect(bytes.length).toBeLessThanOrEqual(MAX_STATE_PROOF_LEN)
          } catch (e) {
            expect(e).toBeInstanceOf(StateError)
            expect((e as StateError).code).toBe('STATE_PROOF_MALFORMED')
          }
        },
      ),
      { numRuns: 3000 },
    )
  })

  test('refusals name the rule', () => {
    const code = (bytes: Uint8Array) => {
      try {
        decodeStateProof(bytes)
        return 'decoded'
      } catch (e) {
        return (e as StateError).code
      }
    }
    expect(code(Uint8Array.of(3, 0, 0))).toBe('STATE_PROOF_MALFORMED') // unknown kind
    expect(code(Uint8Array.of(0, 1, 1))).toBe('STATE_PROOF_MALFORMED') // depth 257
    expect(code(Uint8Array.of(0, 0, 1, 0x40))).toBe('STATE_PROOF_MALFORMED') // bit past depth
    expect(code(Uint8Array.of(0, 0, 1, 0x80, ...new Uint8Array(HASH_LEN)))).toBe(
      'STATE_PROOF_MALFORMED',
    ) // an empty sibling written out
    expect(code(Uint8Array.of(0, 0, 0, 9))).toBe('STATE_PROOF_MALFORMED') // trailing byte
    expect(code(Uint8Array.of(0, 0, 1, 0))).toBe('decoded')
  })
})

describe('state proof verification', () => {
  test('every mutation of a valid proof fails, with a typed error, for the true claim and any other', async () => {
    const { root, claims } = await sampleProofs()
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: claims.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 8 })),
        async (i, flips, otherValue) => {
          const { key, value, proof } = claims[i]!
          const mutated = proof.slice()
          for (const [at, x] of flips) mutated[at % mutated.length]! ^= x
          // Two flips of one byte by the same bits undo each other: that is no mutation.
          fc.pre(mutated.some((byte, j) => byte !== proof[j]))
          // Any bit flipped in a canonical proof changes it; it must then prove nothing.
          for (const claim of [value, otherValue]) {
            try {
              checkStateProof(root, 'accounts', key, claim, mutated)
              throw new Error(
                `a mutated proof verified (${claim === undefined ? 'absent' : 'value'})`,
              )
            } catch (e) {
              expect(e).toBeInstanceOf(StateError)
            }
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  test('a proof for one value never verifies another, nor absence, nor another key or table', async () => {
    const { root, claims } = await sampleProofs()
    for (const { key, value, proof } of claims) {
      expect(verifyStateProof(root, 'accounts', key, value, proof)).toBe(true)
      if (value !== undefined) {
        expect(verifyStateProof(root, 'accounts', key, undefined, proof)).toBe(false)
        expect(verifyStateProof(root, 'accounts', key, utf8.encode('v-1'), proof)).toBe(false)
        // (An absence proof may rightly prove 'nodes' empty there too: that table is empty.)
        expect(verifyStateProof(root, 'nodes', key, value, proof)).toBe(false)
      } else {
        expect(verifyStateProof(root, 'accounts', key, new Uint8Array(0), proof)).toBe(false)
      }
      expect(verifyStateProof(EMPTY_HASH, 'accounts', key, value, proof)).toBe(false)
    }
  })

  test('a wrong root or table is a typed error (STATE_INVALID_ARGUMENT)', () => {
    expect(() =>
      checkStateProof(new Uint8Array(31), 't', Uint8Array.of(1), undefined, Uint8Array.of(1, 0, 0)),
    ).toThrow(expect.objectContaining({ code: 'STATE_INVALID_ARGUMENT' }))
    expect(() =>
      checkStateProof(EMPTY_HASH, '', Uint8Array.of(1), undefined, Uint8Array.of(1, 0, 0)),
    ).toThrow(expect.objectContaining({ code: 'STATE_INVALID_ARGUMENT' }))
  })
})
