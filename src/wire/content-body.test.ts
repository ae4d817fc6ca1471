import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { ready } from '../b3/engine.ts'
import { B3Error } from '../b3/errors.ts'
import { initialProof, resumeProof } from '../b3/proof.ts'
import { blockOf, seededContent } from '../b3/testing/content.ts'
import { treeOf } from '../b3/tree.ts'
import { blocksOfRange } from '../b3/verified-stream.ts'
import { IncrementalVerifier } from '../b3/verifier.ts'
import { BLOCK_HEADROOM, contentBody, contentBodyLength, readContentBody } from './content-body.ts'
import { decodeFrames, encodeFrame, type WireFrame } from './content-frames.ts'
import { WireError } from './errors.ts'
import { concat } from './testing/bytes.ts'

beforeAll(async () => {
  await ready()
})

const content = seededContent(5 * TREE_BLOCK_LEN + 999, 77)
const tree = treeOf(content)
const readBlock = async (k: number) => blockOf(content, k)

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const c of source) out.push(c)
  return out
}

async function drain(
  body: ReadableStream<Uint8Array>,
): Promise<{ bytes: Uint8Array; error?: unknown }> {
  const parts: Uint8Array[] = []
  try {
    for await (const p of body as unknown as AsyncIterable<Uint8Array>) parts.push(p)
  } catch (error) {
    return { bytes: concat(parts), error }
  }
  return { bytes: concat(parts) }
}

async function* rechunk(chunks: Uint8Array[], size: number): AsyncGenerator<Uint8Array> {
  const all = concat(chunks)
  for (let o = 0; o < all.length; o += size) yield all.slice(o, o + size)
}

test('a body round trips through the wire, whole and in ranges (property)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.nat(content.length),
      fc.nat(content.length),
      fc.integer({ min: 512, max: 300_000 }),
      async (a, b, size) => {
        const range = { start: Math.min(a, b), end: Math.max(a, b) }
        const chunks = await collect(contentBody(tree, readBlock, { range }))
        expect(contentBodyLength(tree, range)).toBe(chunks.reduce((n, c) => n + c.length, 0))
        const { header, body } = await readContentBody(tree.root, rechunk(chunks, size), { range })
        expect(header.length).toBe(content.length)
        const { bytes, error } = await drain(body)
        expect(error).toBeUndefined()
        expect(bytes).toEqual(content.slice(range.start, range.end))
      },
    ),
    { numRuns: 20 },
  )
})

test('a header naming other content is refused before any byte', async () => {
  const other = treeOf(seededContent(1000, 1))
  const chunks = await collect(contentBody(other, async () => seededContent(1000, 1)))
  await expect(readContentBody(tree.root, rechunk(chunks, 4096))).rejects.toMatchObject({
    code: 'WIRE_WRONG_CONTENT',
  })
  const ranged = await collect(contentBody(tree, readBlock, { range: { start: 0, end: 10 } }))
  await expect(
    readContentBody(tree.root, rechunk(ranged, 4096), { range: { start: 0, end: 11 } }),
  ).rejects.toMatchObject({
    code: 'WIRE_WRONG_CONTENT',
  })
})

test('a flipped byte anywhere in the body never reaches the reader unverified', async () => {
  const whole = concat(await collect(contentBody(tree, readBlock)))
  await fc.assert(
    fc.asyncProperty(fc.nat(whole.length - 1), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      const bad = whole.slice()
      bad[at]! ^= 1 << bit
      let bytes: Uint8Array = new Uint8Array(0)
      let error: unknown
      try {
        const r = await readContentBody(tree.root, rechunk([bad], 65_536))
        ;({ bytes, error } = await drain(r.body))
      } catch (e) {
        error = e
      }
      expect(error).toBeDefined()
      expect(error instanceof B3Error || error instanceof WireError).toBe(true)
      // Whatever came out is a verified prefix, whole blocks only.
      expect(bytes.length % TREE_BLOCK_LEN).toBe(0)
      expect(bytes).toEqual(content.slice(0, bytes.length))
    }),
    { numRuns: 40 },
  )
})

