/**
 * The holding buffer with its Node spill (a real temporary file): whatever the chunking and
 * wherever the memory bound falls, `release()` gives back exactly the bytes held, in order;
 * the spill file is never visible on disk and its descriptor is closed once the body is read,
 * cancelled or discarded. Without a spill, a body over the bound fails with FETCH_HOLD_FAILED.
 */
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'
import { FetchError } from './errors.ts'
import { HoldingBuffer } from './holding-buffer.ts'
import { tempFileSpill } from './temp-file-spill.node.ts'

const dir = mkdtempSync(join(tmpdir(), 'fulmen-hold-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Open descriptors of this process that point into `dir` (unlinked files included). */
function openFilesIn(where: string): string[] {
  const out: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      if (target.startsWith(where)) out.push(target)
    } catch {}
  }
  return out
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
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

const chunksArb = fc.array(fc.uint8Array({ minLength: 0, maxLength: 3000 }), { maxLength: 24 })

describe('HoldingBuffer with a temporary-file spill', () => {
  test('returns exactly the bytes given, for any chunking and memory bound', async () => {
    await fc.assert(
      fc.asyncProperty(chunksArb, fc.nat({ max: 40_000 }), async (chunks, memoryLimit) => {
        const hold = new HoldingBuffer({ memoryLimit, spill: tempFileSpill({ dir }) })
        // Copies: the buffer keeps what it is given.
        for (const c of chunks) await hold.append(c.slice())
        const whole = concat(chunks)
        expect(hold.size).toBe(whole.length)
        const firstOver = chunks.reduce<number | undefined>(
          (found, _, i) =>
            found ??
            (concat(chunks.slice(0, i + 1)).length > memoryLimit && chunks[i]!.length > 0
              ? i
              : undefined),
          undefined,
        )
        expect(hold.spilled).toBe(firstOver !== undefined)
        expect(readdirSync(dir)).toEqual([])
        expect(await readAll(hold.release())).toEqual(whole)
        expect(openFilesIn(dir)).toEqual([])
      }),
      { numRuns: 150 },
    )
  })

  test('a discarded or cancelled spill closes its file', async () => {
    const big = new Uint8Array(700_000).map((_, i) => i * 7)
    const discarded = new HoldingBuffer({ memoryLimit: 1000, spill: tempFileSpill({ dir }) })
    await discarded.append(big.slice(0, 500))
    await discarded.append(big.slice(500))
    expect(discarded.spilled).toBe(true)
    expect(openFilesIn(dir)).toHaveLength(1)
    await discarded.discard()
    expect(openFilesIn(dir)).toEqual([])

    const cancelled = new HoldingBuffer({ memoryLimit: 0, spill: tempFileSpill({ dir }) })
    await cancelled.append(big.slice())
    const reader = cancelled.release().getReader()
    const first = await reader.read()
    expect(first.value).toEqual(big.subarray(0, first.value!.length))
    await reader.cancel()
    expect(openFilesIn(dir)).toEqual([])
    expect(readdirSync(dir)).toEqual([])
  })

  test('without a spill: up to the bound in memory, then FETCH_HOLD_FAILED', async () => {
    const hold = new HoldingBuffer({ memoryLimit: 10 })
    await hold.append(new Uint8Array(6))
    await hold.append(new Uint8Array(4))
    const error = await hold.append(new Uint8Array(1)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).code).toBe('FETCH_HOLD_FAILED')
  })

  test('a spill that cannot be made fails with FETCH_HOLD_FAILED', async () => {
    const hold = new HoldingBuffer({
      memoryLimit: 0,
      spill: tempFileSpill({ dir: join(dir, 'missing', 'nested') }),
    })
    const error = await hold.append(new Uint8Array(1)).catch((e: unknown) => e)
    expect((error as FetchError).code).toBe('FETCH_HOLD_FAILED')
  })
})
