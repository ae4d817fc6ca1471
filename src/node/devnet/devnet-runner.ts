/**
 * `fulmen devnet start`: the nodes of a prepared devnet (devnet-genesis.ts) as real
 * `fulmen node start` processes, each on the ports the devnet directory fixed (DIR/ports.json),
 * which the genesis names as its libp2p address. Two ways to order:
 *
 *   solo       the first committee node orders the blocks; every other node follows the
 *              committee's gateways, that node first (and moves on when one fails).
 *   committee  every node, committee and edge, runs `--consensus committee` with its bls.key:
 *              the epoch's committee orders (Narwhal + Bullshark), the others follow it; an
 *              epoch change may rotate an edge node into the committee.
 *
 * Unstaked nodes (not in the genesis) run as edge nodes do, following the staked nodes' gateways
 * (which never follow them back). Once each answers `GET /chain/head`, DIR/devnet.json says where
 * they are. Each node's stderr
 * (its JSON log lines) is appended to `<data dir>/node.log`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  BLS_KEY_FILE,
  checkPortFree,
  DevnetError,
  type DevnetLayout,
  type DevnetRole,
} from './devnet-genesis.ts'

export const DEVNET_FILE = 'devnet.json'
export const NODE_LOG = 'node.log'

/** How a devnet orders its blocks (see above). */
export type DevnetConsensus = 'solo' | 'committee'
export const DEVNET_CONSENSUS_MODES: readonly DevnetConsensus[] = ['solo', 'committee']

export interface DevnetNodeInfo {
  readonly name: string
  readonly role: DevnetRole
  /** The node's `--consensus`: solo, follow or committee. */
  readonly consensus: string
  readonly gateway: string
  /** Its libp2p WebSockets address, the one its genesis entry names. */
  readonly multiaddr: string
  readonly dataDir: string
  readonly peerId: string
  /** Its BLS public key (hex), the key of the genesis entry. */
  readonly blsKey: string
}

/** DIR/devnet.json. */
export interface DevnetDescription {
  readonly genesis: string
  readonly chainId: number
  readonly consensus: DevnetConsensus
  readonly nodes: readonly DevnetNodeInfo[]
  readonly accounts: Readonly<Record<string, { readonly key: string; readonly address: string }>>
}

export interface RunningDevnet {
  readonly description: DevnetDescription
  /** Resolves when a node exits that was not asked to (its name and exit). */
  readonly unexpectedExit: Promise<{ name: string; code: number | null; signal: string | null }>
  /** SIGTERM to every node, the followers first; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>
  /** The process id of node `name` now (another after a restart). */
  pid(name: string): number
  /**
   * Sends `signal` (default SIGKILL: a crash, nothing flushed) to node `name` and resolves when
   * it has exited; not an unexpected exit. Tests use it to crash a committee member.
   */
  kill(
    name: string,
    signal?: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: string | null }>
  /**
   * Starts node `name` again, stopped or killed: the same data dir, ports and command line as
   * its first start; resolves once it answers its head (its log is appended to).
   */
  restartNode(name: string): Promise<DevnetNodeInfo>
}

export interface StartDevnetOptions {
  readonly layout: DevnetLayout
  /** The address the nodes listen on (default the layout's, which its genesis names). */
  readonly host?: string
  /** The `fulmen` entry point to run nodes with (default: the script this process runs). */
  readonly cli?: string
  /** Progress lines for people. */
  readonly log?: (line: string) => void
  /** How long one node may take to print its address and answer its head (default 60 s). */
  readonly timeoutMs?: number
  /** Environment for the nodes, on top of this process's. */
  readonly env?: Record<string, string>
  /** Aborting during the start stops the nodes started so far and rejects. */
  readonly signal?: AbortSignal
  /** How the devnet orders (default solo). */
  readonly consensus?: DevnetConsensus
}

/** How one node is started: its ports and its chain settings. */
export interface DevnetNodePlan {
  readonly node: DevnetLayout['nodes'][number]
  readonly httpPort: number
  readonly wsPort: number
  /** FULMEN_* chain variables: genesis, consensus, and what it follows or signs with. */
  readonly env: Readonly<Record<string, string>>
}

