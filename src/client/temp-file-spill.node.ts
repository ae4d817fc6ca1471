/**
 * The Node spill of a held body (holding-buffer.ts): a temporary file, unlinked as soon as it
 * is open, so that only the open descriptor keeps it: a process that dies mid-fetch leaves
 * nothing on disk, and `discard` is closing it.
 */
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OpenSpill, Spill } from './holding-buffer.ts'

/** Read back in pieces of this size (one block). */
const READ_CHUNK = 256 * 1024

export interface TempFileSpillOptions {
  /** Where the file is made (default: the system's temporary directory). */
  readonly dir?: string
}

export function tempFileSpill(options: TempFileSpillOptions = {}): OpenSpill {
  return async (): Promise<Spill> => {
    const dir = await mkdtemp(join(options.dir ?? tmpdir(), 'fulmen-hold-'))
    const path = join(dir, 'body')
    const handle = await open(path, 'wx+', 0o600).catch(async (error: unknown) => {
      await rm(dir, { recursive: true, force: true })
      throw error
    })
    // Unlinked while open (POSIX): if that fails (Windows), it is removed on discard instead.
    const unlinked = await rm(dir, { recursive: true, force: true }).then(
      () => true,
      () => false,
    )
    let written = 0
    let closed: Promise<void> | undefined
    const discard = () => {
      closed ??= (async () => {
        await handle.close().catch(() => {})
        if (!unlinked) await rm(dir, { recursive: true, force: true })
      })()
      return closed
    }
    return {
      async append(bytes) {
        let off = 0
        while (off < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, off, bytes.length - off, written)
          off += bytesWritten
          written += bytesWritten
        }
      },
      async *read() {
        let position = 0
        while (position < written) {
          const buffer = new Uint8Array(Math.min(READ_CHUNK, written - position))
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, position)
          if (bytesRead === 0)
            throw new Error(`the spill file ended at ${position} of ${written} bytes`)
          position += bytesRead
          yield buffer.subarray(0, bytesRead)
        }
      },
      discard,
    }
  }
}
