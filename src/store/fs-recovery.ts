/**
 * Opening the filesystem store after a crash (or any stop): brings the files and the records
 * back into agreement, so a restart finds exactly what was committed. It empties `tmp/`
 * (unfinished imports), drops records whose files are missing or of the wrong size, removes
 * files without a record, rewrites pointers of the old format and drops pointers to nothing.
 */
import { readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { Logger } from '../core/logger.ts'
import type { LevelKvStore } from '../kv/level-kv-store.ts'
import type { FsPaths } from './fs-files.ts'
import { treeFileSize } from './fs-files.ts'
import { deleteRecord, type FsRecord, migrateHexPointers, readRecords } from './fs-records.ts'
import { PointerIndex } from './pointer-index.ts'

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** Recovers the store; returns the committed records, least recently used first. */
export async function recoverFsStore(
  kv: LevelKvStore,
  paths: FsPaths,
  log: Logger | undefined,
): Promise<Map<string, FsRecord>> {
  const tmpEntries = await readdir(paths.tmp)
  for (const name of tmpEntries) {
    await rm(join(paths.tmp, name), { recursive: true, force: true })
  }
  if (tmpEntries.length > 0) log?.info({ count: tmpEntries.length }, 'removed unfinished imports')

  const { records, unreadable } = await readRecords(kv)
  const drop = [...unreadable]
  const contentNames = new Set(await readdir(paths.content))
  const treeNames = new Set(await readdir(paths.trees))
  const valid = new Map<string, FsRecord>()
  await forEachLimited(records, 32, async ([hex, rec]) => {
    let ok = contentNames.has(hex) && treeNames.has(hex)
    if (ok) {
      const [c, t] = await Promise.all([
        stat(join(paths.content, hex)).catch(() => undefined),
        stat(join(paths.trees, hex)).catch(() => undefined),
      ])
      ok =
        c?.isFile() === true &&
        c.size === rec.length &&
        t?.isFile() === true &&
        t.size === treeFileSize(rec.blocks)
    }
    if (ok) valid.set(hex, rec)
    else drop.push(deleteRecord(hex).key)
  })
  if (drop.length > 0) {
    await kv.batch(
      drop.map((key) => ({ type: 'delete' as const, key })),
      { sync: true },
    )
    log?.warn({ count: drop.length }, 'dropped records of missing or damaged content')
  }

  let strays = 0
  for (const [folder, names] of [
    [paths.content, contentNames],
    [paths.trees, treeNames],
  ] as const) {
    for (const name of names) {
      if (valid.has(name)) continue
      await rm(join(folder, name), { recursive: true, force: true })
      strays++
    }
  }
  if (strays > 0) log?.info({ count: strays }, 'removed files without a record')

  const migrated = await migrateHexPointers(kv)
  if (migrated > 0) log?.info({ count: migrated }, 'rewrote pointers as 32-byte roots')
  await new PointerIndex(kv, { isStored: (root) => valid.has(bytesToHex(root)) }).prune()

  const ordered = [...valid].sort((a, b) => a[1].lastAccess - b[1].lastAccess)
  return new Map(ordered)
}
