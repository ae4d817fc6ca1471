/**
 * The promises of `KvStore` (kv-store.ts) as one suite, run against every backend: call
 * `kvStoreContract(name, open)` from a test file. Isomorphic: it runs in Node and Chromium.
 * The property test drives a store and a model (a Map read in sorted order, with its own
 * range filter on hex strings, which sort as the bytes do) with one random sequence of
 * writes, reads, iterations and snapshots, and compares every answer.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  type KvChange,
  KvError,
  type KvErrorCode,
  type KvRange,
  type KvSnapshot,
  type KvStore,
} from '../kv-store.ts'

export interface ContractKvStore {
  readonly store: KvStore
  /** Opens the same storage again (the contract closes `store` first). */
  readonly reopen?: () => Promise<KvStore>
  /** Releases the storage (every store the contract opened is closed by then). */
  readonly cleanup: () => Promise<void>
}

export type OpenContractKvStore = () => Promise<ContractKvStore>

export interface KvContractOptions {
  /** Runs of the property test (default 40). */
  readonly propertyRuns?: number
}

// --- helpers --------------------------------------------------------------------------------

const hex = bytesToHex
const b = (...bytes: number[]) => Uint8Array.from(bytes)
const utf8 = new TextEncoder()
const s = (text: string) => utf8.encode(text)

export async function expectKvCode(p: Promise<unknown>, code: KvErrorCode): Promise<void> {
  let caught: unknown
  try {
    await p
  } catch (e) {
    caught = e
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(KvError)
  expect((caught as KvError).code).toBe(code)
}

async function collect(it: AsyncIterable<{ key: Uint8Array; value: Uint8Array }>) {
  const out: [string, string][] = []
  for await (const e of it) out.push([hex(e.key), hex(e.value)])
  return out
}

async function keysOf(it: AsyncIterable<{ key: Uint8Array }>): Promise<string[]> {
  const out: string[] = []
  for await (const e of it) out.push(hex(e.key))
  return out
}

/** Keys over the bytes where signed and unsigned order or prefix handling go wrong. */
const ORDER_KEYS = [
  b(0x00),
  b(0x00, 0x00),
  b(0x01),
  b(0x01, 0x00),
  b(0x01, 0xff),
  b(0x02),
  b(0x7f),
  b(0x7f, 0xff),
  b(0x80),
  b(0x80, 0x00),
  b(0xfe, 0xff),
  b(0xff),
  b(0xff, 0x00),
  b(0xff, 0xff),
  b(0xff, 0xff, 0xff),
]

/** `keys` in byte order, by hex (which sorts as the bytes do). */
function sortedHex(keys: readonly Uint8Array[]): string[] {
  return keys.map(hex).sort()
}

// --- the model --------------------------------------------------------------------------------

/** What the model knows of a range: every bound as hex, compared as strings. */
function modelEntries(model: ReadonlyMap<string, string>, range: KvRange): [string, string][] {
  const p = range.prefix === undefined ? '' : hex(range.prefix)
  const gt = range.gt && hex(range.gt)
  const gte = range.gte && hex(range.gte)
  const lt = range.lt && hex(range.lt)
  const lte = range.lte && hex(range.lte)
  const rows = [...model]
    .filter(
      ([k]) =>
        k.startsWith(p) &&
        (gt === undefined || k > gt) &&
        (gte === undefined || k >= gte) &&
        (lt === undefined || k < lt) &&
        (lte === undefined || k <= lte),
    )
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
  if (range.reverse) rows.reverse()
  return rows.slice(0, range.limit ?? rows.length)
}

const keyArb = fc
  .array(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff), { minLength: 1, maxLength: 3 })
  .map((a) => Uint8Array.from(a))
const valueArb = fc.uint8Array({ maxLength: 4 })
const rangeArb: fc.Arbitrary<KvRange> = fc
  .record({
    prefix: fc.option(fc.oneof(keyArb, fc.constant(new Uint8Array(0))), { nil: undefined }),
    lower: fc.option(fc.record({ key: keyArb, inclusive: fc.boolean() }), { nil: undefined }),
    upper: fc.option(fc.record({ key: keyArb, inclusive: fc.boolean() }), { nil: undefined }),
    reverse: fc.boolean(),
    limit: fc.option(fc.nat(6), { nil: undefined }),
  })
  .map(({ prefix, lower, upper, reverse, limit }) => ({
    ...(prefix === undefined ? {} : { prefix }),
    ...(lower === undefined ? {} : lower.inclusive ? { gte: lower.key } : { gt: lower.key }),
    ...(upper === undefined ? {} : upper.inclusive ? { lte: upper.key } : { lt: upper.key }),
    reverse,
    ...(limit === undefined ? {} : { limit }),
  }))

type WriteOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'delete'; readonly key: Uint8Array }
const writeArb: fc.Arbitrary<WriteOp> = fc.oneof(
  fc.record({ type: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ type: fc.constant('delete' as const), key: keyArb }),
)

type Command =
  | WriteOp
  | { readonly type: 'batch'; readonly ops: WriteOp[] }
  | { readonly type: 'update'; readonly key: Uint8Array }
  | { readonly type: 'get'; readonly key: Uint8Array }
  | { readonly type: 'entries'; readonly range: KvRange }
  | { readonly type: 'snapshot' }
  | { readonly type: 'snapshotGet'; readonly which: number; readonly key: Uint8Array }
  | { readonly type: 'snapshotEntries'; readonly which: number; readonly range: KvRange }
  | { readonly type: 'snapshotClose'; readonly which: number }

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: writeArb },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('batch' as const),
      ops: fc.array(writeArb, { maxLength: 6 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('update' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('get' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('entries' as const), range: rangeArb }) },
  { weight: 1, arbitrary: fc.constant({ type: 'snapshot' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('snapshotGet' as const),
      which: fc.nat(3),
      key: keyArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('snapshotEntries' as const),
      which: fc.nat(3),
      range: rangeArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('snapshotClose' as const), which: fc.nat(3) }),
  },
)

/** The property test's update: appends a byte, and deletes a value that reached 3 bytes. */
function growOrDrop(v: Uint8Array | undefined): Uint8Array | null {
  if (v !== undefined && v.length >= 3) return null
  return Uint8Array.of(...(v ?? []), 0xa5)
}

function applyToModel(model: Map<string, string>, op: WriteOp): void {
  if (op.type === 'put') model.set(hex(op.key), hex(op.value))
  else model.delete(hex(op.key))
}

// --- the suite --------------------------------------------------------------------------------

