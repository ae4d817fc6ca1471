import { describe, expect, test } from 'vitest'
import { createSoloOrderer } from '../consensus/solo-orderer.ts'
import {
  EPOCH_MS,
  GENESIS_MS,
  NODE_KEY,
  NODE_SEED,
  openTestChain,
  PEER_KEY,
} from '../consensus/testing/chain.ts'
import { decodeEntry, tableKeys } from '../state/tables.ts'
import { createMeasurementLedger } from './measurement-ledger.ts'
import { createMeasurementSubmitter } from './measurement-submitter.ts'

/** A chain of two nodes (NODE_KEY orders, PEER_KEY is measured), a ledger and a submitter whose
 * timer the test fires by hand. */
async function setup() {
  const chain = await openTestChain({}, { pair: true })
  const orderer = createSoloOrderer({
    executor: chain.executor,
    nodeSeed: NODE_SEED,
    blockMs: 60_000,
    maxBlockTransactions: 100,
    now: chain.now,
    // The epoch is changed by hand here (the peer never signals).
    epochDuty: false,
  })
  const ledger = createMeasurementLedger({ self: NODE_KEY })
  const outcomes: unknown[] = []
  const submitter = createMeasurementSubmitter({
    orderer,
    executor: chain.executor,
    ledger,
    nodeSeed: NODE_SEED,
    everyMs: 3_600_000,
    now: chain.now,
    onSubmit: (o) => outcomes.push(o),
  })
  await submitter.start()
  return { chain, orderer, ledger, submitter, outcomes }
}

describe('measurement submitter', () => {
  test('submits at half-way and at 80 % of the epoch, at most twice, and the chain keeps the last', async () => {
    const { chain, orderer, ledger, submitter, outcomes } = await setup()
    ledger.recordPing(PEER_KEY, 1500)
    // Early in the epoch: nothing is due.
    expect(await submitter.submitNow()).toBe(0)
    chain.clock = GENESIS_MS + EPOCH_MS / 2
    expect(await submitter.submitNow()).toBe(1)
    await orderer.produceBlock()
    const latency = async () => {
      const bytes = await chain.executor.get('latencies', tableKeys.latency(NODE_KEY, PEER_KEY))
      return bytes === undefined ? undefined : decodeEntry('latencies', bytes)
    }
    expect(await latency()).toEqual({ latencyUs: 1500, epoch: 0 })
    // Not due again until 80 %.
    ledger.recordPing(PEER_KEY, 2500)
    expect(await submitter.submitNow()).toBe(0)
    chain.clock = GENESIS_MS + EPOCH_MS * 0.8
    expect(await submitter.submitNow()).toBe(1)
    await orderer.produceBlock()
    expect(await latency()).toEqual({ latencyUs: 2000, epoch: 0 })
    const measured = await chain.executor.get(
      'measurements',
      tableKeys.measurement(0, PEER_KEY, NODE_KEY),
    )
    expect(decodeEntry('measurements', measured!)).toEqual({
      latencyUs: 2000,
      uptime: 1_000_000,
    })
    // Twice an epoch at most, even when forced.
    chain.clock = GENESIS_MS + EPOCH_MS
    expect(await submitter.submitNow({ force: true })).toBe(0)
    expect(submitter.submitted).toBe(2)
    expect(outcomes).toHaveLength(2)
    await submitter.stop()
    await orderer.stop()
  })

  test('an epoch past its time (a change under way, or a state behind) gets only the forced submission', async () => {
    const { chain, ledger, submitter } = await setup()
    ledger.recordPing(PEER_KEY, 1500)
    chain.clock = GENESIS_MS + EPOCH_MS * 3
    expect(await submitter.submitNow()).toBe(0)
    expect(await submitter.submitNow({ force: true })).toBe(1)
    expect(submitter.submitted).toBe(1)
    await submitter.stop()
  })

  test('refuses submission points that are not 1 or 2 ascending fractions of the epoch', async () => {
    const { chain, orderer, ledger, submitter } = await setup()
    await submitter.stop()
    for (const submitAt of [[], [1], [0], [0.8, 0.5], [0.2, 0.5, 0.8]]) {
      expect(() =>
        createMeasurementSubmitter({
          orderer,
          executor: chain.executor,
          ledger,
          nodeSeed: NODE_SEED,
          everyMs: 1000,
          submitAt,
        }),
      ).toThrow(RangeError)
    }
  })

  test('nothing measured, nothing sent; a new epoch resets the ledger', async () => {
    const { chain, ledger, submitter } = await setup()
    chain.clock = GENESIS_MS + EPOCH_MS / 2
    expect(await submitter.submitNow()).toBe(0)
    expect(submitter.submitted).toBe(0)
    ledger.recordPing(PEER_KEY, 10)
    expect(ledger.peers).toBe(1)
    // The ledger says another epoch than the chain: it is reset to the chain's.
    ledger.reset(5)
    ledger.recordPing(PEER_KEY, 10)
    expect(await submitter.submitNow()).toBe(0)
    expect(ledger.epoch).toBe(0)
    expect(ledger.peers).toBe(0)
    await submitter.stop()
  })
})
