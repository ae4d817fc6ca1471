/**
 * The full node's configuration: defaults, then a JSON file, then environment variables, then
 * command-line flags, each overriding the one before. Every value is checked here, so the
 * rest of the node can trust it.
 */
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { FulmenError, type FulmenErrorOptions } from '../core/errors.ts'

export interface NodeConfig {
  /** Keys, block store and LevelDB live here. */
  readonly dataDir: string
  /** Address every listener binds to. */
  readonly host: string
  /** HTTP gateway, metrics and health (0 = any free port). */
  readonly httpPort: number
  /** libp2p WebSockets (browsers connect here). */
  readonly wsPort: number
  /** libp2p WebRTC-direct (UDP). */
  readonly webrtcPort: number
  /** Block store size limit in bytes; least recently used unpinned content goes first. */
  readonly cacheSize: number
  readonly origins: {
    /** Trustless IPFS gateways, tried in order. Empty: IPFS pointers are refused. */
    readonly ipfsGateways: readonly string[]
    /** Whether HTTP(S) pointers with Subresource Integrity may be fetched. */
    readonly http: boolean
    /** Largest content fetched from an origin, bytes. */
    readonly maxBytes: number
    /** Longest an origin fetch may take, milliseconds. */
    readonly timeoutMs: number
  }
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** How long shutdown waits for open responses before cutting them, milliseconds. */
  readonly shutdownGraceMs: number
  /** Sessions over libp2p (docs/protocol.md, "Sessions"). */
  readonly sessions: {
    /** W: blocks a session may run ahead of its last acknowledgement. */
    readonly ackWindow: number
    /** How long a session waits for an acknowledgement before it ends, milliseconds. */
    readonly ackTimeoutMs: number
    /** Deadline of the handshake from stream open, milliseconds. */
    readonly handshakeTimeoutMs: number
    /** Sessions one client key may hold, idle ones included (advertised in CHALLENGE). */
    readonly maxSessionsPerClient: number
    /** Streams one session may have open, its primary included (advertised in CHALLENGE). */
    readonly maxStreamsPerSession: number
    /**
     * Sessions the node holds, idle ones included: at the cap a new one evicts the session
     * idle the longest, and is refused only when every session has an open stream.
     */
    readonly maxSessions: number
    /** Streams open on the whole node: the bound on the memory that serving holds. */
    readonly maxStreams: number
    /** Length of an epoch (commitments name the current one), milliseconds. */
    readonly epochMs: number
  }
  /** Background re-hashing of the block store (src/node/store-scrubber.ts). */
  readonly scrub: {
    /** Bytes re-hashed per second at most (0: no scrubbing). */
    readonly rate: number
    /** Pause between two passes over the store, milliseconds. */
    readonly intervalMs: number
  }
  /** The chain (issue 15): run when `genesis` names a genesis file (src/node/chain/chain-node.ts). */
  readonly chain: ChainConfig
}

export interface ChainConfig {
  /** Path to genesis.json; absent: the node runs no chain and `/chain/*` answers 404. */
  readonly genesis?: string
  /**
   * `solo`: this node orders the transactions it receives; `follow`: it re-executes another's;
   * `committee`: it orders with the epoch's committee (Narwhal + Bullshark) when it is a member.
   */
  readonly consensus: 'solo' | 'follow' | 'committee'
  /**
   * The gateway URLs of the nodes to follow (`follow` only), in order of preference: the
   * follower moves to the next when one fails or stops advancing (chain-follower.ts).
   */
  readonly follow?: readonly string[]
  /**
   * The node's BLS secret key file (`committee` only; default `<dataDir>/bls.key`, the file
   * `fulmen devnet` writes): read with `loadBlsSecretKey` (src/node/key-files.ts).
   */
  readonly blsKey?: string
  /** How long the solo orderer gathers transactions into a block, milliseconds. */
  readonly blockMs: number
  /** Transactions in one block at most. */
  readonly maxBlockTransactions: number
  /** How often the node submits its DA pool's claims, milliseconds. */
  readonly settleEveryMs: number
  /** Claims in one settlement transaction at most. */
  readonly maxClaimsPerSettlement: number
  /**
   * Prove batches of claims with the DA batch circuit (circuits/artifacts) in a worker thread,
   * so the committee checks one proof per batch (default true). Without the artifacts (an
   * install from the package, which leaves them out) the node says so and settles natively.
   */
  readonly proveClaims: boolean
  /** The fewest claims worth a proof (2): a smaller batch settles natively. */
  readonly proveFrom: number
  /**
   * Measure the other nodes (issue 19): answer and send signed pings over
   * `/fulmen/ping/1.0.0` and submit the measurements once or twice an epoch (default true).
   */
  readonly measure: boolean
  /** How often every other active node is pinged, milliseconds (10,000). */
  readonly pingEveryMs: number
  /**
   * `committee` only: the Narwhal/Bullshark rounds kept below the last committed leader (300).
   * A member down longer than about twice this many rounds leaves the DAG, follows by blocks,
   * then rejoins.
   */
  readonly gcDepth: number
}

