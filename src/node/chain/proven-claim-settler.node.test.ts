/**
 * The claim settler with the real DA batch prover (a worker thread, the committed artifacts)
 * over the real StateExecutor behind the solo orderer: claims go in proven batches of S, a
 * batch too small for a proof and the claims a stopped prover could not prove go natively,
 * everything settles, and the pool records each claim's state, batch id, proof and
 * transaction (what `fulmen node das --json` lists).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Claim } from '../../acks/claim.ts'
import { type Commitment, signCommitment } from '../../acks/commitment.ts'
import { DA_BATCH_SLOTS } from '../../acks/da-batch-artifacts.ts'
import type { DaPool, StoredClaim } from '../../acks/da-pool.ts'
import { PROOF_BYTES } from '../../acks/groth16.ts'
import { HashChain } from '../../acks/hash-chain.ts'
import {
  ALICE_SECRET,
  accountTx,
  NODE_KEY,
  openTestChain,
  settlerOnChain,
  type TestChain,
} from '../../consensus/testing/chain.ts'
import { type GeneratedClientKey, generateClientKey } from '../../crypto/client-key.ts'
import type { DaBatchProver } from '../../prover/da-batch-prover.ts'
import type { ExecutedBlock } from '../../state/model.ts'
import { decodeTransaction } from '../../state/transaction.ts'
import { createWorkerDaBatchProver } from '../prover/worker-prover.ts'
import { useMclGroth16Kernel } from './mcl-bn254.ts'

const LENGTH = 16

function claimOf(key: GeneratedClientKey, session: bigint, index: number): Claim {
  const chain = HashChain.create(LENGTH)
  const commitment: Commitment = {
    version: 1,
    service: 0,
    commodity: 0,
    unit: 1024,
    chainLength: LENGTH,
    seq: 0,
    epoch: 0n,
    session,
    nodeKey: NODE_KEY,
    clientKey: key.publicKey,
    anchor: chain.anchor,
  }
  return { ...signCommitment(commitment, key), index, reveal: chain.reveal(index) }
}

let prover: DaBatchProver
/** The settler's clock (batches short of S wait 20 s for company by it). */
let clock = 1_000_000

beforeAll(async () => {
  await useMclGroth16Kernel()
  prover = createWorkerDaBatchProver()
  await prover.start()
}, 60_000)

afterAll(() => prover?.stop())

async function setUp(chain: TestChain, withProver: DaBatchProver) {
  const { orderer, pool, settler } = settlerOnChain(chain, { prover: withProver, now: () => clock })
  const key = generateClientKey()
  await orderer.submit(
    accountTx(ALICE_SECRET, 1, { type: 'RegisterClientKey', clientKey: key.publicKey }),
  )
  await orderer.produceBlock()
  return { orderer, pool, settler, key }
}

async function listed(pool: DaPool): Promise<StoredClaim[]> {
  const out: StoredClaim[] = []
  for await (const s of pool.list()) out.push(s)
  return out
}

