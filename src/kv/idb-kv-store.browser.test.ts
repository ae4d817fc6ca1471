/**
 * The IndexedDB store in real Chromium: the shared contract (with reopen), then what only
 * IndexedDB has: other connections to the same database (another tab) writing while a
 * snapshot is held, and a database that holds non-bytes.
 */
import { deleteDB, openDB } from 'idb'
import { describe, expect, test } from 'vitest'
import { openIdbKvStore } from './idb-kv-store.ts'
import {
  expectKvCode,
  kvStoreContract,
  persistentKvStoreContract,
} from './testing/kv-store-contract.ts'

let dbCount = 0
const freshName = () => `fulmen-kv-test-${Date.now()}-${dbCount++}`

const openIdb = async () => {
  const name = freshName()
  return {
    store: await openIdbKvStore({ name }),
    reopen: () => openIdbKvStore({ name }),
    cleanup: () => deleteDB(name),
  }
}

kvStoreContract('IndexedDB', openIdb, { propertyRuns: 25 })
persistentKvStoreContract('IndexedDB', openIdb)

const utf8 = new TextEncoder()
const text = new TextDecoder()

describe('IdbKvStore', () => {
  test('a snapshot holds while another connection writes, and does not hold it back', async () => {
    const name = freshName()
    const a = await openIdbKvStore({ name })
    const b = await openIdbKvStore({ name })
    try {
      await a.put(utf8.encode('k'), utf8.encode('before'))
      const snap = await a.snapshot()
      await b.batch([
        { type: 'put', key: utf8.encode('k'), value: utf8.encode('after') },
        { type: 'put', key: utf8.encode('n'), value: utf8.encode('new') },
      ])
      expect(text.decode(await snap.get(utf8.encode('k')))).toBe('before')
      expect(await snap.get(utf8.encode('n'))).toBeUndefined()
      expect(text.decode(await a.get(utf8.encode('k')))).toBe('after')
      await snap.close()
    } finally {
      await a.close()
      await b.close()
      await deleteDB(name)
    }
  })

  test('updates through two connections (two tabs) lose none', async () => {
    const name = freshName()
    const [a, b] = [await openIdbKvStore({ name }), await openIdbKvStore({ name })]
    try {
      const key = utf8.encode('counter')
      const increment = (v: Uint8Array | undefined) => Uint8Array.of((v?.[0] ?? 0) + 1)
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).update(key, increment)),
      )
      expect((await a.get(key))![0]).toBe(50)
    } finally {
      await a.close()
      await b.close()
      await deleteDB(name)
    }
  })

  test('a database made by older code keeps its object stores and gains the store', async () => {
    const name = freshName()
    const old = await openDB(name, 3, {
      upgrade(d) {
        d.createObjectStore('other')
      },
    })
    await old.put('other', 'kept', 'k')
    old.close()
    const store = await openIdbKvStore({ name })
    try {
      await store.put(utf8.encode('k'), utf8.encode('v'))
      expect(text.decode(await store.get(utf8.encode('k')))).toBe('v')
    } finally {
      await store.close()
    }
    const raw = await openDB(name)
    expect(raw.version).toBe(4)
    expect(await raw.get('other', 'k')).toBe('kept')
    raw.close()
    await deleteDB(name)
  })

  test('a value that is not bytes is KV_CORRUPT', async () => {
    const name = freshName()
    const store = await openIdbKvStore({ name })
    await store.close()
    const raw = await openDB(name)
    await raw.put('entries', 'a string', utf8.encode('k'))
    raw.close()
    const again = await openIdbKvStore({ name })
    try {
      await expectKvCode(again.get(utf8.encode('k')), 'KV_CORRUPT')
    } finally {
      await again.close()
      await deleteDB(name)
    }
  })

  test('a deletion from another context closes the store instead of blocking', async () => {
    const name = freshName()
    const store = await openIdbKvStore({ name })
    await store.put(utf8.encode('k'), utf8.encode('v'))
    await deleteDB(name)
    await expectKvCode(store.get(utf8.encode('k')), 'KV_CLOSED')
  })
})