/** The gateway a node of the layout serves on its fixed port. */
export function devnetGateway(layout: DevnetLayout, name: string): string {
  const host = layout.host.includes(':') ? `[${layout.host}]` : layout.host
  return `http://${host}:${layout.ports[name]!.http}`
}

/**
 * Each node's start, in start order (the first is started, and answers, before the others).
 * Solo: the first committee node orders; the others follow every committee gateway but their
 * own, the ordering node first. Committee: every node runs committee with its own bls.key,
 * and is given every other node's gateway, in ring order (FULMEN_FOLLOW), for when it is
 * outside the committee.
 */
export function devnetNodePlan(
  layout: DevnetLayout,
  consensus: DevnetConsensus = 'solo',
): DevnetNodePlan[] {
  const base = { FULMEN_GENESIS: layout.genesisPath }
  const committee = layout.nodes.filter((n) => n.role === 'committee')
  // The nodes in the genesis: only they follow each other and are followed.
  const staked = layout.nodes.filter((n) => n.role !== 'unstaked')
  return layout.nodes.map((node, i) => {
    const ports = layout.ports[node.name]!
    // Every committee gateway but its own, in committee order.
    const follow = committee
      .filter((c) => c.name !== node.name)
      .map((c) => devnetGateway(layout, c.name))
      .join(',')
    // Committee: every other node, committee and edge, from the one after this node around
    // the ring. A rotation may draw edge nodes in and leave genesis members out, and two nodes
    // outside a committee never list each other first: with the genesis committee's list,
    // node-1 and node-2 both left at an epoch change, followed each other (neither advanced
    // until the stall timeout) and forwarded transactions to each other in a loop.
    // An unstaked node starts its ring at a staked node of its own (they spread their load).
    const at = node.role === 'unstaked' ? (i - staked.length) % staked.length : i
    const ring = [...staked.slice(node.role === 'unstaked' ? at : at + 1), ...staked.slice(0, at)]
      .map((n) => devnetGateway(layout, n.name))
      .join(',')
    let env: Record<string, string>
    if (consensus === 'committee')
      // A node outside the epoch's committee follows it, and forwards to it, through these.
      env = {
        ...base,
        FULMEN_CONSENSUS: 'committee',
        FULMEN_BLS_KEY: join(node.dataDir, BLS_KEY_FILE),
        ...(ring === '' ? {} : { FULMEN_FOLLOW: ring }),
      }
    else if (i === 0) env = { ...base, FULMEN_CONSENSUS: 'solo' }
    else env = { ...base, FULMEN_CONSENSUS: 'follow', FULMEN_FOLLOW: follow }
    return { node, httpPort: ports.http, wsPort: ports.ws, env }
  })
}

interface Child {
  readonly name: string
  readonly process: ChildProcess
  readonly log: WriteStream
  readonly exit: Promise<{ code: number | null; signal: string | null }>
  stopping: boolean
  stdout: string
  stderr: string
}

function tail(text: string, n = 20): string {
  const lines = text.trimEnd().split('\n')
  return lines.slice(-n).join('\n')
}

