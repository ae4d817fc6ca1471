/**
 * The solo orderer over the real StateExecutor (a MemoryKvStore): admission and its typed
 * refusals, blocks in nonce order with ok receipts, no block without anything to put in it,
 * stop while a block executes, and an epoch that changes by itself (ChangeEpoch, beacon commit,
 * beacon reveal, epoch + 1) once the injected clock passes the epoch's end.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { createMemoryMetrics } from '../core/metrics.ts'
import { MAX_BLOCK_TRANSACTIONS } from '../state/executor.ts'
import type { ChainExecutor, ExecutedBlock, MethodType } from '../state/model.ts'
import { decodeEntry, METADATA_KEY } from '../state/tables.ts'
import { decodeTransaction, encodeTransaction, TransactionError } from '../state/transaction.ts'
import { ConsensusError } from './errors.ts'
import { createSoloOrderer, type SoloOrdererOptions } from './solo-orderer.ts'
import {
  ALICE,
  ALICE_SECRET,
  accountTx,
  BOB,
  BOB_SECRET,
  CHAIN_ID,
  EPOCH_MS,
  NODE_SEED,
  OWNER,
  OWNER_SECRET,
  openTestChain,
  type TestChain,
  transfer,
} from './testing/chain.ts'

async function orderer(chain: TestChain, options: Partial<SoloOrdererOptions> = {}) {
  return createSoloOrderer({
    executor: chain.executor,
    nodeSeed: NODE_SEED,
    blockMs: 60_000,
    maxBlockTransactions: 100,
    now: chain.now,
    ...options,
  })
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (e) {
    expect(e instanceof ConsensusError || e instanceof TransactionError).toBe(true)
    return (e as ConsensusError).code
  }
  return undefined
}

const methodsOf = (block: ExecutedBlock): MethodType[] =>
  block.body.transactions.map((t) => decodeTransaction(t).payload.method.type)

async function balance(executor: ChainExecutor, address: Uint8Array) {
  const bytes = await executor.get('accounts', address)
  return bytes === undefined ? undefined : decodeEntry('accounts', bytes)
}

describe('blocks', () => {
  test('submitted transfers execute in nonce order with ok receipts', async () => {
    const chain = await openTestChain()
    const metrics = createMemoryMetrics()
    const solo = await orderer(chain, { metrics })
    const seen: ExecutedBlock[] = []
    solo.onBlock((b) => seen.push(b))
    // Out of order: each waits in the mempool for the nonce before it.
    const digests = new Map<number, Uint8Array>()
    for (const nonce of [3, 1, 2, 5, 4]) {
      digests.set(nonce, await solo.submit(transfer(ALICE_SECRET, nonce, BigInt(nonce))))
    }
    expect(solo.pending(digests.get(4)!)).toBe(true)
    expect(metrics.value('fulmen_mempool_transactions')).toBe(5)
    expect(await solo.nextNonce({ kind: 'account', address: ALICE })).toBe(6)

    const genesisHash = chain.executor.head.hash
    const block = await solo.produceBlock()
    expect(block).toBeDefined()
    expect(block!.header.height).toBe(1)
    expect(block!.body.parent).toEqual(genesisHash)
    expect(block!.body.chainId).toBe(CHAIN_ID)
    expect(block!.body.transactions.map((t) => decodeTransaction(t).payload.nonce)).toEqual([
      1, 2, 3, 4, 5,
    ])
    expect(block!.receipts.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
    expect(block!.receipts.map((r) => r.digest)).toEqual([1, 2, 3, 4, 5].map((n) => digests.get(n)))
    expect(seen).toEqual([block])
    expect(solo.pending(digests.get(4)!)).toBe(false)
    expect(solo.mempoolSize).toBe(0)
    expect(metrics.value('fulmen_mempool_transactions')).toBe(0)
    expect(metrics.value('fulmen_chain_blocks_total')).toBe(1)
    expect((await balance(chain.executor, BOB))?.stables).toBe(15n)
    expect(chain.executor.head.height).toBe(1)
    expect(await solo.nextNonce({ kind: 'account', address: ALICE })).toBe(6)
    await solo.stop()
  })

  test('the block is stamped with the clock, never before its parent, and chains to it', async () => {
    const chain = await openTestChain()
    const solo = await orderer(chain)
    await solo.submit(transfer(ALICE_SECRET, 1, 1n))
    const first = (await solo.produceBlock())!
    expect(first.body.timestampMs).toBe(chain.clock)
    chain.clock -= 500 // a clock that steps back
    await solo.submit(transfer(ALICE_SECRET, 2, 1n))
    const second = (await solo.produceBlock())!
    expect(second.body.parent).toEqual(first.hash)
    expect(second.body.timestampMs).toBe(first.body.timestampMs)
    await solo.stop()
  })

  test('no block when nothing is pending and no duty is due', async () => {
    const chain = await openTestChain()
    const solo = await orderer(chain)
    expect(await solo.produceBlock()).toBeUndefined()
    expect(chain.executor.head.height).toBe(0)
    // A transaction that waits for a missing nonce is not enough either.
    await solo.submit(transfer(ALICE_SECRET, 2, 1n))
    expect(await solo.produceBlock()).toBeUndefined()
    expect(chain.executor.head.height).toBe(0)
    await solo.stop()
  })

  test('the timer makes the blocks: every submitted transaction lands', async () => {
    const chain = await openTestChain()
    const solo = await orderer(chain, { blockMs: 2, maxBlockTransactions: 2 })
    const heights: number[] = []
    const landed = new Promise<void>((resolve) =>
      solo.onBlock((b) => {
        heights.push(b.header.height)
        if (b.receipts.some((r) => r.digest !== undefined && r.status === 'ok')) {
          if (solo.mempoolSize === 0) resolve()
        }
      }),
    )
    await solo.start()
    for (const nonce of [1, 2, 3, 4, 5]) await solo.submit(transfer(ALICE_SECRET, nonce, 1n))
    await landed
    await solo.stop()
    expect(heights).toEqual(heights.map((_, i) => i + 1))
    expect((await balance(chain.executor, BOB))?.stables).toBe(5n)
    expect((await balance(chain.executor, ALICE))?.nonce).toBe(5)
  })
})

describe('admission', () => {
  test('refuses with typed errors', async () => {
    const chain = await openTestChain()
    const solo = await orderer(chain)
    const ok = transfer(ALICE_SECRET, 1, 1n)
    await solo.submit(ok)
    expect(await codeOf(solo.submit(ok))).toBe('MEMPOOL_DUPLICATE')
    expect(await codeOf(solo.submit(transfer(ALICE_SECRET, 1, 2n)))).toBe('MEMPOOL_DUPLICATE')
    expect(await codeOf(solo.submit(Uint8Array.of(1, 2, 3)))).toBe('TX_MALFORMED')
    expect(await codeOf(solo.submit(new Uint8Array(200 * 1024)))).toBe('TX_TOO_LARGE')
    const otherChain = accountTx(
      ALICE_SECRET,
      2,
      { type: 'Transfer', to: BOB, token: 'USDC', amount: 1n },
      CHAIN_ID + 1,
    )
    expect(await codeOf(solo.submit(otherChain))).toBe('TX_WRONG_CHAIN')
    // Bob's signature over a transaction that names Alice as its sender.
    const forged = decodeTransaction(transfer(BOB_SECRET, 2, 1n))
    const aliceTx = decodeTransaction(transfer(ALICE_SECRET, 2, 1n))
    expect(
      await codeOf(solo.submit(encodeTransaction({ ...aliceTx, signature: forged.signature }))),
    ).toBe('TX_BAD_SIGNATURE')

    await solo.produceBlock()
    // Executed: the same bytes again, and a new one with the nonce taken.
    expect(await codeOf(solo.submit(ok))).toBe('MEMPOOL_DUPLICATE')
    expect(await codeOf(solo.submit(transfer(ALICE_SECRET, 1, 3n)))).toBe('TX_NONCE')
    expect(await codeOf(solo.submit(transfer(ALICE_SECRET, 2000, 3n)))).toBe('MEMPOOL_NONCE_GAP')
    const aborted = new AbortController()
    aborted.abort()
    await expect(
      solo.submit(transfer(ALICE_SECRET, 2, 1n), { signal: aborted.signal }),
    ).rejects.toThrow()
    expect(await codeOf(solo.submit(transfer(ALICE_SECRET, 2, 1n)))).toBeUndefined()
    await solo.stop()
  })

  test('a full mempool refuses with MEMPOOL_FULL', async () => {
    const chain = await openTestChain()
    const solo = await orderer(chain, { mempool: { maxCount: 2 } })
    await solo.submit(transfer(ALICE_SECRET, 1, 1n))
    await solo.submit(transfer(ALICE_SECRET, 2, 1n))
    expect(await codeOf(solo.submit(transfer(ALICE_SECRET, 3, 1n)))).toBe('MEMPOOL_FULL')
    await solo.stop()
  })
})

test('options out of range are refused at creation', async () => {
  const chain = await openTestChain()
  for (const bad of [
    { blockMs: 0 },
    { blockMs: Number.NaN },
    { maxBlockTransactions: 0 },
    { maxBlockTransactions: MAX_BLOCK_TRANSACTIONS + 1 },
  ]) {
    await expect(orderer(chain, bad)).rejects.toThrow(RangeError)
  }
  await expect(
    orderer(chain, { maxBlockTransactions: MAX_BLOCK_TRANSACTIONS }),
  ).resolves.toBeDefined()
})

describe('stop', () => {
  test('waits for the block in flight; then refuses submissions and blocks', async () => {
    const chain = await openTestChain()
    const events: string[] = []
    let executing!: () => void
    const started = new Promise<void>((resolve) => {
      executing = resolve
    })
    // The real executor, watched: the test learns when a block is being executed.
    const real = chain.executor
    const watched: ChainExecutor = {
      get head() {
        return real.head
      },
      get: (table, key) => real.get(table, key),
      block: (height) => real.block(height),
      transaction: (digest) => real.transaction(digest),
      prove: (table, key) => real.prove(table, key),
      async execute(body) {
        events.push('execute')
        executing()
        const block = await real.execute(body)
        events.push('executed')
        return block
      },
    }
    const solo = createSoloOrderer({
      executor: watched,
      nodeSeed: NODE_SEED,
      blockMs: 1,
      maxBlockTransactions: 10,
      now: chain.now,
    })
    solo.onBlock(() => events.push('block'))
    await solo.start()
    await solo.submit(transfer(ALICE_SECRET, 1, 1n))
    await started
    const stopped = solo.stop().then(() => events.push('stopped'))
    expect(await codeOf(solo.submit(transfer(ALICE_SECRET, 2, 1n)))).toBe('ORDERER_STOPPED')
    await stopped
    expect(events).toEqual(['execute', 'executed', 'block', 'stopped'])
    expect(real.head.height).toBe(1)
    expect(await codeOf(solo.produceBlock())).toBe('ORDERER_STOPPED')
    // Idempotent.
    await solo.stop()
  })
})

describe('the epoch changes by itself', () => {
  async function epochOf(executor: ChainExecutor) {
    return decodeEntry('metadata', (await executor.get('metadata', METADATA_KEY))!)
  }

  test('ChangeEpoch, beacon commit, beacon reveal: epoch + 1, one block each', async () => {
    const chain = await openTestChain()
    const solo = await orderer(chain)
    // Not yet due.
    chain.clock += EPOCH_MS - 10
    expect(await solo.produceBlock()).toBeUndefined()
    chain.clock += 10
    const change = (await solo.produceBlock())!
    expect(methodsOf(change)).toEqual(['ChangeEpoch'])
    expect(change.receipts.map((r) => r.status)).toEqual(['ok'])
    expect((await epochOf(chain.executor)).beacon.kind).toBe('commit')
    const commit = (await solo.produceBlock())!
    expect(methodsOf(commit)).toEqual(['BeaconCommit'])
    expect(commit.receipts.map((r) => r.status)).toEqual(['ok'])
    expect((await epochOf(chain.executor)).beacon.kind).toBe('reveal')
    const reveal = (await solo.produceBlock())!
    expect(methodsOf(reveal)).toEqual(['BeaconReveal'])
    expect(reveal.receipts.map((r) => r.status)).toEqual(['ok'])
    expect(reveal.header.epoch).toBe(1)
    const meta = await epochOf(chain.executor)
    expect(meta.epoch).toBe(1)
    expect(meta.beacon.kind).toBe('none')
    // The new epoch has just begun: nothing is due.
    expect(await solo.produceBlock()).toBeUndefined()
    await solo.stop()
  })

  test('driven by the timer with a tiny epoch, the chain passes several epochs', async () => {
    const chain = await openTestChain({ epochTimeMs: 1n })
    const solo = await orderer(chain, { blockMs: 1 })
    const blocks: ExecutedBlock[] = []
    const reached = new Promise<void>((resolve) =>
      solo.onBlock((b) => {
        blocks.push(b)
        chain.clock += 1
        if (b.header.epoch >= 3) resolve()
      }),
    )
    chain.clock += 1
    await solo.start()
    await reached
    await solo.stop()
    expect((await epochOf(chain.executor)).epoch).toBeGreaterThanOrEqual(3)
    // Three blocks per epoch change, each holding one duty that succeeded.
    const cycle: MethodType[] = ['ChangeEpoch', 'BeaconCommit', 'BeaconReveal']
    expect(blocks.slice(0, 9).map(methodsOf)).toEqual(
      [...cycle, ...cycle, ...cycle].map((m) => [m]),
    )
    expect(blocks.slice(0, 9).map((b) => b.header.epoch)).toEqual([0, 0, 1, 1, 1, 2, 2, 2, 3])
    expect(blocks.flatMap((b) => b.receipts).every((r) => r.status === 'ok')).toBe(true)
  })
})

describe('properties', () => {
  test('any interleaving of two senders executes every transaction, each sender in nonce order', async () => {
    const senders = [ALICE_SECRET, OWNER_SECRET]
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })),
        fc.integer({ min: 1, max: 4 }),
        fc.infiniteStream(fc.nat()),
        async (counts, perBlock, picks) => {
          const chain = await openTestChain()
          const solo = await orderer(chain, { maxBlockTransactions: perBlock })
          // Every (sender, nonce), shuffled by the picks.
          const all = counts.flatMap((n, s) => Array.from({ length: n }, (_, i) => [s, i + 1]))
          const order: number[][] = []
          const it = picks[Symbol.iterator]()
          while (all.length > 0) order.push(all.splice(it.next().value % all.length, 1)[0]!)
          for (const [s, nonce] of order) {
            await solo.submit(transfer(senders[s!]!, nonce!, 1n))
          }
          const executed: { sender: string; nonce: number; status: string }[] = []
          for (let block = await solo.produceBlock(); block; block = await solo.produceBlock()) {
            expect(block.body.transactions.length).toBeLessThanOrEqual(perBlock)
            block.body.transactions.forEach((t, i) => {
              const p = decodeTransaction(t).payload
              const sender = p.sender.kind === 'account' ? p.sender.address.join() : ''
              executed.push({ sender, nonce: p.nonce, status: block.receipts[i]!.status })
            })
          }
          expect(executed.length).toBe(counts[0] + counts[1])
          expect(executed.every((e) => e.status === 'ok')).toBe(true)
          for (const address of [ALICE, OWNER]) {
            const nonces = executed.filter((e) => e.sender === address.join()).map((e) => e.nonce)
            expect(nonces).toEqual(nonces.map((_, i) => i + 1))
          }
          expect(solo.mempoolSize).toBe(0)
          await solo.stop()
        },
      ),
      { numRuns: 10 },
    )
  })

  test('random bytes are refused with a typed error, and the orderer keeps working', async () => {
    const chain = await openTestChain()
    const solo = await orderer(chain)
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        const code = await codeOf(solo.submit(bytes))
        expect(code).toBe('TX_MALFORMED')
      }),
      { numRuns: 200 },
    )
    await solo.submit(transfer(ALICE_SECRET, 1, 1n))
    expect((await solo.produceBlock())!.receipts.map((r) => r.status)).toEqual(['ok'])
    await solo.stop()
  })
})
