/**
 * The browser spill of a held body (src/client/holding-buffer.ts): the part of an IPFS or HTTP
 * pointer's body beyond the memory bound waits in IndexedDB until its digest is checked, one
 * record per appended chunk (a verified block), keyed `[started, hold, seq]`. A hold is
 * deleted when it is read, cancelled or discarded; one left by a page that closed mid-fetch
 * is deleted by the next spill opened after a day (no hold lasts that long).
 */
import { openDB } from 'idb'
import type { OpenSpill, Spill } from '../client/holding-buffer.ts'

/** The database of held bodies (default name). */
export const HOLD_DATABASE = 'fulmen-hold'
const STORE = 'chunks'
const STALE_MS = 86_400_000

export interface IdbSpillOptions {
  /** Database name (default `fulmen-hold`). */
  readonly database?: string
}

export function idbSpill(options: IdbSpillOptions = {}): OpenSpill {
  return async (): Promise<Spill> => {
    const db = await openDB(options.database ?? HOLD_DATABASE, 1, {
      upgrade(d) {
        d.createObjectStore(STORE)
      },
    })
    const started = Date.now()
    await db.delete(STORE, IDBKeyRange.upperBound([started - STALE_MS]))
    const hold = crypto.randomUUID()
    const all = IDBKeyRange.bound([started, hold, 0], [started, hold, Number.MAX_SAFE_INTEGER])
    let count = 0
    let discarded: Promise<void> | undefined
    return {
      async append(bytes) {
        await db.put(STORE, bytes, [started, hold, count])
        count++
      },
      async *read() {
        for (let seq = 0; seq < count; seq++) {
          const chunk: unknown = await db.get(STORE, [started, hold, seq])
          if (!(chunk instanceof Uint8Array))
            throw new Error(`held chunk ${seq} of ${count} is missing from IndexedDB`)
          yield chunk
        }
      },
      discard() {
        discarded ??= (async () => {
          try {
            await db.delete(STORE, all)
          } finally {
            db.close()
          }
        })()
        return discarded
      },
    }
  }
}
