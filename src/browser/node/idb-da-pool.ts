/**
 * A tab node's delivery-acknowledgement claims, in IndexedDB: the browser's counterpart of the
 * full node's LevelDB pool (src/node/das/da-pool.ts), with the same rule: per session and
 * commitment, only the highest claim is kept.
 *
 *   claims: "<session: 16 hex>!<seq: 8 hex>"  →  { claim: claim[230], remotePeer, updatedAt }
 *
 * Each put is one readwrite transaction (read the stored index, write if higher), so two
 * tabs sharing the database cannot lower a claim. Claims arrive verified by the session's
 * ledger (src/acks/ledger.ts); nothing here checks a signature.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { type IDBPDatabase, openDB } from 'idb'
import { CLAIM_LEN, type Claim, decodeClaim, encodeClaim } from '../../acks/claim.ts'
import { decodeCommitment } from '../../acks/commitment.ts'
import { DaPoolError } from '../../acks/da-pool-error.ts'

export const DEFAULT_DA_DATABASE = 'fulmen-tab-das'
const STORE = 'claims'

/** A stored claim, decoded for reading. */
export interface TabStoredClaim {
  readonly claim: Claim
  readonly session: bigint
  readonly seq: number
  readonly epoch: bigint
  /** Hex of the client's public key. */
  readonly clientKey: string
  /** Units acknowledged: the claim's index. */
  readonly units: number
  /** units · the commitment's unit. */
  readonly bytes: number
  readonly remotePeer: string
  /** Milliseconds since the Unix epoch. */
  readonly updatedAt: number
}

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

interface ClaimRecord {
  readonly claim: Uint8Array
  readonly remotePeer: string
  readonly updatedAt: number
}

function keyOf(session: bigint, seq: number): string {
  return `${session.toString(16).padStart(16, '0')}!${seq.toString(16).padStart(8, '0')}`
}

function decodeRecord(key: string, record: unknown): TabStoredClaim {
  const r = record as Partial<ClaimRecord> | undefined
  if (!(r?.claim instanceof Uint8Array) || r.claim.length !== CLAIM_LEN) {
    throw new DaPoolError('DAS_CORRUPT', `claim ${key} is not a ${CLAIM_LEN}-byte claim`)
  }
  const claim = decodeClaim(r.claim)
  const c = decodeCommitment(claim.commitment)
  return {
    claim,
    session: c.session,
    seq: c.seq,
    epoch: c.epoch,
    clientKey: bytesToHex(c.clientKey),
    units: claim.index,
    bytes: claim.index * c.unit,
    remotePeer: typeof r.remotePeer === 'string' ? r.remotePeer : '',
    updatedAt: typeof r.updatedAt === 'number' ? r.updatedAt : 0,
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

export async function openIdbDaPool(
  options: { readonly database?: string } = {},
): Promise<IdbDaPool> {
  const db: IDBPDatabase = await openDB(options.database ?? DEFAULT_DA_DATABASE, 1, {
    upgrade(d) {
      d.createObjectStore(STORE)
    },
  })
  let closed = false
  const closedError = () => new DaPoolError('DAS_CLOSED', 'the DA pool is closed')
  const list = async (): Promise<TabStoredClaim[]> => {
    if (closed) throw closedError()
    const tx = db.transaction(STORE, 'readonly')
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()])
    await tx.done
    return keys.map((k, i) => decodeRecord(String(k), values[i]))
  }

  return {
    async put(claim, meta) {
      if (closed) throw closedError()
      const c = decodeCommitment(claim.commitment)
      const key = keyOf(c.session, c.seq)
      const record: ClaimRecord = {
        claim: encodeClaim(claim),
        remotePeer: meta.remotePeer,
        updatedAt: Date.now(),
      }
      const tx = db.transaction(STORE, 'readwrite')
      const stored: unknown = await tx.store.get(key)
      if (stored !== undefined) {
        const previous = decodeRecord(key, stored).claim
        if (!sameBytes(previous.commitment, claim.commitment)) {
          tx.abort()
          await tx.done.catch(() => {})
          throw new DaPoolError(
            'DAS_CONFLICT',
            `session ${c.session.toString(16)} seq ${c.seq} already holds another commitment`,
          )
        }
        if (previous.index >= claim.index) {
          await tx.done
          return
        }
      }
      await tx.store.put(record, key)
      await tx.done
    },

    list,

    async summary() {
      const claims = await list()
      return {
        claims: claims.length,
        sessions: new Set(claims.map((c) => c.session)).size,
        clients: new Set(claims.map((c) => c.clientKey)).size,
        units: claims.reduce((n, c) => n + c.units, 0),
        bytes: claims.reduce((n, c) => n + c.bytes, 0),
      }
    },

    close() {
      if (closed) return
      closed = true
      db.close()
    },
  }
}