export class ConfigError extends FulmenError<'CONFIG_INVALID'> {
  override readonly name = 'ConfigError'

  constructor(message: string, options?: FulmenErrorOptions) {
    super('CONFIG_INVALID', message, options)
  }
}

/** Partial configuration from one source (file, environment, flags). */
export type ConfigLayer = {
  [K in keyof NodeConfig]?: K extends 'origins' | 'sessions' | 'scrub' | 'chain'
    ? Partial<NodeConfig[K]>
    : NodeConfig[K]
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share')
  return join(base, 'fulmen')
}

export function defaults(env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return {
    dataDir: defaultDataDir(env),
    host: '127.0.0.1',
    httpPort: 4069,
    wsPort: 4070,
    webrtcPort: 4071,
    cacheSize: 10 * 1024 ** 3,
    origins: { ipfsGateways: [], http: true, maxBytes: 4 * 1024 ** 3, timeoutMs: 120_000 },
    logLevel: 'info',
    shutdownGraceMs: 10_000,
    sessions: {
      ackWindow: 16,
      ackTimeoutMs: 10_000,
      handshakeTimeoutMs: 5_000,
      maxSessionsPerClient: 16,
      maxStreamsPerSession: 8,
      // 128 clients each at its full 8 streams; idle sessions (an acknowledgement ledger each,
      // a few hundred bytes) are evicted first, so the session cap bounds memory, not clients.
      maxSessions: 1024,
      // About 1 MiB of buffers per busy stream at most (libp2p's send window, the block being
      // framed): 1 GiB in the worst case, 4x the 20 clients x 8 streams of the load test.
      maxStreams: 1024,
      epochMs: 86_400_000,
    },
    // 16 MiB/s: a pass over 50 GiB takes under an hour, at about 6 % of a core (measured,
    // docs/benchmarks.md "Store checks").
    scrub: { rate: 16 * 1024 ** 2, intervalMs: 3_600_000 },
    chain: {
      consensus: 'solo',
      blockMs: 250,
      maxBlockTransactions: 1000,
      settleEveryMs: 5000,
      maxClaimsPerSettlement: 256,
      proveClaims: true,
      proveFrom: 2,
      measure: true,
      pingEveryMs: 10_000,
      gcDepth: 300,
    },
  }
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
}

/** `10GiB`, `512 MB`, `1048576` → bytes. */
export function parseSize(input: string | number, what: string): number {
  if (typeof input === 'number') return checkNonNegative(input, what)
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input)
  const unit = m === null ? undefined : SIZE_UNITS[m[2]!.toLowerCase()]
  if (m === null || unit === undefined)
    throw new ConfigError(`${what}: '${input}' is not a size (e.g. 10GiB, 512MB)`)
  return checkNonNegative(Math.floor(Number(m[1]) * unit), what)
}

function checkNonNegative(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ConfigError(`${what}: ${n} is not a non-negative integer`)
  return n
}

export function parsePort(input: string | number, what: string): number {
  const n = typeof input === 'number' ? input : Number(input)
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new ConfigError(`${what}: '${input}' is not a port (0-65535)`)
  return n
}

function parseBoolean(input: string, what: string): boolean {
  if (/^(1|true|yes|on)$/i.test(input)) return true
  if (/^(0|false|no|off)$/i.test(input)) return false
  throw new ConfigError(`${what}: '${input}' is not a boolean`)
}

function parseLogLevel(input: string, what: string): NodeConfig['logLevel'] {
  if ((LOG_LEVELS as readonly string[]).includes(input)) return input as NodeConfig['logLevel']
  throw new ConfigError(`${what}: '${input}' is not one of ${LOG_LEVELS.join(', ')}`)
}

