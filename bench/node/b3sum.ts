/**
 * Debian's `b3sum` (the Rust reference, here limited to one thread and read() instead of
 * mmap) on a temp file: process start-up and reading from the page cache are included.
 */

import { spawnSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import path from 'node:path'
import { bestOf, type Figure, mibPerSecond } from '../shared.ts'
import { scratchDir } from './scratch-dir.ts'

export interface B3sumResult {
  readonly figure: Figure
  readonly digest: string
  readonly fileBytes: number
  /** Seconds for b3sum on an empty file: the start-up included in the figure. */
  readonly startupSeconds: number
  /** Where the temp file was. */
  readonly dir: string
}

function b3sum(file: string): string {
  const r = spawnSync('b3sum', ['--num-threads', '1', '--no-mmap', file], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`b3sum failed: ${r.stderr || r.error}`)
  return r.stdout.split(' ')[0]!
}

/** Writes `input` `copies` times to a temp file and times b3sum on it. */
export async function measureB3sum(
  input: Uint8Array,
  copies: number,
  name: string,
  reps = 5,
): Promise<B3sumResult | undefined> {
  if (spawnSync('b3sum', ['--version']).status !== 0) return undefined
  const dir = mkdtempSync(path.join(scratchDir(input.length * copies), 'fulmen-bench-'))
  try {
    const file = path.join(dir, 'input.bin')
    const empty = path.join(dir, 'empty.bin')
    const fd = openSync(file, 'w')
    for (let i = 0; i < copies; i++) writeSync(fd, input)
    closeSync(fd)
    closeSync(openSync(empty, 'w'))
    let digest = ''
    const seconds = await bestOf(
      () => {
        digest = b3sum(file)
      },
      { reps },
    )
    const startupSeconds = await bestOf(() => b3sum(empty), { reps })
    const fileBytes = input.length * copies
    return {
      figure: { name, value: mibPerSecond(fileBytes, seconds), unit: 'MiB/s' },
      digest,
      fileBytes,
      startupSeconds,
      dir: path.dirname(dir),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
