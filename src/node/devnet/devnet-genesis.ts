/**
 * A development chain on disk: every key it needs and its genesis, in one directory, for
 * `fulmen devnet start` and `npm start` (src/devnet/local-network.ts) alike.
 *
 *   DIR/genesis.json             the genesis (genesisToJson)
 *   DIR/keys/bridge.key          the bridge account: the only sender of Deposit
 *   DIR/keys/governance.key      the governance account: ChangeProtocolParam
 *   DIR/keys/operator.key        the account that owns (staked) every genesis node
 *   DIR/keys/account-K.key       funded demo accounts (FLK and stables)
 *   DIR/<node>/identity.key      each node's Ed25519 identity, where `fulmen node start` reads it
 *   DIR/<node>/bls.key           each node's BLS key (hex), its committee signing key
 *
 * Every node, committee and edge, is staked in the genesis (so it is active and earns for what
 * it serves); the committee nodes form the first committee. Account keys are secp256k1 files
 * that `fulmen tx --key` reads. Run again on a directory that has them, it reads them back
 * instead of making new ones: a devnet restarts on its chain.
 */
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { FulmenError } from '../../core/errors.ts'
import { genesisToJson, parseGenesis } from '../../state/genesis.ts'
import type { Genesis, GenesisNode } from '../../state/model.ts'
import { ONE_TOKEN } from '../../state/model.ts'
import { DEVNET_PARAMS } from '../../state/params.ts'
import { IDENTITY_FILE } from '../identity.ts'
import {
  type AccountKey,
  type BlsKeyPair,
  formatAddress,
  generateAccountKey,
  generateBlsKey,
  generateNodeIdentity,
  type NodeIdentityKey,
  readAccountKeyFile,
  readBlsKeyFile,
  readNodeIdentityFile,
  writeAccountKeyFile,
  writeBlsKeyFile,
  writeNodeIdentityFile,
} from '../key-files.ts'

export const GENESIS_FILE = 'genesis.json'
export const KEYS_DIR = 'keys'
export const BLS_KEY_FILE = 'bls.key'
/** The devnet's chain id unless told otherwise. */
export const DEVNET_CHAIN_ID = 1515
/** FLK and stables each demo account starts with. */
export const DEMO_FLK = 10_000n * ONE_TOKEN
export const DEMO_STABLES = 1_000n * ONE_TOKEN
/** Stables per byte of bandwidth: one token per GiB (a 64 MiB download costs 0.0625). */
export const DEVNET_BANDWIDTH_PRICE = ONE_TOKEN / 2n ** 30n

export type DevnetErrorCode =
  /** A devnet directory whose genesis does not match what was asked (other nodes, keys). */
  | 'DEVNET_MISMATCH'
  /** A node did not start or did not answer its chain head in time. */
  | 'DEVNET_START_FAILED'

export class DevnetError extends FulmenError<DevnetErrorCode> {
  override readonly name = 'DevnetError'
}

export type DevnetRole = 'committee' | 'edge'

export interface DevnetNodeKeys {
  readonly name: string
  readonly role: DevnetRole
  readonly dataDir: string
  readonly identity: NodeIdentityKey
  readonly bls: BlsKeyPair
}

export interface DevnetAccount {
  readonly name: string
  readonly path: string
  readonly key: AccountKey
}

export interface DevnetLayout {
  readonly dir: string
  readonly genesisPath: string
  readonly genesis: Genesis
  /** Committee nodes first (the first orders blocks), then edge nodes. */
  readonly nodes: readonly DevnetNodeKeys[]
  readonly bridge: DevnetAccount
  readonly governance: DevnetAccount
  readonly operator: DevnetAccount
  readonly accounts: readonly DevnetAccount[]
}

export interface DevnetOptions {
  readonly dir: string
  /** Committee nodes (at least 1). */
  readonly nodes: number
  /** Edge nodes (not in the first committee). */
  readonly edge?: number
  /** Epoch length (default DEVNET_PARAMS: 120 s). */
  readonly epochMs?: number
  /** Funded demo accounts (default 3). */
  readonly demoAccounts?: number
  readonly chainId?: number
  /** Names of the node data dirs (default committee `node-K`, edge `edge-K`, from 1). */
  readonly nodeName?: (role: DevnetRole, index: number) => string
  /** Block 0's time (default now). */
  readonly now?: () => number
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  )

/** The key file at `path`, made when missing. */
async function accountAt(dir: string, name: string): Promise<DevnetAccount> {
  const path = join(dir, KEYS_DIR, `${name}.key`)
  if (await exists(path)) return { name, path, key: await readAccountKeyFile(path) }
  const key = generateAccountKey()
  await writeAccountKeyFile(path, key)
  return { name, path, key }
}

async function nodeAt(dataDir: string, name: string, role: DevnetRole): Promise<DevnetNodeKeys> {
  const identityPath = join(dataDir, IDENTITY_FILE)
  const blsPath = join(dataDir, BLS_KEY_FILE)
  let identity: NodeIdentityKey
  if (await exists(identityPath)) identity = await readNodeIdentityFile(identityPath)
  else {
    identity = await generateNodeIdentity()
    await writeNodeIdentityFile(identityPath, identity)
  }
  let bls: BlsKeyPair
  if (await exists(blsPath)) bls = await readBlsKeyFile(blsPath)
  else {
    bls = generateBlsKey()
    await writeBlsKeyFile(blsPath, bls)
  }
  return { name, role, dataDir, identity, bls }
}