function parseGateways(input: string | readonly string[], what: string): string[] {
  const list = typeof input === 'string' ? input.split(',') : [...input]
  return list
    .map((g) => g.trim())
    .filter((g) => g.length > 0)
    .map((g) => {
      let url: URL
      try {
        url = new URL(g)
      } catch {
        throw new ConfigError(`${what}: '${g}' is not a URL`)
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ConfigError(`${what}: '${g}' is not http(s)`)
      return g.replace(/\/+$/, '')
    })
}

const SESSION_KEYS = [
  'ackWindow',
  'ackTimeoutMs',
  'handshakeTimeoutMs',
  'maxSessionsPerClient',
  'maxStreamsPerSession',
  'maxSessions',
  'maxStreams',
  'epochMs',
] as const

const SESSION_ENV: readonly (readonly [string, (typeof SESSION_KEYS)[number]])[] = [
  ['FULMEN_ACK_WINDOW', 'ackWindow'],
  ['FULMEN_ACK_TIMEOUT_MS', 'ackTimeoutMs'],
  ['FULMEN_HANDSHAKE_TIMEOUT_MS', 'handshakeTimeoutMs'],
  ['FULMEN_MAX_SESSIONS_PER_CLIENT', 'maxSessionsPerClient'],
  ['FULMEN_MAX_STREAMS_PER_SESSION', 'maxStreamsPerSession'],
  ['FULMEN_MAX_SESSIONS', 'maxSessions'],
  ['FULMEN_MAX_STREAMS', 'maxStreams'],
  ['FULMEN_EPOCH_MS', 'epochMs'],
]

/** The window travels in CHALLENGE as a u16. */
function checkAckWindow(value: unknown, what: string): void {
  if (typeof value === 'number' && value > 65_535)
    throw new ConfigError(`${what}: ${value} is above the largest window, 65535 blocks`)
}

function checkPositive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ConfigError(`${what}: ${n} is not a positive integer`)
  return n
}

/** A count from a flag or a variable (`--max-streams 512`). */
export function parsePositive(input: string | number, what: string): number {
  const n = typeof input === 'number' ? input : Number(input.trim() === '' ? Number.NaN : input)
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new ConfigError(`${what}: '${input}' is not a positive integer`)
  return n
}

