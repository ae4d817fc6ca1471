/**
 * The state tree over the memory store, in Node and in Chromium: against a Map model (roots
 * equal to the root computed from the entries alone, every entry proven, absent keys proven
 * absent), insertion order, unchanged contents, old versions and pruning.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { StateError } from './errors.ts'
import { EMPTY_HASH } from './state-hash.ts'
import { checkStateProof, verifyStateProof } from './state-proof.ts'
import { stateRootOf } from './state-root.ts'
import { type StateChange, StateTree } from './state-tree.ts'
import {
  applyToModel,
  batchesArb,
  expectTreeHolds,
  FIXED_ROOT_HEX,
  fixedBatches,
  hex,
  type Model,
  modelRoot,
} from './testing/state-model.ts'

const utf8 = new TextEncoder()

async function countNodes(store: MemoryKvStore): Promise<number> {
  let nodes = 0
  for await (const _ of store.entries({ prefix: utf8.encode('state-tree/n') })) nodes++
  return nodes
}

describe('StateTree against a Map model', () => {
  test('random commit sequences: the root is the entries’ root, every proof verifies', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArb, fc.boolean(), async (batches, cache) => {
        const tree = await StateTree.open(new MemoryKvStore(), { cacheNodes: cache ? 1000 : 0 })
        const model: Model = new Map()
        for (const changes of batches) {
          const before = modelRoot(model)
          await tree.commit(changes)
          applyToModel(model, changes)
          await expectTreeHolds(tree, model)
          // The root changes exactly when the contents do.
          const after = modelRoot(model)
          expect(hex(tree.root) === hex(before)).toBe(hex(after) === hex(before))
        }
      }),
      { numRuns: 60 },
    )
  })

  test('the same entries in any order, one by one or in one batch, give the same root', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 4 }), {
          minLength: 1,
          maxLength: 40,
          selector: (k) => hex(k),
        }),
        fc.integer(),
        async (keys, seed) => {
          const changes: StateChange[] = keys.map((key, i) => ({
            table: 'accounts',
            key,
            value: Uint8Array.of(i),
          }))
          const batched = await StateTree.open(new MemoryKvStore())
          await batched.commit(changes)
          const shuffled = fc.sample(fc.shuffledSubarray(changes, { minLength: changes.length }), {
            seed,
            numRuns: 1,
          })[0]!
          const oneByOne = await StateTree.open(new MemoryKvStore())
          for (const c of shuffled) await oneByOne.put(c.table, c.key, c.value as Uint8Array)
          expect(hex(oneByOne.root)).toBe(hex(batched.root))
          expect(hex(batched.root)).toBe(hex(stateRootOf(changes as never)))
        },
      ),
      { numRuns: 40 },
    )
  })

  test('the fixed history reaches the pinned root', async () => {
    const tree = await StateTree.open(new MemoryKvStore())
    const model: Model = new Map()
    for (const changes of fixedBatches()) {
      await tree.commit(changes)
      applyToModel(model, changes)
    }
    expect(hex(tree.root)).toBe(FIXED_ROOT_HEX)
    await expectTreeHolds(tree, model)
  })
})

describe('StateTree basics', () => {
  test('the empty map: root is 32 zero bytes, every key proven absent', async () => {
    const tree = await StateTree.open(new MemoryKvStore())
    expect(tree.version).toBe(0)
    expect(tree.root).toEqual(EMPTY_HASH)
    expect(stateRootOf([])).toEqual(EMPTY_HASH)
    const { value, proof } = await tree.prove('accounts', utf8.encode('alice'))
    expect(value).toBeUndefined()
    expect(proof).toEqual(Uint8Array.of(1, 0, 0))
    checkStateProof(EMPTY_HASH, 'accounts', utf8.encode('alice'), undefined, proof)
  })

  test('a table name is part of the key: the same key in two tables is two entries', async () => {
    const tree = await StateTree.open(new MemoryKvStore())
    await tree.put('accounts', utf8.encode('k'), utf8.encode('a'))
    expect(await tree.get('nodes', utf8.encode('k'))).toBeUndefined()
    // And the length prefix keeps ("ab", "c") apart from ("a", "bc").
    await tree.put('ab', utf8.encode('c'), utf8.encode('x'))
    expect(await tree.get('a', utf8.encode('bc'))).toBeUndefined()
  })

  test('old versions stay readable and provable until pruned', async () => {
    const tree = await StateTree.open(new MemoryKvStore())
    const key = utf8.encode('alice')
    const v1 = await tree.put('accounts', key, utf8.encode('10'))
    await tree.put('accounts', utf8.encode('bob'), utf8.encode('5'))
    const v3 = await tree.put('accounts', key, utf8.encode('20'))
    await tree.delete('accounts', key)
    expect(await tree.get('accounts', key)).toBeUndefined()
    expect(await tree.get('accounts', key, v1.version)).toEqual(utf8.encode('10'))
    const old = await tree.prove('accounts', key, v1.version)
    expect(old.root).toEqual(v1.root)
    checkStateProof(v1.root, 'accounts', key, utf8.encode('10'), old.proof)
    // A proof against one version does not pass for another.
    expect(verifyStateProof(v3.root, 'accounts', key, utf8.encode('10'), old.proof)).toBe(false)

    const deleted = await tree.prune(v3.version)
    expect(deleted).toBeGreaterThan(0)
    await expect(tree.get('accounts', key, v1.version)).rejects.toMatchObject({
      code: 'STATE_UNKNOWN_VERSION',
    })
    expect(await tree.get('accounts', key, v3.version)).toEqual(utf8.encode('20'))
    expect(await tree.get('accounts', utf8.encode('bob'))).toEqual(utf8.encode('5'))
  })

  test('pruning keeps nodes that came back: set A, set B, set A again, prune', async () => {
    const tree = await StateTree.open(new MemoryKvStore(), { cacheNodes: 0 })
    const key = utf8.encode('k')
    await tree.put('t', utf8.encode('other'), utf8.encode('o'))
    await tree.put('t', key, utf8.encode('A'))
    await tree.put('t', key, utf8.encode('B'))
    const back = await tree.put('t', key, utf8.encode('A'))
    await tree.prune(back.version)
    const model: Model = new Map()
    applyToModel(model, [
      { table: 't', key: utf8.encode('other'), value: utf8.encode('o') },
      { table: 't', key, value: utf8.encode('A') },
    ])
    expect(hex(tree.root)).toBe(hex(modelRoot(model)))
    checkStateProof(tree.root, 't', key, utf8.encode('A'), (await tree.prove('t', key)).proof)
  })

  test('pruning everything but the latest keeps the latest whole (random histories)', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArb, async (batches) => {
        const store = new MemoryKvStore()
        const tree = await StateTree.open(store, { cacheNodes: 0 })
        const model: Model = new Map()
        for (const changes of batches) {
          await tree.commit(changes)
          applyToModel(model, changes)
        }
        await tree.prune(tree.version)
        await expectTreeHolds(tree, model)
        // Only the latest version's nodes are left: as many as one commit of the entries makes.
        const fresh = new MemoryKvStore()
        await (await StateTree.open(fresh)).commit([...model.values()].map((e) => ({ ...e })))
        expect(await countNodes(store)).toBe(await countNodes(fresh))
      }),
      { numRuns: 40 },
    )
  })

  test('bad arguments are typed errors', async () => {
    const tree = await StateTree.open(new MemoryKvStore())
    await expect(tree.put('', Uint8Array.of(1), Uint8Array.of(1))).rejects.toBeInstanceOf(
      StateError,
    )
    await expect(
      tree.put('x'.repeat(256), Uint8Array.of(1), Uint8Array.of(1)),
    ).rejects.toMatchObject({
      code: 'STATE_INVALID_ARGUMENT',
    })
    await expect(
      tree.commit([{ table: 't', key: Uint8Array.of(1), value: 'v' as never }]),
    ).rejects.toMatchObject({ code: 'STATE_INVALID_ARGUMENT' })
    await expect(tree.prune(5)).rejects.toMatchObject({ code: 'STATE_INVALID_ARGUMENT' })
    await expect(tree.rootAt(7)).rejects.toMatchObject({ code: 'STATE_UNKNOWN_VERSION' })
  })

  test('a missing node is STATE_CORRUPT, not a wrong answer', async () => {
    const store = new MemoryKvStore()
    const tree = await StateTree.open(store, { cacheNodes: 0 })
    await tree.put('t', Uint8Array.of(1), Uint8Array.of(1))
    await tree.put('t', Uint8Array.of(2), Uint8Array.of(2))
    for await (const e of store.entries({ prefix: utf8.encode('state-tree/n') }))
      await store.delete(e.key)
    await expect(tree.get('t', Uint8Array.of(1))).rejects.toMatchObject({ code: 'STATE_CORRUPT' })
  })
})
