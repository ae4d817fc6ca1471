import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { ConsensusError } from '../errors.ts'
import type { NarwhalRecord } from './narwhal-core.ts'
import {
  type Certificate,
  compareBytes,
  type Header,
  headerDigest,
  signerBitfield,
  toHex,
  type Vote,
} from './narwhal-messages.ts'
import { NarwhalStore } from './narwhal-store.ts'

const EPOCH = 3n
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 })
const signatureArb = fc.uint8Array({ minLength: 64, maxLength: 64 })

function headerArb(epoch: bigint): fc.Arbitrary<Header> {
  return fc.record({
    epoch: fc.constant(epoch),
    round: fc.integer({ min: 1, max: 2 ** 40 }),
    author: fc.integer({ min: 0, max: 1023 }),
    parents: fc
      .uniqueArray(digestArb, { maxLength: 4, selector: toHex })
      .map((p) => p.sort(compareBytes)),
    batches: fc.array(digestArb, { maxLength: 3 }),
    timestampMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    signature: signatureArb,
  })
}

/** Our own votes: one voter (the store's member), any header. */
const voteArb: fc.Arbitrary<Vote> = fc.record({
  headerDigest: digestArb,
  round: fc.integer({ min: 1, max: 2 ** 40 }),
  author: fc.integer({ min: 0, max: 1023 }),
  voter: fc.constant(5),
  signature: signatureArb,
})

function certificateArb(epoch: bigint): fc.Arbitrary<Certificate> {
  return fc
    .tuple(
      headerArb(epoch),
      fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 5 }),
    )
    .chain(([header, signers]) =>
      fc
        .array(signatureArb, { minLength: signers.length, maxLength: signers.length })
        .map((signatures) => ({ header, signers: signerBitfield(signers), signatures })),
    )
}

function recordArb(epoch: bigint): fc.Arbitrary<NarwhalRecord> {
  return fc.oneof(
    voteArb.map((vote): NarwhalRecord => ({ type: 'vote', vote })),
    headerArb(epoch).map((header): NarwhalRecord => ({ type: 'header', header })),
    certificateArb(epoch).map(
      (certificate): NarwhalRecord => ({ type: 'certificate', certificate }),
    ),
  )
}

const TYPE_ORDER = { vote: 0, header: 1, certificate: 2 } as const

/** What a key says of a record: type, round, author, header digest. */
function keyOf(r: NarwhalRecord): {
  type: number
  round: number
  author: number
  digest: Uint8Array
} {
  if (r.type === 'vote') {
    return { type: 0, round: r.vote.round, author: r.vote.author, digest: r.vote.headerDigest }
  }
  const h = r.type === 'header' ? r.header : r.certificate.header
  return { type: TYPE_ORDER[r.type], round: h.round, author: h.author, digest: headerDigest(h) }
}

const keyName = (r: NarwhalRecord) => {
  const k = keyOf(r)
  return `${k.type}:${k.round}:${k.author}:${toHex(k.digest)}`
}

/** The order load returns: by type, then round, author, digest. */
function sorted(records: readonly NarwhalRecord[]): NarwhalRecord[] {
  return [...records].sort((a, b) => {
    const x = keyOf(a)
    const y = keyOf(b)
    return (
      x.type - y.type ||
      x.round - y.round ||
      x.author - y.author ||
      compareBytes(x.digest, y.digest)
    )
  })
}

const roundOf = (r: NarwhalRecord) => keyOf(r).round

/** A record of a given round (the other fields fixed but distinct per author). */
function certificateAt(round: number, author: number, epoch = EPOCH): NarwhalRecord {
  const header: Header = {
    epoch,
    round,
    author,
    parents: [],
    batches: [],
    timestampMs: round,
    signature: new Uint8Array(64).fill(author),
  }
  return {
    type: 'certificate',
    certificate: {
      header,
      signers: signerBitfield([0, 1, 2]),
      signatures: [1, 2, 3].map((i) => new Uint8Array(64).fill(i)),
    },
  }
}