/** The layer named by FULMEN_* environment variables. */
export function envLayer(env: NodeJS.ProcessEnv = process.env): ConfigLayer {
  const layer: Record<string, unknown> = {}
  const origins: Record<string, unknown> = {}
  if (env.FULMEN_DATA_DIR) layer.dataDir = resolve(env.FULMEN_DATA_DIR)
  if (env.FULMEN_HOST) layer.host = env.FULMEN_HOST
  if (env.FULMEN_HTTP_PORT) layer.httpPort = parsePort(env.FULMEN_HTTP_PORT, 'FULMEN_HTTP_PORT')
  if (env.FULMEN_WS_PORT) layer.wsPort = parsePort(env.FULMEN_WS_PORT, 'FULMEN_WS_PORT')
  if (env.FULMEN_WEBRTC_PORT)
    layer.webrtcPort = parsePort(env.FULMEN_WEBRTC_PORT, 'FULMEN_WEBRTC_PORT')
  if (env.FULMEN_CACHE_SIZE) layer.cacheSize = parseSize(env.FULMEN_CACHE_SIZE, 'FULMEN_CACHE_SIZE')
  if (env.FULMEN_LOG_LEVEL) layer.logLevel = parseLogLevel(env.FULMEN_LOG_LEVEL, 'FULMEN_LOG_LEVEL')
  if (env.FULMEN_IPFS_GATEWAYS !== undefined) {
    origins.ipfsGateways = parseGateways(env.FULMEN_IPFS_GATEWAYS, 'FULMEN_IPFS_GATEWAYS')
  }
  if (env.FULMEN_HTTP_ORIGINS)
    origins.http = parseBoolean(env.FULMEN_HTTP_ORIGINS, 'FULMEN_HTTP_ORIGINS')
  if (env.FULMEN_ORIGIN_MAX_BYTES)
    origins.maxBytes = parseSize(env.FULMEN_ORIGIN_MAX_BYTES, 'FULMEN_ORIGIN_MAX_BYTES')
  if (env.FULMEN_ORIGIN_TIMEOUT_MS)
    origins.timeoutMs = checkNonNegative(
      Number(env.FULMEN_ORIGIN_TIMEOUT_MS),
      'FULMEN_ORIGIN_TIMEOUT_MS',
    )
  if (Object.keys(origins).length > 0) layer.origins = origins
  const sessions: Record<string, unknown> = {}
  for (const [name, key] of SESSION_ENV) {
    const value = env[name]
    if (value) sessions[key] = checkPositive(Number(value), name)
  }
  checkAckWindow(sessions.ackWindow, 'FULMEN_ACK_WINDOW')
  if (Object.keys(sessions).length > 0) layer.sessions = sessions
  const scrub: Record<string, unknown> = {}
  if (env.FULMEN_SCRUB_RATE) scrub.rate = parseSize(env.FULMEN_SCRUB_RATE, 'FULMEN_SCRUB_RATE')
  if (env.FULMEN_SCRUB_INTERVAL_MS)
    scrub.intervalMs = checkNonNegative(
      Number(env.FULMEN_SCRUB_INTERVAL_MS),
      'FULMEN_SCRUB_INTERVAL_MS',
    )
  if (Object.keys(scrub).length > 0) layer.scrub = scrub
  const chain: Record<string, unknown> = {}
  if (env.FULMEN_GENESIS) chain.genesis = resolve(env.FULMEN_GENESIS)
  if (env.FULMEN_CONSENSUS)
    chain.consensus = parseConsensus(env.FULMEN_CONSENSUS, 'FULMEN_CONSENSUS')
  if (env.FULMEN_FOLLOW) chain.follow = parseFollow(env.FULMEN_FOLLOW, 'FULMEN_FOLLOW')
  if (env.FULMEN_BLS_KEY) chain.blsKey = resolve(env.FULMEN_BLS_KEY)
  if (env.FULMEN_SETTLE_EVERY_MS)
    chain.settleEveryMs = parsePositive(env.FULMEN_SETTLE_EVERY_MS, 'FULMEN_SETTLE_EVERY_MS')
  if (env.FULMEN_PROVE_CLAIMS)
    chain.proveClaims = parseBoolean(env.FULMEN_PROVE_CLAIMS, 'FULMEN_PROVE_CLAIMS')
  if (env.FULMEN_PROVE_FROM)
    chain.proveFrom = parsePositive(env.FULMEN_PROVE_FROM, 'FULMEN_PROVE_FROM')
  if (env.FULMEN_MEASURE) chain.measure = parseBoolean(env.FULMEN_MEASURE, 'FULMEN_MEASURE')
  if (env.FULMEN_PING_EVERY_MS)
    chain.pingEveryMs = parsePositive(env.FULMEN_PING_EVERY_MS, 'FULMEN_PING_EVERY_MS')
  if (env.FULMEN_GC_DEPTH) chain.gcDepth = parsePositive(env.FULMEN_GC_DEPTH, 'FULMEN_GC_DEPTH')
  if (Object.keys(chain).length > 0) layer.chain = chain
  return layer as ConfigLayer
}

const CONSENSUS_MODES = ['solo', 'follow', 'committee'] as const

export function parseConsensus(input: string, what: string): ChainConfig['consensus'] {
  if ((CONSENSUS_MODES as readonly string[]).includes(input))
    return input as ChainConfig['consensus']
  throw new ConfigError(`${what}: '${input}' is not one of ${CONSENSUS_MODES.join(', ')}`)
}

/**
 * The followed nodes' gateways: http(s) URLs, a comma list in a flag or variable, an array in
 * the file; kept without a trailing slash, each once, in the order given.
 */
export function parseFollow(input: string | readonly string[], what: string): string[] {
  const urls = parseGateways(input, what)
  if (urls.length === 0)
    throw new ConfigError(`${what}: '${String(input)}' names no http(s) URL to follow`)
  const seen = new Set<string>()
  for (const url of urls) {
    if (seen.has(url)) throw new ConfigError(`${what}: '${url}' is listed twice`)
    seen.add(url)
  }
  return urls
}

/** The BLS secret key file a committee node signs with, by default in its data directory. */
export function blsKeyPath(config: NodeConfig): string {
  return config.chain.blsKey ?? join(config.dataDir, 'bls.key')
}

