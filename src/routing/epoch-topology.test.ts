/**
 * The epoch's topology (epoch-topology.ts): the same graph from any order of the same inputs,
 * symmetric peers by node key, the state read at the epoch's start height, and a seed that
 * changes with the epoch.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import type { CommitteeEntry, TableName } from '../state/model.ts'
import { encodeEntry, METADATA_KEY, tableKeys } from '../state/tables.ts'
import {
  epochStartHeight,
  epochTopology,
  type LatencyReport,
  readEpochTopologyInputs,
  type StateAt,
  topologySeed,
} from './epoch-topology.ts'
import { buildTopology, denseLatencyMatrix } from './topology.ts'

/** Node key i: 32 bytes whose order is not the index order (byte 0 descends). */
const keyOf = (i: number) => Uint8Array.from({ length: 32 }, (_, b) => (b === 0 ? 200 - i : i))

/** Latencies of n nodes in two regions (even, odd indices): near within, far across. */
function regionLatencies(keys: Uint8Array[]): LatencyReport[] {
  const out: LatencyReport[] = []
  for (const [i, reporter] of keys.entries()) {
    for (const [j, subject] of keys.entries()) {
      if (i !== j)
        out.push({ reporter, subject, latencyUs: i % 2 === j % 2 ? 2000 + i + j : 80_000 })
    }
  }
  return out
}

const SEED = topologySeed(5, [])

describe('epochTopology', () => {
  const keys = Array.from({ length: 40 }, (_, i) => keyOf(i))
  const latencies = regionLatencies(keys)
  const topology = epochTopology({ epoch: 5, height: 10, nodes: keys, latencies, seed: SEED })

  it('is the same from any order of the nodes and latencies (every node’s view)', () => {
    const shuffled = epochTopology({
      epoch: 5,
      height: 10,
      nodes: [...keys].reverse(),
      latencies: [...latencies].reverse(),
      seed: SEED,
    })
    for (const key of keys)
      expect(shuffled.peersOf(key).map(bytesToHex)).toEqual(topology.peersOf(key).map(bytesToHex))
  })

  it('indexes the nodes ascending by key and is buildTopology of that order', () => {
    const sorted = topology.nodes.map(bytesToHex)
    expect(sorted).toEqual([...sorted].sort())
    const index = new Map(sorted.map((h, i) => [h, i]))
    const matrix = denseLatencyMatrix(
      keys.length,
      latencies.map((l) => ({
        from: index.get(bytesToHex(l.reporter))!,
        to: index.get(bytesToHex(l.subject))!,
        latencyUs: l.latencyUs,
      })),
    )
    expect(topology.neighbours).toEqual(buildTopology(matrix, SEED))
  })

  it('is symmetric: the peers of a node list it back; no node lists itself', () => {
    for (const key of keys) {
      const peers = topology.peersOf(key)
      expect(peers.length).toBeGreaterThan(0)
      for (const peer of peers) {
        expect(bytesToHex(peer)).not.toBe(bytesToHex(key))
        expect(topology.peersOf(peer).map(bytesToHex)).toContain(bytesToHex(key))
      }
    }
  })

  it('keeps most connections within a region (40 nodes: not a full mesh)', () => {
    let within = 0
    let all = 0
    keys.forEach((key, i) => {
      for (const peer of topology.peersOf(key)) {
        const j = keys.findIndex((k) => bytesToHex(k) === bytesToHex(peer))
        all++
        if (i % 2 === j % 2) within++
      }
    })
    expect(all).toBeLessThan(40 * 39)
    expect(within / all).toBeGreaterThan(0.7)
  })

  it('below 16 nodes is a full mesh; an inactive node has no peers; no nodes, no graph', () => {
    const few = keys.slice(0, 5)
    const mesh = epochTopology({ epoch: 1, height: 1, nodes: few, latencies, seed: SEED })
    for (const key of few) expect(mesh.peersOf(key)).toHaveLength(4)
    expect(mesh.peersOf(keys[6]!)).toEqual([])
    expect(
      epochTopology({ epoch: 1, height: 1, nodes: [], latencies: [], seed: SEED }).neighbours,
    ).toEqual([])
  })

  it('changes with the seed', () => {
    const other = epochTopology({
      epoch: 6,
      height: 20,
      nodes: keys,
      latencies,
      seed: topologySeed(6, []),
    })
    expect(other.neighbours).not.toEqual(topology.neighbours)
  })
})

describe('topologySeed', () => {
  it('depends on the epoch and the reveals, not on their order', () => {
    const a = { node: keyOf(1), reveal: new Uint8Array(32).fill(1) }
    const b = { node: keyOf(2), reveal: new Uint8Array(32).fill(2) }
    expect(bytesToHex(topologySeed(3, [a, b]))).toBe(bytesToHex(topologySeed(3, [b, a])))
    expect(bytesToHex(topologySeed(3, [a, b]))).not.toBe(bytesToHex(topologySeed(4, [a, b])))
    expect(bytesToHex(topologySeed(3, [a]))).not.toBe(bytesToHex(topologySeed(3, [a, b])))
    expect(topologySeed(0, [])).toHaveLength(32)
  })
})

