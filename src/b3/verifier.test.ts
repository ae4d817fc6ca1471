import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { blockHash } from './block.ts'
import { TREE_BLOCK_LEN } from './constants.ts'
import { ready } from './engine.ts'
import { B3Error, type B3ErrorCode } from './errors.ts'
import { decodeProof, encodeProof, initialProof, resumeProof } from './proof.ts'
import { blockOf, seededContent } from './testing/content.ts'
import { unhex, vectorContent } from './testing/kernels.ts'
import { type HashTree, treeOf } from './tree.ts'
import vectors from './vectors/blake3-tree.json' with { type: 'json' }
import { IncrementalVerifier } from './verifier.ts'

beforeAll(async () => {
  await ready()
})

function expectCode(fn: () => unknown, code: B3ErrorCode): void {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(B3Error)
  expect((thrown as B3Error).code).toBe(code)
}

/** Feeds blocks `start..end` with the proofs a server would send; returns the blocks fed. */
function verifySpan(tree: HashTree, content: Uint8Array, start: number, end: number): number[] {
  const v = new IncrementalVerifier(tree.root, { length: tree.length, start, end })
  const seen: number[] = []
  for (let k = start; k < end; k++) {
    v.feedProof(k === start ? initialProof(tree, k) : resumeProof(tree, k))
    seen.push(v.feedBlock(blockOf(content, k)))
  }
  expect(v.state).toBe('done')
  return seen
}

describe("Lightning's proofs from the vectors verify from every start block", () => {
  test.each(vectors.cases.filter((c) => c.len <= 4_456_448).map((c) => [c.len, c] as const))(
    'length %i',
    (len, c) => {
      const content = vectorContent(len)
      const root = unhex(c.root)
      for (let start = 0; start < c.blocks; start++) {
        const v = new IncrementalVerifier(root, { length: len, start })
        for (let k = start; k < c.blocks; k++) {
          const proof =
            k === start
              ? (c.initial as Record<string, string | undefined>)[k]
              : (c.resume as Record<string, string | undefined>)[k]
          v.feedProof(unhex(proof ?? ''))
          expect(v.feedBlock(blockOf(content, k))).toBe(k)
        }
        expect(v.state).toBe('done')
        expectCode(() => v.feedProof(new Uint8Array(0)), 'B3_AFTER_END')
        expectCode(() => v.feedBlock(new Uint8Array(1)), 'B3_AFTER_END')
      }
    },
  )
})

describe('round trips (property)', () => {
  test('random lengths up to 40 blocks plus a tail, random spans', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: TREE_BLOCK_LEN }),
        fc.integer(),
        fc.nat(),
        fc.nat(),
        (full, tail, seed, a, b) => {
          const length = Math.min(full * TREE_BLOCK_LEN + tail, 40 * TREE_BLOCK_LEN + 1000)
          const content = seededContent(length, seed)
          const tree = treeOf(content)
          const start = a % tree.blocks
          const end = start + 1 + (b % (tree.blocks - start))
          expect(verifySpan(tree, content, start, end)).toEqual(
            Array.from({ length: end - start }, (_, i) => start + i),
          )
        },
      ),
      { numRuns: 25 },
    )
  })

  test('proof encoding round trips for any hashes and sides', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean()), {
          minLength: 2,
          maxLength: 47,
        }),
        (items) => {
          const bytes = encodeProof(
            items.map(([h]) => h),
            items.map(([, l]) => l),
          )
          const decoded = decodeProof(bytes)
          expect(decoded.hashes).toEqual(items.map(([h]) => h))
          expect(decoded.left).toEqual(items.map(([, l]) => l))
        },
      ),
    )
  })
})

