/**
 * The beacon's commit and seed, in Node and Chromium: checked against @noble/hashes' BLAKE3
 * derive-key over the documented layout, binding every input, refusing malformed reveals.
 */
import { blake3 } from '@noble/hashes/blake3.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BEACON_REVEAL_LEN, beaconCommitOf, beaconSeed } from './beacon.ts'
import { StateError } from './errors.ts'

const utf8 = new TextEncoder()
const reveal = fc.uint8Array({ minLength: BEACON_REVEAL_LEN, maxLength: BEACON_REVEAL_LEN })
const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')

function nobleCommit(epoch: number, round: number, r: Uint8Array): Uint8Array {
  const material = new Uint8Array(48)
  const view = new DataView(material.buffer)
  view.setBigUint64(0, BigInt(epoch))
  view.setBigUint64(8, BigInt(round))
  material.set(r, 16)
  return blake3(material, { context: utf8.encode('fulmen 2026 beacon commit') })
}

describe('beaconCommitOf', () => {
  test('is BLAKE3 derive-key over u64be epoch ‖ u64be round ‖ reveal', () => {
    fc.assert(
      fc.property(u64, u64, reveal, (epoch, round, r) => {
        expect(hex(beaconCommitOf(epoch, round, r))).toBe(hex(nobleCommit(epoch, round, r)))
      }),
      { numRuns: 50 },
    )
  })

  test('binds the epoch, the round and the reveal', () => {
    const r = new Uint8Array(32).fill(7)
    const base = hex(beaconCommitOf(3, 0, r))
    expect(hex(beaconCommitOf(4, 0, r))).not.toBe(base)
    expect(hex(beaconCommitOf(3, 1, r))).not.toBe(base)
    const other = r.slice()
    other[31] = (other[31] as number) ^ 1
    expect(hex(beaconCommitOf(3, 0, other))).not.toBe(base)
    expect(beaconCommitOf(3, 0, r)).toHaveLength(32)
  })

  test('refuses a reveal that is not 32 bytes and an epoch or round that is not a u64', () => {
    const bad: [number, number, Uint8Array][] = [
      [0, 0, new Uint8Array(31)],
      [0, 0, new Uint8Array(33)],
      [-1, 0, new Uint8Array(32)],
      [0, 1.5, new Uint8Array(32)],
      [2 ** 53, 0, new Uint8Array(32)],
    ]
    for (const [epoch, round, r] of bad) {
      expect(() => beaconCommitOf(epoch, round, r)).toThrow(StateError)
    }
  })
})

describe('beaconSeed', () => {
  test('is BLAKE3 derive-key over the reveals concatenated in the given order', () => {
    fc.assert(
      fc.property(fc.array(reveal, { maxLength: 8 }), (reveals) => {
        const material = new Uint8Array(reveals.length * 32)
        for (const [i, r] of reveals.entries()) material.set(r, i * 32)
        const expected = blake3(material, { context: utf8.encode('fulmen 2026 beacon seed') })
        expect(hex(beaconSeed(reveals))).toBe(hex(expected))
      }),
      { numRuns: 50 },
    )
  })

  test('depends on the order and on every reveal', () => {
    const a = new Uint8Array(32).fill(1)
    const b = new Uint8Array(32).fill(2)
    expect(hex(beaconSeed([a, b]))).not.toBe(hex(beaconSeed([b, a])))
    expect(hex(beaconSeed([a]))).not.toBe(hex(beaconSeed([a, b])))
    expect(hex(beaconSeed([]))).toHaveLength(64)
  })

  test('refuses a reveal that is not 32 bytes', () => {
    expect(() => beaconSeed([new Uint8Array(32), new Uint8Array(16)])).toThrow(StateError)
  })
})
