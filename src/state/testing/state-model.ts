/**
 * Test support for the state tree: random change batches over a small key space (so keys
 * collide, are overwritten and deleted), a Map model of what the tree should hold, and a fixed
 * operation list with its root pinned, which Node and Chromium must both reach.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import { checkStateProof, verifyStateProof } from '../state-proof.ts'
import { stateRootOf } from '../state-root.ts'
import type { StateChange, StateTree } from '../state-tree.ts'

export const TABLES = ['accounts', 'nodes', 'served'] as const

export type Model = Map<string, { table: string; key: Uint8Array; value: Uint8Array }>

export function modelKey(table: string, key: Uint8Array): string {
  return `${table}/${Array.from(key).join(',')}`
}

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 2, max: 7 })
const changeArb: fc.Arbitrary<StateChange> = fc.record({
  table: fc.constantFrom(...TABLES),
  key: keyArb,
  value: fc.option(fc.uint8Array({ minLength: 0, maxLength: 40 }), { freq: 4, nil: null }),
})

/** A sequence of commits, each a batch of changes. */
export const batchesArb = fc.array(fc.array(changeArb, { minLength: 0, maxLength: 12 }), {
  minLength: 1,
  maxLength: 6,
})

export function applyToModel(model: Model, changes: readonly StateChange[]): void {
  for (const c of changes) {
    const k = modelKey(c.table, c.key)
    if (c.value === null) model.delete(k)
    else model.set(k, { table: c.table, key: c.key, value: c.value })
  }
}

export function modelRoot(model: Model): Uint8Array {
  return stateRootOf(model.values())
}

/** Every entry of `model` proven present, a few absent keys proven absent, wrong values refused. */
export async function expectTreeHolds(tree: StateTree, model: Model): Promise<void> {
  const root = tree.root
  expect(hex(root)).toBe(hex(modelRoot(model)))
  for (const { table, key, value } of model.values()) {
    const got = await tree.prove(table, key)
    expect(got.value).toEqual(value)
    checkStateProof(root, table, key, value, got.proof)
    const other = Uint8Array.of(...value, 1)
    expect(verifyStateProof(root, table, key, other, got.proof)).toBe(false)
    expect(verifyStateProof(root, table, key, undefined, got.proof)).toBe(false)
  }
  for (const table of TABLES) {
    for (let k = 0; k < 8; k++) {
      const key = Uint8Array.of(k)
      if (model.has(modelKey(table, key))) continue
      const got = await tree.prove(table, key)
      expect(got.value).toBeUndefined()
      checkStateProof(root, table, key, undefined, got.proof)
      expect(verifyStateProof(root, table, key, new Uint8Array(0), got.proof)).toBe(false)
    }
  }
}

/** A fixed history: 300 entries over two tables, then 100 overwritten and 60 deleted. */
export function fixedBatches(): StateChange[][] {
  const utf8 = new TextEncoder()
  const first: StateChange[] = []
  for (let i = 0; i < 300; i++) {
    first.push({
      table: i % 2 === 0 ? 'accounts' : 'nodes',
      key: utf8.encode(`key-${i}`),
      value: utf8.encode(`value-${i}`),
    })
  }
  const second: StateChange[] = []
  for (let i = 0; i < 100; i++) {
    second.push({
      table: i % 2 === 0 ? 'accounts' : 'nodes',
      key: utf8.encode(`key-${i * 3}`),
      value: utf8.encode(`new-${i}`),
    })
  }
  for (let i = 0; i < 60; i++) {
    second.push({
      table: i % 2 === 0 ? 'accounts' : 'nodes',
      key: utf8.encode(`key-${i * 5}`),
      value: null,
    })
  }
  return [first, second]
}

/** The root `fixedBatches` leads to, pinned: any change to hashing or shape shows here. */
export const FIXED_ROOT_HEX = 'a531d7619ca5038c78a8b2ee2ea7ef8460c286cf688470a9407315b564a412b0'

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
