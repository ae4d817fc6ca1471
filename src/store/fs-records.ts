/**
 * The filesystem store's record index, in LevelDB through a `LevelKvStore` (`<dir>/db`):
 *
 * - `c:<roothex>` → `{"length","blocks","pinned","lastAccess"}` (UTF-8 JSON): content exists
 *   iff its record does (the commit point of an import);
 * - `p:<pointer>` → the 32-byte root (`PointerIndex`).
 *
 * The bytes are those the store wrote through classic-level's utf8 encoding before the KvStore
 * seam, so existing data dirs open as they are; the one change is the pointer value, a 64-char
 * root hex before: `migrateHexPointers` rewrites those at open.
 */
import { hexToBytes } from '@noble/hashes/utils.js'
import { HASH_LEN } from '../b3/constants.ts'
import { blockCount } from '../b3/geometry.ts'
import { KvError, type KvOperation } from '../kv/kv-store.ts'
import { type LevelKvStore, openLevelKvStore } from '../kv/level-kv-store.ts'
import { POINTER_PREFIX } from './pointer-index.ts'

/** The mutable in-memory form of a record. */
export interface FsRecord {
  length: number
  blocks: number
  pinned: boolean
  lastAccess: number
}

export const HEX_ROOT = /^[0-9a-f]{64}$/

const CONTENT_PREFIX = new TextEncoder().encode('c:')
const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

/**
 * Opens (creating) the record database. A directory locked by another process fails with
 * classic-level's own error, as before the seam: callers (the node's start-up) read its code.
 */
export async function openRecordDb(path: string): Promise<LevelKvStore> {
  try {
    return await openLevelKvStore({ dir: path })
  } catch (e) {
    if (e instanceof KvError && e.code === 'KV_LOCKED' && e.cause !== undefined) throw e.cause
    throw e
  }
}

export function recordKey(hex: string): Uint8Array {
  return utf8.encode(`c:${hex}`)
}

export function encodeRecord(rec: FsRecord): Uint8Array {
  return utf8.encode(
    JSON.stringify({
      length: rec.length,
      blocks: rec.blocks,
      pinned: rec.pinned,
      lastAccess: rec.lastAccess,
    }),
  )
}

/** The record `bytes` hold, or undefined when they are not one (treated as missing). */
function parseRecord(bytes: Uint8Array): FsRecord | undefined {
  try {
    const r = JSON.parse(fromUtf8.decode(bytes)) as Partial<FsRecord>
    if (
      Number.isSafeInteger(r.length) &&
      (r.length as number) >= 0 &&
      r.blocks === blockCount(r.length as number) &&
      typeof r.pinned === 'boolean' &&
      typeof r.lastAccess === 'number' &&
      Number.isFinite(r.lastAccess)
    ) {
      return {
        length: r.length as number,
        blocks: r.blocks,
        pinned: r.pinned,
        lastAccess: r.lastAccess,
      }
    }
  } catch {
    // Unreadable: treated as missing.
  }
  return undefined
}

export function putRecord(hex: string, rec: FsRecord): KvOperation {
  return { type: 'put', key: recordKey(hex), value: encodeRecord(rec) }
}

export function deleteRecord(hex: string): KvOperation {
  return { type: 'delete', key: recordKey(hex) }
}

/** Every record: the readable ones by root hex, and the keys of those that are not. */
export async function readRecords(
  kv: LevelKvStore,
): Promise<{ readonly records: [string, FsRecord][]; readonly unreadable: Uint8Array[] }> {
  const records: [string, FsRecord][] = []
  const unreadable: Uint8Array[] = []
  for await (const { key, value } of kv.entries({ prefix: CONTENT_PREFIX })) {
    const hex = fromUtf8.decode(key.subarray(CONTENT_PREFIX.length))
    const rec = parseRecord(value)
    if (rec === undefined || !HEX_ROOT.test(hex)) unreadable.push(key)
    else records.push([hex, rec])
  }
  return { records, unreadable }
}

/**
 * Rewrites pointer entries of the format before the KvStore seam (the root as 64 hex
 * characters) as 32-byte roots. Returns how many.
 */
export async function migrateHexPointers(kv: LevelKvStore): Promise<number> {
  const ops: KvOperation[] = []
  for await (const { key, value } of kv.entries({ prefix: POINTER_PREFIX })) {
    if (value.length !== 2 * HASH_LEN) continue
    const hex = fromUtf8.decode(value)
    if (HEX_ROOT.test(hex)) ops.push({ type: 'put', key, value: hexToBytes(hex) })
  }
  if (ops.length > 0) await kv.batch(ops)
  return ops.length
}

export function rootOf(hex: string): Uint8Array {
  return hexToBytes(hex)
}
