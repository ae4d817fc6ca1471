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
 *   DIR/ports.json               each node's loopback ports (gateway, libp2p WebSockets), chosen
 *                                free when the directory is made and reused by every restart
 *
 * Every node, committee and edge, is staked in the genesis (so it is active and earns for what
 * it serves); the committee nodes form the first committee. Unstaked nodes (`unstaked-K`) have
 * keys and ports like the others but are not in the genesis (no stake, no node entry): full
 * nodes a light client must refuse to count as staked. Account keys are secp256k1 files
 * that `fulmen tx --key` reads. Run again on a directory that has them, it reads them back
 * instead of making new ones: a devnet restarts on its chain.
 *
 * Each genesis node's `addresses` is its libp2p WebSockets multiaddr on its chosen port,
 * ending in `/p2p/<peer id>`: committee members find each other by what the chain state says,
 * so the ports are fixed with the genesis (a node listens where the state says it is).
 */
import { access, readFile, rename, writeFile } from 'node:fs/promises'
import { createServer, isIPv4, isIPv6, type Server } from 'node:net'
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
export const PORTS_FILE = 'ports.json'
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
  /** A port the devnet directory fixed for a node is held by another process. */
  | 'DEVNET_PORT_IN_USE'

export class DevnetError extends FulmenError<DevnetErrorCode> {
  override readonly name = 'DevnetError'
}

export type DevnetRole = 'committee' | 'edge' | 'unstaked'

export interface DevnetNodeKeys {
  readonly name: string
  readonly role: DevnetRole
  readonly dataDir: string
  readonly identity: NodeIdentityKey
  readonly bls: BlsKeyPair
  /** Its libp2p WebSockets address, `/ip4/<host>/tcp/<ws port>/ws/p2p/<peer id>` (genesis). */
  readonly multiaddr?: string
}

/** A node's fixed ports (DIR/ports.json). */
export interface DevnetPorts {
  /** The HTTP gateway (`--http-port`). */
  readonly http: number
  /** libp2p WebSockets (`--ws-port`): node to node and browser to node. */
  readonly ws: number
}

/** DIR/ports.json. */
export interface DevnetPortsFile {
  readonly host: string
  readonly nodes: Readonly<Record<string, DevnetPorts>>
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
  /** Committee nodes first (the first orders blocks), then edge nodes, then unstaked ones. */
  readonly nodes: readonly DevnetNodeKeys[]
  /** The address every node listens on. */
  readonly host: string
  /** Each node's fixed ports, by node name. */
  readonly ports: Readonly<Record<string, DevnetPorts>>
  /** Whether the genesis names each node's address (false: a directory made before it did). */
  readonly addressed: boolean
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
  /** Full nodes not in the genesis: no stake, no node entry (default 0). */
  readonly unstaked?: number
  /** Epoch length (default DEVNET_PARAMS: 120 s). */
  readonly epochMs?: number
  /** Funded demo accounts (default 3). */
  readonly demoAccounts?: number
  readonly chainId?: number
  /**
   * Names of the node data dirs (default committee `node-K`, edge `edge-K`, unstaked
   * `unstaked-K`, from 1).
   */
  readonly nodeName?: (role: DevnetRole, index: number) => string
  /** Block 0's time (default now). */
  readonly now?: () => number
  /** The address the nodes listen on, in their genesis addresses (default 127.0.0.1). */
  readonly host?: string
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

/** `count` distinct free TCP ports on `host`, each held until all are drawn. */
async function freePorts(host: string, count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, host, () => resolve())
      })
      servers.push(server)
    }
    return servers.map((s) => (s.address() as { port: number }).port)
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  }
}

