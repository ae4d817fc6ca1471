import { decode as decodeCbor } from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  blockHash,
  blockToJson,
  bodyFromJson,
  decodeExecutedBlock,
  encodeExecutedBlock,
} from './block.ts'
import { encodeCanonical } from './cbor-shape.ts'
import { StateError } from './errors.ts'
import type { ExecutedBlock, TableName } from './model.ts'
import {
  decodeEntry,
  encodeEntry,
  entryToJson,
  parseTableKey,
  TABLES,
  type TableEntries,
} from './tables.ts'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const amount = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })
const count = fc.nat({ max: Number.MAX_SAFE_INTEGER })

const arbitraries: { [T in TableName]: fc.Arbitrary<TableEntries[T]> } = {
  metadata: fc.record({
    chainId: count,
    epoch: count,
    height: count,
    epochStartMs: count,
    beacon: fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({
        kind: fc.constantFrom('commit' as const, 'reveal' as const),
        round: count,
        startHeight: count,
      }),
    ),
    bridge: bytes(20),
    governance: bytes(20),
    supplyYearStart: amount,
    supply: amount,
  }),
  accounts: fc.record({ flk: amount, stables: amount, nonce: count }),
  clientKeys: fc.record({ account: bytes(20) }),
  nodes: fc.record({
    owner: bytes(20),
    blsKey: bytes(96),
    addresses: fc.array(fc.string({ maxLength: 40 }), { maxLength: 4 }),
    staked: amount,
    unstaking: fc.array(fc.record({ amount, unlocksAtEpoch: count }), { maxLength: 3 }),
    lockedUntilEpoch: count,
    participation: fc.constantFrom(
      'true' as const,
      'false' as const,
      'optedIn' as const,
      'optedOut' as const,
    ),
    nonce: count,
    registeredAtEpoch: count,
  }),
  committees: fc.record({
    members: fc.array(bytes(32), { maxLength: 4 }),
    readyToChange: fc.array(bytes(32), { maxLength: 4 }),
    activeNodes: fc.array(bytes(32), { maxLength: 4 }),
    beaconCommits: fc.array(fc.record({ node: bytes(32), commit: bytes(32) }), { maxLength: 3 }),
    beaconReveals: fc.array(fc.record({ node: bytes(32), reveal: bytes(32) }), { maxLength: 3 }),
  }),
  params: fc.record({ value: amount }),
  served: fc.record({ units: amount, revenue: amount }),
  epochTotals: fc.record({ served: fc.array(amount, { maxLength: 2 }), revenue: amount }),
  measurements: fc.record(
    {
      latencyUs: fc.nat(),
      interactions: fc.integer(),
      inboundBandwidth: fc.nat(),
      outboundBandwidth: fc.nat(),
      bytesReceived: fc.nat(),
      bytesSent: fc.nat(),
      uptime: fc.nat(),
      hops: fc.nat({ max: 255 }),
    },
    { requiredKeys: [] },
  ),
  reputation: fc.record({ score: fc.nat({ max: 100 }), epoch: count }),
  latencies: fc.record({ latencyUs: fc.nat(), epoch: count }),
  prices: fc.record({ price: amount }),
  content: fc.record({ epoch: count }),
  executed: fc.record({ height: count, index: count }),
  settled: fc.record({ index: fc.nat({ max: 0xffff_ffff }) }),
}

