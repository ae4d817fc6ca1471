/**
 * The claim settler over a real DA pool (MemoryKvStore), real signed claims (EdDSA-Poseidon
 * commitments, BLAKE3 hash chains) and the real StateExecutor behind the solo orderer: it
 * settles each (client key, session, seq) by its increase, once; does not send again what the
 * chain settled or rejected; splits batches; settles before the node signals an epoch change;
 * and a failing run is logged, never thrown.
 */
import { describe, expect, test } from 'vitest'
import type { Claim } from '../acks/claim.ts'
import { type Commitment, signCommitment } from '../acks/commitment.ts'
import type { DaPool } from '../acks/da-pool.ts'
import { HashChain } from '../acks/hash-chain.ts'
import type { LogFn, Logger } from '../core/logger.ts'
import { type GeneratedClientKey, generateClientKey } from '../crypto/client-key.ts'
import type { ChainEvent, ExecutedBlock, MethodType, NodeKey } from '../state/model.ts'
import { decodeTransaction } from '../state/transaction.ts'
import { readSettledIndex } from './chain-reads.ts'
import { createClaimSettler } from './claim-settler.ts'
import type { createSoloOrderer } from './solo-orderer.ts'
import {
  ALICE_SECRET,
  accountTx,
  EPOCH_MS,
  NODE_KEY,
  NODE_SEED,
  openTestChain,
  settlerOnChain,
  type TestChain,
} from './testing/chain.ts'

const UNIT = 1024
const LENGTH = 32

/** A client's session whose claims name `node`. */
function session(key: GeneratedClientKey, id: bigint, seq = 0, node: NodeKey = NODE_KEY) {
  const chain = HashChain.create(LENGTH)
  const commitment: Commitment = {
    version: 1,
    service: 0,
    commodity: 0,
    unit: UNIT,
    chainLength: LENGTH,
    seq,
    epoch: 0n,
    session: id,
    nodeKey: node,
    clientKey: key.publicKey,
    anchor: chain.anchor,
  }
  const signed = signCommitment(commitment, key)
  return (index: number): Claim => ({ ...signed, index, reveal: chain.reveal(index) })
}

async function setup(chain: TestChain, options: { maxClaims?: number; logger?: Logger } = {}) {
  return settlerOnChain(chain, {
    maxClaims: options.maxClaims ?? 100,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  })
}

/** Registers `key` to Alice's account (who pays for what it acknowledges). */
async function register(
  orderer: ReturnType<typeof createSoloOrderer>,
  key: GeneratedClientKey,
  nonce = 1,
) {
  await orderer.submit(
    accountTx(ALICE_SECRET, nonce, { type: 'RegisterClientKey', clientKey: key.publicKey }),
  )
  const block = (await orderer.produceBlock())!
  expect(block.receipts.map((r) => r.status)).toEqual(['ok'])
}

const put = (pool: DaPool, claim: Claim) => pool.put(claim, { remotePeer: 'test' })

const methodsOf = (block: ExecutedBlock): MethodType[] =>
  block.body.transactions.map((t) => decodeTransaction(t).payload.method.type)

function eventsOf(block: ExecutedBlock): ChainEvent[] {
  return block.receipts.flatMap((r) => r.events ?? [])
}

const settledUnits = (block: ExecutedBlock) =>
  eventsOf(block).flatMap((e) => (e.type === 'ClaimSettled' ? [e.units] : []))

