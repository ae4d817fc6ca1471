/**
 * Where benchmarks write their input files: /dev/shm (RAM-backed) when it has room, so a file
 * is read like from a warm page cache and writing it leaves no disk write-back to steal CPU
 * from the measurements that follow; else the temp directory.
 */
import { statfsSync } from 'node:fs'
import os from 'node:os'

export function scratchDir(bytes: number): string {
  try {
    const fs = statfsSync('/dev/shm')
    if (fs.bavail * fs.bsize > 2 * bytes) return '/dev/shm'
  } catch {}
  return os.tmpdir()
}
