/**
 * The pointer index against a Map model: random sequences of set / get / content stored or
 * removed / prune, in both read modes, on a real (memory) KvStore.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { StoreError } from './block-store.ts'
import { PointerIndex, pointerKey } from './pointer-index.ts'

type Command =
  | { op: 'set'; pointer: string; root: number }
  | { op: 'get'; pointer: string }
  | { op: 'store'; root: number }
  | { op: 'remove'; root: number }
  | { op: 'prune' }

/** A few roots, so that sequences reuse them. */
const ROOTS = Array.from({ length: 4 }, (_, i) => new Uint8Array(32).fill(i + 1))
const pointerArb = fc.constantFrom('https://origin/a', 'https://origin/b', 'ipfs://c', 'é/ü')
const rootArb = fc.nat({ max: ROOTS.length - 1 })
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), pointer: pointerArb, root: rootArb }),
  fc.record({ op: fc.constant('get' as const), pointer: pointerArb }),
  fc.record({ op: fc.constant('store' as const), root: rootArb }),
  fc.record({ op: fc.constant('remove' as const), root: rootArb }),
  fc.record({ op: fc.constant('prune' as const) }),
)

describe('PointerIndex', () => {
  for (const dropStaleOnRead of [false, true]) {
    test(`behaves as a Map model (dropStaleOnRead: ${dropStaleOnRead})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(commandArb, { maxLength: 40 }), async (commands) => {
          const stored = new Set<string>()
          const kv = new MemoryKvStore()
          const index = new PointerIndex(kv, {
            isStored: (root) => stored.has(bytesToHex(root)),
            dropStaleOnRead,
          })
          const model = new Map<string, string>()
          for (const c of commands) {
            if (c.op === 'set') {
              await index.set(c.pointer, ROOTS[c.root]!)
              model.set(c.pointer, bytesToHex(ROOTS[c.root]!))
            } else if (c.op === 'get') {
              const want = model.get(c.pointer)
              const got = await index.get(c.pointer)
              if (want !== undefined && stored.has(want)) {
                expect(got && bytesToHex(got)).toBe(want)
              } else {
                expect(got).toBeUndefined()
                if (dropStaleOnRead) model.delete(c.pointer)
              }
            } else if (c.op === 'store') {
              stored.add(bytesToHex(ROOTS[c.root]!))
            } else if (c.op === 'remove') {
              stored.delete(bytesToHex(ROOTS[c.root]!))
            } else {
              const before = model.size
              for (const [p, r] of model) if (!stored.has(r)) model.delete(p)
              expect(await index.prune()).toBe(before - model.size)
            }
            // What the KvStore holds is exactly the model, keyed `p:<pointer>`.
            const held = new Map<string, string>()
            for await (const { key, value } of index.entries()) {
              held.set(new TextDecoder().decode(key.subarray(2)), bytesToHex(value))
            }
            expect(held).toEqual(model)
          }
        }),
        { numRuns: 200 },
      )
    })
  }

  test('keys are p: and the UTF-8 pointer, values the 32-byte root', async () => {
    const kv = new MemoryKvStore()
    const index = new PointerIndex(kv, { isStored: () => true })
    await index.set('https://origin/ü', ROOTS[1]!)
    expect(await kv.get(new TextEncoder().encode('p:https://origin/ü'))).toEqual(ROOTS[1])
    expect(pointerKey('x')).toEqual(new Uint8Array([0x70, 0x3a, 0x78]))
  })

  test('a root that is not 32 bytes is refused; a stored value that is not a root reads as none', async () => {
    const kv = new MemoryKvStore()
    const index = new PointerIndex(kv, { isStored: () => true })
    await expect(index.set('p', new Uint8Array(31))).rejects.toMatchObject({
      code: 'STORE_NOT_FOUND',
    })
    await expect(index.set('p', new Uint8Array(31))).rejects.toBeInstanceOf(StoreError)
    await kv.put(pointerKey('bad'), new Uint8Array(64))
    expect(await index.get('bad')).toBeUndefined()
    expect(await index.prune()).toBe(1)
    expect(await kv.get(pointerKey('bad'))).toBeUndefined()
  })

  test('the returned root is a copy', async () => {
    const index = new PointerIndex(new MemoryKvStore(), { isStored: () => true })
    await index.set('p', ROOTS[2]!)
    const got = (await index.get('p'))!
    got.fill(0)
    expect(await index.get('p')).toEqual(ROOTS[2])
  })
})