function voteAt(round: number, author: number): NarwhalRecord {
  return {
    type: 'vote',
    vote: {
      headerDigest: new Uint8Array(32).fill(round & 0xff),
      round,
      author,
      voter: 0,
      signature: new Uint8Array(64),
    },
  }
}

async function expectCorrupt(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ConsensusError)
  expect((error as ConsensusError).code).toBe('CONSENSUS_STORE_CORRUPT')
}

describe('NarwhalStore', () => {
  test('append then load returns any records of the epoch, in key order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(recordArb(EPOCH), { maxLength: 12, selector: keyName }),
        fc.uniqueArray(recordArb(EPOCH + 1n), { maxLength: 4, selector: keyName }),
        fc.integer({ min: 1, max: 4 }),
        async (records, otherEpoch, batches) => {
          const store = new NarwhalStore(new MemoryKvStore(), 'narwhal/')
          // In several batches, with another epoch's records between: load sees only its own.
          const size = Math.ceil(records.length / batches)
          for (let i = 0; i < records.length; i += size) {
            await store.append(EPOCH, records.slice(i, i + size))
          }
          await store.append(EPOCH + 1n, otherEpoch)
          expect(await store.load(EPOCH)).toEqual(sorted(records))
          expect(await store.load(EPOCH + 1n)).toEqual(sorted(otherEpoch))
          expect(await store.load(EPOCH - 1n)).toEqual([])
        },
      ),
      { numRuns: 60 },
    )
  })

  test('prune removes exactly the rounds below, of every type, in that epoch only', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 6 }), fc.boolean()),
          { maxLength: 40, selector: ([r, a, v]) => `${r}:${a}:${v}` },
        ),
        fc.integer({ min: 0, max: 45 }),
        async (keys, below) => {
          const kv = new MemoryKvStore()
          const store = new NarwhalStore(kv, 'n/')
          const records = keys.map(([r, a, v]) => (v ? voteAt(r, a) : certificateAt(r, a)))
          await store.append(EPOCH, records)
          // The same rounds and authors in the next epoch (one certificate each).
          const next = [...new Set(keys.map(([r, a]) => `${r}:${a}`))].map((k) => {
            const [r, a] = k.split(':').map(Number)
            return certificateAt(r!, a!, EPOCH + 1n)
          })
          await store.append(EPOCH + 1n, next)
          await store.prune(EPOCH, below)
          expect(await store.load(EPOCH)).toEqual(
            sorted(records.filter((r) => roundOf(r) >= below)),
          )
          expect(await store.load(EPOCH + 1n)).toEqual(sorted(next))
        },
      ),
      { numRuns: 60 },
    )
  })

  test('keys of another prefix are neither read nor pruned', async () => {
    const kv = new MemoryKvStore()
    const a = new NarwhalStore(kv, 'a/')
    const b = new NarwhalStore(kv, 'b/')
    await a.append(EPOCH, [certificateAt(1, 0), certificateAt(2, 0)])
    await b.append(EPOCH, [certificateAt(1, 1)])
    await a.prune(EPOCH, 3)
    await a.dropEpochsBelow(EPOCH + 1n)
    expect(await a.load(EPOCH)).toEqual([])
    expect(await b.load(EPOCH)).toEqual([certificateAt(1, 1)])
  })

  test('dropEpochsBelow deletes earlier epochs whole, committed rounds too', async () => {
    const store = new NarwhalStore(new MemoryKvStore(), 'narwhal/')
    for (const epoch of [1n, 2n, 3n]) {
      await store.append(epoch, [certificateAt(1, 0, epoch), voteAt(1, 0)])
      await store.saveCommittedRound(epoch, 10 * Number(epoch))
    }
    await store.dropEpochsBelow(3n)
    expect(await store.load(1n)).toEqual([])
    expect(await store.load(2n)).toEqual([])
    expect(await store.loadCommittedRound(2n)).toBe(0)
    expect(await store.load(3n)).toHaveLength(2)
    expect(await store.loadCommittedRound(3n)).toBe(30)
  })

  test('the committed round: 0 before any, the last saved after', async () => {
    const store = new NarwhalStore(new MemoryKvStore(), 'narwhal/')
    expect(await store.loadCommittedRound(EPOCH)).toBe(0)
    await store.saveCommittedRound(EPOCH, 8)
    await store.saveCommittedRound(EPOCH, 2 ** 40)
    expect(await store.loadCommittedRound(EPOCH)).toBe(2 ** 40)
    // It sits beside the records and is not one of them.
    await store.append(EPOCH, [certificateAt(4, 1)])
    expect(await store.load(EPOCH)).toEqual([certificateAt(4, 1)])
  })

  test('a batch with a record of another epoch writes nothing', async () => {
    const store = new NarwhalStore(new MemoryKvStore(), 'narwhal/')
    await expect(
      store.append(EPOCH, [certificateAt(1, 0), certificateAt(2, 0, EPOCH + 1n)]),
    ).rejects.toThrow(RangeError)
    expect(await store.load(EPOCH)).toEqual([])
  })

  test('damaged values and misplaced records are CONSENSUS_STORE_CORRUPT', async () => {
    const prefix = new TextEncoder().encode('narwhal/')
    // Find the key a record was written under, then write something else there.
    const keyOfRecord = async (record: NarwhalRecord) => {
      const kv = new MemoryKvStore()
      await new NarwhalStore(kv, prefix).append(EPOCH, [record])
      for await (const { key, value } of kv.entries()) return { key, value }
      throw new Error('nothing written')
    }
    const cert = await keyOfRecord(certificateAt(5, 2))
    const other = await keyOfRecord(certificateAt(6, 2))
    const vote = await keyOfRecord(voteAt(5, 2))

    const cases: [string, Uint8Array, Uint8Array][] = [
      ['garbage value', cert.key, Uint8Array.of(1, 2, 3)],
      ['truncated value', cert.key, cert.value.subarray(0, cert.value.length - 1)],
      ['another round under this key', cert.key, other.value],
      ['a vote under a certificate key', cert.key, vote.value],
      ['a short key', cert.key.subarray(0, cert.key.length - 1), cert.value],
    ]
    for (const [name, key, value] of cases) {
      const kv = new MemoryKvStore()
      await kv.put(key, value)
      await expectCorrupt(new NarwhalStore(kv, prefix).load(EPOCH)).catch((e) => {
        throw new Error(`${name}: ${(e as Error).message}`)
      })
    }
    // The committed round: 8 bytes or corrupt.
    const kv = new MemoryKvStore()
    const store = new NarwhalStore(kv, prefix)
    await store.saveCommittedRound(EPOCH, 4)
    for await (const { key } of kv.entries()) await kv.put(key, Uint8Array.of(4))
    await expectCorrupt(store.loadCommittedRound(EPOCH))
  })

  test('any bytes under a record key: a record or CONSENSUS_STORE_CORRUPT, never another error', async () => {
    const kv = new MemoryKvStore()
    const prefix = new TextEncoder().encode('p/')
    const store = new NarwhalStore(kv, prefix)
    await store.append(EPOCH, [certificateAt(5, 2), voteAt(5, 2)])
    const entries: { key: Uint8Array; value: Uint8Array }[] = []
    for await (const e of kv.entries()) entries.push(e)
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...entries),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async ({ key, value }, at, xor) => {
          const damaged = value.slice()
          damaged[at % damaged.length]! ^= xor
          const fresh = new MemoryKvStore()
          await fresh.put(key, damaged)
          try {
            const records = await new NarwhalStore(fresh, prefix).load(EPOCH)
            // A flip the codec cannot see (a signature byte) still decodes to the key's record.
            expect(records).toHaveLength(1)
          } catch (e) {
            expect(e).toBeInstanceOf(ConsensusError)
            expect((e as ConsensusError).code).toBe('CONSENSUS_STORE_CORRUPT')
          }
        },
      ),
      { numRuns: 200 },
    )
  })
})
