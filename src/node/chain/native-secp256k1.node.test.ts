import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nobleRecover, personalSign, recoverPersonalSigner } from '../../state/transaction.ts'
import { nativeRecover } from './native-secp256k1.ts'

const secret = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((k) => secp256k1.utils.isValidSecretKey(k))

describe('libsecp256k1 recovery gives what @noble/curves gives', () => {
  it('for valid signatures', () => {
    fc.assert(
      fc.property(secret, fc.uint8Array({ minLength: 32, maxLength: 32 }), (key, hash) => {
        const rec = secp256k1.sign(hash, key, { prehash: false, format: 'recovered' })
        const compact = rec.subarray(1)
        const native = nativeRecover(compact, rec[0]!, hash)
        expect(native).toEqual(nobleRecover(compact, rec[0]!, hash))
        expect(native).toEqual(secp256k1.getPublicKey(key, false))
      }),
      { numRuns: 300 },
    )
  })

  it('for mutated and random signatures, recovery ids and hashes (none throws)', () => {
    fc.assert(
      fc.property(
        secret,
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat({ max: 63 }),
        fc.nat({ max: 255 }),
        fc.integer({ min: 0, max: 1 }),
        (key, hash, at, byte, recovery) => {
          const rec = secp256k1.sign(hash, key, { prehash: false, format: 'recovered' })
          const compact = rec.slice(1)
          compact[at] = byte
          expect(nativeRecover(compact, recovery, hash)).toEqual(
            nobleRecover(compact, recovery, hash),
          )
        },
      ),
      { numRuns: 300 },
    )
    for (const compact of [new Uint8Array(64), new Uint8Array(64).fill(0xff)]) {
      expect(nativeRecover(compact, 0, new Uint8Array(32))).toBeUndefined()
      expect(nobleRecover(compact, 0, new Uint8Array(32))).toBeUndefined()
    }
  })

  it('recovers the same personal_sign signer', () => {
    const key = new Uint8Array(32).fill(3)
    const message = new TextEncoder().encode('fulmen')
    const signature = personalSign(message, key)
    expect(recoverPersonalSigner(message, signature, nativeRecover)).toEqual(
      recoverPersonalSigner(message, signature),
    )
  })
})