/** A chain's state by height: each height's entries (an entry stays until overwritten). */
function fakeChain(heights: Map<string, Uint8Array>[]): StateAt {
  return async (table: TableName, key: Uint8Array, height: number) => {
    for (let h = Math.min(height, heights.length - 1); h >= 0; h--) {
      const v = heights[h]!.get(`${table}/${bytesToHex(key)}`)
      if (v !== undefined) return v
    }
    return undefined
  }
}

describe('readEpochTopologyInputs', () => {
  const keys = [keyOf(1), keyOf(2), keyOf(3)]
  const metadata = (epoch: number) =>
    encodeEntry('metadata', {
      chainId: 1,
      epoch,
      height: 0,
      epochStartMs: 0,
      beacon: { kind: 'none' },
      bridge: new Uint8Array(20),
      governance: new Uint8Array(20),
      supplyYearStart: 0n,
      supply: 0n,
    })
  const committee = (active: Uint8Array[], reveals: CommitteeEntry['beaconReveals'] = []) =>
    encodeEntry('committees', {
      members: active,
      readyToChange: [],
      activeNodes: active,
      beaconCommits: [],
      beaconReveals: reveals,
    })
  const latency = (from: number, to: number, latencyUs: number, epoch: number) =>
    [
      `latencies/${bytesToHex(tableKeys.latency(keys[from]!, keys[to]!))}`,
      encodeEntry('latencies', { latencyUs, epoch }),
    ] as const
  const reveal = { node: keys[0]!, reveal: new Uint8Array(32).fill(9) }
  const meta = `metadata/${bytesToHex(METADATA_KEY)}`
  const comm = (e: number) => `committees/${bytesToHex(tableKeys.committee(e))}`
  // Height 0: epoch 0, two nodes. Height 2: epoch 0's reveal and latencies. Height 3: epoch 1
  // starts with three nodes. Height 5: a latency of epoch 1 overwrites one of epoch 0.
  const chain = fakeChain([
    new Map([
      [meta, metadata(0)],
      [comm(0), committee(keys.slice(0, 2))],
    ]),
    new Map(),
    new Map([[comm(0), committee(keys.slice(0, 2), [reveal])], latency(0, 1, 4000, 0)]),
    new Map([
      [meta, metadata(1)],
      [comm(1), committee([keys[2]!, keys[0]!, keys[1]!])],
    ]),
    new Map(),
    new Map([latency(0, 1, 9000, 1)]),
  ])

  it('finds the height that started the epoch', async () => {
    expect(await epochStartHeight(chain, 1, 5)).toBe(3)
    expect(await epochStartHeight(chain, 0, 5)).toBe(0)
  })

  it('reads the active nodes, latencies and seed of the state at the epoch’s start', async () => {
    const inputs = await readEpochTopologyInputs(chain, 5)
    expect(inputs.epoch).toBe(1)
    expect(inputs.height).toBe(3)
    expect(inputs.nodes.map(bytesToHex)).toEqual(keys.map(bytesToHex).sort())
    // The epoch 0 latency, not the one submitted later in epoch 1.
    expect(inputs.latencies).toEqual([{ reporter: keys[0], subject: keys[1], latencyUs: 4000 }])
    expect(bytesToHex(inputs.seed)).toBe(bytesToHex(topologySeed(1, [reveal])))
    const genesis = await readEpochTopologyInputs(chain, 1)
    expect(genesis.epoch).toBe(0)
    expect(genesis.height).toBe(0)
    expect(bytesToHex(genesis.seed)).toBe(bytesToHex(topologySeed(0, [])))
  })

  it('reads the same latencies from the latest entries, old ones without a read at the start', async () => {
    // The latest state (height 5) holds two entries: 0→1 of epoch 1 (read at height 3), 1→2
    // of epoch 0 (taken as it is: unchanged since).
    const latestEntries = [
      {
        key: tableKeys.latency(keys[0]!, keys[1]!),
        value: encodeEntry('latencies', { latencyUs: 9000, epoch: 1 }),
      },
      {
        key: tableKeys.latency(keys[1]!, keys[2]!),
        value: encodeEntry('latencies', { latencyUs: 7000, epoch: 0 }),
      },
      // Of a node not active: left out.
      {
        key: tableKeys.latency(keys[1]!, keyOf(9)),
        value: encodeEntry('latencies', { latencyUs: 1, epoch: 0 }),
      },
    ]
    const reads: string[] = []
    const counted: StateAt = (table, key, height) => {
      if (table === 'latencies') reads.push(bytesToHex(key))
      return chain(table, key, height)
    }
    const inputs = await readEpochTopologyInputs(counted, 5, async function* () {
      yield* latestEntries
    })
    expect(inputs.latencies).toEqual([
      { reporter: keys[0], subject: keys[1], latencyUs: 4000 },
      { reporter: keys[1], subject: keys[2], latencyUs: 7000 },
    ])
    expect(reads).toEqual([bytesToHex(tableKeys.latency(keys[0]!, keys[1]!))])
  })

  it('refuses a state without metadata (ROUTING_STATE_MISSING)', async () => {
    await expect(readEpochTopologyInputs(fakeChain([new Map()]), 0)).rejects.toMatchObject({
      code: 'ROUTING_STATE_MISSING',
    })
  })
})