describe('tampering', () => {
  const content = seededContent(8 * TREE_BLOCK_LEN + 100, 7)
  const tree = treeOf(content)

  test('every single-bit flip in an initial or resume proof is rejected', () => {
    for (const [k, proof] of [
      [5, initialProof(tree, 5)],
      [0, initialProof(tree, 0)],
      [8, initialProof(tree, 8)],
    ] as const) {
      for (let bit = 0; bit < proof.length * 8; bit++) {
        const bad = proof.slice()
        bad[bit >> 3]! ^= 1 << (bit & 7)
        const v = new IncrementalVerifier(tree.root, { length: tree.length, start: k })
        expect(() => v.feedProof(bad)).toThrow(B3Error)
        // Nothing was learned from the bad proof: the good one still verifies.
        v.feedProof(proof)
        expect(v.feedBlock(blockOf(content, k))).toBe(k)
      }
    }
    const resume = resumeProof(tree, 4)
    expect(resume.length).toBeGreaterThan(0)
    for (let bit = 0; bit < resume.length * 8; bit++) {
      const bad = resume.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      const v = new IncrementalVerifier(tree.root, { length: tree.length })
      v.feedProof(initialProof(tree, 0))
      for (let k = 0; k < 4; k++) {
        if (k > 0) v.feedProof(resumeProof(tree, k))
        v.feedBlock(blockOf(content, k))
      }
      expect(() => v.feedProof(bad)).toThrow(B3Error)
    }
  })

  test('every single-bit flip in a short last block is rejected', () => {
    const last = blockOf(content, 8)
    expect(last.length).toBe(100)
    for (let bit = 0; bit < last.length * 8; bit++) {
      const bad = last.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      const v = new IncrementalVerifier(tree.root, { length: tree.length, start: 8 })
      v.feedProof(initialProof(tree, 8))
      expectCode(() => v.feedBlock(bad), 'B3_BLOCK_MISMATCH')
    }
  })

  test('single-bit flips anywhere in a full block are rejected (property)', () => {
    const block = blockOf(content, 3)
    const proof = initialProof(tree, 3)
    fc.assert(
      fc.property(fc.integer({ min: 0, max: TREE_BLOCK_LEN * 8 - 1 }), (bit) => {
        const bad = block.slice()
        bad[bit >> 3]! ^= 1 << (bit & 7)
        const v = new IncrementalVerifier(tree.root, { length: tree.length, start: 3 })
        v.feedProof(proof)
        expectCode(() => v.feedBlock(bad), 'B3_BLOCK_MISMATCH')
      }),
      { numRuns: 60 },
    )
    // The first and last bytes of a block exhaustively (chunk-boundary bits included).
    for (const byte of [0, 1, 63, 64, 1023, 1024, TREE_BLOCK_LEN - 1]) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = block.slice()
        bad[byte]! ^= 1 << bit
        const v = new IncrementalVerifier(tree.root, { length: tree.length, start: 3 })
        v.feedProof(proof)
        expectCode(() => v.feedBlock(bad), 'B3_BLOCK_MISMATCH')
      }
    }
  })

  test('a single-block content rejects a flipped root', () => {
    const small = seededContent(5000, 3)
    const t = treeOf(small)
    const root = t.root.slice()
    root[31]! ^= 0x80
    const v = new IncrementalVerifier(root, { length: 5000 })
    expectCode(() => v.feedBlock(small), 'B3_BLOCK_MISMATCH')
  })
})

describe('typed errors', () => {
  const content = seededContent(5 * TREE_BLOCK_LEN + 3, 11)
  const tree = treeOf(content)
  const fresh = (start = 0) => new IncrementalVerifier(tree.root, { length: tree.length, start })

  test('short and long proofs', () => {
    const proof = initialProof(tree, 1)
    expectCode(() => fresh(1).feedProof(proof.subarray(0, proof.length - 1)), 'B3_PROOF_LENGTH')
    expectCode(() => fresh(1).feedProof(proof.subarray(0, proof.length - 32)), 'B3_PROOF_LENGTH')
    const longer = decodeProof(proof)
    const extra = encodeProof([...longer.hashes, new Uint8Array(32)], [...longer.left, false])
    expectCode(() => fresh(1).feedProof(extra), 'B3_PROOF_LENGTH')
    expectCode(() => fresh(1).feedProof(new Uint8Array(0)), 'B3_PROOF_LENGTH')
  })

  test('a proof for another block', () => {
    expectCode(() => fresh(1).feedProof(initialProof(tree, 0)), 'B3_PROOF_MISMATCH')
    expectCode(() => fresh(2).feedProof(initialProof(tree, 3)), 'B3_PROOF_MISMATCH')
  })

  test('a proof of another content', () => {
    const other = treeOf(seededContent(tree.length, 12))
    expectCode(() => fresh(2).feedProof(initialProof(other, 2)), 'B3_PROOF_MISMATCH')
  })

  test('out-of-order input', () => {
    expectCode(() => fresh().feedBlock(blockOf(content, 0)), 'B3_OUT_OF_ORDER')
    const v = fresh()
    v.feedProof(initialProof(tree, 0))
    expectCode(() => v.feedProof(initialProof(tree, 0)), 'B3_OUT_OF_ORDER')
    expectCode(() => v.feedBlock(blockOf(content, 1)), 'B3_BLOCK_MISMATCH')
  })

  test('wrong block lengths', () => {
    const v = fresh()
    v.feedProof(initialProof(tree, 0))
    expectCode(() => v.feedBlock(blockOf(content, 0).subarray(1)), 'B3_BLOCK_LENGTH')
    const w = fresh(5)
    w.feedProof(initialProof(tree, 5))
    expectCode(() => w.feedBlock(new Uint8Array(4)), 'B3_BLOCK_LENGTH')
  })

  test('a rejected block rewinds to its proof, so another source can resume', () => {
    const v = fresh()
    v.feedProof(initialProof(tree, 0))
    v.feedBlock(blockOf(content, 0))
    v.feedProof(resumeProof(tree, 1))
    const bad = blockOf(content, 1).slice()
    bad[9]! ^= 1
    expectCode(() => v.feedBlock(bad), 'B3_BLOCK_MISMATCH')
    expect(v.state).toBe('awaiting-proof')
    expect(v.next).toBe(1)
    v.feedProof(resumeProof(tree, 1))
    expect(v.feedBlock(blockOf(content, 1))).toBe(1)
  })

  test('block hashes verify like blocks', () => {
    const v = fresh()
    for (let k = 0; k < tree.blocks; k++) {
      v.feedProof(k === 0 ? initialProof(tree, 0) : resumeProof(tree, k))
      v.feedBlockHash(blockHash(blockOf(content, k), k, false))
    }
    expect(v.state).toBe('done')
  })

  test('bad arguments', () => {
    expectCode(
      () => new IncrementalVerifier(new Uint8Array(31), { length: 1 }),
      'B3_INVALID_ARGUMENT',
    )
    expectCode(() => new IncrementalVerifier(tree.root, { length: -1 }), 'B3_INVALID_ARGUMENT')
    expectCode(
      () => new IncrementalVerifier(tree.root, { length: tree.length, start: 6 }),
      'B3_INVALID_ARGUMENT',
    )
    expectCode(() => initialProof(tree, 6), 'B3_INVALID_ARGUMENT')
    expectCode(() => resumeProof(tree, 0), 'B3_INVALID_ARGUMENT')
  })
})

