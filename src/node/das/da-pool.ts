/**
 * The full node's pool of delivery-acknowledgement claims: the shared pool (src/acks/da-pool.ts)
 * over LevelDB (src/kv/level-kv-store.ts), in `<data-dir>/das`, so that claims survive
 * restarts until they are batched and submitted. LevelDB locks its directory: one process at a
 * time, so while the node runs, others ask it (`GET /das`) instead of opening the pool.
 */
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createDaPool, type DaPool, emptyDaPool } from '../../acks/da-pool.ts'
import { DaPoolError } from '../../acks/da-pool-error.ts'
import { KvError } from '../../kv/kv-store.ts'
import { openLevelKvStore } from '../../kv/level-kv-store.ts'

export {
  type ClaimProgress,
  claimJson,
  type DaClaimJson,
  type DaClientSummary,
  type DaEpochSummary,
  type DaPool,
  type DaSummary,
  type StoredClaim,
  summarize,
} from '../../acks/da-pool.ts'
export { DaPoolError, type DaPoolErrorCode } from '../../acks/da-pool-error.ts'

/** The pool's directory under a node's data directory. */
export const DA_POOL_DIR = 'das'

export interface DaPoolOptions {
  /** The LevelDB directory (created unless read-only). */
  readonly dir: string
  /**
   * For tools while the node is stopped: `put` is refused and a missing pool reads as empty.
   * LevelDB has no true read-only mode: it still takes the lock and may tidy its own log.
   */
  readonly readOnly?: boolean
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

export async function openDaPool(options: DaPoolOptions): Promise<DaPool> {
  const dir = resolve(options.dir)
  const readOnly = options.readOnly ?? false
  // LevelDB's own marker file: without it there is no pool, and a reader must not create one.
  if (readOnly && !(await exists(join(dir, 'CURRENT')))) return emptyDaPool()
  try {
    // Not synced: a process crash loses nothing (LevelDB's log is written first), an OS crash
    // at most the last moments' claims, each superseded by the next reveal anyway.
    const kv = await openLevelKvStore({ dir, createIfMissing: !readOnly })
    return createDaPool(kv, { readOnly })
  } catch (e) {
    if (e instanceof KvError && e.code === 'KV_LOCKED') {
      throw new DaPoolError('DAS_LOCKED', `the DA pool ${dir} is in use (is the node running?)`)
    }
    throw e
  }
}
