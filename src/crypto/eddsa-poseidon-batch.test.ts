import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import { blake512 } from '@noble/hashes/blake1.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BASE8, packPoint, SUBGROUP_ORDER } from './babyjub.ts'
import { loadBn254Kernel } from './bn254-kernel.ts'
import { expandPrivateKey, publicKeyOf, sign, verify } from './eddsa-poseidon.ts'
import { type SignedMessage, verifyBatch, verifyCofactored } from './eddsa-poseidon-batch.ts'
import { poseidon } from './poseidon.ts'
import { le32, ORDER8 } from './testing/points.ts'

await loadBn254Kernel()

const keys = Array.from({ length: 6 }, (_, i) => new Uint8Array(32).fill(i + 1))
const publicKeys = keys.map(publicKeyOf)

function item(i: number, keyIndex = i % keys.length): SignedMessage {
  const message = BigInt(i) * 1_000_003n + 17n
  return { publicKey: publicKeys[keyIndex]!, message, signature: sign(keys[keyIndex]!, message) }
}

const valid = Array.from({ length: 24 }, (_, i) => item(i))

/** Ways one item can be wrong; each makes `verify` refuse it. */
const tampers: ((x: SignedMessage) => SignedMessage)[] = [
  (x) => ({ ...x, message: x.message + 1n }),
  (x) => ({ ...x, publicKey: publicKeys[(publicKeys.indexOf(x.publicKey) + 1) % 6]! }),
  (x) => {
    const signature = x.signature.slice()
    signature[40]! ^= 1 // S changed
    return { ...x, signature }
  },
  (x) => {
    const signature = x.signature.slice()
    signature[3]! ^= 4 // R8 changed: often no point at all
    return { ...x, signature }
  },
  (x) => {
    const signature = x.signature.slice()
    signature.set(le32(SUBGROUP_ORDER + 1n), 32) // S >= l
    return { ...x, signature }
  },
  (x) => ({ ...x, publicKey: new Uint8Array(31) }),
  (x) => ({ ...x, signature: x.signature.subarray(0, 63) }),
  (x) => ({ ...x, message: -1n }),
  (x) => ({ ...x, publicKey: packPoint(ORDER8) }), // a key of small order
]

/**
 * A signature whose R8 carries a point of order 8, made by the key's holder: circomlib's strict
 * equation refuses it, the cofactored one accepts it.
 */
function torsionSignature(privateKey: Uint8Array, message: bigint): Uint8Array {
  const key = expandPrivateKey(privateKey)
  const r = bytesToNumberLE(blake512(new Uint8Array([1, 2, 3]))) % SUBGROUP_ORDER
  const R8 = BASE8.multiply(r).add(ORDER8)
  const { x, y } = R8.toAffine()
  const hm = poseidon([x, y, key.x, key.y, message])
  const S = (r + hm * key.scalar) % SUBGROUP_ORDER
  const out = new Uint8Array(64)
  out.set(packPoint(R8))
  out.set(numberToBytesLE(S, 32), 32)
  return out
}

describe('verifyBatch', () => {
  test('accepts a batch of valid signatures (many per key), and an empty one', () => {
    expect(verifyBatch(valid)).toEqual(valid.map(() => true))
    expect(verifyBatch([])).toEqual([])
  })

  test('names exactly the bad items, whatever is wrong with them (against verify)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: valid.length - 1 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat({ max: tampers.length - 1 }), { minLength: 4, maxLength: 4 }),
        (positions, kinds) => {
          const items = valid.slice()
          positions.forEach((at, i) => {
            items[at] = tampers[kinds[i]!]!(items[at]!)
          })
          const expected = items.map((x) => verify(x.publicKey, x.message, x.signature))
          expect(verifyBatch(items)).toEqual(expected)
          expect(items.map(verifyCofactored)).toEqual(expected)
        },
      ),
      { numRuns: 25 },
    )
  })

  test('a signature with torsion in R8: refused by verify, accepted by the cofactored equation', () => {
    const message = 99n
    const signature = torsionSignature(keys[0]!, message)
    const torsion = { publicKey: publicKeys[0]!, message, signature }
    expect(verify(torsion.publicKey, message, signature)).toBe(false)
    expect(verifyCofactored(torsion)).toBe(true)
    expect(verifyBatch([...valid.slice(0, 5), torsion])).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ])
    // Two torsion signatures whose torsion would cancel in an equation that did not clear it.
    const other = {
      publicKey: publicKeys[0]!,
      message: 100n,
      signature: torsionSignature(keys[0]!, 100n),
    }
    expect(verifyBatch([torsion, other])).toEqual([true, true])
  })

  test('the answer does not depend on the batch: each item alone gives the same', () => {
    const items = valid.slice(0, 8)
    items[2] = tampers[0]!(items[2]!)
    const together = verifyBatch(items)
    expect(items.map((x) => verifyBatch([x])[0])).toEqual(together)
  })
})
