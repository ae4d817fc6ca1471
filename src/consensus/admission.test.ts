/**
 * Admission against a chain that moves while its reads are in flight: a block executed in
 * between (the same transaction's copy, sent to another member too and ordered there) has
 * settled the mempool already, so what admission adds after it would stay pending for good.
 * The real StateExecutor and Mempool; only the timing of one read is held by the test.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, test } from 'vitest'
import type { ChainExecutor } from '../state/model.ts'
import { decodeTransactionWithDigest } from '../state/transaction.ts'
import { admitTransaction } from './admission.ts'
import { ConsensusError } from './errors.ts'
import { Mempool } from './mempool.ts'
import { ALICE_SECRET, openTestChain, type TestChain, transfer } from './testing/chain.ts'

/** The chain's executor, whose `transaction` reads answer what they read only after `release`
 * (a read in flight while a block executes; the first read waits, later ones do not). */
function heldReads(chain: TestChain) {
  let release!: () => void
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  let reads = 0
  const executor: ChainExecutor = {
    get head() {
      return chain.executor.head
    },
    execute: (body, options) => chain.executor.execute(body, options),
    get: (table, key) => chain.executor.get(table, key),
    block: (height) => chain.executor.block(height),
    prove: (table, key) => chain.executor.prove(table, key),
    async transaction(digest) {
      reads++
      const found = await chain.executor.transaction(digest)
      await held
      return found
    },
  }
  return { executor, release, reads: () => reads }
}

/** Executes `transactions` in the next block and settles the mempool, as an orderer does. */
async function executeAndSettle(chain: TestChain, mempool: Mempool, transactions: Uint8Array[]) {
  const at = chain.executor.head
  const block = await chain.executor.execute({
    chainId: at.chainId,
    height: at.height + 1,
    parent: at.hash,
    timestampMs: chain.now(),
    transactions,
  })
  mempool.applyReceipts(block.receipts)
  return block
}

const admitOptions = (executor: ChainExecutor, mempool: Mempool) => ({
  executor,
  mempool,
  stopped: () => false,
  stoppedError: () => new Error('stopped'),
})

describe('admission while a block executes', () => {
  test('the same transaction executed during its admission is refused as executed, not kept', async () => {
    const chain = await openTestChain()
    const mempool = new Mempool()
    const tx = transfer(ALICE_SECRET, 1, 5n)
    const { digest } = decodeTransactionWithDigest(tx)
    const gate = heldReads(chain)
    const admitting = admitTransaction(tx, admitOptions(gate.executor, mempool))
    const outcome = admitting.then(
      () => 'admitted',
      (e: unknown) => e,
    )
    // Its copy executes elsewhere while the reads are in flight; the settlement finds nothing.
    const block = await executeAndSettle(chain, mempool, [tx])
    expect(block.receipts[0]?.status).toBe('ok')
    gate.release()
    const error = await outcome
    expect(error).toBeInstanceOf(ConsensusError)
    expect((error as ConsensusError).code).toBe('MEMPOOL_DUPLICATE')
    expect(mempool.has(digest)).toBe(false)
    expect(mempool.size).toBe(0)
    expect(gate.reads()).toBe(2) // read again after the head moved
  })

  test('a sender’s nonce taken during the admission is refused as taken, not kept', async () => {
    const chain = await openTestChain()
    const mempool = new Mempool()
    const gate = heldReads(chain)
    const late = transfer(ALICE_SECRET, 1, 7n)
    const outcome = admitTransaction(late, admitOptions(gate.executor, mempool)).then(
      () => 'admitted',
      (e: unknown) => e,
    )
    await executeAndSettle(chain, mempool, [transfer(ALICE_SECRET, 1, 5n)])
    gate.release()
    const error = await outcome
    expect((error as ConsensusError).code).toBe('TX_NONCE')
    expect(mempool.size).toBe(0)
  })

  test('no block in between: one read, and the transaction is kept', async () => {
    const chain = await openTestChain()
    const mempool = new Mempool()
    const gate = heldReads(chain)
    const tx = transfer(ALICE_SECRET, 1, 5n)
    const admitting = admitTransaction(tx, admitOptions(gate.executor, mempool))
    gate.release()
    const admitted = await admitting
    expect(bytesToHex(admitted.digest)).toBe(bytesToHex(decodeTransactionWithDigest(tx).digest))
    expect(mempool.size).toBe(1)
    expect(gate.reads()).toBe(1)
    // And the block that executes it afterwards settles it.
    await executeAndSettle(chain, mempool, [tx])
    expect(mempool.size).toBe(0)
  })
})
