/**
 * The state tree on LevelDB: the same commits give the same roots as on the memory store, and
 * a tree reopened after its process's store closed is at the same version, root and entries,
 * its old versions still provable.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'
import { openLevelKvStore } from '../kv/level-kv-store.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { checkStateProof } from './state-proof.ts'
import { StateTree } from './state-tree.ts'
import {
  applyToModel,
  batchesArb,
  expectTreeHolds,
  FIXED_ROOT_HEX,
  fixedBatches,
  hex,
  type Model,
} from './testing/state-model.ts'

const base = mkdtempSync(join(tmpdir(), 'fulmen-state-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
let dirs = 0
const freshDir = () => join(base, `db-${dirs++}`)

describe('StateTree on LevelDB', () => {
  test('random commit sequences give the same roots as on the memory store', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArb, async (batches) => {
        const level = await openLevelKvStore({ dir: freshDir() })
        try {
          const onLevel = await StateTree.open(level, { cacheNodes: 0 })
          const inMemory = await StateTree.open(new MemoryKvStore())
          const model: Model = new Map()
          for (const changes of batches) {
            const a = await onLevel.commit(changes)
            const b = await inMemory.commit(changes)
            applyToModel(model, changes)
            expect(hex(a.root)).toBe(hex(b.root))
          }
          await expectTreeHolds(onLevel, model)
        } finally {
          await level.close()
        }
      }),
      { numRuns: 15 },
    )
  })

  test('a reopened tree is at the same version and root, old versions readable', async () => {
    const dir = freshDir()
    const model: Model = new Map()
    const roots: string[] = []
    {
      const store = await openLevelKvStore({ dir })
      const tree = await StateTree.open(store)
      for (const changes of fixedBatches()) {
        roots.push(hex((await tree.commit(changes)).root))
        applyToModel(model, changes)
      }
      await store.close()
    }
    const store = await openLevelKvStore({ dir })
    try {
      const tree = await StateTree.open(store)
      expect(tree.version).toBe(2)
      expect(hex(tree.root)).toBe(FIXED_ROOT_HEX)
      expect(roots[1]).toBe(FIXED_ROOT_HEX)
      await expectTreeHolds(tree, model)
      // Version 1 (before the overwrites and deletes) still answers with its own values.
      const key = new TextEncoder().encode('key-0')
      const old = await tree.prove('accounts', key, 1)
      expect(hex(old.root)).toBe(roots[0])
      checkStateProof(old.root, 'accounts', key, new TextEncoder().encode('value-0'), old.proof)
      // And a commit after the restart builds on the stored tree.
      await tree.delete('accounts', key)
      applyToModel(model, [{ table: 'accounts', key, value: null }])
      await expectTreeHolds(tree, model)
    } finally {
      await store.close()
    }
  })
})
