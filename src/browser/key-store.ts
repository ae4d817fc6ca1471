/**
 * The client key in the browser: the 32-byte EdDSA-Poseidon private key kept in IndexedDB,
 * created on first use. Baby Jubjub is not a WebCrypto algorithm, so the key cannot be a
 * non-extractable `CryptoKey`; it stays in this origin's storage, read only by the worker that
 * signs. Creation is one readwrite transaction (get, then add if absent): two tabs starting at
 * once end with the same key.
 */
import { openDB } from 'idb'
import { type ClientKey, clientKeyFromPrivate, generateClientKey } from '../crypto/client-key.ts'
import { CryptoError } from '../crypto/errors.ts'

/** The database holding client keys (one per name). */
export const KEY_DATABASE = 'fulmen-keys'
const STORE = 'keys'
const CLIENT_KEY = 'client'

export interface KeyStoreOptions {
  /** Database name (default `fulmen-keys`): tests and multi-identity apps use their own. */
  readonly database?: string
}

async function openKeys(database: string) {
  return openDB(database, 1, {
    upgrade(db) {
      db.createObjectStore(STORE)
    },
  })
}

/** The stored client key, or a new one stored now. */
export async function loadOrCreateClientKey(options: KeyStoreOptions = {}): Promise<ClientKey> {
  const db = await openKeys(options.database ?? KEY_DATABASE)
  try {
    // Made before the transaction opens: a transaction commits as soon as it waits on
    // anything but its own requests.
    const fresh = generateClientKey()
    const tx = db.transaction(STORE, 'readwrite')
    const stored: unknown = await tx.store.get(CLIENT_KEY)
    if (stored === undefined) await tx.store.add(fresh.privateKey, CLIENT_KEY)
    await tx.done
    if (stored === undefined) return clientKeyFromPrivate(fresh.privateKey)
    if (!(stored instanceof Uint8Array) || stored.length !== 32) {
      // Never replaced: it may be the only copy of a key that has signed acknowledgements.
      throw new CryptoError(
        'CRYPTO_INVALID_KEY',
        `IndexedDB ${options.database ?? KEY_DATABASE}/${STORE}/${CLIENT_KEY} is not a 32-byte key`,
      )
    }
    return clientKeyFromPrivate(stored)
  } finally {
    db.close()
  }
}

/** Forgets the stored key (the next `loadOrCreateClientKey` makes a new one). */
export async function deleteClientKey(options: KeyStoreOptions = {}): Promise<void> {
  const db = await openKeys(options.database ?? KEY_DATABASE)
  try {
    await db.delete(STORE, CLIENT_KEY)
  } finally {
    db.close()
  }
}
