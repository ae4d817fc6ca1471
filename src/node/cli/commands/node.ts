/**
 * `fulmen node start|status|das`: run a full node, ask a running one how it is, or list the
 * delivery acknowledgements it holds.
 */

import { createSocket } from 'node:dgram'
import { stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import {
  ConfigError,
  type ConfigLayer,
  loadConfig,
  type NodeConfig,
  parseConsensus,
  parseFollow,
  parsePort,
  parsePositive,
  parseSize,
} from '../../config.ts'
import type { DaClaimJson, DaSummary } from '../../das/da-pool.ts'
import { installProcessGuard } from '../../process-guard.ts'
import { findRunningNode } from '../../runtime.ts'
import { parseCommandArgs, UsageError } from '../command.ts'
import { EXIT_FAILURE } from '../failure.ts'
import { write } from '../output.ts'
import { formatBytes } from '../progress.ts'

/** A flag's value that the config parsers refuse is a usage error (exit 2), not a failure. */
function flag<T>(parse: () => T): T {
  try {
    return parse()
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message, 'node')
    throw e
  }
}

/** The session limits a flag sets (the other session settings come from the file or env). */
const SESSION_LIMIT_FLAGS = [
  ['max-sessions-per-client', 'maxSessionsPerClient'],
  ['max-streams-per-session', 'maxStreamsPerSession'],
  ['max-sessions', 'maxSessions'],
  ['max-streams', 'maxStreams'],
] as const

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Why the node cannot start, said in one line (exit 1, no stack). */
function startError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code })
}

/** The listeners a node opens, with the flag that moves each. */
function listenersOf(config: NodeConfig) {
  return [
    { name: 'http', proto: 'tcp', port: config.httpPort, flag: '--http-port' },
    { name: 'ws', proto: 'tcp', port: config.wsPort, flag: '--ws-port' },
    { name: 'webrtc', proto: 'udp', port: config.webrtcPort, flag: '--webrtc-port' },
  ] as const
}

function portInUse(
  l: ReturnType<typeof listenersOf>[number],
  host: string,
  error: NodeJS.ErrnoException,
): Error {
  const what = l.proto === 'udp' ? `${l.name} port ${l.port} (udp)` : `${l.name} port ${l.port}`
  if (error.code === 'EADDRINUSE')
    return startError(
      `${what} is in use on ${host}: another program (or node) holds it; choose another with ${l.flag}`,
      'NODE_PORT_IN_USE',
    )
  return startError(`cannot listen on ${what} on ${host}: ${error.message}`, 'NODE_LISTEN_FAILED')
}

/** Resolves when `port` can be bound on `host` (released again at once), else rejects. */
function probe(proto: 'tcp' | 'udp', host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (proto === 'tcp') {
      const server = createServer()
      server.once('error', reject)
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()))
    } else {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
      socket.once('error', (e) => {
        socket.close()
        reject(e)
      })
      socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve()))
    }
  })
}

/**
 * Before anything starts: the data dir is not another running node's, and every fixed port
 * is free. Found here, each is one clear line; found by the node's parts, a LevelDB lock
 * error, a libp2p "faultTolerance" error, or the WebRTC library's FATAL lines on stdout.
 */
async function checkCanStart(config: NodeConfig): Promise<void> {
  const running = await findRunningNode(config.dataDir)
  if (running !== undefined)
    throw startError(
      `the data dir ${config.dataDir} is in use by another node (pid ${running.pid}, ${running.http})`,
      'NODE_DATA_DIR_IN_USE',
    )
  for (const l of listenersOf(config)) {
    if (l.port === 0) continue
    await probe(l.proto, config.host, l.port).catch((e: NodeJS.ErrnoException) => {
      throw portInUse(l, config.host, e)
    })
  }
}