test('an error frame from the sender errors the body', async () => {
  const chunks = await collect(contentBody(tree, readBlock))
  const cutAt = chunks.slice(0, 5) // header, block 0 (proof, prefix, data), block 1 proof
  cutAt.push(encodeFrame({ kind: 'error', code: 503, message: 'origin went away' }))
  const { body } = await readContentBody(tree.root, rechunk(cutAt, 100_000))
  const { error } = await drain(body)
  expect(error).toMatchObject({ code: 'WIRE_REMOTE_ERROR' })
})

async function framesOf(source: AsyncIterable<Uint8Array>): Promise<WireFrame[]> {
  const out: WireFrame[] = []
  for await (const f of decodeFrames(source)) out.push(f)
  return out
}

describe('resumeBlock', () => {
  /** A verifier over `[first, end)` that already took blocks `first..k-1` from another source. */
  function verifierAt(first: number, end: number, k: number): IncrementalVerifier {
    const v = new IncrementalVerifier(tree.root, { length: tree.length, start: first, end })
    for (let j = first; j < k; j++) {
      v.feedProof(j === first ? initialProof(tree, j) : resumeProof(tree, j))
      v.feedBlock(blockOf(content, j))
    }
    return v
  }

  test('the same header, then frames from the resume block with a resume proof', async () => {
    for (const [range, k] of [
      [{ start: 0, end: content.length }, 3],
      [{ start: 0, end: content.length }, 5],
      [{ start: TREE_BLOCK_LEN + 5, end: 4 * TREE_BLOCK_LEN }, 2],
      [{ start: TREE_BLOCK_LEN + 5, end: 4 * TREE_BLOCK_LEN }, 3],
    ] as const) {
      const { first, end } = blocksOfRange(tree.length, range)
      const whole = await collect(contentBody(tree, readBlock, { range }))
      const resumed = await collect(contentBody(tree, readBlock, { range, resumeBlock: k }))
      expect(resumed[0]).toEqual(whole[0])
      const frames = await framesOf(rechunk(resumed.slice(1), 10_000))
      expect(frames.map((f) => f.kind)).toEqual(
        Array.from({ length: end - k }, () => ['proof', 'data']).flat(),
      )
      expect(frames[0]).toEqual({ kind: 'proof', bytes: resumeProof(tree, k) })
      const v = verifierAt(first, end, k)
      const blocks: number[] = []
      for (let i = 0; i < frames.length; i += 2) {
        v.feedProof((frames[i] as { bytes: Uint8Array }).bytes)
        blocks.push(v.feedBlock((frames[i + 1] as { bytes: Uint8Array }).bytes))
      }
      expect(v.isDone()).toBe(true)
      expect(blocks).toEqual(Array.from({ length: end - k }, (_, i) => k + i))
    }
  })

  test("resuming at the range's first block is the body from the start", async () => {
    const range = { start: 2 * TREE_BLOCK_LEN + 1, end: 3 * TREE_BLOCK_LEN + 2 }
    const whole = await collect(contentBody(tree, readBlock, { range }))
    const resumed = await collect(contentBody(tree, readBlock, { range, resumeBlock: 2 }))
    expect(concat(resumed)).toEqual(concat(whole))
  })

  test('a resume block outside the range is WIRE_MALFORMED, before any frame or read', async () => {
    const range = { start: TREE_BLOCK_LEN + 5, end: 4 * TREE_BLOCK_LEN } // blocks 1..3
    for (const resumeBlock of [0, 4, 5, -1, 1.5, Number.NaN, 2 ** 53]) {
      const reads: number[] = []
      const body = contentBody(
        tree,
        async (k) => {
          reads.push(k)
          return blockOf(content, k)
        },
        { range, resumeBlock },
      )
      const error = await body.next().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(WireError)
      expect(error).toMatchObject({ code: 'WIRE_MALFORMED' })
      expect(reads).toEqual([])
      expect(await body.next()).toEqual({ done: true, value: undefined })
    }
    // Past the last block of the whole content, too.
    await expect(collect(contentBody(tree, readBlock, { resumeBlock: 6 }))).rejects.toMatchObject({
      code: 'WIRE_MALFORMED',
    })
  })
})