/** Spawns one node and resolves with what it printed (peer id, http, ws multiaddr). */
async function launch(
  options: StartDevnetOptions,
  plan: DevnetNodePlan,
  register: (child: Child) => void,
): Promise<{ child: Child; peerId: string; gateway: string; multiaddr: string }> {
  const { node, env: chainEnv } = plan
  options.signal?.throwIfAborted()
  const cli = options.cli ?? process.argv[1]!
  const args = [
    ...process.execArgv,
    cli,
    'node',
    'start',
    '--data-dir',
    node.dataDir,
    '--host',
    options.host ?? options.layout.host,
    '--http-port',
    String(plan.httpPort),
    '--ws-port',
    String(plan.wsPort),
    '--webrtc-port',
    '0',
  ]
  const log = createWriteStream(join(node.dataDir, NODE_LOG), { flags: 'a' })
  log.on('error', () => {})
  const env: NodeJS.ProcessEnv = {}
  // Only this devnet's settings: a FULMEN_* of the caller (another data dir, a port) would
  // make every node the same one.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FULMEN_')) env[k] = v
  const proc = spawn(process.execPath, args, {
    env: { ...env, ...options.env, ...chainEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a terminal's Ctrl-C reaches the devnet, which stops each node once.
    detached: true,
  })
  const child: Child = {
    name: node.name,
    process: proc,
    log,
    exit: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
    stopping: false,
    stdout: '',
    stderr: '',
  }
  register(child)
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    child.stdout += d
  })
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    child.stderr = (child.stderr + d).slice(-64 * 1024)
    log.write(d)
  })
  const timeoutMs = options.timeoutMs ?? 60_000
  const printed = await new Promise<{ peerId: string; gateway: string; multiaddr: string }>(
    (resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL')
        reject(
          new DevnetError(
            'DEVNET_START_FAILED',
            `${node.name} did not start in ${timeoutMs} ms:\n${tail(child.stderr)}`,
          ),
        )
      }, timeoutMs)
      const check = () => {
        const m = /^fulmen node (\S+)\n {2}http {4}(http:\/\/\S+)\n/m.exec(child.stdout)
        const ws = /^ {2}libp2p {2}(\S+\/ws\/p2p\/\S+)$/m.exec(child.stdout)
        if (m === null || ws === null) return
        clearTimeout(timer)
        proc.stdout!.off('data', check)
        resolve({ peerId: m[1]!, gateway: m[2]!, multiaddr: ws[1]! })
      }
      proc.stdout!.on('data', check)
      void child.exit.then(({ code, signal }) => {
        clearTimeout(timer)
        reject(
          new DevnetError(
            'DEVNET_START_FAILED',
            `${node.name} exited (${code ?? signal}) before it started:\n${tail(child.stderr)}`,
          ),
        )
      })
    },
  )
  return { child, ...printed }
}

/** Polls `GET /chain/head` until the node answers it. */
async function waitForHead(name: string, gateway: string, timeoutMs: number, child: Child) {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) {
      throw new DevnetError('DEVNET_START_FAILED', `${name} exited:\n${tail(child.stderr)}`)
    }
    try {
      const res = await fetch(`${gateway}/chain/head`, { signal: AbortSignal.timeout(2000) })
      const text = await res.text()
      if (res.ok) return JSON.parse(text) as { chainId: number; height: number }
      last = `${res.status} ${text.slice(0, 200)}`
    } catch (e) {
      last = (e as Error).message
    }
    if (Date.now() > deadline) {
      throw new DevnetError(
        'DEVNET_START_FAILED',
        `${name} (${gateway}) did not answer GET /chain/head in ${timeoutMs} ms (last: ${last})`,
      )
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function stopChild(child: Child, timeoutMs: number): Promise<void> {
  child.stopping = true
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill('SIGTERM')
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.process.kill('SIGKILL')
      resolve()
    }, timeoutMs)
  })
  await Promise.race([child.exit, killed])
  clearTimeout(timer)
  await child.exit
  await new Promise<void>((resolve) => child.log.end(() => resolve()))
}

