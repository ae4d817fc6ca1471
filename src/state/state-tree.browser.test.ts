/**
 * The state tree in Chromium on IndexedDB: the fixed history reaches the root Node reaches
 * (pinned in testing/state-model.ts, checked on LevelDB and memory in Node), every proof
 * verifies here, and the tree reopens at the same root.
 */
import { deleteDB } from 'idb'
import { expect, test } from 'vitest'
import { openIdbKvStore } from '../kv/idb-kv-store.ts'
import { checkStateProof, verifyStateProof } from './state-proof.ts'
import { StateTree } from './state-tree.ts'
import {
  applyToModel,
  expectTreeHolds,
  FIXED_ROOT_HEX,
  fixedBatches,
  hex,
  type Model,
} from './testing/state-model.ts'

test('IndexedDB: the fixed history gives the pinned root; proofs verify; reopen keeps it', async () => {
  const name = `fulmen-state-test-${Date.now()}`
  try {
    const model: Model = new Map()
    {
      const store = await openIdbKvStore({ name })
      const tree = await StateTree.open(store)
      for (const changes of fixedBatches()) {
        await tree.commit(changes)
        applyToModel(model, changes)
      }
      expect(hex(tree.root)).toBe(FIXED_ROOT_HEX)
      await expectTreeHolds(tree, model)
      await store.close()
    }
    const store = await openIdbKvStore({ name })
    const tree = await StateTree.open(store)
    expect(tree.version).toBe(2)
    expect(hex(tree.root)).toBe(FIXED_ROOT_HEX)
    const key = new TextEncoder().encode('key-1')
    const { value, proof } = await tree.prove('nodes', key)
    expect(value).toEqual(new TextEncoder().encode('value-1'))
    checkStateProof(tree.root, 'nodes', key, value, proof)
    expect(
      verifyStateProof(tree.root, 'nodes', key, new TextEncoder().encode('value-2'), proof),
    ).toBe(false)
    await store.close()
  } finally {
    await deleteDB(name)
  }
})
