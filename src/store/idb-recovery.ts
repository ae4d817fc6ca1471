/**
 * Cleaning up after imports that never finished (the tab was closed, the worker killed).
 *
 * Several contexts (tabs, workers) may open the same database, so "staged" does not mean
 * "dead": an import holds a Web Lock named after its blob for its whole life, taken before
 * its staging entry is written. Opening reads the staging entries, then the held locks; an
 * entry seen before the look-up whose lock is not held is dead for good (its random id is
 * never locked again). Everything is then removed in one transaction, so an import that
 * starts meanwhile is seen there as staged, and kept.
 *
 * Without Web Locks (an insecure context) every staged import counts as dead; an import
 * still running elsewhere then fails at its next write, as its staging entry is gone.
 */
import {
  type BlockDb,
  blobRange,
  type ContentRecord,
  inTransaction,
  isValidRecord,
  treeBytes,
} from './idb-schema.ts'

function lockManager(): LockManager | undefined {
  return (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
}

export function importLockName(database: string, blob: string): string {
  return `fulmen-blocks:${database}:${blob}`
}

/** Takes the named lock and resolves with its release, or with undefined without Web Locks. */
export function holdLock(name: string): Promise<(() => void) | undefined> {
  const locks = lockManager()
  if (locks === undefined) return Promise.resolve(undefined)
  return new Promise((granted, failed) => {
    locks
      .request(name, () => new Promise<void>((release) => granted(() => release())))
      .catch(failed)
  })
}

async function heldLockNames(): Promise<Set<string>> {
  const state = await lockManager()?.query()
  return new Set((state?.held ?? []).map((l) => l.name ?? ''))
}

/**
 * Removes dead imports, blocks of no content and records whose tree or blocks are missing.
 * Returns the committed records (the store then prunes pointers to nothing).
 */
export async function recover(db: BlockDb, database: string): Promise<ContentRecord[]> {
  const staged = await db.getAllKeys('staging')
  const held = await heldLockNames()
  const dead = staged.filter((blob) => !held.has(importLockName(database, blob)))

  const tx = db.transaction(['contents', 'trees', 'blocks', 'staging'], 'readwrite', {
    durability: 'strict',
  })
  const contents = tx.objectStore('contents')
  const trees = tx.objectStore('trees')
  const blocks = tx.objectStore('blocks')
  const staging = tx.objectStore('staging')
  return inTransaction(tx, async () => {
    await Promise.all(dead.map((blob) => staging.delete(blob)))
    const live = new Set<string>(await staging.getAllKeys())

    const treeKeys = new Set(await trees.getAllKeys())
    const records: ContentRecord[] = []
    for (let c = await contents.openCursor(); c !== null; c = await c.continue()) {
      const r: unknown = c.value
      const whole =
        isValidRecord(r) &&
        treeKeys.has(r.root) &&
        (await blocks.count(blobRange(r.blob))) === r.blocks &&
        (await trees.get(r.root))?.length === treeBytes(r.blocks)
      if (whole) {
        records.push(r)
        live.add(r.blob)
      } else {
        await c.delete()
      }
    }
    const roots = new Set(records.map((r) => r.root))
    await Promise.all([...treeKeys].filter((k) => !roots.has(k)).map((k) => trees.delete(k)))

    // One step per blob: jump past the rest of its blocks.
    for (let c = await blocks.openKeyCursor(); c !== null; ) {
      const [blob] = c.key
      if (!live.has(blob)) await blocks.delete(blobRange(blob))
      c = await c.continue([blob, Number.POSITIVE_INFINITY])
    }
    return records
  })
}