describe('beforeBlock', () => {
  test('is awaited once per block, in order, before the block is read or sent', async () => {
    const events: string[] = []
    const range = { start: TREE_BLOCK_LEN, end: content.length } // blocks 1..5
    const chunks = await collect(
      contentBody(
        tree,
        async (k) => {
          events.push(`read ${k}`)
          return blockOf(content, k)
        },
        {
          range,
          beforeBlock: async (k) => {
            events.push(`before ${k}`)
            await new Promise((resolve) => setTimeout(resolve, 1))
            events.push(`after ${k}`)
          },
        },
      ),
    )
    expect(events).toEqual(
      [1, 2, 3, 4, 5].flatMap((k) => [`before ${k}`, `after ${k}`, `read ${k}`]),
    )
    expect(concat(chunks)).toEqual(concat(await collect(contentBody(tree, readBlock, { range }))))
  })

  test('holds the body back until it resolves', async () => {
    let open: (() => void) | undefined
    const calls: number[] = []
    const body = contentBody(tree, readBlock, {
      resumeBlock: 4,
      beforeBlock: (k) => {
        calls.push(k)
        return new Promise<void>((resolve) => {
          open = resolve
        })
      },
    })
    expect((await body.next()).done).toBe(false) // the header needs no room
    let settled = false
    const next = body.next().then((r) => {
      settled = true
      return r
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(settled).toBe(false)
    expect(calls).toEqual([4])
    open!()
    const proof = await next
    expect(proof.value).toEqual(encodeFrame({ kind: 'proof', bytes: resumeProof(tree, 4) }))
    await body.return(undefined)
  })

  test('an error it throws ends the body there', async () => {
    const stop = new Error('no acknowledgement')
    const reads: number[] = []
    const seen: number[] = []
    const chunks: Uint8Array[] = []
    const body = contentBody(
      tree,
      async (k) => {
        reads.push(k)
        return blockOf(content, k)
      },
      {
        beforeBlock: (k) => {
          seen.push(k)
          if (k === 2) throw stop
        },
      },
    )
    let error: unknown
    try {
      for await (const c of body) chunks.push(c)
    } catch (e) {
      error = e
    }
    expect(error).toBe(stop)
    expect(seen).toEqual([0, 1, 2])
    expect(reads).toEqual([0, 1])
    // What was sent is the header and blocks 0 and 1, whole.
    const frames = await framesOf(rechunk(chunks, 50_000))
    expect(frames.map((f) => f.kind)).toEqual(['header', 'proof', 'data', 'proof', 'data'])
    expect(await body.next()).toEqual({ done: true, value: undefined })
  })
})

describe('contentBody with headroom', () => {
  /** Blocks read behind BLOCK_HEADROOM free bytes, as the CDN service reads them. */
  const withHeadroom = async (k: number) => {
    const block = blockOf(content, k)
    const buffer = new Uint8Array(BLOCK_HEADROOM + block.length)
    buffer.set(block, BLOCK_HEADROOM)
    return buffer.subarray(BLOCK_HEADROOM)
  }

  test('sends the same bytes, one chunk per block after the header', async () => {
    for (const range of [undefined, { start: 300_000, end: 900_001 }]) {
      const plain = concat(await collect(contentBody(tree, readBlock, range ? { range } : {})))
      const chunks = await collect(
        contentBody(tree, withHeadroom, { headroom: true, ...(range ? { range } : {}) }),
      )
      expect(concat(chunks)).toEqual(plain)
      const span = blocksOfRange(content.length, range ?? { start: 0, end: content.length })
      expect(chunks).toHaveLength(1 + span.end - span.first)
    }
  })

  test('falls back to separate frames when a block has no room in front of it', async () => {
    const chunks = await collect(contentBody(tree, readBlock, { headroom: true }))
    expect(concat(chunks)).toEqual(concat(await collect(contentBody(tree, readBlock))))
    expect(chunks.length).toBeGreaterThan(1 + tree.blocks)
  })
})
