import fc from 'fast-check'
import { beforeAll, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { ready } from '../b3/engine.ts'
import { B3Error } from '../b3/errors.ts'
import { blockOf, seededContent } from '../b3/testing/content.ts'
import { treeOf } from '../b3/tree.ts'
import { contentBody, contentBodyLength, readContentBody } from './content-body.ts'
import { encodeFrame } from './content-frames.ts'
import { WireError } from './errors.ts'

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
    return { bytes: join(parts), error }
  }
  return { bytes: join(parts) }
}

function join(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

async function* rechunk(chunks: Uint8Array[], size: number): AsyncGenerator<Uint8Array> {
  const all = join(chunks)
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
  const whole = join(await collect(contentBody(tree, readBlock)))
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
