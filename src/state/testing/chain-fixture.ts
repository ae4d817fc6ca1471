/**
 * A small chain for tests: fixed keys (so roots are the same in every run and environment), a
 * genesis over them, and helpers that sign transactions and feed bodies to an executor.
 */

import { encodeClaim } from '../../acks/claim.ts'
import { signCommitment } from '../../acks/commitment.ts'
import { HashChain } from '../../acks/hash-chain.ts'
import { ACK_UNIT } from '../../acks/ledger.ts'
import { deriveKey } from '../../b3/hash.ts'
import type { ClientKey } from '../../crypto/client-key.ts'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { StateExecutor } from '../executor.ts'
import type {
  Address,
  ExecutedBlock,
  Genesis,
  Method,
  ProtocolParam,
  TransactionPayload,
} from '../model.ts'
import { ONE_TOKEN } from '../model.ts'
import { DEVNET_PARAMS } from '../params.ts'
import {
  accountAddressOfSecretKey,
  encodeTransaction,
  makeBlsKey,
  nodeKeyOfSeed,
  signAccountTransaction,
  signNodeTransaction,
} from '../transaction.ts'

export const CHAIN_ID = 59_001
export const GENESIS_MS = 1_700_000_000_000

/** A fixed 32-byte secret from a name. */
export function fixedSecret(name: string): Uint8Array {
  return deriveKey('fulmen 2026 test key', new TextEncoder().encode(name))
}

export interface TestAccount {
  readonly secret: Uint8Array
  readonly address: Address
}

export interface TestNode {
  readonly seed: Uint8Array
  readonly key: Uint8Array
  readonly bls: { secretKey: Uint8Array; publicKey: Uint8Array }
  readonly owner: TestAccount
}

export function testAccount(name: string): TestAccount {
  const secret = fixedSecret(`account ${name}`)
  return { secret, address: accountAddressOfSecretKey(secret) }
}

export function testNode(name: string, owner: TestAccount): TestNode {
  const seed = fixedSecret(`node ${name}`)
  return { seed, key: nodeKeyOfSeed(seed), bls: makeBlsKey(fixedSecret(`bls ${name}`)), owner }
}

export interface TestChain {
  readonly genesis: Genesis
  readonly bridge: TestAccount
  readonly governance: TestAccount
  readonly alice: TestAccount
  readonly bob: TestAccount
  readonly nodes: readonly TestNode[]
}

/** Alice and Bob hold 1,000 FLK and 1,000 USDC each; `nodeCount` nodes of 2,000 FLK stake. */
export function testChain(
  options: { nodeCount?: number; params?: Partial<Record<ProtocolParam, bigint>> } = {},
): TestChain {
  const bridge = testAccount('bridge')
  const governance = testAccount('governance')
  const alice = testAccount('alice')
  const bob = testAccount('bob')
  const operator = testAccount('operator')
  const nodes = Array.from({ length: options.nodeCount ?? 1 }, (_, i) =>
    testNode(`n${i}`, operator),
  )
  const genesis: Genesis = {
    chainId: CHAIN_ID,
    timestampMs: GENESIS_MS,
    bridge: bridge.address,
    governance: governance.address,
    params: { ...DEVNET_PARAMS, beaconCommitBlocks: 3n, beaconRevealBlocks: 3n, ...options.params },
    // A byte costs 10^-9 USDC: a 256 KiB unit costs 0.000262144 USDC.
    prices: [10n ** 9n, 10n ** 12n],
    accounts: [alice, bob, operator].map((a) => ({
      address: a.address,
      flk: 1000n * ONE_TOKEN,
      stables: 1000n * ONE_TOKEN,
    })),
    nodes: nodes.map((n, i) => ({
      key: n.key,
      owner: n.owner.address,
      blsKey: n.bls.publicKey,
      addresses: [`/ip4/127.0.0.1/tcp/${4100 + i}`],
      stake: 2000n * ONE_TOKEN,
    })),
    committee: nodes.map((n) => n.key),
  }
  return { genesis, bridge, governance, alice, bob, nodes }
}

export function openTestExecutor(chain: TestChain, store = new MemoryKvStore()) {
  return StateExecutor.open(store, chain.genesis)
}

export function accountTx(account: TestAccount, nonce: number, method: Method, chainId = CHAIN_ID) {
  const payload: TransactionPayload = {
    chainId,
    sender: { kind: 'account', address: account.address },
    nonce,
    method,
  }
  return encodeTransaction(signAccountTransaction(payload, account.secret))
}

export function nodeTx(node: TestNode, nonce: number, method: Method, chainId = CHAIN_ID) {
  const payload: TransactionPayload = {
    chainId,
    sender: { kind: 'node', key: node.key },
    nonce,
    method,
  }
  return encodeTransaction(signNodeTransaction(payload, node.seed))
}

/** Executes the next block with `transactions`, `stepMs` after the head. */
export function nextBlock(
  executor: StateExecutor,
  transactions: readonly Uint8Array[],
  stepMs = 1000,
): Promise<ExecutedBlock> {
  const head = executor.head
  return executor.execute({
    chainId: head.chainId,
    height: head.height + 1,
    parent: head.hash,
    timestampMs: head.timestampMs + stepMs,
    transactions,
  })
}

/** A claim by `node` for `units` of a session of `client`, with a fresh chain. */
export function makeClaim(
  client: ClientKey,
  nodeKey: Uint8Array,
  units: number,
  options: { session?: bigint; seq?: number; chain?: HashChain; epoch?: bigint } = {},
): Uint8Array {
  const chain = options.chain ?? HashChain.create(64, fixedSecret(`chain ${options.session ?? 1n}`))
  const signed = signCommitment(
    {
      version: 1,
      service: 0,
      commodity: 0,
      unit: ACK_UNIT,
      chainLength: chain.length,
      seq: options.seq ?? 0,
      epoch: options.epoch ?? 0n,
      session: options.session ?? 1n,
      nodeKey,
      clientKey: client.publicKey,
      anchor: chain.anchor,
    },
    client,
  )
  return encodeClaim({ ...signed, index: units, reveal: chain.reveal(units) })
}
