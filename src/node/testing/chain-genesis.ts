/**
 * Test support for nodes that run the chain: a one-node genesis around a node identity made
 * ahead of its start (the identity file a node loads from its data directory), with funded
 * accounts whose secret keys the test holds, written where `fulmen node start --genesis` reads it.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { genesisToJson } from '../../state/genesis.ts'
import type { Method } from '../../state/model.ts'
import { type Genesis, ONE_TOKEN, type ProtocolParam } from '../../state/model.ts'
import { DEVNET_PARAMS } from '../../state/params.ts'
import {
  accountAddressOfSecretKey,
  encodeTransaction,
  makeBlsKey,
  signAccountTransaction,
} from '../../state/transaction.ts'
import { ed25519SeedOf } from '../chain/chain-node.ts'
import { loadOrCreateIdentity } from '../identity.ts'
import { writeBlsKeyFile } from '../key-files.ts'

export const TEST_CHAIN_ID = 31_337

const filled = (byte: number) => new Uint8Array(32).fill(byte)

/** Secret keys of the genesis accounts: the owner (also bridge and governance), Alice, Bob. */
export const OWNER_SECRET = filled(0x0a)
export const ALICE_SECRET = filled(0x0b)
export const BOB_SECRET = filled(0x0c)
export const OWNER = accountAddressOfSecretKey(OWNER_SECRET)
export const ALICE = accountAddressOfSecretKey(ALICE_SECRET)
export const BOB = accountAddressOfSecretKey(BOB_SECRET)

export interface TestGenesisOptions {
  readonly chainId?: number
  /** Parameters over DEVNET_PARAMS (default: a day-long epoch, so that no epoch change runs). */
  readonly params?: Partial<Record<ProtocolParam, bigint>>
}

export interface WrittenGenesis {
  readonly path: string
  readonly genesis: Genesis
  /** The node's Ed25519 seed (what its identity file holds). */
  readonly nodeSeed: Uint8Array
}

/**
 * Creates the node identity in `dataDir` (as the node would on its first start) and writes a
 * genesis naming that node as the whole committee to `<dir>/genesis.json`.
 */
export async function writeTestGenesis(
  dir: string,
  dataDir: string,
  options: TestGenesisOptions = {},
): Promise<WrittenGenesis> {
  const { key } = await loadOrCreateIdentity(dataDir)
  const nodeSeed = ed25519SeedOf(key)
  const nodeKey = key.publicKey.raw
  const bls = makeBlsKey(nodeSeed)
  // The key a committee node signs block attestations with, where the node looks by default
  // (once: the file is never overwritten).
  const blsPath = join(dataDir, 'bls.key')
  if (!existsSync(blsPath)) await writeBlsKeyFile(blsPath, bls)
  const genesis: Genesis = {
    chainId: options.chainId ?? TEST_CHAIN_ID,
    timestampMs: Date.now() - 1000,
    bridge: OWNER,
    governance: OWNER,
    params: { ...DEVNET_PARAMS, epochTimeMs: 86_400_000n, ...options.params },
    prices: [1n, 1n],
    accounts: [
      { address: OWNER, flk: 10_000n * ONE_TOKEN, stables: 1_000n * ONE_TOKEN },
      { address: ALICE, flk: 1_000n * ONE_TOKEN, stables: 1_000n * ONE_TOKEN },
    ],
    nodes: [
      {
        key: nodeKey,
        owner: OWNER,
        blsKey: bls.publicKey,
        addresses: ['/ip4/127.0.0.1/tcp/4070/ws'],
        stake: DEVNET_PARAMS.minimumNodeStake,
      },
    ],
    committee: [nodeKey],
  }
  const path = join(dir, 'genesis.json')
  await writeFile(path, genesisToJson(genesis))
  return { path, genesis, nodeSeed }
}

/** An account transaction, signed with `secret` and encoded. */
export function signedAccountTx(
  secret: Uint8Array,
  nonce: number,
  method: Method,
  chainId = TEST_CHAIN_ID,
): Uint8Array {
  const address = accountAddressOfSecretKey(secret)
  return encodeTransaction(
    signAccountTransaction(
      { chainId, sender: { kind: 'account', address }, nonce, method },
      secret,
    ),
  )
}