const defaultName = (role: DevnetRole, i: number) =>
  role === 'committee' ? `node-${i + 1}` : `edge-${i + 1}`

/** The genesis of a devnet with these keys (pure: the same keys and time give the same file). */
export function devnetGenesis(options: {
  readonly chainId: number
  readonly timestampMs: number
  readonly epochMs?: number
  readonly bridge: AccountKey
  readonly governance: AccountKey
  readonly operator: AccountKey
  readonly accounts: readonly AccountKey[]
  readonly nodes: readonly DevnetNodeKeys[]
}): Genesis {
  const committee = options.nodes.filter((n) => n.role === 'committee')
  if (committee.length === 0) {
    throw new DevnetError('DEVNET_MISMATCH', 'a devnet needs at least one committee node')
  }
  const params = {
    ...DEVNET_PARAMS,
    // The committee is what the devnet started: an epoch change keeps it that size.
    committeeSize: BigInt(committee.length),
    ...(options.epochMs === undefined ? {} : { epochTimeMs: BigInt(options.epochMs) }),
  }
  const stake = params.minimumNodeStake
  const nodes: GenesisNode[] = options.nodes.map((n) => ({
    key: n.identity.nodeKey,
    owner: options.operator.address,
    blsKey: n.bls.publicKey,
    addresses: [],
    stake,
  }))
  return {
    chainId: options.chainId,
    timestampMs: options.timestampMs,
    bridge: options.bridge.address,
    governance: options.governance.address,
    params,
    prices: [DEVNET_BANDWIDTH_PRICE, ONE_TOKEN],
    accounts: [
      // The operator keeps FLK to stake more nodes; the bridge and governance start empty.
      { address: options.operator.address, flk: DEMO_FLK, stables: 0n },
      ...options.accounts.map((a) => ({
        address: a.address,
        flk: DEMO_FLK,
        stables: DEMO_STABLES,
      })),
    ],
    nodes,
    committee: committee.map((n) => n.identity.nodeKey),
  }
}

/**
 * Makes (or reads back) the keys and the genesis of a devnet in `options.dir`. A directory
 * that already holds a genesis keeps it: its nodes must be the ones asked for.
 */
export async function prepareDevnet(options: DevnetOptions): Promise<DevnetLayout> {
  const edge = options.edge ?? 0
  if (!Number.isSafeInteger(options.nodes) || options.nodes < 1) {
    throw new DevnetError(
      'DEVNET_MISMATCH',
      `a devnet needs at least one node, got ${options.nodes}`,
    )
  }
  const name = options.nodeName ?? defaultName
  const dir = options.dir
  const [bridge, governance, operator] = await Promise.all(
    ['bridge', 'governance', 'operator'].map((n) => accountAt(dir, n)),
  )
  const accounts: DevnetAccount[] = []
  for (let i = 0; i < (options.demoAccounts ?? 3); i++) {
    accounts.push(await accountAt(dir, `account-${i + 1}`))
  }
  const specs = [
    ...Array.from({ length: options.nodes }, (_, i) => ({
      role: 'committee' as const,
      name: name('committee', i),
    })),
    ...Array.from({ length: edge }, (_, i) => ({ role: 'edge' as const, name: name('edge', i) })),
  ]
  const nodes = await Promise.all(specs.map((s) => nodeAt(join(dir, s.name), s.name, s.role)))
  const genesisPath = join(dir, GENESIS_FILE)
  let genesis: Genesis
  if (await exists(genesisPath)) {
    genesis = parseGenesis(await readFile(genesisPath, 'utf8'))
    const inGenesis = new Set(genesis.nodes.map((n) => bytesToHex(n.key)))
    const missing = nodes.filter((n) => !inGenesis.has(bytesToHex(n.identity.nodeKey)))
    if (missing.length > 0 || genesis.nodes.length !== nodes.length) {
      throw new DevnetError(
        'DEVNET_MISMATCH',
        `${genesisPath} was made for other nodes (${genesis.nodes.length} nodes; ${missing.map((n) => n.name).join(', ') || 'none'} not in it): use another --dir, or the same --nodes and --edge as before`,
      )
    }
    if (formatAddress(genesis.bridge) !== formatAddress(bridge!.key.address)) {
      throw new DevnetError('DEVNET_MISMATCH', `${genesisPath} names another bridge key`)
    }
  } else {
    genesis = devnetGenesis({
      chainId: options.chainId ?? DEVNET_CHAIN_ID,
      timestampMs: (options.now ?? Date.now)(),
      ...(options.epochMs === undefined ? {} : { epochMs: options.epochMs }),
      bridge: bridge!.key,
      governance: governance!.key,
      operator: operator!.key,
      accounts: accounts.map((a) => a.key),
      nodes,
    })
    await writeFile(genesisPath, genesisToJson(genesis))
  }
  return {
    dir,
    genesisPath,
    genesis,
    nodes,
    bridge: bridge!,
    governance: governance!,
    operator: operator!,
    accounts,
  }
}