describe('settling', () => {
  test('each (client key, session, seq) settles its increase, once', async () => {
    const chain = await openTestChain()
    const { orderer, pool, settler } = await setup(chain)
    const key = generateClientKey()
    await register(orderer, key)
    const claims = session(key, 7n)
    // A claim that names another node is not this node's to settle.
    await put(pool, session(key, 8n, 0, new Uint8Array(32).fill(9))(4))

    await put(pool, claims(5))
    expect(await settler.settleNow()).toBe(1)
    // Pending: not sent again.
    expect(await settler.settleNow()).toBe(0)
    const first = (await orderer.produceBlock())!
    expect(methodsOf(first)).toEqual(['SubmitDeliveryClaims'])
    expect(first.receipts.map((r) => r.status)).toEqual(['ok'])
    expect(settledUnits(first)).toEqual([5])
    expect(await readSettledIndex(chain.executor, key.publicKey, 7n, 0, NODE_KEY)).toBe(5)
    expect(await settler.settleNow()).toBe(0)

    await put(pool, claims(9))
    expect(await settler.settleNow()).toBe(1)
    const second = (await orderer.produceBlock())!
    expect(settledUnits(second)).toEqual([4])
    expect(await readSettledIndex(chain.executor, key.publicKey, 7n, 0, NODE_KEY)).toBe(9)

    // A settler that starts afresh (a restart) reads what the chain settled.
    const again = createClaimSettler({
      orderer,
      executor: chain.executor,
      pool,
      nodeSeed: NODE_SEED,
      everyMs: 3_600_000,
      maxClaims: 10,
    })
    expect(await again.settleNow()).toBe(0)
    await settler.stop()
    await orderer.stop()
  })

  test('claims the chain rejected are not sent again at that index', async () => {
    const chain = await openTestChain()
    const { orderer, pool, settler } = await setup(chain)
    const stranger = generateClientKey() // never registered: nobody pays for it
    await put(pool, session(stranger, 1n)(3))
    expect(await settler.settleNow()).toBe(1)
    const block = (await orderer.produceBlock())!
    expect(block.receipts.map((r) => r.status)).toEqual(['TX_INVALID_CLAIM'])
    expect(eventsOf(block).map((e) => e.type)).toEqual(['ClaimRejected'])
    expect(await settler.settleNow()).toBe(0)
    await settler.stop()
    await orderer.stop()
  })

  test('batches of at most maxClaims, each its own node transaction', async () => {
    const chain = await openTestChain()
    const { orderer, pool, settler } = await setup(chain, { maxClaims: 2 })
    const key = generateClientKey()
    await register(orderer, key)
    for (const seq of [0, 1, 2]) await put(pool, session(key, 3n, seq)(seq + 1))
    expect(await settler.settleNow()).toBe(3)
    expect(orderer.mempoolSize).toBe(2)
    const block = (await orderer.produceBlock())!
    expect(methodsOf(block)).toEqual(['SubmitDeliveryClaims', 'SubmitDeliveryClaims'])
    expect(block.body.transactions.map((t) => decodeTransaction(t).payload.nonce)).toEqual([1, 2])
    expect(block.receipts.map((r) => r.status)).toEqual(['ok', 'ok'])
    expect(settledUnits(block).sort()).toEqual([1, 2, 3])
    await settler.stop()
    await orderer.stop()
  })

  test('claims go into the epoch before the node signals its end', async () => {
    const chain = await openTestChain()
    const { orderer, pool, settler } = await setup(chain)
    const key = generateClientKey()
    await register(orderer, key)
    await put(pool, session(key, 5n)(6))
    chain.clock += EPOCH_MS
    const block = (await orderer.produceBlock())!
    expect(methodsOf(block)).toEqual(['SubmitDeliveryClaims', 'ChangeEpoch'])
    expect(block.receipts.map((r) => r.status)).toEqual(['ok', 'ok'])
    expect(block.header.epoch).toBe(0)
    await settler.stop()
    await orderer.stop()
  })

  test('the timers settle by themselves', async () => {
    const chain = await openTestChain()
    const { orderer, pool, settler } = settlerOnChain(
      chain,
      { everyMs: 1, maxClaims: 10 },
      { blockMs: 1 },
    )
    const key = generateClientKey()
    const settled = new Promise<number[]>((resolve) =>
      orderer.onBlock((b) => {
        const units = settledUnits(b)
        if (units.length > 0) resolve(units)
      }),
    )
    orderer.start()
    await orderer.submit(
      accountTx(ALICE_SECRET, 1, { type: 'RegisterClientKey', clientKey: key.publicKey }),
    )
    await put(pool, session(key, 2n)(7))
    expect(await settled).toEqual([7])
    await settler.stop()
    await orderer.stop()
    expect(await readSettledIndex(chain.executor, key.publicKey, 2n, 0, NODE_KEY)).toBe(7)
  })
})

describe('failures', () => {
  test('a run that fails is logged and retried, never thrown', async () => {
    const chain = await openTestChain()
    const warnings: string[] = []
    const warn: LogFn = (obj: object | string, msg?: string) => {
      warnings.push(typeof obj === 'string' ? obj : (msg ?? ''))
    }
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn,
      error: warn,
      child: () => logger,
    }
    const { orderer, pool, settler } = await setup(chain, { logger })
    await pool.close() // the pool's store is gone: list() throws DAS_CLOSED
    expect(await settler.settleNow()).toBe(0)
    expect(warnings).toEqual(['settling claims failed; retrying later'])
    await settler.stop()
    expect(await settler.settleNow()).toBe(0)
    await orderer.stop()
  })
})
