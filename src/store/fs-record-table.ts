/**
 * The filesystem store's records in memory, once opened: in least-recently-used order, with
 * the byte totals that eviction and `usage()` read, and the access times not yet written.
 */
import type { StoreUsage } from './block-store.ts'
import { chooseVictims } from './eviction.ts'
import type { FsRecord } from './fs-records.ts'

export class FsRecordTable {
  /** Every stored content, least recently used first. */
  private readonly records: Map<string, FsRecord>
  readonly limit: number
  bytes = 0
  pinnedBytes = 0
  /** Strictly increasing access clock: LRU order survives a restart without ties. */
  private clock = 0
  /** Roots whose access time changed since the last flush. */
  private readonly dirty = new Set<string>()

  /** `records` least recently used first (as recovery returns them). */
  constructor(records: Map<string, FsRecord>, limit: number) {
    this.records = records
    this.limit = limit
    for (const rec of records.values()) {
      this.bytes += rec.length
      if (rec.pinned) this.pinnedBytes += rec.length
      this.clock = Math.max(this.clock, rec.lastAccess)
    }
  }

  get size(): number {
    return this.records.size
  }

  get(hex: string): FsRecord | undefined {
    return this.records.get(hex)
  }

  has(hex: string): boolean {
    return this.records.has(hex)
  }

  /** A snapshot of the entries, least recently used first. */
  entries(): [string, FsRecord][] {
    return [...this.records]
  }

  /** The next access time. */
  now(): number {
    this.clock = Math.max(Date.now(), this.clock + 1)
    return this.clock
  }

  /** Marks `hex` as just used: in memory now, written at the next flush. */
  touch(hex: string): void {
    const rec = this.records.get(hex)
    if (rec === undefined) return
    rec.lastAccess = this.now()
    this.records.delete(hex)
    this.records.set(hex, rec)
    this.dirty.add(hex)
  }

  /** The records whose access times are to be written; forgets that they were. */
  takeDirty(): [string, FsRecord][] {
    const out: [string, FsRecord][] = []
    for (const hex of this.dirty) {
      const rec = this.records.get(hex)
      if (rec !== undefined) out.push([hex, rec])
    }
    this.dirty.clear()
    return out
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0
  }

  /** Adds a record just committed (most recently used). */
  add(hex: string, rec: FsRecord): void {
    this.records.set(hex, rec)
    this.bytes += rec.length
    if (rec.pinned) this.pinnedBytes += rec.length
  }

  setPinned(rec: FsRecord, pinned: boolean): void {
    if (rec.pinned === pinned) return
    rec.pinned = pinned
    this.pinnedBytes += pinned ? rec.length : -rec.length
  }

  remove(hex: string, rec: FsRecord): void {
    this.records.delete(hex)
    this.dirty.delete(hex)
    this.bytes -= rec.length
    if (rec.pinned) this.pinnedBytes -= rec.length
  }

  /**
   * Unpinned content to evict, LRU first, so that `need` more bytes fit; undefined if they
   * cannot fit even then (unless `bestEffort`: then as much as can go).
   */
  victimsFor(need: number, bestEffort = false): [string, FsRecord][] | undefined {
    return chooseVictims(this.records, ([, rec]) => rec, this, this.limit, need, bestEffort)
  }

  usage(): StoreUsage {
    return {
      bytes: this.bytes,
      contents: this.records.size,
      pinnedBytes: this.pinnedBytes,
      limit: this.limit,
    }
  }
}
