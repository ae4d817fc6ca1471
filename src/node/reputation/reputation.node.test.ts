/**
 * Issue 19's measurements on a devnet of real node processes over loopback: a leader ordering
 * blocks (`--consensus solo`) and a follower, both staked, ping each other every 200 ms over
 * `/fulmen/ping/1.0.0` (signed pongs), each submits its measurements of the other as a
 * node-signed `SubmitReputationMeasurements` twice an epoch, and at the epoch change the chain
 * turns the epoch's reports into reputation scores: the scores read through the node's HTTP
 * chain API after the change are exactly what `reputationScores` computes from the reports and
 * the scores read before it, and the `latencies` table holds each node's latency to the other.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type NodeProcess, waitFor } from '../../devnet/processes.ts'
import type { Measurements } from '../../state/model.ts'
import { type ReputationReport, reputationScores } from '../../state/reputation-score.ts'
import { tableKeys } from '../../state/tables.ts'
import { decodeTransaction } from '../../state/transaction.ts'
import type { DevnetLayout } from '../devnet/devnet-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'
import { getJson, type MeasuringDevnet, startMeasuringDevnet } from '../testing/measuring-devnet.ts'

let devnet: MeasuringDevnet | undefined
let layout: DevnetLayout
let leader: NodeProcess

printNodeLogsOnFailure(() => (devnet === undefined ? [] : [devnet.leader, devnet.follower]))

const EPOCH_MS = 3000

beforeAll(async () => {
  devnet = await startMeasuringDevnet({ prefix: 'reputation', epochMs: EPOCH_MS, pingEveryMs: 200 })
  ;({ layout, leader } = devnet)
}, 90_000)

afterAll(async () => {
  await devnet?.close()
})

interface BlockJson {
  header: { height: number; epoch: number }
  transactions: string[]
  receipts: { status: string }[]
}

const head = async () =>
  (await getJson(`${leader.url}/chain/head`)) as { epoch: number; height: number }

/** An entry of the state after block `height`, or null. */
const entryAt = async (table: string, key: Uint8Array, height: number) =>
  (
    (await getJson(`${leader.url}/chain/state/${table}/${bytesToHex(key)}?height=${height}`)) as {
      entry: unknown
    }
  ).entry

/** The blocks fetched so far, by height (a block never changes). */
const blocks: BlockJson[] = []

async function fetchBlocks(): Promise<void> {
  const top = (await head()).height
  for (let h = blocks.length + 1; h <= top; h++)
    blocks.push((await getJson(`${leader.url}/chain/block/${h}`)) as BlockJson)
}

/** The SubmitReputationMeasurements transactions in the blocks so far. */
function measurementTxs() {
  return blocks.flatMap((b) =>
    b.transactions.flatMap((hex, i) => {
      const tx = decodeTransaction(hexToBytes(hex))
      if (tx.payload.method.type !== 'SubmitReputationMeasurements') return []
      const sender = tx.payload.sender.kind === 'node' ? bytesToHex(tx.payload.sender.key) : ''
      return [{ block: b, sender, bytes: hex.length / 2, status: b.receipts[i]!.status }]
    }),
  )
}

/**
 * An epoch whose change scored a report of each node on the other, each with a latency: the
 * change block carries no measurements (so the state after the block before it holds every
 * report scored), and that state holds both reports.
 */
async function scoredEpoch(keys: readonly Uint8Array[]) {
  await fetchBlocks()
  const txs = measurementTxs()
  for (const change of blocks) {
    if (change.header.height < 2) continue
    const previousBlock = blocks[change.header.height - 2]!
    if (change.header.epoch !== previousBlock.header.epoch + 1) continue
    if (txs.some((t) => t.block === change)) continue
    const epoch = previousBlock.header.epoch
    const before = previousBlock.header.height
    const reports: ReputationReport[] = []
    for (const subject of keys) {
      for (const reporter of keys) {
        if (subject === reporter) continue
        const m = await entryAt(
          'measurements',
          tableKeys.measurement(epoch, subject, reporter),
          before,
        )
        // A report of pings that all failed (the other node not up yet) has no latency.
        const measurements = m as Measurements | null
        if (measurements?.latencyUs !== undefined) reports.push({ subject, reporter, measurements })
      }
    }
    if (reports.length === keys.length * (keys.length - 1))
      return { epoch, change, before, reports }
  }
  return undefined
}