const CHAIN_COUNTS = [
  'blockMs',
  'maxBlockTransactions',
  'settleEveryMs',
  'maxClaimsPerSettlement',
  'proveFrom',
  'pingEveryMs',
  'gcDepth',
] as const
const CHAIN_KEYS = [
  'genesis',
  'consensus',
  'follow',
  'blsKey',
  'proveClaims',
  'measure',
  ...CHAIN_COUNTS,
] as const

/** The `chain` object of a config file. */
function chainFileLayer(g: unknown, source: string): Record<string, unknown> {
  if (typeof g !== 'object' || g === null || Array.isArray(g))
    throw new ConfigError(`${source}: 'chain' must be an object`)
  const o = g as Record<string, unknown>
  const chain: Record<string, unknown> = {}
  for (const key of Object.keys(o)) {
    if (!(CHAIN_KEYS as readonly string[]).includes(key))
      throw new ConfigError(`${source}: unknown setting 'chain.${key}'`)
  }
  for (const key of ['genesis', 'consensus', 'blsKey'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'string')
      throw new ConfigError(`${source}: chain.${key} must be a string`)
  }
  if (o.genesis !== undefined) chain.genesis = resolve(o.genesis as string)
  if (o.consensus !== undefined)
    chain.consensus = parseConsensus(o.consensus as string, `${source}: chain.consensus`)
  if (o.follow !== undefined) {
    // An array of URLs; one string is taken as a list of one.
    const follow = o.follow
    if (
      typeof follow !== 'string' &&
      !(Array.isArray(follow) && follow.every((u) => typeof u === 'string'))
    )
      throw new ConfigError(`${source}: chain.follow must be an array of URLs`)
    chain.follow = parseFollow(follow as string | string[], `${source}: chain.follow`)
  }
  if (o.blsKey !== undefined) chain.blsKey = resolve(o.blsKey as string)
  for (const key of ['proveClaims', 'measure'] as const) {
    if (o[key] === undefined) continue
    if (typeof o[key] !== 'boolean')
      throw new ConfigError(`${source}: chain.${key} must be a boolean`)
    chain[key] = o[key]
  }
  for (const key of CHAIN_COUNTS) {
    if (o[key] !== undefined)
      chain[key] = checkPositive(o[key] as number, `${source}: chain.${key}`)
  }
  return chain
}

/**
 * What no single layer can check: `follow` mode needs the URL to follow, from whichever layer.
 * `loadConfig` calls it on the merged configuration. (The BLS key of `committee` mode is read
 * when the node starts: its default depends on the data directory of the merged config.)
 */
export function checkChainConfig(config: NodeConfig): NodeConfig {
  const { chain } = config
  if (chain.genesis !== undefined && chain.consensus === 'follow' && chain.follow === undefined)
    throw new ConfigError(
      'chain: consensus follow needs the gateway URL(s) of the node(s) to follow (--follow, FULMEN_FOLLOW, chain.follow)',
    )
  return config
}

