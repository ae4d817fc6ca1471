/**
 * A tab node's delivery-acknowledgement claims: the shared pool (src/acks/da-pool.ts), the
 * full node's, over IndexedDB (src/kv/idb-kv-store.ts), with the same rule: per session and
 * seq, only the highest claim is kept, and two tabs sharing the database cannot lower one
 * (each put is one readwrite transaction). This file gives the tab's view of it: claims as
 * an array and the totals alone.
 *
 * Before the shared pool, the tab kept claims in an object store `claims` of its own
 * (`"<session>!<seq>"` → `{ claim, remotePeer, updatedAt }`); opening such a database moves
 * them into the shared layout, then empties `claims`.
 */
import { openDB } from 'idb'
import { CLAIM_LEN, type Claim, decodeClaim } from '../../acks/claim.ts'
import { createDaPool, type StoredClaim } from '../../acks/da-pool.ts'
import { DaPoolError } from '../../acks/da-pool-error.ts'
import { openIdbKvStore } from '../../kv/idb-kv-store.ts'

export const DEFAULT_DA_DATABASE = 'fulmen-tab-das'
/** The object store of the tab's own layout, before the shared pool. */
const LEGACY_STORE = 'claims'

/** A stored claim, decoded for reading. */
export type TabStoredClaim = StoredClaim

/** The totals a tab shows: what its deliveries earned. */
export interface TabDaSummary {
  readonly claims: number
  readonly sessions: number
  readonly clients: number
  readonly units: number
  readonly bytes: number
}

export interface IdbDaPool {
  /** Keeps `claim` unless the pool holds one for its session and seq with an index as high. */
  put(claim: Claim, meta: { readonly remotePeer: string }): Promise<void>
  /** Every stored claim, by session then seq. */
  list(): Promise<TabStoredClaim[]>
  summary(): Promise<TabDaSummary>
  close(): void
}

interface LegacyClaim {
  readonly claim: Claim
  readonly remotePeer: string
  readonly updatedAt: number
}

/** The claims of the tab's old layout, if the database has them. */
async function readLegacy(name: string): Promise<LegacyClaim[]> {
  const db = await openDB(name)
  try {
    if (!db.objectStoreNames.contains(LEGACY_STORE)) return []
    const tx = db.transaction(LEGACY_STORE, 'readonly')
    const [keys, records] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()])
    await tx.done
    return records.map((record, i) => {
      const r = record as { claim?: unknown; remotePeer?: unknown; updatedAt?: unknown }
      if (!(r?.claim instanceof Uint8Array) || r.claim.length !== CLAIM_LEN) {
        throw new DaPoolError(
          'DAS_CORRUPT',
          `claim ${String(keys[i])} is not a ${CLAIM_LEN}-byte claim`,
        )
      }
      return {
        claim: decodeClaim(r.claim),
        remotePeer: typeof r.remotePeer === 'string' ? r.remotePeer : '',
        updatedAt: typeof r.updatedAt === 'number' ? r.updatedAt : 0,
      }
    })
  } finally {
    db.close()
  }
}

async function clearLegacy(name: string): Promise<void> {
  const db = await openDB(name)
  try {
    await db.clear(LEGACY_STORE)
  } finally {
    db.close()
  }
}

export async function openIdbDaPool(
  options: { readonly database?: string } = {},
): Promise<IdbDaPool> {
  const name = options.database ?? DEFAULT_DA_DATABASE
  const legacy = await readLegacy(name)
  const pool = createDaPool(await openIdbKvStore({ name }))
  if (legacy.length > 0) {
    // Moved before the old copy is cleared: a tab closed in between moves them again, and
    // the pool's keep-the-highest rule makes that harmless.
    for (const l of legacy) {
      await pool.put(l.claim, { remotePeer: l.remotePeer, updatedAt: l.updatedAt })
    }
    await clearLegacy(name)
  }
  let closed = false
  const list = async (): Promise<TabStoredClaim[]> => {
    if (closed) throw new DaPoolError('DAS_CLOSED', 'the DA pool is closed')
    const out: TabStoredClaim[] = []
    for await (const c of pool.list()) out.push(c)
    return out
  }
  return {
    put: (claim, meta) => pool.put(claim, meta),
    list,
    summary: async () => {
      if (closed) throw new DaPoolError('DAS_CLOSED', 'the DA pool is closed')
      return (await pool.summary()).totals
    },
    close() {
      closed = true
      void pool.close()
    },
  }
}