describe('fuzz: untrusted bytes only ever produce typed errors', () => {
  const content = seededContent(3 * TREE_BLOCK_LEN + 5, 5)
  const tree = treeOf(content)

  test('random proof bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1600 }),
        fc.integer({ min: 0, max: 3 }),
        (bytes, start) => {
          const v = new IncrementalVerifier(tree.root, { length: tree.length, start })
          try {
            v.feedProof(bytes)
          } catch (error) {
            expect(error).toBeInstanceOf(B3Error)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })

  test('random sequences of proofs, blocks and hashes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('proof' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
      fc.record({ kind: fc.constant('block' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
      fc.record({
        kind: fc.constant('hash' as const),
        bytes: fc.uint8Array({ minLength: 0, maxLength: 40 }),
      }),
      fc.record({ kind: fc.constant('real' as const), bytes: fc.constant(new Uint8Array(0)) }),
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), fc.integer({ min: 0, max: 3 }), (ops, start) => {
        const v = new IncrementalVerifier(tree.root, { length: tree.length, start })
        for (const { kind, bytes } of ops) {
          try {
            if (kind === 'proof') v.feedProof(bytes)
            else if (kind === 'block') v.feedBlock(bytes)
            else if (kind === 'hash') v.feedBlockHash(bytes)
            else if (v.state === 'awaiting-proof') {
              v.feedProof(v.next === start ? initialProof(tree, v.next) : resumeProof(tree, v.next))
            } else if (v.state === 'awaiting-block') v.feedBlock(blockOf(content, v.next))
          } catch (error) {
            expect(error).toBeInstanceOf(B3Error)
          }
        }
      }),
      { numRuns: 300 },
    )
  })
})

test('an empty content verifies with an empty proof and an empty block', () => {
  const tree = treeOf(new Uint8Array(0))
  const v = new IncrementalVerifier(tree.root, { length: 0 })
  expect(v.proofIsEmpty).toBe(true)
  v.feedProof(new Uint8Array(0))
  v.feedBlock(new Uint8Array(0))
  expect(v.state).toBe('done')
})

