/**
 * The LevelDB store: the shared contract (with reopen), the directory lock, and crash safety:
 * a writer killed with SIGKILL in the middle of a loop of batches leaves every batch whole or
 * absent, and every batch it had acknowledged present.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import { openLevelKvStore } from './level-kv-store.ts'
import {
  expectKvCode,
  kvStoreContract,
  persistentKvStoreContract,
} from './testing/kv-store-contract.ts'

const base = mkdtempSync(join(tmpdir(), 'fulmen-kv-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
let dirs = 0
const freshDir = () => join(base, `db-${dirs++}`)

const openLevel = async () => {
  const dir = freshDir()
  return {
    store: await openLevelKvStore({ dir }),
    reopen: () => openLevelKvStore({ dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  }
}

kvStoreContract('LevelDB', openLevel, { propertyRuns: 30 })
persistentKvStoreContract('LevelDB', openLevel)

// Synchronous point reads: the same contract (snapshots included).
const openLevelSyncReads = async () => {
  const dir = freshDir()
  return {
    store: await openLevelKvStore({ dir, syncReads: true }),
    reopen: () => openLevelKvStore({ dir, syncReads: true }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  }
}
kvStoreContract('LevelDB with synchronous reads', openLevelSyncReads, { propertyRuns: 30 })
persistentKvStoreContract('LevelDB with synchronous reads', openLevelSyncReads)

/** Keys per batch, as the writer writes them. */
const BATCH_KEYS = 50
const WRITER = fileURLToPath(new URL('./testing/level-batch-writer.ts', import.meta.url))

/** Runs the batch writer on `dir` until it has acknowledged `atLeast` batches, then kills it. */
async function writeAndKill(dir: string, atLeast: number, delayMs: number): Promise<number> {
  const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let acknowledged = -1
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  )
  await new Promise<void>((resolve, reject) => {
    let buffered = ''
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) acknowledged = Number(line)
      if (acknowledged + 1 >= atLeast) resolve()
    })
    child.on('exit', () => reject(new Error(`the writer exited early: ${stderr}`)))
  })
  // Let it go on writing for a moment, so the kill lands mid-batch at some point.
  await new Promise((r) => setTimeout(r, delayMs))
  child.kill('SIGKILL')
  expect(await exited).toBe('SIGKILL')
  return acknowledged
}

describe('LevelKvStore', () => {
  test('a second open of a directory in use is KV_LOCKED', async () => {
    const dir = freshDir()
    const store = await openLevelKvStore({ dir })
    try {
      await expectKvCode(openLevelKvStore({ dir }), 'KV_LOCKED')
    } finally {
      await store.close()
    }
  })

  test('createIfMissing false on an absent directory fails', async () => {
    await expect(openLevelKvStore({ dir: freshDir(), createIfMissing: false })).rejects.toThrow()
  })

  test.each([
    [200, 0],
    [400, 3],
    [300, 7],
    [250, 13],
    [350, 19],
    [300, 31],
  ])(
    'a writer killed mid-loop (after %i batches, +%i ms): every batch whole or absent',
    async (atLeast, delayMs) => {
      const dir = freshDir()
      const acknowledged = await writeAndKill(dir, atLeast, delayMs)
      const store = await openLevelKvStore({ dir })
      try {
        const counts = new Map<number, number>()
        const text = new TextDecoder()
        for await (const { key, value } of store.entries({
          prefix: new TextEncoder().encode('batch!'),
        })) {
          const n = Number.parseInt(text.decode(key).split('!')[1]!, 16)
          expect(new DataView(value.buffer, value.byteOffset).getUint32(0)).toBe(n)
          counts.set(n, (counts.get(n) ?? 0) + 1)
        }
        const batches = [...counts.keys()].sort((a, b) => a - b)
        // Whole: every key of it. In order: 0..last with no gap. Durable: every acknowledged one.
        for (const n of batches) expect(counts.get(n), `batch ${n}`).toBe(BATCH_KEYS)
        expect(batches).toEqual(batches.map((_, i) => i))
        expect(batches.length).toBeGreaterThanOrEqual(acknowledged + 1)
      } finally {
        await store.close()
      }
    },
  )
})