/** The node's own start-up failures, for what a race past `checkCanStart` still meets. */
function describeStartFailure(error: unknown, config: NodeConfig): unknown {
  const e = error as NodeJS.ErrnoException & { cause?: { code?: string } }
  if (e?.code === 'LEVEL_DATABASE_NOT_OPEN' || e?.cause?.code === 'LEVEL_LOCKED')
    return startError(
      `the data dir ${config.dataDir} is in use by another node or fulmen process (lock held)`,
      'NODE_DATA_DIR_IN_USE',
    )
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES') {
    const l = listenersOf(config).find((x) => x.port === (e as { port?: number }).port)
    if (l !== undefined) return portInUse(l, config.host, e)
  }
  // node-datachannel says only this when the WebRTC UDP port is held by another process.
  if (
    /faultTolerance|EADDRINUSE|address already in use|ICE UDP mux listener/i.test(
      String(e?.message),
    )
  )
    return startError(
      `a libp2p port is in use on ${config.host} (ws ${config.wsPort}, webrtc ${config.webrtcPort}/udp)`,
      'NODE_PORT_IN_USE',
    )
  return error
}

async function start(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('node', args, {
    config: { type: 'string' },
    'data-dir': { type: 'string' },
    host: { type: 'string' },
    'http-port': { type: 'string' },
    'ws-port': { type: 'string' },
    'webrtc-port': { type: 'string' },
    'cache-size': { type: 'string' },
    'ipfs-gateway': { type: 'string', multiple: true },
    'no-http-origins': { type: 'boolean' },
    'log-level': { type: 'string' },
    'max-sessions-per-client': { type: 'string' },
    'max-streams-per-session': { type: 'string' },
    'max-sessions': { type: 'string' },
    'max-streams': { type: 'string' },
    genesis: { type: 'string' },
    consensus: { type: 'string' },
    follow: { type: 'string' },
    'bls-key': { type: 'string' },
    'settle-every-ms': { type: 'string' },
    'ping-every-ms': { type: 'string' },
    'no-measure': { type: 'boolean' },
  })
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'`, 'node')
  const flags: Record<string, unknown> = {}
  const origins: Record<string, unknown> = {}
  if (values['data-dir'] !== undefined)
    flags.dataDir = (await import('node:path')).resolve(values['data-dir'])
  if (values.host !== undefined) flags.host = values.host
  if (values['http-port'] !== undefined)
    flags.httpPort = flag(() => parsePort(values['http-port']!, '--http-port'))
  if (values['ws-port'] !== undefined)
    flags.wsPort = flag(() => parsePort(values['ws-port']!, '--ws-port'))
  if (values['webrtc-port'] !== undefined)
    flags.webrtcPort = flag(() => parsePort(values['webrtc-port']!, '--webrtc-port'))
  if (values['cache-size'] !== undefined)
    flags.cacheSize = flag(() => parseSize(values['cache-size']!, '--cache-size'))
  if (values['log-level'] !== undefined) {
    if (!LOG_LEVELS.includes(values['log-level']))
      throw new UsageError(
        `--log-level: '${values['log-level']}' is not one of ${LOG_LEVELS.join(', ')}`,
        'node',
      )
    flags.logLevel = values['log-level']
  }
  if (values['ipfs-gateway'] !== undefined) origins.ipfsGateways = values['ipfs-gateway']
  if (values['no-http-origins']) origins.http = false
  if (Object.keys(origins).length > 0) flags.origins = origins
  const sessions: Record<string, number> = {}
  for (const [name, key] of SESSION_LIMIT_FLAGS) {
    const value = values[name]
    if (typeof value === 'string') sessions[key] = flag(() => parsePositive(value, `--${name}`))
  }
  if (Object.keys(sessions).length > 0) flags.sessions = sessions
  const chain: Record<string, unknown> = {}
  if (values.genesis !== undefined)
    chain.genesis = (await import('node:path')).resolve(values.genesis)
  if (values.consensus !== undefined)
    chain.consensus = flag(() => parseConsensus(values.consensus!, '--consensus'))
  if (values.follow !== undefined)
    chain.follow = flag(() => parseFollow(values.follow!, '--follow'))
  if (values['bls-key'] !== undefined)
    chain.blsKey = (await import('node:path')).resolve(values['bls-key'])
  if (values['settle-every-ms'] !== undefined)
    chain.settleEveryMs = flag(() => parsePositive(values['settle-every-ms']!, '--settle-every-ms'))
  if (values['ping-every-ms'] !== undefined)
    chain.pingEveryMs = flag(() => parsePositive(values['ping-every-ms']!, '--ping-every-ms'))
  if (values['no-measure']) chain.measure = false
  if (Object.keys(chain).length > 0) flags.chain = chain
  const config = await loadConfig({
    ...(values.config === undefined ? {} : { configPath: values.config }),
    flags: flags as ConfigLayer,
  })
  // Loaded here: libp2p takes most of a second to import, which other commands need not pay.
  await checkCanStart(config)
  const { startFullNode } = await import('../../full-node.ts')
  const node = await startFullNode(config).catch((error: unknown) => {
    // Parts that did start (a listener, libp2p) may hold the process open: it ends anyway,
    // once the one line about why is out.
    setTimeout(() => process.exit(EXIT_FAILURE), 1000).unref()
    throw describeStartFailure(error, config)
  })
  // From here on, a bug that escapes its handler is logged and counted; the node keeps serving.
  installProcessGuard({ logger: node.logger, metrics: node.metrics })
  await write(
    `fulmen node ${node.peerId}\n  http    ${node.httpUrl}\n${node
      .multiaddrs()
      .map((a) => `  libp2p  ${a}\n`)
      .join('')}`,
  )
  return new Promise<number>((resolve) => {
    let signals = 0
    const onSignal = (signal: NodeJS.Signals) => {
      signals++
      if (signals > 1) {
        node.logger.warn({ signal }, 'second signal: exiting now')
        process.exit(130)
      }
      node
        .stop(signal)
        .then(() => resolve(0))
        .catch((error: unknown) => {
          node.logger.error({ err: error }, 'shutdown failed')
          resolve(EXIT_FAILURE)
        })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

async function status(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('node', args, {
    'data-dir': { type: 'string' },
    url: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'`, 'node')
  let url = values.url
  if (url === undefined) {
    const config = await loadConfig({
      flags:
        values['data-dir'] === undefined
          ? {}
          : { dataDir: (await import('node:path')).resolve(values['data-dir']) },
    })
    const running = await findRunningNode(config.dataDir)
    if (running === undefined) {
      process.stderr.write(`fulmen: no node is running on ${config.dataDir}\n`)
      return EXIT_FAILURE
    }
    url = running.http
  }
  const res = await fetch(`${url.replace(/\/+$/, '')}/status`, {
    signal: AbortSignal.timeout(5000),
  })
  if (!res.ok) {
    process.stderr.write(`fulmen: ${url}/status answered ${res.status}\n`)
    return EXIT_FAILURE
  }
  const s = (await res.json()) as {
    peerId: string
    version: string
    http: string
    multiaddrs: string[]
    uptimeSeconds: number
    store: { bytes: number; contents: number; pinnedBytes: number; limit: number }
    origins: string[]
  }
  if (values.json) {
    await write(`${JSON.stringify(s, null, 2)}\n`)
    return 0
  }
  const limit =
    Number.isFinite(s.store.limit) && s.store.limit !== null ? formatBytes(s.store.limit) : 'none'
  await write(
    [
      `peer id   ${s.peerId}`,
      `version   ${s.version}, up ${s.uptimeSeconds} s`,
      `http      ${s.http}`,
      ...s.multiaddrs.map((a, i) => `${i === 0 ? 'libp2p' : ''.padEnd(6)}    ${a}`),
      `store     ${formatBytes(s.store.bytes)} in ${s.store.contents} contents (${formatBytes(s.store.pinnedBytes)} pinned), limit ${limit}`,
      `origins   ${s.origins.length > 0 ? s.origins.join(', ') : 'none'}`,
      '',
    ].join('\n'),
  )
  return 0
}

/** What `fulmen node das` reads: the pool's summary and its claims with their progress. */
type DaListing = DaSummary & { readonly claims: readonly DaClaimJson[] }

/** The listing from the node running on the data dir, else from its pool on disk. */
async function readDaListing(dataDir: string): Promise<{ listing: DaListing; source: string }> {
  const running = await findRunningNode(dataDir)
  if (running !== undefined) {
    const res = await fetch(`${running.http}/das?claims=1`, {
      signal: AbortSignal.timeout(10_000),
    })
    if (!res.ok) {
      throw Object.assign(new Error(`${running.http}/das answered ${res.status}`), {
        code: 'DAS_UNAVAILABLE',
      })
    }
    return { listing: (await res.json()) as DaListing, source: `node ${running.http}` }
  }
  const { join } = await import('node:path')
  // Loaded here: only this path needs LevelDB.
  const { DA_POOL_DIR, openDaPool, claimJson } = await import('../../das/da-pool.ts')
  const dir = join(dataDir, DA_POOL_DIR)
  const pool = await openDaPool({ dir, readOnly: true })
  try {
    const claims: DaClaimJson[] = []
    for await (const stored of pool.list()) claims.push(claimJson(stored))
    return { listing: { ...(await pool.summary()), claims }, source: dir }
  } finally {
    await pool.close()
  }
}

/** Left-aligned first column, right-aligned numbers. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`
  return [line(header), ...rows.map(line)]
}

/** `1 client`, `2 clients`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`
}

function shortKey(hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex
}

/** The proven batches, newest last: id, claims, state, transaction. */
function batchLines(claims: readonly DaClaimJson[]): string[] {
  const batches = new Map<string, { claims: number; state: string; transaction: string }>()
  for (const c of claims) {
    const { batch, state, transaction } = c.progress
    if (batch === undefined) continue
    const b = batches.get(batch) ?? { claims: 0, state, transaction: transaction ?? '' }
    b.claims++
    batches.set(batch, b)
  }
  if (batches.size === 0) return []
  return [
    'proven batches',
    ...table(
      ['batch', 'claims', 'state', 'transaction'],
      [...batches].map(([id, b]) => [
        shortKey(id),
        String(b.claims),
        b.state,
        shortKey(b.transaction),
      ]),
    ),
    '',
  ]
}

async function das(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('node', args, {
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
  })
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'`, 'node')
  const config = await loadConfig({
    flags:
      values['data-dir'] === undefined
        ? {}
        : { dataDir: (await import('node:path')).resolve(values['data-dir']) },
  })
  const isDir = await stat(config.dataDir).then(
    (st) => st.isDirectory(),
    () => false,
  )
  if (!isDir)
    throw Object.assign(new Error(`no node data dir at ${config.dataDir}`), {
      code: 'NODE_NO_DATA_DIR',
    })
  const { listing: summary, source } = await readDaListing(config.dataDir)
  if (values.json) {
    await write(`${JSON.stringify(summary, null, 2)}\n`)
    return 0
  }
  const t = summary.totals
  if (t.claims === 0) {
    await write(`no delivery acknowledgements (${source})\n`)
    return 0
  }
  const n = (x: number) => String(x)
  await write(
    [
      `delivery acknowledgements (${source})`,
      '',
      'by client',
      ...table(
        ['client key', 'epochs', 'sessions', 'claims', 'units', 'bytes'],
        summary.byClient.map((c) => [
          shortKey(c.clientKey),
          n(c.epochs),
          n(c.sessions),
          n(c.claims),
          n(c.units),
          formatBytes(c.bytes),
        ]),
      ),
      '',
      'by epoch',
      ...table(
        ['epoch', 'clients', 'sessions', 'claims', 'units', 'bytes'],
        summary.byEpoch.map((e) => [
          e.epoch,
          n(e.clients),
          n(e.sessions),
          n(e.claims),
          n(e.units),
          formatBytes(e.bytes),
        ]),
      ),
      '',
      ...batchLines(summary.claims),
      `total: ${count(t.clients, 'client')}, ${count(t.sessions, 'session')}, ${count(t.claims, 'claim')}, ${count(t.units, 'unit')}, ${formatBytes(t.bytes)}`,
      `settling: ${Object.entries(summary.byState)
        .map(([state, n]) => `${n} ${state}`)
        .join(', ')}`,
      '',
    ].join('\n'),
  )
  return 0
}

/** Runs `fulmen node` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'start') return start(rest)
  if (sub === 'status') return status(rest)
  if (sub === 'das') return das(rest)
  throw new UsageError(
    sub === undefined ? 'missing subcommand (start, status or das)' : `unknown subcommand '${sub}'`,
    'node',
  )
}
