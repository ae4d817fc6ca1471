import { describe, expect, test } from 'vitest'
import { initialProof, resumeProof } from './proof.ts'
import { availableKernels, hex, vectorContent, withKernel } from './testing/kernels.ts'
import { TreeBuilder, treeOf } from './tree.ts'
import vectors from './vectors/blake3-tree.json' with { type: 'json' }

const kernels = await availableKernels()

describe.each(kernels.map((k) => [k.name, k] as const))(
  "Fleek's blake3-tree vectors (%s)",
  (_, kernel) => {
    test.each(vectors.cases.map((c) => [c.len, c] as const))('length %i', (len, c) => {
      const content = vectorContent(len)
      withKernel(kernel, () => {
        const tree = treeOf(content)
        expect(hex(tree.root)).toBe(c.root)
        expect(tree.blocks).toBe(c.blocks)
        expect(tree.length).toBe(len)
        if (c.tree !== undefined) {
          const hashes = []
          for (let i = 0; i < tree.hashes.length; i += 32)
            hashes.push(hex(tree.hashes.subarray(i, i + 32)))
          expect(hashes).toEqual(c.tree)
        }
        for (const [k, proof] of Object.entries(c.initial))
          expect(hex(initialProof(tree, Number(k)))).toBe(proof)
        for (const [k, proof] of Object.entries(c.resume))
          expect(hex(resumeProof(tree, Number(k)))).toBe(proof)
      })
    })
  },
)

test('the tree does not depend on how the input is sliced', () => {
  const content = vectorContent(3 * 262_144 + 777)
  const whole = treeOf(content)
  const builder = new TreeBuilder()
  for (let off = 0, step = 1; off < content.length; off += step, step = (step * 7 + 13) % 100_003) {
    builder.update(content.subarray(off, Math.min(content.length, off + step)))
  }
  const sliced = builder.finalize()
  expect(hex(sliced.root)).toBe(hex(whole.root))
  expect(hex(sliced.hashes)).toBe(hex(whole.hashes))
})

test('a builder without the tree still gives the root', () => {
  const content = vectorContent(5 * 262_144 + 1)
  const slim = new TreeBuilder({ keepTree: false }).update(content).finalize()
  expect(hex(slim.root)).toBe(hex(treeOf(content).root))
  expect(slim.hashes.length).toBe(0)
})
