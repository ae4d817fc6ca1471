/**
 * The local origin: nothing to fetch, files to import (`fulmen add`). Each file is streamed
 * into the store in 1 MiB reads (hashed while written, never held whole in memory), one after
 * the other. Errors: the system error (ENOENT, EISDIR, EACCES…) of a file that cannot be read,
 * `StoreError` (`STORE_FULL`…), or the signal's reason; files imported before the failure stay
 * imported, the failing one leaves nothing.
 */
import { open } from 'node:fs/promises'
import type { HashTree } from '../b3/tree.ts'
import type { BlockStore } from '../store/block-store.ts'

/** The name of standard input on the command line. */
export const STDIN = '-'
const READ_CHUNK = 2 ** 20

export interface ImportProgress {
  readonly path: string
  /** Position of the file in `paths`. */
  readonly index: number
  readonly files: number
  readonly bytesDone: number
  /** The file's size, when it is a regular file. */
  readonly bytesTotal: number | undefined
}

export interface ImportOptions {
  /** Pin the imported content (never evicted). */
  readonly pin?: boolean
  readonly onProgress?: (progress: ImportProgress) => void
  readonly signal?: AbortSignal
}

export interface ImportedFile {
  readonly path: string
  readonly tree: HashTree
}

/** Streams each file (or stdin, spelled `-`) into the store; one result per path, in order. */
export async function importFiles(
  store: BlockStore,
  paths: readonly string[],
  options: ImportOptions = {},
): Promise<ImportedFile[]> {
  const results: ImportedFile[] = []
  for (const [index, path] of paths.entries()) {
    options.signal?.throwIfAborted()
    const report = (bytesTotal: number | undefined) => (bytesDone: number) =>
      options.onProgress?.({ path, index, files: paths.length, bytesDone, bytesTotal })
    if (path === STDIN) {
      const tree = await store.put(process.stdin, {
        pin: options.pin,
        signal: options.signal,
        onProgress: report(undefined),
      })
      results.push({ path, tree })
      continue
    }
    const handle = await open(path, 'r')
    try {
      const stats = await handle.stat()
      const onProgress = report(stats.isFile() ? stats.size : undefined)
      onProgress(0)
      const stream = handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false })
      const tree = await store.put(stream, { pin: options.pin, signal: options.signal, onProgress })
      results.push({ path, tree })
    } finally {
      await handle.close()
    }
  }
  return results
}