test('nodes ping each other, submit, and the scores and latencies change at the epoch change', async () => {
  const keys = layout.nodes.map((n) => n.identity.nodeKey)
  const { epoch, change, before, reports } = await waitFor(
    () => scoredEpoch(keys),
    'an epoch change that scored both nodes’ reports',
    90_000,
    1000,
  )
  const txs = measurementTxs()
  expect(txs.every((t) => t.status === 'ok')).toBe(true)
  // Twice an epoch at most, each node.
  for (const key of keys) {
    const sender = bytesToHex(key)
    const perEpoch = new Map<number, number>()
    for (const t of txs.filter((t) => t.sender === sender)) {
      perEpoch.set(t.block.header.epoch, (perEpoch.get(t.block.header.epoch) ?? 0) + 1)
    }
    for (const [e, count] of perEpoch)
      expect(count, `${sender} in epoch ${e}`).toBeLessThanOrEqual(2)
  }

  // The scores before the change, and the ones the chain computed at it.
  const scoreAt = async (key: Uint8Array, height: number) =>
    (await entryAt('reputation', key, height)) as { score: number; epoch: number } | null
  const previous = new Map<string, number>()
  for (const key of keys) {
    const entry = await scoreAt(key, before)
    if (entry !== null) previous.set(bytesToHex(key), entry.score)
  }
  const expected = reputationScores(reports, previous, 1)
  for (const key of keys) {
    const after = await scoreAt(key, change.header.height)
    expect(after).toEqual({ score: expected.get(bytesToHex(key)), epoch })
  }

  // Each node's latency to the other, as it reported it, on chain.
  const latencies: number[] = []
  for (const reporter of keys) {
    for (const subject of keys) {
      if (subject === reporter) continue
      const latency = (await entryAt(
        'latencies',
        tableKeys.latency(reporter, subject),
        change.header.height,
      )) as { latencyUs: number; epoch: number }
      expect(latency.epoch).toBe(epoch)
      expect(latency.latencyUs).toBeGreaterThan(0)
      // Loopback, on a busy machine: well under a second.
      expect(latency.latencyUs).toBeLessThan(1_000_000)
      latencies.push(latency.latencyUs)
    }
  }
  // The node's metrics count the pings and submissions.
  const metrics = await (await fetch(`${leader.url}/metrics`)).text()
  const value = (line: RegExp) => Number(line.exec(metrics)?.[1] ?? 0)
  expect(value(/^fulmen_pings_total\{result="ok"\} (\d+)$/m)).toBeGreaterThan(0)
  expect(value(/^fulmen_pings_answered_total\{result="ok"\} (\d+)$/m)).toBeGreaterThan(0)
  expect(value(/^fulmen_reputation_submissions_total\{result="ok"\} (\d+)$/m)).toBeGreaterThan(0)
  expect(value(/^fulmen_ping_rtt_seconds_count (\d+)$/m)).toBeGreaterThan(0)
  console.log(
    JSON.stringify({
      epoch,
      changeHeight: change.header.height,
      reports: reports.map((r) => ({
        reporter: bytesToHex(r.reporter).slice(0, 8),
        subject: bytesToHex(r.subject).slice(0, 8),
        ...r.measurements,
      })),
      previous: Object.fromEntries(previous),
      scores: Object.fromEntries(expected),
      transactionBytes: txs.map((t) => t.bytes),
    }),
  )
}, 150_000)