/** Checks a parsed JSON config file and turns it into a layer. */
export function fileLayer(json: unknown, source: string): ConfigLayer {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`${source}: the configuration must be a JSON object`)
  }
  const known = new Set(Object.keys(defaults()))
  const o = json as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw new ConfigError(`${source}: unknown setting '${key}'`)
  }
  const layer: Record<string, unknown> = {}
  const str = (k: string) => {
    if (typeof o[k] !== 'string') throw new ConfigError(`${source}: '${k}' must be a string`)
    return o[k] as string
  }
  if (o.dataDir !== undefined) layer.dataDir = resolve(str('dataDir'))
  if (o.host !== undefined) layer.host = str('host')
  for (const k of ['httpPort', 'wsPort', 'webrtcPort'] as const) {
    if (o[k] !== undefined) layer[k] = parsePort(o[k] as number, `${source}: ${k}`)
  }
  if (o.cacheSize !== undefined)
    layer.cacheSize = parseSize(o.cacheSize as string | number, `${source}: cacheSize`)
  if (o.logLevel !== undefined)
    layer.logLevel = parseLogLevel(str('logLevel'), `${source}: logLevel`)
  if (o.shutdownGraceMs !== undefined)
    layer.shutdownGraceMs = checkNonNegative(
      o.shutdownGraceMs as number,
      `${source}: shutdownGraceMs`,
    )
  if (o.origins !== undefined) {
    const g = o.origins as Record<string, unknown>
    if (typeof g !== 'object' || g === null)
      throw new ConfigError(`${source}: 'origins' must be an object`)
    const origins: Record<string, unknown> = {}
    if (g.ipfsGateways !== undefined) {
      if (!Array.isArray(g.ipfsGateways))
        throw new ConfigError(`${source}: origins.ipfsGateways must be an array`)
      origins.ipfsGateways = parseGateways(
        g.ipfsGateways as string[],
        `${source}: origins.ipfsGateways`,
      )
    }
    if (g.http !== undefined) {
      if (typeof g.http !== 'boolean')
        throw new ConfigError(`${source}: origins.http must be a boolean`)
      origins.http = g.http
    }
    if (g.maxBytes !== undefined)
      origins.maxBytes = parseSize(g.maxBytes as string | number, `${source}: origins.maxBytes`)
    if (g.timeoutMs !== undefined)
      origins.timeoutMs = checkNonNegative(g.timeoutMs as number, `${source}: origins.timeoutMs`)
    layer.origins = origins
  }
  if (o.sessions !== undefined) {
    const g = o.sessions as Record<string, unknown>
    if (typeof g !== 'object' || g === null)
      throw new ConfigError(`${source}: 'sessions' must be an object`)
    const sessions: Record<string, unknown> = {}
    for (const key of Object.keys(g)) {
      if (!(SESSION_KEYS as readonly string[]).includes(key))
        throw new ConfigError(`${source}: unknown setting 'sessions.${key}'`)
      sessions[key] = checkPositive(g[key] as number, `${source}: sessions.${key}`)
    }
    checkAckWindow(sessions.ackWindow, `${source}: sessions.ackWindow`)
    layer.sessions = sessions
  }
  if (o.scrub !== undefined) {
    const g = o.scrub as Record<string, unknown>
    if (typeof g !== 'object' || g === null)
      throw new ConfigError(`${source}: 'scrub' must be an object`)
    const scrub: Record<string, unknown> = {}
    for (const key of Object.keys(g)) {
      if (key !== 'rate' && key !== 'intervalMs')
        throw new ConfigError(`${source}: unknown setting 'scrub.${key}'`)
    }
    // A rate is a size per second: `"16MiB"` or a number of bytes.
    if (g.rate !== undefined)
      scrub.rate = parseSize(g.rate as string | number, `${source}: scrub.rate`)
    if (g.intervalMs !== undefined)
      scrub.intervalMs = checkNonNegative(g.intervalMs as number, `${source}: scrub.intervalMs`)
    layer.scrub = scrub
  }
  if (o.chain !== undefined) layer.chain = chainFileLayer(o.chain, source)
  return layer as ConfigLayer
}

export async function readConfigFile(path: string): Promise<ConfigLayer> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message}`)
  }
  return fileLayer(json, path)
}

/** Applies layers in order over the defaults. */
export function mergeConfig(base: NodeConfig, ...layers: ConfigLayer[]): NodeConfig {
  let config = base
  for (const layer of layers) {
    config = {
      ...config,
      ...layer,
      origins: { ...config.origins, ...layer.origins },
      sessions: { ...config.sessions, ...layer.sessions },
      scrub: { ...config.scrub, ...layer.scrub },
      chain: { ...config.chain, ...layer.chain },
    } as NodeConfig
  }
  return config
}

/**
 * The configuration for this process: defaults < file (`--config`, else `<dataDir>/config.json`
 * when present) < environment < flags.
 */
export async function loadConfig(options: {
  configPath?: string
  flags?: ConfigLayer
  env?: NodeJS.ProcessEnv
}): Promise<NodeConfig> {
  const env = options.env ?? process.env
  const envL = envLayer(env)
  const flags = options.flags ?? {}
  const dataDir = flags.dataDir ?? envL.dataDir ?? defaultDataDir(env)
  const path = options.configPath ?? env.FULMEN_CONFIG
  let file: ConfigLayer = {}
  if (path !== undefined) file = await readConfigFile(path)
  else {
    const implicit = join(dataDir, 'config.json')
    file = await readConfigFile(implicit).catch((error: ConfigError) => {
      if (error.message.startsWith(`cannot read ${implicit}`)) return {}
      throw error
    })
  }
  return checkChainConfig(mergeConfig(defaults(env), file, envL, flags))
}