describe('table entries', () => {
  for (const table of TABLES) {
    it(`${table}: round-trips, encodes canonically, and shows as JSON`, () => {
      fc.assert(
        fc.property(arbitraries[table] as fc.Arbitrary<TableEntries[typeof table]>, (value) => {
          const encoded = encodeEntry(table, value)
          const decoded = decodeEntry(table, encoded)
          expect(decoded).toEqual(value)
          expect(encodeEntry(table, decoded)).toEqual(encoded)
          expect(() => JSON.stringify(entryToJson(table, encoded))).not.toThrow()
        }),
        { numRuns: 60 },
      )
    })
  }

  it('decodes any bytes to an entry or a STATE_CORRUPT error, nothing else (fuzz)', () => {
    const valid = fc.constantFrom(...TABLES).chain((table) =>
      (arbitraries[table] as fc.Arbitrary<unknown>).map((v) => ({
        table,
        bytes: encodeEntry(table, v as never),
      })),
    )
    const mutated = fc
      .tuple(valid, fc.nat(), fc.nat({ max: 255 }))
      .map(([{ table, bytes }, at, b]) => {
        const out = bytes.slice()
        if (out.length > 0) out[at % out.length] = b
        return { table, bytes: out }
      })
    const random = fc.record({
      table: fc.constantFrom(...TABLES),
      bytes: fc.uint8Array({ maxLength: 200 }),
    })
    fc.assert(
      fc.property(fc.oneof(mutated, random), ({ table, bytes }) => {
        try {
          const value = decodeEntry(table, bytes)
          expect(encodeEntry(table, value as never)).toEqual(bytes)
        } catch (e) {
          expect(e).toBeInstanceOf(StateError)
          expect((e as StateError).code).toBe('STATE_CORRUPT')
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses non-canonical encodings and unknown fields', () => {
    const good = encodeEntry('accounts', { flk: 1n, stables: 0n, nonce: 1 })
    expect(() =>
      decodeEntry(
        'accounts',
        encodeCanonical({ flk: new Uint8Array([0, 1]), stables: new Uint8Array(0), nonce: 1 }),
      ),
    ).toThrow(/leading zero/)
    expect(() =>
      decodeEntry(
        'accounts',
        encodeCanonical({ flk: new Uint8Array([1]), stables: new Uint8Array(0), nonce: 1, x: 1 }),
      ),
    ).toThrow(/unknown field/)
    // Keys out of canonical order (a hand-made CBOR map): {nonce, flk, stables}.
    const reordered = new Uint8Array([
      0xa3,
      0x65,
      ...new TextEncoder().encode('nonce'),
      0x01,
      0x63,
      ...new TextEncoder().encode('flk'),
      0x41,
      0x01,
      0x67,
      ...new TextEncoder().encode('stables'),
      0x40,
    ])
    expect(decodeEntry('accounts', good)).toEqual({ flk: 1n, stables: 0n, nonce: 1 })
    expect(() => decodeEntry('accounts', reordered)).toThrow(/canonical/)
  })

  it('refuses nested values that are not maps', () => {
    const node = encodeEntry('nodes', {
      owner: new Uint8Array(20),
      blsKey: new Uint8Array(96),
      addresses: [],
      staked: 0n,
      unstaking: [{ amount: 1n, unlocksAtEpoch: 1 }],
      lockedUntilEpoch: 0,
      participation: 'true',
      nonce: 0,
      registeredAtEpoch: 0,
    })
    const record = decodeCbor(node) as Record<string, unknown>
    for (const bad of [null, 5, [1], new Uint8Array(1)]) {
      const bytes = encodeCanonical({ ...record, unstaking: [bad] })
      expect(() => decodeEntry('nodes', bytes)).toThrow(
        expect.objectContaining({ code: 'STATE_CORRUPT' }),
      )
    }
  })

  it('reads keys as people write them and refuses the rest', () => {
    expect(parseTableKey('accounts', `0x${'ab'.repeat(20)}`)).toEqual(new Uint8Array(20).fill(0xab))
    expect(parseTableKey('committees', '3')).toEqual(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 3]))
    expect(new TextDecoder().decode(parseTableKey('params', 'epochTimeMs'))).toBe('epochTimeMs')
    expect(new TextDecoder().decode(parseTableKey('metadata', 'chain'))).toBe('chain')
    for (const [table, key] of [
      ['accounts', '0x12'],
      ['nodes', 'zz'.repeat(32)],
      ['committees', '-1'],
      ['metadata', 'other'],
      ['prices', '7'],
      ['served', 'abc'],
    ] as const) {
      expect(() => parseTableKey(table, key)).toThrow(StateError)
    }
  })
})

describe('stored blocks', () => {
  it('round-trip with their receipts and events, and the hash covers the header', () => {
    const header = {
      chainId: 1,
      height: 2,
      parent: new Uint8Array(32).fill(1),
      timestampMs: 3,
      epoch: 0,
      transactionsRoot: new Uint8Array(32).fill(2),
      receiptsRoot: new Uint8Array(32).fill(3),
      stateRoot: new Uint8Array(32).fill(4),
    }
    const block: ExecutedBlock = {
      header,
      hash: blockHash(header),
      body: {
        chainId: 1,
        height: 2,
        parent: header.parent,
        timestampMs: 3,
        transactions: [new Uint8Array([9])],
      },
      receipts: [
        {
          digest: new Uint8Array(32).fill(5),
          status: 'ok',
          nonceTaken: true,
          events: [
            {
              type: 'ClaimSettled',
              node: new Uint8Array(32),
              clientKey: new Uint8Array(32),
              units: 3,
              paid: 10n ** 20n,
            },
            { type: 'EpochChanged', epoch: 1 },
            { type: 'Reward', node: new Uint8Array(32), flk: 1n, stables: 2n },
          ],
        },
        { status: 'TX_MALFORMED', message: 'no', nonceTaken: false },
      ],
    }
    expect(decodeExecutedBlock(encodeExecutedBlock(block))).toEqual(block)
    expect(blockHash({ ...header, stateRoot: new Uint8Array(32) })).not.toEqual(block.hash)
    expect(bodyFromJson(JSON.parse(JSON.stringify(blockToJson(block))))).toEqual(block.body)
    expect(() => bodyFromJson({ header: { height: 1 } })).toThrow(StateError)
  })
})
