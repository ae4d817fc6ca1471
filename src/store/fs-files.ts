/**
 * The filesystem store's files under its directory: `content/<roothex>` (the raw bytes, so raw
 * serving is a plain file read), `trees/<roothex>` (the flat post-order hashes), `tmp/`
 * (imports in progress) and `db/` (the records, fs-records.ts). Here: the paths, durable
 * writes, and the pool of open content file handles that reads share.
 */
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { HASH_LEN } from '../b3/constants.ts'
import { StoreError } from './block-store.ts'
import { closedError, notFound } from './store-keys.ts'

export interface FsPaths {
  readonly content: string
  readonly trees: string
  readonly tmp: string
  readonly db: string
}

/** The store's folders under `dir`, created when missing (the database makes its own). */
export async function makeFsPaths(dir: string): Promise<FsPaths> {
  const root = resolve(dir)
  const paths = {
    content: join(root, 'content'),
    trees: join(root, 'trees'),
    tmp: join(root, 'tmp'),
    db: join(root, 'db'),
  }
  for (const p of [paths.content, paths.trees, paths.tmp]) await mkdir(p, { recursive: true })
  return paths
}

/** Bytes of the tree file of content with `blocks` blocks. */
export function treeFileSize(blocks: number): number {
  return (2 * blocks - 1) * HASH_LEN
}

export function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined
}

export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let off = 0
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off)
    off += bytesWritten
  }
}

/** Removes the content and tree files of `hex` (absent ones are fine). */
export async function removeContentFiles(paths: FsPaths, hex: string): Promise<void> {
  await rm(join(paths.content, hex), { force: true })
  await rm(join(paths.trees, hex), { force: true })
}

/** A cached content file handle, shared by concurrent reads and closed when none uses it. */
export interface OpenFile {
  readonly handle: Promise<FileHandle>
  refs: number
  lastUse: number
  retired: boolean
}

export interface ContentFilesOptions {
  /** Handles kept open at most. */
  readonly maxOpen: number
  /** An unused handle is closed after this long. */
  readonly idleMs: number
  /** Whether the store is closed (a read failing then reads as `STORE_CLOSED`). */
  readonly isClosed: () => boolean
}

/** The open content files, least recently used first; idle ones are closed by `sweep`. */
export class ContentFiles {
  private readonly dir: string
  private readonly options: ContentFilesOptions
  private readonly files = new Map<string, OpenFile>()

  constructor(dir: string, options: ContentFilesOptions) {
    this.dir = dir
    this.options = options
  }

  /** A handle on the content file of `hex`; give it back with `release`. */
  async acquire(hex: string): Promise<[OpenFile, FileHandle]> {
    let file = this.files.get(hex)
    if (file === undefined) {
      const handle = open(join(this.dir, hex), 'r')
      handle.catch(() => {})
      file = { handle, refs: 1, lastUse: Date.now(), retired: false }
      this.files.set(hex, file)
      this.trim()
    } else {
      // Most recently used last, so trimming closes the oldest first.
      this.files.delete(hex)
      this.files.set(hex, file)
      file.refs++
      file.lastUse = Date.now()
    }
    try {
      return [file, await file.handle]
    } catch (e) {
      file.refs--
      if (this.files.get(hex) === file) this.files.delete(hex)
      if (errno(e) === 'ENOENT') throw notFound(hex)
      throw e
    }
  }

  release(file: OpenFile): void {
    file.refs--
    file.lastUse = Date.now()
    if (file.retired && file.refs === 0) closeFile(file)
  }

  /** Stops caching the handle of `hex`; it closes once its last reader is done. */
  retire(hex: string): void {
    const file = this.files.get(hex)
    if (file === undefined) return
    this.files.delete(hex)
    file.retired = true
    if (file.refs === 0) closeFile(file)
  }

  private trim(): void {
    if (this.files.size <= this.options.maxOpen) return
    for (const [hex, file] of this.files) {
      if (this.files.size <= this.options.maxOpen) break
      if (file.refs === 0) this.retire(hex)
    }
  }

  /** Closes the handles unused for longer than `idleMs`. */
  sweep(): void {
    const cutoff = Date.now() - this.options.idleMs
    for (const [hex, file] of this.files) {
      if (file.refs === 0 && file.lastUse <= cutoff) this.retire(hex)
    }
  }

  closeAll(): void {
    for (const file of this.files.values()) closeFile(file)
    this.files.clear()
  }

  /** Reads exactly `buf.length` bytes at `position` of the content file of `hex`. */
  async readAt(fh: FileHandle, hex: string, buf: Uint8Array, position: number): Promise<void> {
    let off = 0
    try {
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off)
        if (bytesRead === 0) {
          throw new StoreError('STORE_CORRUPT', `content file of ${hex} is shorter than its record`)
        }
        off += bytesRead
      }
    } catch (e) {
      if (this.options.isClosed() && !(e instanceof StoreError)) throw closedError()
      throw e
    }
  }

  /** Fills `buf` from `position` of the content of `hex`, through a pooled handle. */
  async read(hex: string, buf: Uint8Array, position: number): Promise<void> {
    const [file, fh] = await this.acquire(hex)
    try {
      await this.readAt(fh, hex, buf, position)
    } finally {
      this.release(file)
    }
  }
}

function closeFile(file: OpenFile): void {
  file.handle.then((fh) => fh.close()).catch(() => {})
}
