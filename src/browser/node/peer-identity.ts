/**
 * The tab node's network identity: an Ed25519 libp2p key kept in IndexedDB (its protobuf
 * bytes), created on first start, so the tab keeps its peer id, and the claims it earned keep
 * naming it, across reloads. One readwrite transaction (get, or add if absent): two tabs of
 * the origin starting at once end with the same key.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { openDB } from 'idb'
import { TabNodeError } from './tab-node-errors.ts'

const STORE = 'identity'
const PEER_KEY = 'peer'

export async function loadOrCreatePeerKey(database: string): Promise<PrivateKey> {
  // Made before the transaction opens: a transaction commits once it waits on anything else.
  const fresh = await generateKeyPair('Ed25519')
  const db = await openDB(database, 1, {
    upgrade(d) {
      d.createObjectStore(STORE)
    },
  })
  try {
    const tx = db.transaction(STORE, 'readwrite')
    const stored: unknown = await tx.store.get(PEER_KEY)
    if (stored === undefined) await tx.store.add(privateKeyToProtobuf(fresh), PEER_KEY)
    await tx.done
    if (stored === undefined) return fresh
    if (!(stored instanceof Uint8Array)) {
      // Never replaced: claims name this key.
      throw new TabNodeError(
        'TAB_NODE_BAD_OPTIONS',
        `IndexedDB ${database}/${STORE}/${PEER_KEY} is not a private key`,
      )
    }
    return privateKeyFromProtobuf(stored)
  } finally {
    db.close()
  }
}