/** Rejects with DEVNET_PORT_IN_USE, naming it, when `port` on `host` cannot be listened on. */
export async function checkPortFree(host: string, port: number, what: string): Promise<void> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new DevnetError(
          'DEVNET_PORT_IN_USE',
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} (${what}) is in use by another process: stop it, or start a devnet in another --dir`
            : `port ${port} on ${host} (${what}) cannot be listened on: ${error.message}`,
          { cause: error, details: { host, port } },
        ),
      )
    })
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()))
  })
}

/** The libp2p WebSockets multiaddr of a node listening on `host`:`port`. */
export function wsMultiaddr(host: string, port: number, peerId: string): string {
  const proto = isIPv4(host) ? 'ip4' : isIPv6(host) ? 'ip6' : 'dns4'
  return `/${proto}/${host}/tcp/${port}/ws/p2p/${peerId}`
}

/** The port of a `/tcp/<port>/ws` multiaddr, if it is one. */
function wsPortOf(multiaddr: string | undefined): number | undefined {
  const m = multiaddr === undefined ? null : /\/tcp\/(\d+)\/ws(\/|$)/.exec(multiaddr)
  return m === null ? undefined : Number(m[1])
}

async function writePorts(path: string, file: DevnetPortsFile): Promise<void> {
  await writeFile(`${path}.tmp`, `${JSON.stringify(file, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
}

/**
 * DIR/ports.json: read back, else drawn now (free ports on `host`) and written. A genesis that
 * already names WebSockets ports (ports.json deleted) keeps them; only gateways are drawn anew.
 * Nodes `addable` says may join later (unstaked ones: no genesis names their ports) get ports
 * drawn and added when the file has none for them.
 */
async function devnetPorts(
  dir: string,
  host: string,
  names: readonly string[],
  genesisPortOf: (name: string) => number | undefined,
  addable: (name: string) => boolean,
): Promise<DevnetPortsFile> {
  const path = join(dir, PORTS_FILE)
  if (await exists(path)) {
    let file: DevnetPortsFile
    try {
      file = JSON.parse(await readFile(path, 'utf8')) as DevnetPortsFile
    } catch (error) {
      throw new DevnetError('DEVNET_MISMATCH', `${path} is not JSON: ${(error as Error).message}`)
    }
    if (file.host !== host)
      throw new DevnetError(
        'DEVNET_MISMATCH',
        `${dir} was made for nodes on ${String(file.host)}, not ${host}: use --host ${String(file.host)}, or another --dir`,
      )
    const added = names.filter((name) => file.nodes?.[name] === undefined && addable(name))
    if (added.length > 0) {
      // Free now, but maybe a stopped node's: draw enough that those can be passed over.
      const taken = new Set(Object.values(file.nodes ?? {}).flatMap((p) => [p.http, p.ws]))
      const drawn = (await freePorts(host, added.length * 2 + taken.size)).filter(
        (p) => !taken.has(p),
      )
      const nodes = { ...file.nodes }
      added.forEach((name, i) => {
        nodes[name] = { http: drawn[2 * i]!, ws: drawn[2 * i + 1]! }
      })
      file = { ...file, nodes }
      await writePorts(path, file)
    }
    for (const name of names) {
      const p = file.nodes?.[name]
      if (
        p === undefined ||
        !Number.isInteger(p.http) ||
        !Number.isInteger(p.ws) ||
        p.http <= 0 ||
        p.ws <= 0
      )
        throw new DevnetError('DEVNET_MISMATCH', `${path} names no ports for ${name}`)
    }
    return file
  }
  const drawn = await freePorts(host, names.length * 2)
  const nodes: Record<string, DevnetPorts> = {}
  names.forEach((name, i) => {
    nodes[name] = { http: drawn[2 * i]!, ws: genesisPortOf(name) ?? drawn[2 * i + 1]! }
  })
  const file: DevnetPortsFile = { host, nodes }
  await writePorts(path, file)
  return file
}

const defaultName = (role: DevnetRole, i: number) =>
  role === 'committee' ? `node-${i + 1}` : role === 'edge' ? `edge-${i + 1}` : `unstaked-${i + 1}`

/**
 * The genesis of a devnet with these keys (pure: the same keys and time give the same file).
 * Unstaked nodes are left out of it.
 */
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
  const nodes: GenesisNode[] = options.nodes
    .filter((n) => n.role !== 'unstaked')
    .map((n) => ({
      key: n.identity.nodeKey,
      owner: options.operator.address,
      blsKey: n.bls.publicKey,
      addresses: n.multiaddr === undefined ? [] : [n.multiaddr],
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
  const unstaked = options.unstaked ?? 0
  if (!Number.isSafeInteger(unstaked) || unstaked < 0) {
    throw new DevnetError('DEVNET_MISMATCH', `unstaked nodes: ${unstaked} is not a count`)
  }
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
    ...Array.from({ length: unstaked }, (_, i) => ({
      role: 'unstaked' as const,
      name: name('unstaked', i),
    })),
  ]
  const keys = await Promise.all(specs.map((s) => nodeAt(join(dir, s.name), s.name, s.role)))
  const genesisPath = join(dir, GENESIS_FILE)
  const host = options.host ?? '127.0.0.1'
  const existing = (await exists(genesisPath))
    ? parseGenesis(await readFile(genesisPath, 'utf8'))
    : undefined
  const inExisting = (name: string) => {
    const key = keys.find((k) => k.name === name)!.identity.nodeKey
    return existing?.nodes.find((n) => bytesToHex(n.key) === bytesToHex(key))?.addresses[0]
  }
  const ports = await devnetPorts(
    dir,
    host,
    keys.map((k) => k.name),
    (name) => wsPortOf(inExisting(name)),
    (name) => keys.find((k) => k.name === name)!.role === 'unstaked',
  )
  const nodes = keys.map((k) => ({
    ...k,
    multiaddr: wsMultiaddr(host, ports.nodes[k.name]!.ws, k.identity.peerId),
  }))
  let genesis: Genesis
  let addressed = true
  if (existing !== undefined) {
    genesis = existing
    const inGenesis = new Set(genesis.nodes.map((n) => bytesToHex(n.key)))
    const staked = nodes.filter((n) => n.role !== 'unstaked')
    const missing = staked.filter((n) => !inGenesis.has(bytesToHex(n.identity.nodeKey)))
    const unexpected = nodes.filter(
      (n) => n.role === 'unstaked' && inGenesis.has(bytesToHex(n.identity.nodeKey)),
    )
    if (unexpected.length > 0)
      throw new DevnetError(
        'DEVNET_MISMATCH',
        `${genesisPath} stakes ${unexpected.map((n) => n.name).join(', ')}, asked for unstaked: use another --dir`,
      )
    if (missing.length > 0 || genesis.nodes.length !== staked.length) {
      throw new DevnetError(
        'DEVNET_MISMATCH',
        `${genesisPath} was made for other nodes (${genesis.nodes.length} nodes; ${missing.map((n) => n.name).join(', ') || 'none'} not in it): use another --dir, or the same --nodes and --edge as before`,
      )
    }
    if (formatAddress(genesis.bridge) !== formatAddress(bridge!.key.address)) {
      throw new DevnetError('DEVNET_MISMATCH', `${genesisPath} names another bridge key`)
    }
    // A genesis from before addresses were written names none: it still runs solo.
    addressed = genesis.nodes.every((n) => n.addresses.length > 0)
    for (const n of nodes) {
      const named = inExisting(n.name)
      if (named !== undefined && named !== n.multiaddr)
        throw new DevnetError(
          'DEVNET_MISMATCH',
          `${genesisPath} places ${n.name} at ${named}, ${join(dir, PORTS_FILE)} at ${n.multiaddr}: restore ${PORTS_FILE}, or use another --dir`,
        )
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
    host,
    ports: ports.nodes,
    addressed,
    bridge: bridge!,
    governance: governance!,
    operator: operator!,
    accounts,
  }
}
