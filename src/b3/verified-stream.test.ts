import fc from 'fast-check'
import { beforeAll, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from './constants.ts'
import { ready } from './engine.ts'
import { B3Error } from './errors.ts'
import { initialProof, resumeProof } from './proof.ts'
import { blockOf, seededContent } from './testing/content.ts'
import { type HashTree, treeOf } from './tree.ts'
import { blocksOfRange, type ContentFrame, verifyStream } from './verified-stream.ts'

beforeAll(async () => {
  await ready()
})

/** The frames a server sends for blocks `[first, end)`, data cut in pieces of `piece` bytes. */
function* serverFrames(
  tree: HashTree,
  content: Uint8Array,
  first: number,
  end: number,
  piece: number,
): Generator<ContentFrame> {
  for (let k = first; k < end; k++) {
    yield { kind: 'proof', bytes: k === first ? initialProof(tree, k) : resumeProof(tree, k) }
    const block = blockOf(content, k)
    for (let off = 0; off < block.length; off += piece)
      yield { kind: 'data', bytes: block.slice(off, off + piece) }
  }
}

async function* from<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items
}

async function readAll(
  stream: ReadableStream<Uint8Array>,
): Promise<{ bytes: Uint8Array; error?: unknown }> {
  const parts: Uint8Array[] = []
  let error: unknown
  try {
    for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part)
  } catch (e) {
    error = e
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    bytes.set(p, off)
    off += p.length
  }
  return { bytes, error }
}

const content = seededContent(6 * TREE_BLOCK_LEN + 1234, 21)
const tree = treeOf(content)

test('whole content, any frame size', async () => {
  for (const piece of [TREE_BLOCK_LEN, 1000, 65_536, 300_000]) {
    const frames = serverFrames(tree, content, 0, tree.blocks, piece)
    const { bytes, error } = await readAll(
      verifyStream(tree.root, from(frames), { length: tree.length }),
    )
    expect(error).toBeUndefined()
    expect(bytes).toEqual(content)
  }
})

test('byte ranges (property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.nat(content.length), fc.nat(content.length), async (a, b) => {
      const range = { start: Math.min(a, b), end: Math.max(a, b) }
      const span = blocksOfRange(content.length, range)
      const frames = serverFrames(tree, content, span.first, span.end, 100_000)
      const { bytes, error } = await readAll(
        verifyStream(tree.root, from(frames), { length: tree.length, range }),
      )
      expect(error).toBeUndefined()
      expect(bytes).toEqual(content.slice(range.start, range.end))
    }),
    { numRuns: 30 },
  )
})

test('a tampered block stops the stream: only verified blocks come out', async () => {
  const frames = [...serverFrames(tree, content, 0, tree.blocks, TREE_BLOCK_LEN)]
  const data = frames[7]! // block 3's data
  expect(data.kind).toBe('data')
  const flipped = data.bytes.slice()
  flipped[1000]! ^= 4
  frames[7] = { kind: 'data', bytes: flipped }
  const events: number[] = []
  const { bytes, error } = await readAll(
    verifyStream(tree.root, from(frames), {
      length: tree.length,
      onBlock: (e) => events.push(e.block),
    }),
  )
  expect(error).toBeInstanceOf(B3Error)
  expect((error as B3Error).code).toBe('B3_BLOCK_MISMATCH')
  expect((error as B3Error).block).toBe(3)
  expect(bytes).toEqual(content.slice(0, 3 * TREE_BLOCK_LEN))
  expect(events).toEqual([0, 1, 2])
})

test('truncated, overlong and misordered streams', async () => {
  const frames = [...serverFrames(tree, content, 0, tree.blocks, 50_000)]
  const truncated = await readAll(
    verifyStream(tree.root, from(frames.slice(0, -1)), { length: tree.length }),
  )
  expect((truncated.error as B3Error).code).toBe('B3_TRUNCATED')
  expect(truncated.bytes).toEqual(content.slice(0, 6 * TREE_BLOCK_LEN))

  const extra: ContentFrame[] = [...frames, { kind: 'data', bytes: new Uint8Array(1) }]
  const overlong = await readAll(verifyStream(tree.root, from(extra), { length: tree.length }))
  expect((overlong.error as B3Error).code).toBe('B3_AFTER_END')

  const proofInside = [...frames]
  proofInside.splice(2, 0, { kind: 'proof', bytes: new Uint8Array(0) })
  const misordered = await readAll(
    verifyStream(tree.root, from(proofInside), { length: tree.length }),
  )
  expect((misordered.error as B3Error).code).toBe('B3_OUT_OF_ORDER')
  expect(misordered.bytes.length).toBe(0)
})

test('a lying length is caught', async () => {
  const frames = serverFrames(tree, content, 0, tree.blocks, TREE_BLOCK_LEN)
  const { error } = await readAll(
    verifyStream(tree.root, from(frames), { length: tree.length - 1 }),
  )
  expect(error).toBeInstanceOf(B3Error)
})

test('abort rejects with the reason and releases the source', async () => {
  const controller = new AbortController()
  let returned = false
  async function* source(): AsyncGenerator<ContentFrame> {
    try {
      yield* serverFrames(tree, content, 0, tree.blocks, TREE_BLOCK_LEN)
    } finally {
      returned = true
    }
  }
  const stream = verifyStream(tree.root, source(), {
    length: tree.length,
    signal: controller.signal,
  })
  const reader = stream.getReader()
  await reader.read()
  controller.abort(new Error('user went away'))
  await expect(reader.read()).rejects.toThrow('user went away')
  expect(returned).toBe(true)
})

test('empty content', async () => {
  const empty = treeOf(new Uint8Array(0))
  for (const frames of [[{ kind: 'proof', bytes: new Uint8Array(0) }], []] as ContentFrame[][]) {
    const { bytes, error } = await readAll(verifyStream(empty.root, from(frames), { length: 0 }))
    expect(error).toBeUndefined()
    expect(bytes.length).toBe(0)
  }
})
