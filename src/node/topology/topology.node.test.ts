/**
 * Issue 19's topology on a devnet of real node processes over loopback: a leader ordering
 * blocks (`--consensus solo`) and a follower, both staked, measure each other (pings every
 * 200 ms, 3 s epochs) and each keeps connections to its peers in the epoch's topology. Two
 * nodes are fewer than the 16 below which the graph is a full mesh, so this asserts the full
 * mesh (each node's one peer is the other) and that it is recomputed at the epoch change: after
 * both nodes' latencies reached the chain, each node reports an assignment for the epoch,
 * computed from the state after the block that started it, equal to what `buildTopology`
 * computes from the chain's latencies read over HTTP; one epoch later both report the next
 * epoch's, from that epoch's start height.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type NodeProcess, waitFor } from '../../devnet/processes.ts'
import {
  type EpochTopologyInputs,
  epochTopology,
  readEpochTopologyInputs,
  type StateAt,
} from '../../routing/epoch-topology.ts'
import { buildTopology, denseLatencyMatrix } from '../../routing/topology.ts'
import type { TableName } from '../../state/model.ts'
import type { DevnetLayout } from '../devnet/devnet-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'
import { getJson, type MeasuringDevnet, startMeasuringDevnet } from '../testing/measuring-devnet.ts'
import type { TopologyAssignmentJson } from './topology-keeper.ts'

let devnet: MeasuringDevnet | undefined
let layout: DevnetLayout
let leader: NodeProcess
let follower: NodeProcess

printNodeLogsOnFailure(() => (devnet === undefined ? [] : [devnet.leader, devnet.follower]))

const EPOCH_MS = 3000

beforeAll(async () => {
  devnet = await startMeasuringDevnet({ prefix: 'topology', epochMs: EPOCH_MS, pingEveryMs: 200 })
  ;({ layout, leader, follower } = devnet)
}, 90_000)

afterAll(async () => {
  await devnet?.close()
})

/** The leader's state over `/chain/state/<table>/<key>?height=`, keys in the routes' syntax. */
const overHttp: StateAt = async (table: TableName, key: Uint8Array, height: number) => {
  const text =
    table === 'metadata'
      ? 'chain'
      : table === 'committees'
        ? String(Number(new DataView(key.buffer, key.byteOffset).getBigUint64(0)))
        : bytesToHex(key)
  const { value } = (await getJson(
    `${leader.url}/chain/state/${table}/${text}?height=${height}`,
  )) as {
    value: string | null
  }
  return value === null ? undefined : hexToBytes(value)
}

const assignmentOf = async (node: NodeProcess) =>
  ((await getJson(`${node.url}/chain/topology`)) as { assignment: TopologyAssignmentJson | null })
    .assignment

/**
 * The chain's inputs for its current epoch (read over HTTP) once they hold both nodes'
 * latencies and the epoch is at least `from`, with both nodes' assignments for that epoch.
 */
async function agreedEpoch(from: number) {
  const { height } = (await getJson(`${leader.url}/chain/head`)) as { height: number }
  const inputs = await readEpochTopologyInputs(overHttp, height)
  if (inputs.epoch < from || inputs.latencies.length < 2) return undefined
  const assignments = [await assignmentOf(leader), await assignmentOf(follower)]
  if (assignments.some((a) => a?.epoch !== inputs.epoch)) return undefined
  return { inputs, assignments: assignments as TopologyAssignmentJson[] }
}

/** Both nodes' assignments are the graph `buildTopology` makes of the chain's inputs. */
function expectAgreement(inputs: EpochTopologyInputs, assignments: TopologyAssignmentJson[]) {
  const keys = layout.nodes.map((n) => bytesToHex(n.identity.nodeKey))
  // The index order: ascending node key.
  const sorted = inputs.nodes.map(bytesToHex)
  expect([...sorted].sort()).toEqual(sorted)
  expect(new Set(sorted)).toEqual(new Set(keys))
  const index = new Map(sorted.map((k, i) => [k, i]))
  const matrix = denseLatencyMatrix(
    sorted.length,
    inputs.latencies.map((l) => ({
      from: index.get(bytesToHex(l.reporter))!,
      to: index.get(bytesToHex(l.subject))!,
      latencyUs: l.latencyUs,
    })),
  )
  const graph = buildTopology(matrix, inputs.seed)
  // Two nodes: a full mesh.
  expect(graph).toEqual([[1], [0]])
  const topology = epochTopology(inputs)
  for (const assignment of assignments) {
    expect(assignment.height).toBe(inputs.height)
    const i = index.get(assignment.node)!
    expect(assignment.peers).toEqual(graph[i]!.map((j) => sorted[j]).sort())
    expect(assignment.peers).toEqual(
      topology.peersOf(hexToBytes(assignment.node)).map(bytesToHex).sort(),
    )
    // Mutually consistent: every peer lists this node back.
    for (const peer of assignment.peers) {
      const other = assignments.find((a) => a.node === peer)!
      expect(other.peers).toContain(assignment.node)
    }
  }
}

test('each node keeps its peers of the epoch’s topology, recomputed at the epoch change', async () => {
  const first = await waitFor(
    () => agreedEpoch(1),
    'an epoch whose start state holds both latencies, and both nodes’ assignments for it',
    45_000,
    250,
  )
  expectAgreement(first.inputs, first.assignments)
  // Each is connected to its peer (the keeper dials the registry's address).
  const connected = await waitFor(
    async () => {
      const both = [await assignmentOf(leader), await assignmentOf(follower)]
      return both.every((a) => a !== null && a.connected.length === a.peers.length)
        ? both
        : undefined
    },
    'both nodes connected to their topology peers',
    10_000,
    250,
  )
  expect(connected.map((a) => a?.connected.length)).toEqual([1, 1])

  // The next epoch: recomputed from the state after the block that started it.
  const next = await waitFor(
    () => agreedEpoch(first.inputs.epoch + 1),
    'both nodes’ assignments for a later epoch',
    20_000,
    250,
  )
  expectAgreement(next.inputs, next.assignments)
  expect(next.inputs.height).toBeGreaterThan(first.inputs.height)
  expect(bytesToHex(next.inputs.seed)).not.toBe(bytesToHex(first.inputs.seed))

  // Logged once an epoch, and counted.
  const epochs = leader
    .logs()
    .filter((l) => l.msg === 'topology assignment')
    .map((l) => l.epoch as number)
  expect(epochs).toContain(next.inputs.epoch)
  expect(epochs).toEqual([...new Set(epochs)].sort((a, b) => a - b))
  const metrics = await (await fetch(`${leader.url}/metrics`)).text()
  const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1])
  expect(value('fulmen_topology_peers_assigned')).toBe(1)
  expect(value('fulmen_topology_peers_connected')).toBe(1)
  expect(value('fulmen_topology_epoch')).toBeGreaterThanOrEqual(next.inputs.epoch)
  console.log(
    JSON.stringify({
      epochs: [first, next].map(({ inputs }) => ({
        epoch: inputs.epoch,
        height: inputs.height,
        latenciesUs: inputs.latencies.map((l) => l.latencyUs),
      })),
      assignments: next.assignments.map((a) => ({ node: a.node.slice(0, 8), peers: a.peers })),
    }),
  )
}, 90_000)
