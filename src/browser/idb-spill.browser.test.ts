/**
 * The holding buffer with its browser spill (IndexedDB, in Chromium): whatever the chunking
 * and wherever the memory bound falls, `release()` gives back exactly the bytes held, and
 * nothing of the hold is left in the database once it was read, cancelled or discarded.
 */
import fc from 'fast-check'
import { openDB } from 'idb'
import { describe, expect, test } from 'vitest'
import { HoldingBuffer } from '../client/holding-buffer.ts'
import { idbSpill } from './idb-spill.ts'

const DATABASE = `fulmen-hold-test-${crypto.randomUUID()}`

async function recordsLeft(): Promise<number> {
  const db = await openDB(DATABASE, 1, {
    upgrade(d) {
      d.createObjectStore('chunks')
    },
  })
  try {
    return await db.count('chunks')
  } finally {
    db.close()
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

describe('HoldingBuffer with an IndexedDB spill', () => {
  test('returns exactly the bytes given, for any chunking and memory bound', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 16 }),
        fc.nat({ max: 30_000 }),
        async (chunks, memoryLimit) => {
          const hold = new HoldingBuffer({ memoryLimit, spill: idbSpill({ database: DATABASE }) })
          for (const c of chunks) await hold.append(c.slice())
          const got = new Uint8Array(await new Response(hold.release()).arrayBuffer())
          expect(got).toEqual(concat(chunks))
          expect(await recordsLeft()).toBe(0)
        },
      ),
      { numRuns: 60 },
    )
  })

  test('a discarded or cancelled hold leaves nothing in the database', async () => {
    const block = new Uint8Array(100_000).map((_, i) => i)
    const discarded = new HoldingBuffer({ memoryLimit: 0, spill: idbSpill({ database: DATABASE }) })
    await discarded.append(block.slice())
    await discarded.append(block.slice())
    expect(discarded.spilled).toBe(true)
    expect(await recordsLeft()).toBe(2)
    await discarded.discard()
    expect(await recordsLeft()).toBe(0)

    const cancelled = new HoldingBuffer({ memoryLimit: 0, spill: idbSpill({ database: DATABASE }) })
    await cancelled.append(block.slice())
    await cancelled.append(block.slice())
    const reader = cancelled.release().getReader()
    expect((await reader.read()).value).toEqual(block)
    await reader.cancel()
    expect(await recordsLeft()).toBe(0)
  })
})
