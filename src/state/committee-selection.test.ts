/**
 * Committee selection, in Node and Chromium: deterministic, a subset of the active set without
 * duplicates, independent of the order the active set is listed in, and fair enough that every
 * node is picked about as often over a fixed list of seeds (fixed data: it cannot flake).
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { deriveKey } from '../b3/hash.ts'
import { compareNodeKeys, selectCommittee } from './committee-selection.ts'
import { StateError } from './errors.ts'

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const nodeKey = fc.uint8Array({ minLength: 32, maxLength: 32 })
const activeSet = fc.uniqueArray(nodeKey, { maxLength: 40, selector: hex })
const seed = fc.uint8Array({ minLength: 32, maxLength: 32 })

function keyOf(i: number): Uint8Array {
  const key = new Uint8Array(32)
  key[0] = i
  return key
}

describe('selectCommittee', () => {
  test('is deterministic and returns min(size, n) distinct members of the active set', () => {
    fc.assert(
      fc.property(activeSet, seed, fc.integer({ min: 0, max: 50 }), (active, s, size) => {
        const a = selectCommittee(active, s, size).map(hex)
        const b = selectCommittee(active, s, size).map(hex)
        expect(a).toEqual(b)
        expect(a).toHaveLength(Math.min(size, active.length))
        expect(new Set(a).size).toBe(a.length)
        const members = new Set(active.map(hex))
        for (const k of a) expect(members.has(k)).toBe(true)
      }),
      { numRuns: 100 },
    )
  })

  test('does not depend on the order the active set is listed in', () => {
    fc.assert(
      fc.property(activeSet, seed, fc.integer({ min: 0, max: 40 }), (active, s, size) => {
        const reversed = [...active].reverse()
        expect(selectCommittee(reversed, s, size).map(hex)).toEqual(
          selectCommittee(active, s, size).map(hex),
        )
      }),
      { numRuns: 50 },
    )
  })

  test('a smaller committee is a prefix of a larger one under the same seed', () => {
    fc.assert(
      fc.property(activeSet, seed, fc.integer({ min: 0, max: 40 }), (active, s, size) => {
        const all = selectCommittee(active, s, active.length).map(hex)
        expect(selectCommittee(active, s, size).map(hex)).toEqual(all.slice(0, size))
      }),
      { numRuns: 50 },
    )
  })

  test('another seed gives another committee (some seed among a few)', () => {
    const active = Array.from({ length: 20 }, (_, i) => keyOf(i))
    const committees = new Set<string>()
    for (let i = 0; i < 8; i++) {
      const s = deriveKey('fulmen test seed', new Uint8Array([i]))
      committees.add(selectCommittee(active, s, 5).map(hex).join())
    }
    expect(committees.size).toBeGreaterThan(1)
  })

  test('every node is selected about size/n of the time over 3,000 fixed seeds', () => {
    const n = 10
    const size = 3
    const seeds = 3000
    const active = Array.from({ length: n }, (_, i) => keyOf(i))
    const picked = new Array<number>(n).fill(0)
    const first = new Array<number>(n).fill(0)
    for (let i = 0; i < seeds; i++) {
      const s = deriveKey('fulmen test seed', new Uint8Array(new Uint32Array([i]).buffer))
      const committee = selectCommittee(active, s, size)
      committee.forEach((key, position) => {
        const i = key[0] as number
        picked[i] = (picked[i] as number) + 1
        if (position === 0) first[i] = (first[i] as number) + 1
      })
    }
    // Expected 900 each (σ ≈ 25) and 300 first (σ ≈ 16): bounds at about ±6σ.
    for (let i = 0; i < n; i++) {
      expect(picked[i]).toBeGreaterThan(750)
      expect(picked[i]).toBeLessThan(1050)
      expect(first[i]).toBeGreaterThan(200)
      expect(first[i]).toBeLessThan(400)
    }
  })

  test('keeps a known answer (the algorithm is part of the protocol)', () => {
    const active = [5, 1, 4, 2, 3].map(keyOf)
    const committee = selectCommittee(active, new Uint8Array(32), 3).map((k) => k[0])
    expect(committee).toEqual(KNOWN_ANSWER)
  })

  test('refuses a bad size, a non-byte key and a key listed twice', () => {
    const s = new Uint8Array(32)
    expect(() => selectCommittee([keyOf(1)], s, -1)).toThrow(StateError)
    expect(() => selectCommittee([keyOf(1)], s, 1.5)).toThrow(StateError)
    expect(() => selectCommittee([keyOf(1), keyOf(1)], s, 1)).toThrow(StateError)
    expect(() => selectCommittee(['x' as unknown as Uint8Array], s, 1)).toThrow(StateError)
  })
})

describe('compareNodeKeys', () => {
  test('orders by bytes, then by length', () => {
    expect(compareNodeKeys(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBeLessThan(0)
    expect(compareNodeKeys(new Uint8Array([2]), new Uint8Array([1, 3]))).toBeGreaterThan(0)
    expect(compareNodeKeys(new Uint8Array([1]), new Uint8Array([1, 0]))).toBeLessThan(0)
    expect(compareNodeKeys(new Uint8Array([1, 0]), new Uint8Array([1, 0]))).toBe(0)
  })
})

// Checked by hand with @noble/hashes: block 0 = derive-key(context, 32 zero bytes ‖ u64be 0, 64
// bytes); positions 0, 1, 2 swap with i + word_i mod (5 − i).
const KNOWN_ANSWER = [4, 5, 1]