/** Progress is recorded without waiting: let the writes land. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50))

const unitsOf = (block: ExecutedBlock) =>
  block.receipts
    .flatMap((r) => r.events ?? [])
    .flatMap((e) => (e.type === 'ClaimSettled' ? [e.units] : []))
    .sort((a, b) => a - b)

const shapeOf = (block: ExecutedBlock) =>
  block.body.transactions.map((t) => {
    const m = decodeTransaction(t).payload.method
    return m.type === 'SubmitDeliveryClaims'
      ? { claims: m.claims.length, proofs: m.proofs?.length ?? 0 }
      : m.type
  })

describe('claims settled through proofs', () => {
  test('full batches are proven; a short batch waits for company, then is proven; a lone claim goes natively', async () => {
    const chain = await openTestChain()
    const { orderer, pool, settler, key } = await setUp(chain, prover)
    const claim = (i: number) => claimOf(key, BigInt(100 + i), 3 + i)
    for (let i = 0; i < 2 * DA_BATCH_SLOTS + 1; i++) await pool.put(claim(i), { remotePeer: 't' })
    // Two full batches now; the eleventh claim waits.
    expect(await settler.settleNow()).toBe(2 * DA_BATCH_SLOTS)
    await settle()
    const before = await listed(pool)
    expect(before.map((c) => c.progress.state)).toEqual([
      ...Array(2 * DA_BATCH_SLOTS).fill('submitted'),
      'pending',
    ])
    const proven = before.filter((c) => c.progress.batch !== undefined)
    expect(proven).toHaveLength(2 * DA_BATCH_SLOTS)
    expect(new Set(proven.map((c) => c.progress.batch)).size).toBe(2)
    for (const c of proven) {
      expect(c.progress.batch).toMatch(/^[0-9a-f]{64}$/)
      expect(c.progress.proof).toHaveLength(PROOF_BYTES * 2)
      expect(c.progress.transaction).toMatch(/^[0-9a-f]{64}$/)
    }
    const first = (await orderer.produceBlock())!
    expect(shapeOf(first)).toEqual([{ claims: 2 * DA_BATCH_SLOTS, proofs: 2 }])
    expect(first.receipts.map((r) => r.status)).toEqual(['ok'])
    expect(unitsOf(first)).toEqual(Array.from({ length: 2 * DA_BATCH_SLOTS }, (_, i) => 3 + i))
    await settle()
    expect((await listed(pool)).filter((c) => c.progress.state === 'settled')).toHaveLength(
      2 * DA_BATCH_SLOTS,
    )

    // Two more: three claims, short of S, wait until the oldest has waited 20 s.
    for (const i of [11, 12]) await pool.put(claim(i), { remotePeer: 't' })
    expect(await settler.settleNow()).toBe(0)
    clock += 20_000
    expect(await settler.settleNow()).toBe(3)
    const second = (await orderer.produceBlock())!
    expect(shapeOf(second)).toEqual([{ claims: 3, proofs: 1 }])
    expect(second.receipts.map((r) => r.status)).toEqual(['ok'])

    // One alone at the epoch's end (flush): natively, without waiting.
    await pool.put(claim(13), { remotePeer: 't' })
    expect(await settler.settleNow(undefined, { flush: true })).toBe(1)
    const third = (await orderer.produceBlock())!
    expect(shapeOf(third)).toEqual([{ claims: 1, proofs: 0 }])
    await settle()
    const after = await listed(pool)
    expect(after.map((c) => c.progress.state)).toEqual(Array(14).fill('settled'))
    expect(new Set(after.map((c) => c.progress.batch)).size).toBe(4) // three batches, and none
    expect(await settler.settleNow()).toBe(0)
    await settler.stop()
    await orderer.stop()
  }, 120_000)

  test('a prover that cannot prove does not hold claims back: they go natively', async () => {
    const chain = await openTestChain()
    // Started, then stopped: every prove is refused (ACK_PROVER_STOPPED).
    const stopped = createWorkerDaBatchProver()
    await stopped.start()
    await stopped.stop()
    const { orderer, pool, settler, key } = await setUp(chain, stopped)
    for (let i = 0; i < DA_BATCH_SLOTS; i++) {
      await pool.put(claimOf(key, BigInt(200 + i), 2), { remotePeer: 'test' })
    }
    expect(await settler.settleNow()).toBe(DA_BATCH_SLOTS)
    const block = (await orderer.produceBlock())!
    expect(shapeOf(block)).toEqual([{ claims: DA_BATCH_SLOTS, proofs: 0 }])
    expect(block.receipts.map((r) => r.status)).toEqual(['ok'])
    await settle()
    const states = (await listed(pool)).map((c) => [c.progress.state, c.progress.batch])
    expect(states).toEqual(Array(DA_BATCH_SLOTS).fill(['settled', undefined]))
    await settler.stop()
    await orderer.stop()
  }, 60_000)
  test('a proof the chain refuses: the batch is pending again, then settles natively', async () => {
    const chain = await openTestChain()
    // The real prover, its proof's last byte changed on the way (a broken prover or kernel).
    const lying: DaBatchProver = Object.create(prover, {
      prove: {
        value: async (claims: Parameters<DaBatchProver['prove']>[0], signal?: AbortSignal) => {
          const batch = await prover.prove(claims, signal)
          const proof = batch.proof.slice()
          proof[PROOF_BYTES - 1] = (proof[PROOF_BYTES - 1] as number) ^ 1
          return { ...batch, proof }
        },
      },
    })
    const { orderer, pool, settler, key } = await setUp(chain, lying)
    for (let i = 0; i < DA_BATCH_SLOTS; i++) {
      await pool.put(claimOf(key, BigInt(300 + i), 4), { remotePeer: 'test' })
    }
    expect(await settler.settleNow()).toBe(DA_BATCH_SLOTS)
    const refused = (await orderer.produceBlock())!
    expect(shapeOf(refused)).toEqual([{ claims: DA_BATCH_SLOTS, proofs: 1 }])
    expect(refused.receipts.map((r) => r.status)).toEqual(['TX_INVALID_CLAIM'])
    await settle()
    const pending = await listed(pool)
    expect(pending.map((c) => c.progress.state)).toEqual(Array(DA_BATCH_SLOTS).fill('pending'))
    expect(pending[0]?.progress.reason).toMatch(/^the batch proof is malformed: /)
    // Next run: natively, and everything settles.
    expect(await settler.settleNow()).toBe(DA_BATCH_SLOTS)
    const native = (await orderer.produceBlock())!
    expect(shapeOf(native)).toEqual([{ claims: DA_BATCH_SLOTS, proofs: 0 }])
    expect(native.receipts.map((r) => r.status)).toEqual(['ok'])
    await settle()
    expect((await listed(pool)).map((c) => c.progress.state)).toEqual(
      Array(DA_BATCH_SLOTS).fill('settled'),
    )
    await settler.stop()
    await orderer.stop()
  }, 60_000)
})
