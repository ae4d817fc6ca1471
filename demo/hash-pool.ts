/** One pool of BLAKE3 hashing workers for the page, started on first use. */
import { createHashPool, type HashPool } from '../src/b3/parallel.ts'
import { browserWorkerSpawn } from '../src/browser/b3-workers.ts'

export const HASH_WORKERS = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2))

let pool: HashPool | undefined

export function hashPool(): HashPool {
  pool ??= createHashPool({ size: HASH_WORKERS, spawn: browserWorkerSpawn() })
  return pool
}
