/**
 * Test support for ordering: a one-node chain (the node is the whole committee) opened by the
 * real StateExecutor over a MemoryKvStore, with funded accounts and a clock the test moves, and
 * helpers to sign account transactions for it.
 */
import { createDaPool } from '../../acks/da-pool.ts'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { StateExecutor } from '../../state/executor.ts'
import type { Address, Genesis, Method, ProtocolParam } from '../../state/model.ts'
import { ONE_TOKEN } from '../../state/model.ts'
import { DEVNET_PARAMS } from '../../state/params.ts'
import {
  accountAddressOfSecretKey,
  encodeTransaction,
  makeBlsKey,
  nodeKeyOfSeed,
  signAccountTransaction,
  signNodeTransaction,
} from '../../state/transaction.ts'
import { type ClaimSettlerOptions, createClaimSettler } from '../claim-settler.ts'
import { createSoloOrderer } from '../solo-orderer.ts'

export const CHAIN_ID = 4242
export const GENESIS_MS = 1_750_000_000_000
export const EPOCH_MS = 60_000

const filled = (byte: number) => new Uint8Array(32).fill(byte)

export const NODE_SEED = filled(7)
export const NODE_KEY = nodeKeyOfSeed(NODE_SEED)
/** A second genesis node, for a committee of two (the test plays it by hand). */
export const PEER_SEED = filled(8)
export const PEER_KEY = nodeKeyOfSeed(PEER_SEED)
export const OWNER_SECRET = filled(1)
export const ALICE_SECRET = filled(2)
export const BOB_SECRET = filled(3)
export const OWNER = accountAddressOfSecretKey(OWNER_SECRET)
export const ALICE = accountAddressOfSecretKey(ALICE_SECRET)
export const BOB = accountAddressOfSecretKey(BOB_SECRET)

export interface TestGenesisOptions {
  /** Add PEER_KEY as a second node and committee member. */
  readonly pair?: boolean
}

function genesisNode(seed: Uint8Array) {
  return {
    key: nodeKeyOfSeed(seed),
    owner: OWNER,
    blsKey: makeBlsKey(seed).publicKey,
    addresses: ['/ip4/127.0.0.1/tcp/4001'],
    stake: DEVNET_PARAMS.minimumNodeStake,
  }
}

export function testGenesis(
  params: Partial<Record<ProtocolParam, bigint>> = {},
  options: TestGenesisOptions = {},
): Genesis {
  const seeds = options.pair ? [NODE_SEED, PEER_SEED] : [NODE_SEED]
  return {
    chainId: CHAIN_ID,
    timestampMs: GENESIS_MS,
    bridge: OWNER,
    governance: OWNER,
    params: { ...DEVNET_PARAMS, epochTimeMs: BigInt(EPOCH_MS), ...params },
    prices: [1n, 1n],
    accounts: [
      { address: OWNER, flk: 10_000n * ONE_TOKEN, stables: 1_000n * ONE_TOKEN },
      { address: ALICE, flk: 1_000n * ONE_TOKEN, stables: 1_000n * ONE_TOKEN },
      { address: BOB, flk: 0n, stables: 0n },
    ],
    nodes: seeds.map(genesisNode),
    committee: seeds.map(nodeKeyOfSeed),
  }
}

export interface TestChain {
  readonly executor: StateExecutor
  /** The test's clock: `now()` reads it, the test moves it. */
  clock: number
  readonly now: () => number
}

export async function openTestChain(
  params: Partial<Record<ProtocolParam, bigint>> = {},
  options: TestGenesisOptions = {},
): Promise<TestChain> {
  const executor = await StateExecutor.open(new MemoryKvStore(), testGenesis(params, options))
  const chain: TestChain = { executor, clock: GENESIS_MS + 1, now: () => chain.clock }
  return chain
}

/** An account transaction, signed and encoded. */
export function accountTx(
  secret: Uint8Array,
  nonce: number,
  method: Method,
  chainId = CHAIN_ID,
): Uint8Array {
  const address: Address = accountAddressOfSecretKey(secret)
  return encodeTransaction(
    signAccountTransaction(
      { chainId, sender: { kind: 'account', address }, nonce, method },
      secret,
    ),
  )
}

export function transfer(secret: Uint8Array, nonce: number, amount: bigint, to = BOB): Uint8Array {
  return accountTx(secret, nonce, { type: 'Transfer', to, token: 'USDC', amount })
}

/** A node transaction, signed with `seed` and encoded. */
export function nodeTx(seed: Uint8Array, nonce: number, method: Method): Uint8Array {
  return encodeTransaction(
    signNodeTransaction(
      { chainId: CHAIN_ID, sender: { kind: 'node', key: nodeKeyOfSeed(seed) }, nonce, method },
      seed,
    ),
  )
}

/**
 * A claim settler over a fresh DA pool (MemoryKvStore) on `chain`, behind a solo orderer that
 * makes blocks only when asked (`produceBlock`) or, once the caller starts it, every
 * `ordering.blockMs`; the settler started. `options` go to the settler.
 */
export function settlerOnChain(
  chain: TestChain,
  options: Partial<Omit<ClaimSettlerOptions, 'orderer' | 'executor' | 'pool' | 'nodeSeed'>> = {},
  ordering: { readonly blockMs?: number } = {},
) {
  const orderer = createSoloOrderer({
    executor: chain.executor,
    nodeSeed: NODE_SEED,
    blockMs: ordering.blockMs ?? 60_000,
    maxBlockTransactions: 100,
    now: chain.now,
  })
  const pool = createDaPool(new MemoryKvStore())
  const settler = createClaimSettler({
    orderer,
    executor: chain.executor,
    pool,
    nodeSeed: NODE_SEED,
    everyMs: 3_600_000,
    maxClaims: 100,
    ...options,
  })
  settler.start()
  return { orderer, pool, settler }
}
