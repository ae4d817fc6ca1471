/** Test support (Node only): damaging a stored file the way bit rot does. */
import { closeSync, openSync, readSync, writeSync } from 'node:fs'

/** Flips the lowest bit of the byte at `offset` of the file at `path`, in place. */
export function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+')
  try {
    const b = Buffer.alloc(1)
    if (readSync(fd, b, 0, 1, offset) !== 1) throw new RangeError(`${path} has no byte ${offset}`)
    b[0] = b[0]! ^ 0x01
    writeSync(fd, b, 0, 1, offset)
  } finally {
    closeSync(fd)
  }
}
