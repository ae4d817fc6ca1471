/**
 * The epoch duty beyond the one-node path of solo-orderer.test.ts: a committee of two whose
 * other member signals the epoch's end but never commits (this node commits, then times the
 * commit phase out after its blocks and reveals alone), a restart between commit and reveal
 * (the reveal derives from the seed, so the new duty still matches the commit), and a node
 * outside the committee (no duty).
 */
import { describe, expect, test } from 'vitest'
import { equalBytes } from '../core/bytes.ts'
import type { ExecutedBlock, MethodType } from '../state/model.ts'
import { decodeEntry, METADATA_KEY } from '../state/tables.ts'
import { decodeTransaction } from '../state/transaction.ts'
import { beaconRevealOf } from './epoch-duty.ts'
import { createSoloOrderer } from './solo-orderer.ts'
import {
  EPOCH_MS,
  NODE_SEED,
  nodeTx,
  openTestChain,
  PEER_SEED,
  type TestChain,
} from './testing/chain.ts'

const methodsOf = (block: ExecutedBlock): MethodType[] =>
  block.body.transactions.map((t) => decodeTransaction(t).payload.method.type)

const soloOf = (chain: TestChain, nodeSeed = NODE_SEED) =>
  createSoloOrderer({
    executor: chain.executor,
    nodeSeed,
    blockMs: 60_000,
    maxBlockTransactions: 100,
    now: chain.now,
  })

async function metadata(chain: TestChain) {
  return decodeEntry('metadata', (await chain.executor.get('metadata', METADATA_KEY))!)
}

test('the reveal is a keyed hash of the seed: one per (epoch, round), another per seed', () => {
  const a = beaconRevealOf(NODE_SEED, 3, 0)
  expect(a.length).toBe(32)
  expect(beaconRevealOf(NODE_SEED, 3, 0)).toEqual(a)
  for (const other of [
    beaconRevealOf(NODE_SEED, 4, 0),
    beaconRevealOf(NODE_SEED, 3, 1),
    beaconRevealOf(PEER_SEED, 3, 0),
  ]) {
    expect(equalBytes(other, a)).toBe(false)
  }
})

describe('the beacon', () => {
  test('a member that never commits: the commit phase times out after its blocks', async () => {
    const chain = await openTestChain(
      { beaconCommitBlocks: 3n, beaconRevealBlocks: 3n },
      { pair: true },
    )
    const solo = soloOf(chain)
    const blocks: ExecutedBlock[] = []
    solo.onBlock((b) => blocks.push(b))
    chain.clock += EPOCH_MS
    await solo.produceBlock() // this node's ChangeEpoch: 1 of 2, not a quorum yet
    expect((await metadata(chain)).beacon.kind).toBe('none')
    expect(await solo.produceBlock()).toBeUndefined() // signalled once per epoch
    await solo.submit(nodeTx(PEER_SEED, 1, { type: 'ChangeEpoch', epoch: 0 }))
    for (let i = 0; i < 5; i++) await solo.produceBlock()
    expect(blocks.map(methodsOf)).toEqual([
      ['ChangeEpoch'],
      ['ChangeEpoch'], // the peer's: the beacon opens at height 2
      ['BeaconCommit'],
      [], // the phase counts blocks: one without transactions
      ['BeaconCommitTimeout'], // height 5 = 2 + beaconCommitBlocks
      ['BeaconReveal'],
    ])
    expect(blocks.flatMap((b) => b.receipts).map((r) => r.status)).toEqual(Array(5).fill('ok'))
    const meta = await metadata(chain)
    expect(meta.epoch).toBe(1)
    expect(meta.beacon.kind).toBe('none')
    await solo.stop()
  })

  test('a restart between commit and reveal still reveals what was committed', async () => {
    const chain = await openTestChain()
    const before = soloOf(chain)
    chain.clock += EPOCH_MS
    expect(methodsOf((await before.produceBlock())!)).toEqual(['ChangeEpoch'])
    expect(methodsOf((await before.produceBlock())!)).toEqual(['BeaconCommit'])
    await before.stop()
    const after = soloOf(chain)
    const reveal = (await after.produceBlock())!
    expect(methodsOf(reveal)).toEqual(['BeaconReveal'])
    expect(reveal.receipts.map((r) => r.status)).toEqual(['ok'])
    expect((await metadata(chain)).epoch).toBe(1)
    await after.stop()
  })
})

test('an epoch-change signal that reverted (the clock stepped back) is sent again', async () => {
  const chain = await openTestChain()
  // The duty reads the clock past the epoch's end; the block is stamped before it.
  const readings = [EPOCH_MS + 1, EPOCH_MS - 5_000]
  const start = chain.clock
  const solo = createSoloOrderer({
    executor: chain.executor,
    nodeSeed: NODE_SEED,
    blockMs: 60_000,
    maxBlockTransactions: 100,
    now: () => start + (readings.shift() ?? EPOCH_MS + 10),
  })
  const reverted = (await solo.produceBlock())!
  expect(methodsOf(reverted)).toEqual(['ChangeEpoch'])
  expect(reverted.receipts.map((r) => r.status)).toEqual(['TX_WRONG_EPOCH'])
  const again = (await solo.produceBlock())!
  expect(methodsOf(again)).toEqual(['ChangeEpoch'])
  expect(again.receipts.map((r) => r.status)).toEqual(['ok'])
  expect((await metadata(chain)).beacon.kind).toBe('commit')
  await solo.stop()
})

test('a node outside the committee has no epoch duty', async () => {
  const chain = await openTestChain()
  const outsider = soloOf(chain, PEER_SEED)
  chain.clock += 10 * EPOCH_MS
  expect(await outsider.produceBlock()).toBeUndefined()
  expect(chain.executor.head.height).toBe(0)
  await outsider.stop()
})
