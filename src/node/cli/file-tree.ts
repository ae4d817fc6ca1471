/**
 * Reading a file (or stdin, spelled `-`) into a BLAKE3 tree: streamed in 1 MiB reads through
 * `buildTree`, never held in memory, with a progress bar for large inputs.
 */
import { fstatSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { blockCount } from '../../b3/geometry.ts'
import { buildTree, type HashTree } from '../../b3/tree.ts'
import { startProgress } from './progress.ts'

/** The name of standard input on the command line. */
export const STDIN = '-'
/** Bytes per read: large reads keep the kernel busy and the event loop quiet. */
export const READ_CHUNK = 2 ** 20

export interface FileTreeOptions {
  /** Keep the whole tree (for `tree` and `proof`); `false` is a plain streaming hash. */
  readonly keepTree: boolean
}

let stdinUsed = false

/** Size of stdin when it is a regular file (a redirect), else undefined. */
function stdinSize(): number | undefined {
  try {
    const stats = fstatSync(0)
    return stats.isFile() ? stats.size : undefined
  } catch {
    return undefined
  }
}

async function treeOfStream(
  stream: Readable,
  label: string,
  size: number | undefined,
  options: FileTreeOptions,
): Promise<HashTree> {
  const progress = startProgress(label, size)
  try {
    return await buildTree(stream, { keepTree: options.keepTree, onProgress: progress.update })
  } finally {
    progress.stop()
  }
}

/**
 * The tree of the file at `path` (or of stdin for `-`). Rejects with the system error
 * (ENOENT, EISDIR, EACCES...) when the file cannot be read.
 */
export async function treeOfFile(path: string, options: FileTreeOptions): Promise<HashTree> {
  if (path === STDIN) {
    // Like b3sum, a second `-` reads an already exhausted stdin: the empty input.
    if (stdinUsed) return treeOfStream(Readable.from([]), path, 0, options)
    stdinUsed = true
    return treeOfStream(process.stdin, path, stdinSize(), options)
  }
  const handle = await open(path, 'r')
  try {
    const stats = await handle.stat()
    const stream = handle.createReadStream({ highWaterMark: READ_CHUNK, autoClose: false })
    return await treeOfStream(stream, path, stats.isFile() ? stats.size : undefined, options)
  } finally {
    await handle.close()
  }
}

/**
 * Blocks of the file at `path` judged from its size, when that is known without reading it
 * (a regular file); undefined for stdin and special files.
 */
export async function knownBlockCount(path: string): Promise<number | undefined> {
  if (path === STDIN) return undefined
  const handle = await open(path, 'r')
  try {
    const stats = await handle.stat()
    return stats.isFile() ? blockCount(stats.size) : undefined
  } finally {
    await handle.close()
  }
}