describe('abandonBlock', () => {
  const content = seededContent(9 * TREE_BLOCK_LEN + 4321, 21)
  const tree = treeOf(content)

  test('forgets an accepted proof: the same proof is due again and the true block verifies', () => {
    const v = new IncrementalVerifier(tree.root, { length: tree.length })
    v.feedProof(initialProof(tree, 0))
    v.feedBlock(blockOf(content, 0))
    v.feedProof(resumeProof(tree, 1))
    v.feedBlock(blockOf(content, 1))
    v.feedProof(resumeProof(tree, 2))
    expect(v.state).toBe('awaiting-block')
    v.abandonBlock()
    expect(v.state).toBe('awaiting-proof')
    expect(v.next).toBe(2)
    // The block cannot come without its proof any more.
    expectCode(() => v.feedBlock(blockOf(content, 2)), 'B3_OUT_OF_ORDER')
    v.feedProof(resumeProof(tree, 2))
    expect(v.feedBlock(blockOf(content, 2))).toBe(2)
    for (let k = 3; k < tree.blocks; k++) {
      v.feedProof(resumeProof(tree, k))
      expect(v.feedBlock(blockOf(content, k))).toBe(k)
    }
    expect(v.isDone()).toBe(true)
  })

  test("at a span's first block, the initial proof is due again", () => {
    const v = new IncrementalVerifier(tree.root, { length: tree.length, start: 4, end: 8 })
    v.feedProof(initialProof(tree, 4))
    v.abandonBlock()
    expect(v.state).toBe('awaiting-proof')
    expect(v.next).toBe(4)
    v.feedProof(initialProof(tree, 4))
    expect(v.feedBlock(blockOf(content, 4))).toBe(4)
  })

  test('a wrong block after the abandoned proof is still refused', () => {
    const v = new IncrementalVerifier(tree.root, { length: tree.length, start: 3 })
    v.feedProof(initialProof(tree, 3))
    v.abandonBlock()
    v.feedProof(initialProof(tree, 3))
    const bad = blockOf(content, 3).slice()
    bad[100]! ^= 4
    expectCode(() => v.feedBlock(bad), 'B3_BLOCK_MISMATCH')
    v.feedProof(initialProof(tree, 3))
    expect(v.feedBlock(blockOf(content, 3))).toBe(3)
  })

  test('an abandoned empty proof (a single-block content) is due again', () => {
    const one = seededContent(700, 2)
    const t = treeOf(one)
    const v = new IncrementalVerifier(t.root, { length: one.length })
    v.feedProof(new Uint8Array(0))
    v.abandonBlock()
    expect(v.state).toBe('awaiting-proof')
    expect(v.proofIsEmpty).toBe(true)
    v.feedProof(new Uint8Array(0))
    expect(v.feedBlock(one)).toBe(0)
    expect(v.isDone()).toBe(true)
  })

  test('is a no-op while a proof is awaited, and once done', () => {
    const v = new IncrementalVerifier(tree.root, { length: tree.length })
    v.abandonBlock()
    expect(v.state).toBe('awaiting-proof')
    expect(v.next).toBe(0)
    v.feedProof(initialProof(tree, 0))
    v.feedBlock(blockOf(content, 0))
    v.abandonBlock()
    v.abandonBlock()
    expect(v.state).toBe('awaiting-proof')
    expect(v.next).toBe(1)
    for (let k = 1; k < tree.blocks; k++) {
      v.feedProof(resumeProof(tree, k))
      v.feedBlock(blockOf(content, k))
    }
    v.abandonBlock()
    expect(v.isDone()).toBe(true)
    expectCode(() => v.feedProof(new Uint8Array(0)), 'B3_AFTER_END')
  })

  test('failover at a random point: a prefix from A, abandon, the rest from B (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 0, max: TREE_BLOCK_LEN }),
        fc.integer(),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        (full, tail, seed, a, b, c, proofSent) => {
          const length = Math.max(1, (full - 1) * TREE_BLOCK_LEN + tail)
          const data = seededContent(length, seed)
          const source = treeOf(data)
          // B holds its own copy of the content and its own tree.
          const otherData = data.slice()
          const other = treeOf(otherData)
          const start = a % source.blocks
          const end = start + 1 + (b % (source.blocks - start))
          const failAt = start + (c % (end - start))
          const proofOf = (t: HashTree, k: number) =>
            k === start ? initialProof(t, k) : resumeProof(t, k)

          const v = new IncrementalVerifier(source.root, { length, start, end })
          const verified: number[] = []
          for (let k = start; k < failAt; k++) {
            v.feedProof(proofOf(source, k))
            verified.push(v.feedBlock(blockOf(data, k)))
          }
          // A fails at block `failAt`: with its proof accepted and no block, or before both.
          if (proofSent) v.feedProof(proofOf(source, failAt))
          v.abandonBlock()
          expect(v.state).toBe('awaiting-proof')
          expect(v.next).toBe(failAt)
          for (let k = failAt; k < end; k++) {
            v.feedProof(proofOf(other, k))
            verified.push(v.feedBlock(blockOf(otherData, k)))
          }
          expect(v.isDone()).toBe(true)
          expect(verified).toEqual(Array.from({ length: end - start }, (_, i) => start + i))
        },
      ),
      { numRuns: 40 },
    )
  })
})