export function kvStoreContract(
  name: string,
  open: OpenContractKvStore,
  options: KvContractOptions = {},
): void {
  /** Runs `fn` on a fresh store; closes it, and every reopened one, then cleans up. */
  async function withStore(
    fn: (store: KvStore, reopen: () => Promise<KvStore>) => Promise<void>,
  ): Promise<void> {
    const opened = await open()
    const stores = [opened.store]
    const reopen = async () => {
      if (opened.reopen === undefined) throw new Error(`${name}: open() gave no reopen`)
      for (const st of stores) await st.close()
      const st = await opened.reopen()
      stores.push(st)
      return st
    }
    try {
      await fn(opened.store, reopen)
    } finally {
      for (const st of stores) await st.close()
      await opened.cleanup()
    }
  }

  describe(`KvStore contract: ${name}`, () => {
    test('put, get, overwrite, delete; a missing key reads as undefined', () =>
      withStore(async (store) => {
        expect(await store.get(s('a'))).toBeUndefined()
        await store.put(s('a'), s('one'))
        expect(hex((await store.get(s('a')))!)).toBe(hex(s('one')))
        await store.put(s('a'), s('two'))
        expect(hex((await store.get(s('a')))!)).toBe(hex(s('two')))
        await store.put(s('b'), new Uint8Array(0))
        expect((await store.get(s('b')))?.length).toBe(0)
        await store.delete(s('a'))
        await store.delete(s('never there'))
        expect(await store.get(s('a'))).toBeUndefined()
        expect(await collect(store.entries())).toEqual([[hex(s('b')), '']])
      }))

    test('stored bytes are copies: neither the writer nor a reader can change them', () =>
      withStore(async (store) => {
        const buf = new Uint8Array(16).fill(7)
        const key = b(1, 2, 3)
        await store.put(key, buf.subarray(4, 8))
        buf.fill(9)
        key[0] = 99
        const got = (await store.get(b(1, 2, 3)))!
        expect(hex(got)).toBe('07070707')
        got.fill(0)
        for await (const e of store.entries()) e.value.fill(0)
        expect(hex((await store.get(b(1, 2, 3)))!)).toBe('07070707')
        expect(await store.get(b(99, 2, 3))).toBeUndefined()
      }))

    test('keys iterate in unsigned byte order, shorter first on a common prefix', () =>
      withStore(async (store) => {
        const shuffled = [...ORDER_KEYS].reverse()
        for (const [i, k] of shuffled.entries()) await store.put(k, b(i))
        expect(await keysOf(store.entries())).toEqual(sortedHex(ORDER_KEYS))
        expect(await keysOf(store.entries({ reverse: true }))).toEqual(
          sortedHex(ORDER_KEYS).reverse(),
        )
        // Spelled out: 0x80 after 0x7f (not signed), [1] before [1, 0] before [2].
        const keys = await keysOf(store.entries())
        expect(keys.indexOf('80')).toBeGreaterThan(keys.indexOf('7fff'))
        expect(keys.indexOf('01')).toBeLessThan(keys.indexOf('0100'))
        expect(keys.indexOf('01ff')).toBeLessThan(keys.indexOf('02'))
      }))

    test('ranges: prefix, bounds, both, reverse, limit, and ranges that hold nothing', () =>
      withStore(async (store) => {
        await store.batch(ORDER_KEYS.map((key) => ({ type: 'put' as const, key, value: key })))
        const keys = (range: KvRange) => keysOf(store.entries(range))
        expect(await keys({ prefix: b(0x01) })).toEqual(['01', '0100', '01ff'])
        expect(await keys({ prefix: b(0xff) })).toEqual(['ff', 'ff00', 'ffff', 'ffffff'])
        expect(await keys({ prefix: b(0xff, 0xff) })).toEqual(['ffff', 'ffffff'])
        expect(await keys({ prefix: b(0xff), reverse: true, limit: 2 })).toEqual(['ffffff', 'ffff'])
        expect(await keys({ gt: b(0x01), lt: b(0x7f) })).toEqual(['0100', '01ff', '02'])
        expect(await keys({ gte: b(0x01), lte: b(0x02) })).toEqual(['01', '0100', '01ff', '02'])
        expect(await keys({ gte: b(0x7f, 0xff), limit: 3 })).toEqual(['7fff', '80', '8000'])
        expect(await keys({ lt: b(0x01), reverse: true })).toEqual(['0000', '00'])
        expect(await keys({ prefix: b(0x01), gt: b(0x01) })).toEqual(['0100', '01ff'])
        expect(await keys({ prefix: b(0x01), lt: b(0x01, 0x80), reverse: true })).toEqual([
          '0100',
          '01',
        ])
        expect(await keys({ prefix: b(0x03) })).toEqual([])
        expect(await keys({ gt: b(0x80), lt: b(0x80) })).toEqual([])
        expect(await keys({ gte: b(0x80), lte: b(0x80) })).toEqual(['80'])
        expect(await keys({ gte: b(0xff), lt: b(0x01) })).toEqual([])
        expect(await keys({ limit: 0 })).toEqual([])
        expect(await keys({ prefix: new Uint8Array(0) })).toEqual(sortedHex(ORDER_KEYS))
        const entries = await collect(store.entries({ prefix: b(0x7f) }))
        expect(entries).toEqual([
          ['7f', '7f'],
          ['7fff', '7fff'],
        ])
      }))

    test('iterations cross many pages, forward and reverse, with limits', () =>
      withStore(async (store) => {
        const all: Uint8Array[] = []
        for (let i = 0; i < 700; i++) all.push(b(i >> 8, i & 0xff, 0x80))
        await store.batch(all.map((key, i) => ({ type: 'put' as const, key, value: b(i & 0xff) })))
        const want = all.map(hex)
        expect(await keysOf(store.entries())).toEqual(want)
        expect(await keysOf(store.entries({ reverse: true }))).toEqual([...want].reverse())
        expect(await keysOf(store.entries({ limit: 300 }))).toEqual(want.slice(0, 300))
        expect(await keysOf(store.entries({ reverse: true, limit: 513 }))).toEqual(
          [...want].reverse().slice(0, 513),
        )
        expect(await keysOf(store.entries({ prefix: b(0x01) }))).toEqual(want.slice(256, 512))
      }))

    test('bad keys, values, ranges and batches are refused with codes and change nothing', () =>
      withStore(async (store) => {
        await store.put(s('kept'), s('v'))
        await expectKvCode(store.put(new Uint8Array(0), s('v')), 'KV_INVALID_KEY')
        await expectKvCode(store.put('k' as unknown as Uint8Array, s('v')), 'KV_INVALID_KEY')
        await expectKvCode(store.get(new Uint8Array(0)), 'KV_INVALID_KEY')
        await expectKvCode(store.delete(new Uint8Array(0)), 'KV_INVALID_KEY')
        await expectKvCode(store.put(s('k'), 'v' as unknown as Uint8Array), 'KV_INVALID_VALUE')
        await expectKvCode(collect(store.entries({ gt: s('a'), gte: s('a') })), 'KV_INVALID_RANGE')
        await expectKvCode(collect(store.entries({ lt: s('a'), lte: s('a') })), 'KV_INVALID_RANGE')
        await expectKvCode(collect(store.entries({ limit: -1 })), 'KV_INVALID_RANGE')
        await expectKvCode(collect(store.entries({ limit: 1.5 })), 'KV_INVALID_RANGE')
        await expectKvCode(
          store.batch([
            { type: 'put', key: s('x'), value: s('1') },
            { type: 'delete', key: s('kept') },
            { type: 'put', key: new Uint8Array(0), value: s('2') },
          ]),
          'KV_INVALID_KEY',
        )
        expect(await collect(store.entries())).toEqual([[hex(s('kept')), hex(s('v'))]])
      }))

    test('a batch applies in order: the later operation on a key wins', () =>
      withStore(async (store) => {
        await store.put(s('gone'), s('0'))
        await store.batch([
          { type: 'put', key: s('a'), value: s('1') },
          { type: 'put', key: s('a'), value: s('2') },
          { type: 'delete', key: s('gone') },
          { type: 'put', key: s('back'), value: s('x') },
          { type: 'delete', key: s('back') },
          { type: 'delete', key: s('c') },
          { type: 'put', key: s('c'), value: s('3') },
        ])
        await store.batch([])
        expect(await collect(store.entries())).toEqual([
          [hex(s('a')), hex(s('2'))],
          [hex(s('c')), hex(s('3'))],
        ])
      }))

    test('update: put, delete or leave, from the current value; a throw writes nothing', () =>
      withStore(async (store) => {
        const seen: (string | undefined)[] = []
        /** `change`, noting the value it was given. */
        const noting =
          (change: KvChange): KvChange =>
          (v) => {
            seen.push(v && hex(v))
            return change(v)
          }
        await store.update(
          s('k'),
          noting(() => s('1')),
        )
        await store.update(
          s('k'),
          noting(() => undefined),
        )
        expect(hex((await store.get(s('k')))!)).toBe(hex(s('1')))
        await store.update(
          s('k'),
          noting((v) => Uint8Array.of(...v!, 0x32)),
        )
        expect(hex((await store.get(s('k')))!)).toBe(hex(s('12')))
        await expect(
          store.update(s('k'), () => {
            throw new Error('no')
          }),
        ).rejects.toThrow('no')
        await expectKvCode(
          store.update(s('k'), () => 'x' as unknown as Uint8Array),
          'KV_INVALID_VALUE',
        )
        await expectKvCode(
          store.update(new Uint8Array(0), () => s('x')),
          'KV_INVALID_KEY',
        )
        expect(hex((await store.get(s('k')))!)).toBe(hex(s('12')))
        await store.update(
          s('k'),
          noting(() => null),
        )
        expect(await store.get(s('k'))).toBeUndefined()
        await store.update(
          s('absent'),
          noting(() => null),
        )
        expect(seen).toEqual([undefined, hex(s('1')), hex(s('1')), hex(s('12')), undefined])
        expect(await collect(store.entries())).toEqual([])
      }))

    test('concurrent updates of one key lose none, beside puts to other keys', () =>
      withStore(async (store) => {
        const counter = s('counter')
        const increment = (v: Uint8Array | undefined) => b((v?.[0] ?? 0) + 1)
        await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            i % 3 === 0 ? store.put(b(0x10, i), b(i)) : store.update(counter, increment),
          ),
        )
        expect((await store.get(counter))![0]).toBe(40)
        expect(await keysOf(store.entries({ prefix: b(0x10) }))).toHaveLength(20)
      }))

    test('a snapshot keeps its moment while puts, deletes and batches go on', () =>
      withStore(async (store) => {
        await store.batch([
          { type: 'put', key: s('a'), value: s('1') },
          { type: 'put', key: s('b'), value: s('1') },
          { type: 'put', key: s('c'), value: s('1') },
        ])
        const first = await store.snapshot()
        await store.put(s('a'), s('2'))
        await store.delete(s('b'))
        await store.batch([
          { type: 'put', key: s('d'), value: s('2') },
          { type: 'delete', key: s('c') },
        ])
        const second = await store.snapshot()
        await store.put(s('e'), s('3'))
        const view = async (r: KvSnapshot | KvStore) =>
          (await collect(r.entries())).map(([k, v]) => `${k}=${v}`)
        const h = (t: string) => hex(s(t))
        expect(await view(first)).toEqual([
          `${h('a')}=${h('1')}`,
          `${h('b')}=${h('1')}`,
          `${h('c')}=${h('1')}`,
        ])
        expect(hex((await first.get(s('a')))!)).toBe(h('1'))
        expect(await first.get(s('d'))).toBeUndefined()
        expect(await view(second)).toEqual([`${h('a')}=${h('2')}`, `${h('d')}=${h('2')}`])
        expect(await second.get(s('b'))).toBeUndefined()
        expect(await keysOf(first.entries({ reverse: true, limit: 2 }))).toEqual([h('c'), h('b')])
        expect(await view(store)).toEqual([
          `${h('a')}=${h('2')}`,
          `${h('d')}=${h('2')}`,
          `${h('e')}=${h('3')}`,
        ])
        await first.close()
        await first.close()
        await expectKvCode(first.get(s('a')), 'KV_SNAPSHOT_CLOSED')
        await expectKvCode(collect(first.entries()), 'KV_SNAPSHOT_CLOSED')
        expect(hex((await second.get(s('a')))!)).toBe(h('2'))
        await second.close()
      }))

    test('writes during an iteration: order holds and no key comes twice', () =>
      withStore(async (store) => {
        for (let i = 0; i < 600; i += 2) await store.put(b(i >> 8, i & 0xff), b(1))
        const seen: string[] = []
        let i = 1
        for await (const e of store.entries()) {
          seen.push(hex(e.key))
          // Insert behind and ahead of the cursor, delete ahead of it.
          if (i < 600) await store.put(b(i >> 8, i & 0xff), b(2))
          await store.delete(b((i + 40) >> 8, (i + 40) & 0xff))
          i += 2
        }
        expect(seen).toEqual([...new Set(seen)].sort())
        expect(seen.length).toBeGreaterThan(0)
      }))

    test('an aborted signal stops every call with its reason', () =>
      withStore(async (store) => {
        await store.batch(ORDER_KEYS.map((key) => ({ type: 'put' as const, key, value: key })))
        const done = AbortSignal.abort(new Error('stop'))
        await expect(store.get(s('a'), { signal: done })).rejects.toThrow('stop')
        await expect(store.put(s('a'), s('1'), { signal: done })).rejects.toThrow('stop')
        await expect(store.delete(ORDER_KEYS[0]!, { signal: done })).rejects.toThrow('stop')
        await expect(
          store.batch([{ type: 'put', key: s('a'), value: s('1') }], { signal: done }),
        ).rejects.toThrow('stop')
        await expect(store.snapshot({ signal: done })).rejects.toThrow('stop')
        await expect(store.update(s('a'), () => s('1'), { signal: done })).rejects.toThrow('stop')
        expect(await store.get(s('a'))).toBeUndefined()
        expect(await keysOf(store.entries())).toEqual(sortedHex(ORDER_KEYS))
        const controller = new AbortController()
        const seen: string[] = []
        await expect(
          (async () => {
            for await (const e of store.entries({ signal: controller.signal })) {
              seen.push(hex(e.key))
              if (seen.length === 3) controller.abort(new Error('enough'))
            }
          })(),
        ).rejects.toThrow('enough')
        expect(seen).toHaveLength(3)
      }))

    test('close: idempotent; every later call, and every open snapshot, is KV_CLOSED', () =>
      withStore(async (store) => {
        await store.put(s('a'), s('1'))
        const snap = await store.snapshot()
        await store.close()
        await store.close()
        await expectKvCode(store.get(s('a')), 'KV_CLOSED')
        await expectKvCode(store.put(s('a'), s('1')), 'KV_CLOSED')
        await expectKvCode(store.delete(s('a')), 'KV_CLOSED')
        await expectKvCode(store.batch([]), 'KV_CLOSED')
        await expectKvCode(store.snapshot(), 'KV_CLOSED')
        await expectKvCode(
          store.update(s('a'), () => s('2')),
          'KV_CLOSED',
        )
        await expectKvCode(collect(store.entries()), 'KV_CLOSED')
        await expectKvCode(snap.get(s('a')), 'KV_CLOSED')
        await expectKvCode(collect(snap.entries()), 'KV_CLOSED')
        await snap.close()
      }))

    test('random operations give the same reads, iterations and snapshot views as a model', () =>
      fc.assert(
        fc.asyncProperty(fc.array(commandArb, { maxLength: 40 }), (commands) =>
          withStore(async (store) => {
            const model = new Map<string, string>()
            const snapshots: { snap: KvSnapshot; model: Map<string, string>; open: boolean }[] = []
            const pick = (which: number) =>
              snapshots.length === 0 ? undefined : snapshots[which % snapshots.length]!
            for (const c of commands) {
              switch (c.type) {
                case 'put':
                  await store.put(c.key, c.value)
                  applyToModel(model, c)
                  break
                case 'delete':
                  await store.delete(c.key)
                  applyToModel(model, c)
                  break
                case 'batch':
                  await store.batch(c.ops)
                  for (const op of c.ops) applyToModel(model, op)
                  break
                case 'update': {
                  await store.update(c.key, growOrDrop)
                  const k = hex(c.key)
                  const next = growOrDrop(model.has(k) ? hexToBytes(model.get(k)!) : undefined)
                  if (next === null) model.delete(k)
                  else model.set(k, hex(next))
                  break
                }
                case 'get': {
                  const got = await store.get(c.key)
                  expect(got === undefined ? undefined : hex(got)).toBe(model.get(hex(c.key)))
                  break
                }
                case 'entries':
                  expect(await collect(store.entries(c.range))).toEqual(
                    modelEntries(model, c.range),
                  )
                  break
                case 'snapshot':
                  snapshots.push({
                    snap: await store.snapshot(),
                    model: new Map(model),
                    open: true,
                  })
                  break
                case 'snapshotGet': {
                  const sn = pick(c.which)
                  if (sn === undefined) break
                  if (!sn.open) {
                    await expectKvCode(sn.snap.get(c.key), 'KV_SNAPSHOT_CLOSED')
                    break
                  }
                  const got = await sn.snap.get(c.key)
                  expect(got === undefined ? undefined : hex(got)).toBe(sn.model.get(hex(c.key)))
                  break
                }
                case 'snapshotEntries': {
                  const sn = pick(c.which)
                  if (sn === undefined || !sn.open) break
                  expect(await collect(sn.snap.entries(c.range))).toEqual(
                    modelEntries(sn.model, c.range),
                  )
                  break
                }
                case 'snapshotClose': {
                  const sn = pick(c.which)
                  if (sn === undefined) break
                  await sn.snap.close()
                  sn.open = false
                  break
                }
              }
            }
            // The end state, read all ways.
            expect(await collect(store.entries())).toEqual(modelEntries(model, {}))
            for (const sn of snapshots) {
              if (sn.open) {
                expect(await collect(sn.snap.entries())).toEqual(modelEntries(sn.model, {}))
              }
              await sn.snap.close()
            }
          }),
        ),
        { numRuns: options.propertyRuns ?? 40 },
      ))
  })
}

/** The persistence half of the contract, for stores that give `reopen`. */
export function persistentKvStoreContract(name: string, open: OpenContractKvStore): void {
  describe(`KvStore contract (persistent): ${name}`, () => {
    test('what was written, and only that, is there after a reopen', async () => {
      const opened = await open()
      if (opened.reopen === undefined) throw new Error(`${name}: open() gave no reopen`)
      let store = opened.store
      try {
        await store.batch(ORDER_KEYS.map((key, i) => ({ type: 'put' as const, key, value: b(i) })))
        await store.delete(b(0x80))
        await store.put(b(0x01), s('changed'))
        await store.close()
        store = await opened.reopen()
        const want = ORDER_KEYS.map((k, i) => [hex(k), hex(b(i))] as [string, string])
          .filter(([k]) => k !== '80')
          .map(([k, v]) => [k, k === '01' ? hex(s('changed')) : v] as [string, string])
          .sort(([x], [y]) => (x < y ? -1 : 1))
        expect(await collect(store.entries())).toEqual(want)
      } finally {
        await store.close()
        await opened.cleanup()
      }
    })
  })
}
