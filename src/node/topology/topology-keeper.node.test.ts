/**
 * The topology keeper (topology-keeper.ts) over a fake chain and a fake libp2p: it tags and
 * dials the epoch's assigned peers at the registry's addresses, a bounded number at a time,
 * recomputes at the epoch change (untagging a peer that left), redials a peer that dropped, and
 * takes its tags off when stopped.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { expect, test } from 'vitest'
import { noopLogger } from '../../core/logger.ts'
import { createMemoryMetrics } from '../../core/metrics.ts'
import type { ChainHead, TableName } from '../../state/model.ts'
import { encodeEntry, METADATA_KEY, tableKeys } from '../../state/tables.ts'
import { nodeKeyOfSeed } from '../../state/transaction.ts'
import { peerIdOfNodeKey } from '../chain/committee-chain.ts'
import {
  createTopologyKeeper,
  TOPOLOGY_TAG,
  type TopologyKeeperOptions,
  type TopologyLibp2p,
} from './topology-keeper.ts'

const keys = [1, 2, 3, 4].map((i) => nodeKeyOfSeed(new Uint8Array(32).fill(i)))
const [self, ...others] = keys as [Uint8Array, ...Uint8Array[]]
const addressOf = (key: Uint8Array) => `/ip4/127.0.0.1/tcp/4001/ws/p2p/${peerIdOfNodeKey(key)}`

/** A chain of `states[h]` after block h (full tables); the head moves with `head.height`. */
function fakeChain() {
  const states: Map<string, Uint8Array>[] = []
  const head = { epoch: 0, height: -1 } as { epoch: number; height: number }
  const put = (epoch: number, active: Uint8Array[]) => {
    const state = new Map<string, Uint8Array>()
    const set = (table: TableName, key: Uint8Array, value: Uint8Array) =>
      state.set(`${table}/${bytesToHex(key)}`, value)
    set(
      'metadata',
      METADATA_KEY,
      encodeEntry('metadata', {
        chainId: 1,
        epoch,
        height: states.length,
        epochStartMs: 0,
        beacon: { kind: 'none' },
        bridge: new Uint8Array(20),
        governance: new Uint8Array(20),
        supplyYearStart: 0n,
        supply: 0n,
      }),
    )
    set(
      'committees',
      tableKeys.committee(epoch),
      encodeEntry('committees', {
        members: active,
        readyToChange: [],
        activeNodes: active,
        beaconCommits: [],
        beaconReveals: [],
      }),
    )
    for (const key of keys) {
      set(
        'nodes',
        key,
        encodeEntry('nodes', {
          owner: new Uint8Array(20),
          blsKey: new Uint8Array(96),
          addresses: [addressOf(key)],
          staked: 1n,
          unstaking: [],
          lockedUntilEpoch: 0,
          participation: 'true',
          nonce: 0,
          registeredAtEpoch: 0,
        }),
      )
    }
    states.push(state)
    head.epoch = epoch
    head.height = states.length - 1
  }
  const read = (table: TableName, key: Uint8Array, height: number) =>
    states[height]?.get(`${table}/${bytesToHex(key)}`)
  const executor: TopologyKeeperOptions['executor'] = {
    get head() {
      return head as unknown as ChainHead
    },
    prove: async (table, key, height = head.height) => ({
      value: read(table, key, height),
      proof: new Uint8Array(),
      root: new Uint8Array(32),
      height,
    }),
    get: async (table, key) => read(table, key, head.height),
    async *entries(table) {
      for (const [name, value] of states[head.height] ?? []) {
        const [t, key] = name.split('/') as [string, string]
        if (t === table) yield { key: hexToBytes(key), value }
      }
    },
  }
  return { executor, put }
}

function fakeLibp2p() {
  const connected = new Set<string>()
  const tags = new Map<string, number | undefined>()
  const dialled: string[] = []
  let inFlight = 0
  let maxInFlight = 0
  const libp2p = {
    async dial(address: { toString(): string }) {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      await new Promise((r) => setTimeout(r, 5))
      inFlight--
      const text = address.toString()
      dialled.push(text)
      connected.add(text.slice(text.lastIndexOf('/') + 1))
      return {}
    },
    getConnections: (peer?: { toString(): string }) =>
      connected.has(String(peer)) ? [{ status: 'open' }] : [],
    peerStore: {
      async merge(peer: { toString(): string }, data: { tags: Record<string, unknown> }) {
        const tag = data.tags[TOPOLOGY_TAG] as { value: number } | undefined
        tags.set(String(peer), tag?.value)
        return {}
      },
    },
  } as unknown as TopologyLibp2p
  return { libp2p, connected, tags, dialled, maxInFlight: () => maxInFlight }
}

const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

test('tags and dials the assigned peers, recomputes at the epoch change, untags on stop', async () => {
  const chain = fakeChain()
  chain.put(0, keys)
  const net = fakeLibp2p()
  const metrics = createMemoryMetrics()
  const keeper = createTopologyKeeper({
    libp2p: net.libp2p,
    executor: chain.executor,
    nodeKey: self,
    checkEveryMs: 20,
    dialConcurrency: 2,
    metrics,
    logger: noopLogger,
  })
  await keeper.start()
  const peerIds = others.map(peerIdOfNodeKey)
  // Four nodes: a full mesh, so the three others, each dialled at its registry address.
  await until(() => keeper.assignment?.connected.length === 3, 'three connected peers')
  expect(keeper.assignment).toMatchObject({ epoch: 0, height: 0, node: bytesToHex(self) })
  expect(keeper.assignment?.peers).toEqual(others.map(bytesToHex).sort())
  expect([...net.dialled].sort()).toEqual(others.map(addressOf).sort())
  expect(net.maxInFlight()).toBe(2)
  for (const peer of peerIds) expect(net.tags.get(peer)).toBe(100)
  expect(metrics.value('fulmen_topology_peers_assigned')).toBe(3)
  expect(metrics.value('fulmen_topology_peers_connected')).toBe(3)

  // Epoch 1: the last node is no longer active; a peer that dropped is dialled again.
  chain.put(0, keys)
  chain.put(1, keys.slice(0, 3))
  net.connected.delete(peerIds[0]!)
  await until(() => keeper.assignment?.epoch === 1, 'the epoch 1 assignment')
  expect(keeper.assignment).toMatchObject({ epoch: 1, height: 2 })
  expect(keeper.assignment?.peers).toEqual(others.slice(0, 2).map(bytesToHex).sort())
  expect(net.tags.get(peerIds[2]!)).toBeUndefined()
  expect(net.tags.get(peerIds[0]!)).toBe(100)
  await until(() => net.connected.has(peerIds[0]!), 'the dropped peer redialled')
  expect(metrics.value('fulmen_topology_epoch')).toBe(1)
  expect(metrics.value('fulmen_topology_dials_total', { result: 'ok' })).toBe(4)

  await keeper.stop()
  expect(keeper.assignment).toBeUndefined()
  for (const peer of peerIds) expect(net.tags.get(peer)).toBeUndefined()
})
