import { ed25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ed25519DagSigner, ed25519DagVerifier } from '../../consensus/dag/narwhal-messages.ts'
import { nodeEd25519DagSigner, nodeEd25519DagVerifier } from './node-ed25519.ts'

const key = fc.uint8Array({ minLength: 32, maxLength: 32 })
const message = fc.uint8Array({ maxLength: 100 })

describe('Ed25519 on Node', () => {
  test('signs exactly as @noble/curves does, and each verifies the other', () => {
    fc.assert(
      fc.property(key, message, (sk, msg) => {
        const pk = ed25519.getPublicKey(sk)
        const native = nodeEd25519DagSigner(0, sk).sign(msg)
        expect(native).toEqual(ed25519DagSigner(0, sk).sign(msg))
        expect(nodeEd25519DagVerifier([pk]).verify(0, msg, native)).toBe(true)
        expect(ed25519DagVerifier([pk]).verify(0, msg, native)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  test('refuses another message, another member, bad lengths and non-keys', () => {
    const sk = new Uint8Array(32).fill(3)
    const pk = ed25519.getPublicKey(sk)
    const other = ed25519.getPublicKey(new Uint8Array(32).fill(4))
    const verifier = nodeEd25519DagVerifier([pk, other, new Uint8Array(5)])
    const sig = nodeEd25519DagSigner(0, sk).sign(new Uint8Array([1]))
    expect(verifier.verify(0, new Uint8Array([2]), sig)).toBe(false)
    expect(verifier.verify(1, new Uint8Array([1]), sig)).toBe(false)
    expect(verifier.verify(2, new Uint8Array([1]), sig)).toBe(false)
    expect(verifier.verify(3, new Uint8Array([1]), sig)).toBe(false)
    expect(verifier.verify(0, new Uint8Array([1]), sig.subarray(1))).toBe(false)
    const flipped = sig.slice()
    flipped[10] = (flipped[10] as number) ^ 1
    expect(verifier.verify(0, new Uint8Array([1]), flipped)).toBe(false)
    expect(() => nodeEd25519DagSigner(0, new Uint8Array(31))).toThrow(RangeError)
  })
})