/** Starts the devnet's nodes; rejects (and stops what started) when one does not come up. */
export async function startDevnet(options: StartDevnetOptions): Promise<RunningDevnet> {
  const { layout } = options
  const consensus = options.consensus ?? 'solo'
  const log = options.log ?? (() => {})
  const timeoutMs = options.timeoutMs ?? 60_000
  const children: Child[] = []
  const infos: DevnetNodeInfo[] = []
  let exitListener: (e: { name: string; code: number | null; signal: string | null }) => void =
    () => {}
  const unexpectedExit = new Promise<{ name: string; code: number | null; signal: string | null }>(
    (resolve) => {
      exitListener = resolve
    },
  )
  const watchExit = (child: Child) => {
    void child.exit.then(({ code, signal }) => {
      if (!child.stopping) exitListener({ name: child.name, code, signal })
    })
  }
  const stop = async (stopTimeoutMs = 20_000) => {
    // Followers first: the node they follow stays up while they stop.
    await Promise.all(children.slice(1).map((c) => stopChild(c, stopTimeoutMs)))
    if (children[0] !== undefined) await stopChild(children[0], stopTimeoutMs)
  }
  // Whatever happens to this process, no node outlives it (they run in their own groups).
  const killAll = () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL')
  }
  process.once('exit', killAll)
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(options.signal?.reason ?? new Error('aborted'))
    if (options.signal?.aborted) fail()
    options.signal?.addEventListener('abort', fail, { once: true })
  })
  aborted.catch(() => {})
  try {
    await Promise.race([startAll(), aborted])
  } catch (error) {
    await stop(5000)
    throw error
  }
  async function startAll(): Promise<void> {
    if (consensus === 'committee' && !layout.addressed)
      throw new DevnetError(
        'DEVNET_MISMATCH',
        `${layout.genesisPath} names no node addresses (made before devnets wrote them): committee nodes could not find each other; start it with --consensus solo, or use another --dir`,
      )
    const plans = devnetNodePlan(layout, consensus)
    // Every fixed port first: one held by another process is named here, not in a node's log.
    for (const p of plans) {
      await checkPortFree(layout.host, p.httpPort, `${p.node.name} gateway`)
      await checkPortFree(layout.host, p.wsPort, `${p.node.name} libp2p WebSockets`)
    }
    const register = (c: Child) => void children.push(c)
    const up = async (plan: DevnetNodePlan): Promise<DevnetNodeInfo> => {
      const { node } = plan
      const s = await launch(options, plan, register)
      await waitForHead(node.name, s.gateway, timeoutMs, s.child)
      const mode = plan.env.FULMEN_CONSENSUS!
      const what =
        mode === 'solo'
          ? 'orders blocks'
          : mode === 'follow'
            ? `follows ${plan.env.FULMEN_FOLLOW}`
            : 'committee consensus'
      log(`${node.name} up (${node.role}, ${what}): ${s.gateway}`)
      return {
        name: node.name,
        role: node.role,
        consensus: mode,
        gateway: s.gateway,
        multiaddr: s.multiaddr,
        dataDir: node.dataDir,
        peerId: s.peerId,
        blsKey: bytesToHex(node.bls.publicKey),
      }
    }
    // Solo: the ordering node answers before its followers start. Committee: all at once (a
    // committee of 3f+1 orders nothing until 2f+1 of its members are up).
    const [first, ...others] = plans
    if (consensus === 'solo') infos.push(await up(first!))
    const started = await Promise.allSettled((consensus === 'solo' ? others : plans).map(up))
    for (const r of started) {
      if (r.status === 'rejected') throw r.reason
      infos.push(r.value)
    }
  }
  for (const child of children) watchExit(child)
  const plans = new Map(devnetNodePlan(layout, consensus).map((p) => [p.node.name, p]))
  const childOf = (name: string): Child => {
    const child = children.find((c) => c.name === name)
    if (child === undefined) throw new DevnetError('DEVNET_MISMATCH', `no devnet node ${name}`)
    return child
  }
  const kill = async (name: string, signal: NodeJS.Signals = 'SIGKILL') => {
    const child = childOf(name)
    child.stopping = true
    if (child.process.exitCode === null && child.process.signalCode === null)
      child.process.kill(signal)
    const exit = await child.exit
    await new Promise<void>((resolve) => child.log.end(() => resolve()))
    return exit
  }
  const restartNode = async (name: string): Promise<DevnetNodeInfo> => {
    const old = childOf(name)
    if (old.process.exitCode === null && old.process.signalCode === null)
      throw new DevnetError('DEVNET_MISMATCH', `${name} is still running (pid ${old.process.pid})`)
    const plan = plans.get(name)!
    // The new process takes the old one's place: stop() and pid() find it there.
    const s = await launch(options, plan, (c) => {
      children[children.indexOf(old)] = c
    })
    watchExit(s.child)
    await waitForHead(name, s.gateway, timeoutMs, s.child)
    log(`${name} restarted: ${s.gateway}`)
    return infos.find((i) => i.name === name)!
  }
  const pid = (name: string) => childOf(name).process.pid!
  const description: DevnetDescription = {
    genesis: layout.genesisPath,
    chainId: layout.genesis.chainId,
    consensus,
    nodes: infos,
    accounts: Object.fromEntries(
      [layout.bridge, layout.governance, layout.operator, ...layout.accounts].map((a) => [
        a.name,
        { key: a.path, address: `0x${Buffer.from(a.key.address).toString('hex')}` },
      ]),
    ),
  }
  // Written whole then renamed: a reader polling for the file never sees half of it.
  const path = join(layout.dir, DEVNET_FILE)
  await writeFile(`${path}.tmp`, `${JSON.stringify(description, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
  return { description, unexpectedExit, stop, pid, kill, restartNode }
}
