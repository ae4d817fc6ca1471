/**
 * A whole Fulmen network on one machine, as real processes: what `npm start` serves the demo
 * from and what the e2e tests run against.
 *
 *   node-1..N  `fulmen node start` (processes.ts), each with its own data dir: an HTTP gateway
 *              and a libp2p WebSockets listener a browser dials. They run a devnet chain
 *              (src/node/devnet/devnet-genesis.ts: keys and genesis in the network's dir), as
 *              `consensus` says:
 *              - `solo` (the default): node-1..3, node-1 orders the blocks, node-2 and node-3
 *                follow it; ports chosen by the system;
 *              - `committee` (`npm start`): node-1..4 are the first committee and order by
 *                Narwhal + Bullshark (`--consensus committee`, each with its bls.key), node-5 and
 *                node-6 are edge nodes (staked, drawn into later committees by the beacon); each
 *                on the ports DIR/ports.json fixed with the genesis, whose node addresses are
 *                how members find each other.
 *   unstaked-K `unstaked` of them (default none; `npm start` one): full nodes outside the genesis
 *              (no stake, no node entry), started and given the content like the others and
 *              following them: the node the demo's light client refuses.
 *   origin     an HTTP server in this process, serving the sample image with CORS
 *   liar       lying-node-main.ts in flip-byte mode, forwarding to node-1 and tampering with
 *              every response from its third block on
 *
 * The video and the download are imported (pinned) into every node; the image lives only at
 * the origin, addressed by an integrity-pinned HTTP pointer, so a node fetches it on a miss.
 * `toJSON()` is the description the demo page reads; it follows nodes being stopped and
 * restarted (a restart keeps the data dir, hence the peer id, and the ports when it can).
 *
 * Each node's log (its stderr, pino JSON lines) is appended to `<dir>/node-N/node.log`, across
 * restarts, and the liar's to `<dir>/liar.log`: an operator can read why a node did something
 * after the fact (`logFiles`).
 */
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatContentId } from '../b3/content-id.ts'
import { ready } from '../b3/engine.ts'
import { hash } from '../b3/hash.ts'
import { checkPortFree, type DevnetLayout, prepareDevnet } from '../node/devnet/devnet-genesis.ts'
import { type DevnetNodePlan, devnetNodePlan } from '../node/devnet/devnet-runner.ts'
import { formatPointer } from '../origin/pointer.ts'
import { startServer, type TestServer } from './http-server.ts'
import { type LyingMode, type LyingNodeProcess, spawnLyingNode } from './lying-node.ts'
import { sriOf } from './origin-server.ts'
import { type NodeProcess, startNode } from './processes.ts'
import { type SampleFile, sampleContent } from './sample-content.ts'

/** What a node's start failure says when one of its ports is held by another process. */
const PORT_TAKEN = /EADDRINUSE|NODE_PORT_IN_USE/

export interface LocalNetworkOptions {
  /** Where the nodes' data dirs go (node-1, node-2, node-3); default a temp dir removed on stop. */
  readonly dir?: string
  /** Address the nodes and the liar listen on (default 127.0.0.1). */
  readonly host?: string
  /** Aborting stops the network (or the start, cleaning up what was started). */
  readonly signal?: AbortSignal
  /** Progress and trouble, one line at a time (nothing by default). */
  readonly log?: (line: string) => void
  /** Size of the sample download (default 64 MiB). */
  readonly downloadBytes?: number
  /**
   * Children in process groups of their own, so a terminal's Ctrl-C reaches only this process,
   * which then stops each child once, cleanly (`npm start`).
   */
  readonly detached?: boolean
  /** The chain's epoch length (default 60 s: the demo shows an epoch change within minutes). */
  readonly epochMs?: number
  /**
   * How the chain orders (default `solo`): `solo` is node-1 ordering for three nodes;
   * `committee` is four committee nodes and two edge nodes (COMMITTEE_NODES, EDGE_NODES).
   */
  readonly consensus?: LocalConsensus
  /** Full nodes not in the genesis (`unstaked-1`…, after the others; default 0). */
  readonly unstaked?: number
}

export type LocalConsensus = 'solo' | 'committee'

export interface NetworkNodeInfo {
  readonly name: string
  readonly peerId: string
  /** The WebSockets multiaddr with /p2p/<peer id>: what a browser dials. */
  readonly multiaddr: string
  /** `http://127.0.0.1:<port>` */
  readonly gateway: string
  /** False while stopped (stopNode, or it died). */
  readonly running: boolean
  /** In the first committee, staked outside it (edge), or not in the genesis at all. */
  readonly role: 'committee' | 'edge' | 'unstaked'
}

export interface LiarInfo {
  readonly name: string
  readonly peerId: string
  readonly multiaddr: string
  /** The peer id of the node it forwards to (node-1). */
  readonly upstream: string
  readonly mode: LyingMode
}

export interface ContentInfo {
  /** A file name for it. */
  readonly name: string
  /** MIME type. */
  readonly type: string
  /** Length in bytes. */
  readonly bytes: number
  /** The BLAKE3 root, hex. */
  readonly hex: string
  /** The root as a CIDv1 (raw, blake3): `bafkr4…`. */
  readonly cid: string
  /** What the client and the service worker fetch: the HTTP pointer (image) or the CID. */
  readonly pointer: string
  /** Its path on any node's gateway (append to `gateway`). */
  readonly path: string
}

export interface NetworkContent {
  readonly image: ContentInfo
  readonly video: ContentInfo
  readonly download: ContentInfo
}

/**
 * The chain the nodes run, for the page: where to read and send (node-1 orders the blocks; the
 * others answer reads and forward transactions to it) and a funded demo account. DEVNET ONLY:
 * the account's secret key is handed to whoever loads the page, which is what a throwaway
 * local chain is for.
 */
export interface NetworkChainInfo {
  readonly gateway: string
  /** How the blocks are ordered: by node-1 alone, or by the committee. */
  readonly consensus: LocalConsensus
  readonly chainId: number
  /** The genesis file's path. */
  readonly genesis: string
  /** Its JSON text: what the page's light client trusts (and nothing else). */
  readonly genesisJson: string
  readonly demoAccount: { readonly address: string; readonly secretKey: string }
}

/** The public description of the network, for the page (`/fulmen-network.json`). */
export interface NetworkDescription {
  readonly nodes: readonly NetworkNodeInfo[]
  readonly liar: LiarInfo
  readonly origin: { readonly url: string }
  readonly content: NetworkContent
  readonly chain: NetworkChainInfo
}

export interface LocalNetwork extends NetworkDescription {
  /** The directory holding the nodes' data dirs. */
  readonly dir: string
  /** The chain's keys and genesis (in `dir`). */
  readonly devnet: DevnetLayout
  /** True when `dir` is a temp dir of the network's own, removed (logs too) on stop. */
  readonly temporaryDir: boolean
  /** Where each node's log (in node order) and the liar's are written. */
  readonly logFiles: { readonly nodes: readonly string[]; readonly liar: string }
  /** Requests the origin received for `path` (all requests without one). */
  originRequests(path?: string): number
  /** The last `lines` log lines (stderr) of node `i`'s latest process, for failure reports. */
  nodeLogs(i: number, lines?: number): string
  /** The liar's last `lines` log lines. */
  liarLogs(lines?: number): string
  /** Stops node `i` (0-based; SIGTERM, a clean stop). No-op when it is not running. */
  stopNode(i: number): Promise<void>
  /** Starts node `i` again: same data dir and peer id, same ports when free. No-op if running. */
  startNode(i: number): Promise<void>
  stopAllNodes(): Promise<void>
  startAllNodes(): Promise<void>
  /** Stops everything and removes the temp dir; idempotent. */
  stop(): Promise<void>
  toJSON(): NetworkDescription
}

export class LocalNetworkError extends Error {
  override readonly name = 'LocalNetworkError'
  readonly code: 'NETWORK_START_FAILED' | 'NETWORK_STOPPED' | 'NETWORK_NO_SUCH_NODE'

  constructor(code: LocalNetworkError['code'], message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/** Nodes of a solo network. */
export const NODE_COUNT = 3
/** A committee network: the first committee (3f + 1 with f = 1), then edge nodes. */
export const COMMITTEE_NODES = 4
export const EDGE_NODES = 2
/** How long a committee network's node may take to start (they all start at once). */
const COMMITTEE_START_MS = 90_000
/** Imports tried again after a failure at the socket (not a refusal the node answered). */
const IMPORT_RETRIES = 2
/** The local network's epoch unless told otherwise. */
export const LOCAL_EPOCH_MS = 60_000
export const IMAGE_PATH = '/fulmen.png'
export const NODE_LOG = 'node.log'
export const LIAR_LOG = 'liar.log'

/**
 * A process's log file, appended to. Writes after close are dropped (a child's last bytes may
 * come after the network stopped), and a failing file (disk full, dir removed) never takes
 * the network down: the logs are also kept in memory (`nodeLogs`).
 */
class LogFile {
  private readonly stream: WriteStream

  constructor(path: string) {
    this.stream = createWriteStream(path, { flags: 'a' })
    this.stream.on('error', () => {})
  }

  write(text: string | Buffer): void {
    if (!this.stream.writableEnded) this.stream.write(text)
  }

  /** A line of the network's own (JSON, like the node's lines around it). */
  mark(msg: string): void {
    this.write(`${JSON.stringify({ time: Date.now(), component: 'local-network', msg })}\n`)
  }

  close(): Promise<void> {
    if (this.stream.writableEnded) return Promise.resolve()
    return new Promise((resolve) => this.stream.end(() => resolve()))
  }
}

/** The last `n` lines of a child's output: enough to see why it failed. */
function tail(text: string, n = 25): string {
  const lines = text.trimEnd().split('\n')
  return (lines.length > n ? ['…', ...lines.slice(-n)] : lines).join('\n')
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

interface Ports {
  readonly http: string
  readonly ws: string
  readonly webrtc: string
}

/** One node's place in the network: its data dir, and its process while it runs. */
interface Slot {
  readonly name: string
  readonly dataDir: string
  /** `<dataDir>/node.log`, opened on the first start. */
  readonly logPath: string
  log: LogFile | undefined
  process: NodeProcess | undefined
  /** The latest process, running or not: its logs. */
  last: NodeProcess | undefined
  info: NetworkNodeInfo
  ports: Ports | undefined
  /** The current start or stop: operations on one node run one after the other. */
  queue: Promise<void>
  stopping: boolean
}

/** The WebSockets multiaddr and the ports a started node printed (`fulmen node start`). */
function readAddresses(proc: NodeProcess): { multiaddr: string; ports: Ports } {
  const addrs = [...proc.stdout().matchAll(/^ {2}libp2p {2}(\S+)$/gm)].map((m) => m[1]!)
  const ws = addrs.find((a) => /\/tcp\/\d+\/ws\/p2p\//.test(a))
  if (ws === undefined) throw new Error(`no WebSocket multiaddr among ${addrs.join(', ')}`)
  const webrtc = addrs.map((a) => /\/udp\/(\d+)\/webrtc-direct/.exec(a)?.[1]).find(Boolean)
  return {
    multiaddr: ws,
    ports: {
      http: new URL(proc.url).port,
      ws: /\/tcp\/(\d+)\//.exec(ws)![1]!,
      webrtc: webrtc ?? '0',
    },
  }
}

/** The origin: the sample image (GET, HEAD) for anyone, CORS included. */
async function startImageOrigin(image: SampleFile): Promise<TestServer> {
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, HEAD',
    'access-control-allow-headers': 'range, accept',
    'access-control-expose-headers': 'content-length, content-type',
  }
  const answer = (res: ServerResponse, status: number, text: string): void => {
    res.writeHead(status, { ...cors, 'content-type': 'text/plain' }).end(text)
  }
  return startServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://origin').pathname
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end()
    if (path !== IMAGE_PATH) return answer(res, 404, 'not found\n')
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'GET or HEAD\n')
    res.writeHead(200, {
      ...cors,
      'content-type': image.type,
      'content-length': image.bytes.length,
      'cache-control': 'no-cache',
    })
    res.end(req.method === 'HEAD' ? undefined : image.bytes)
  })
}

function describe(file: SampleFile, root: Uint8Array, pointer: string, path: string): ContentInfo {
  return {
    name: file.name,
    type: file.type,
    bytes: file.bytes.length,
    hex: formatContentId(root, 'hex'),
    cid: formatContentId(root, 'cid'),
    pointer,
    path,
  }
}

/**
 * `PUT /admin/content?pin=1`: imports `file` into the node and checks the root it reports. An
 * upload the node's socket cut (EPIPE while six nodes took 64 MiB each at load ~16) is sent
 * again: the import is idempotent, the same bytes give the same root.
 */
async function importInto(
  gateway: string,
  file: SampleFile,
  hex: string,
  log: (line: string) => void,
): Promise<void> {
  let res: Response
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(`${gateway}/admin/content?pin=1`, {
        method: 'PUT',
        body: file.bytes as Uint8Array<ArrayBuffer>,
        headers: { 'content-type': 'application/octet-stream' },
      })
      break
    } catch (error) {
      if (attempt >= IMPORT_RETRIES) throw error
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? messageOf(error)
      log(
        `import of ${file.name} into ${gateway} failed at the socket (${cause}), sending it again`,
      )
    }
  }
  const text = await res.text()
  if (res.status !== 201) throw new Error(`import of ${file.name}: ${res.status} ${text}`)
  const { root } = JSON.parse(text) as { root: string }
  if (root !== hex) throw new Error(`import of ${file.name}: root ${root}, expected ${hex}`)
}

export async function startLocalNetwork(options: LocalNetworkOptions = {}): Promise<LocalNetwork> {
  const log = options.log ?? (() => {})
  const host = options.host ?? '127.0.0.1'
  const signal = options.signal
  const detached = options.detached ?? false
  const consensus = options.consensus ?? 'solo'
  if (consensus !== 'solo' && consensus !== 'committee')
    throw new LocalNetworkError(
      'NETWORK_START_FAILED',
      `consensus '${String(consensus)}': solo or committee`,
    )
  const stakedCount = consensus === 'committee' ? COMMITTEE_NODES + EDGE_NODES : NODE_COUNT
  const unstaked = options.unstaked ?? 0
  if (!Number.isSafeInteger(unstaked) || unstaked < 0)
    throw new LocalNetworkError('NETWORK_START_FAILED', `unstaked ${unstaked}: not a count`)
  const nodeCount = stakedCount + unstaked
  const slotName = (i: number) =>
    i < stakedCount ? `node-${i + 1}` : `unstaked-${i - stakedCount + 1}`
  signal?.throwIfAborted()
  const ownDir = options.dir === undefined
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'fulmen-network-')))
  let origin: TestServer | undefined
  let liar: LyingNodeProcess | undefined
  let liarInfo: LiarInfo | undefined
  const liarLogPath = join(dir, LIAR_LOG)
  let liarLog: LogFile | undefined
  let content: NetworkContent | undefined
  let devnet: DevnetLayout | undefined
  let stopped: Promise<void> | undefined
  const slots: Slot[] = Array.from({ length: nodeCount }, (_, i) => ({
    name: slotName(i),
    dataDir: join(dir, slotName(i)),
    logPath: join(dir, slotName(i), NODE_LOG),
    log: undefined,
    process: undefined,
    last: undefined,
    info: {
      name: slotName(i),
      peerId: '',
      multiaddr: '',
      gateway: '',
      running: false,
      role:
        i >= stakedCount
          ? 'unstaked'
          : i < (consensus === 'committee' ? COMMITTEE_NODES : 1)
            ? 'committee'
            : 'edge',
    },
    ports: undefined,
    queue: Promise.resolve(),
    stopping: false,
  }))

  const serially = (slot: Slot, op: () => Promise<void>): Promise<void> => {
    const next = slot.queue.then(op, op)
    slot.queue = next.catch(() => {})
    return next
  }

  const launch = async (slot: Slot, ports: Ports | undefined): Promise<NodeProcess> => {
    const args = ['--host', host]
    if (ports !== undefined)
      args.push('--http-port', ports.http, '--ws-port', ports.ws, '--webrtc-port', ports.webrtc)
    // Opened on the first start and kept across restarts: one file tells the node's story.
    slot.log ??= new LogFile(slot.logPath)
    const log = slot.log
    const env = chainEnv(slot)
    log.mark(
      `starting: fulmen node start --data-dir ${slot.dataDir} ${args.join(' ')} (${Object.entries(
        env,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')})`,
    )
    try {
      return await startNode({
        dataDir: slot.dataDir,
        args,
        env,
        detached,
        // Six nodes starting at once on a busy two-core machine took over 30 s (load ~16).
        ...(consensus === 'committee' ? { timeoutMs: COMMITTEE_START_MS } : {}),
        onStderr: (text) => log.write(text),
      })
    } catch (error) {
      log.mark(`the start failed: ${messageOf(error).split('\n')[0]}`)
      throw error
    }
  }

  /**
   * Solo: node-1 orders the chain's blocks; the others follow node-1's gateway. Committee: as
   * `fulmen devnet start --consensus committee` starts each node (devnetNodePlan: its bls.key,
   * and the other committee gateways to follow while outside the epoch's committee).
   */
  const chainEnv = (slot: Slot): Record<string, string> => {
    if (devnet === undefined) return {}
    if (consensus === 'committee') return { ...planOf(slot).env }
    const base = { FULMEN_GENESIS: devnet.genesisPath }
    if (slot === slots[0]) return { ...base, FULMEN_CONSENSUS: 'solo' }
    const leader = slots[0]!.info.gateway
    if (leader === '') throw new Error(`${slot.name} follows node-1, which has not started yet`)
    return { ...base, FULMEN_CONSENSUS: 'follow', FULMEN_FOLLOW: leader }
  }

  /** A committee network's start of `slot`, from the devnet layout. */
  const planOf = (slot: Slot): DevnetNodePlan => {
    const plan = devnetNodePlan(devnet!, 'committee').find((p) => p.node.name === slot.name)
    if (plan === undefined) throw new Error(`${slot.name} is not in ${devnet!.genesisPath}`)
    return plan
  }

  /**
   * The ports the genesis fixed (committee: a member dials the others where the state says
   * they are), with WebRTC drawn by the system. Solo: none, or the last ones it had.
   */
  const fixedPorts = (slot: Slot): Ports | undefined => {
    if (consensus !== 'committee') return slot.ports
    const plan = planOf(slot)
    return {
      http: String(plan.httpPort),
      ws: String(plan.wsPort),
      webrtc: slot.ports?.webrtc ?? '0',
    }
  }

  const startSlot = async (slot: Slot): Promise<void> => {
    if (stopped !== undefined) throw new LocalNetworkError('NETWORK_STOPPED', 'network stopped')
    if (slot.process !== undefined) return
    await mkdir(slot.dataDir, { recursive: true })
    let proc: NodeProcess
    const wanted = fixedPorts(slot)
    try {
      proc = await launch(slot, wanted)
    } catch (error) {
      if (consensus === 'committee') {
        if (!PORT_TAKEN.test(messageOf(error)) || wanted?.webrtc === '0') throw error
        // Only WebRTC's port may move: the gateway and WebSockets ports are in the genesis.
        log(`${slot.name}: a port is taken, starting with a new WebRTC port`)
        proc = await launch(slot, { ...wanted!, webrtc: '0' })
      } else {
        // A port taken by someone else meanwhile: its old ports, or the UDP port WebRTC drew for
        // itself (a fresh-clone suite run hit that once). Start again on new ones (the page reads
        // them live).
        if (!PORT_TAKEN.test(messageOf(error))) throw error
        log(`${slot.name}: a port is taken, starting on new ones`)
        proc = await launch(slot, undefined)
      }
    }
    let addresses: ReturnType<typeof readAddresses>
    try {
      addresses = readAddresses(proc)
    } catch (error) {
      await proc.stop('SIGKILL').catch(() => {})
      throw error
    }
    const { multiaddr, ports } = addresses
    slot.process = proc
    slot.last = proc
    slot.ports = ports
    slot.stopping = false
    slot.info = {
      name: slot.name,
      peerId: proc.peerId,
      multiaddr,
      gateway: proc.url,
      running: true,
      role: slot.info.role,
    }
    void proc.exit.then(({ code, signal: sig }) => {
      slot.log?.mark(`exited (${code ?? sig})`)
      if (slot.process !== proc) return
      slot.process = undefined
      slot.info = { ...slot.info, running: false }
      if (!slot.stopping)
        log(`${slot.name} exited unexpectedly (${code ?? sig})\n${tail(proc.stderr())}`)
    })
    log(`${slot.name} up: ${proc.url} ${multiaddr}`)
  }

  const stopSlot = async (slot: Slot): Promise<void> => {
    const proc = slot.process
    if (proc === undefined) return
    slot.stopping = true
    try {
      await proc.stop('SIGTERM', 15_000)
    } catch (error) {
      log(`${slot.name} did not stop cleanly: ${messageOf(error).split('\n')[0]}`)
    }
    if (slot.process === proc) {
      slot.process = undefined
      slot.info = { ...slot.info, running: false }
    }
    log(`${slot.name} stopped`)
  }

  const slotAt = (i: number): Slot => {
    const slot = Number.isInteger(i) ? slots[i] : undefined
    if (slot === undefined)
      throw new LocalNetworkError('NETWORK_NO_SUCH_NODE', `no node ${i} (0..${nodeCount - 1})`)
    return slot
  }

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      signal?.removeEventListener('abort', onAbort)
      const current = liar
      await Promise.all([
        current?.stop().catch((e: unknown) => log(`liar did not stop cleanly: ${messageOf(e)}`)),
        ...slots.map((slot) => serially(slot, () => stopSlot(slot)).catch(() => {})),
        origin?.close(),
      ])
      await Promise.all([liarLog, ...slots.map((slot) => slot.log)].map((l) => l?.close()))
      if (ownDir) await rm(dir, { recursive: true, force: true })
      log('network stopped')
    })()
    return stopped
  }
  const onAbort = () => void stop()
  signal?.addEventListener('abort', onAbort, { once: true })

  try {
    log('making the sample content')
    await ready()
    const files = await sampleContent(
      options.downloadBytes === undefined ? {} : { downloadBytes: options.downloadBytes },
    )
    const roots = {
      image: hash(files.image.bytes),
      video: hash(files.video.bytes),
      download: hash(files.download.bytes),
    }
    origin = await startImageOrigin(files.image)
    const sri = sriOf(files.image.bytes)
    const imageUrl = `${origin.url}${IMAGE_PATH}`
    const imagePath = `/services/0/http?url=${encodeURIComponent(imageUrl)}&integrity=${encodeURIComponent(sri)}`
    const blake3Path = (root: Uint8Array) => `/services/0/blake3/${formatContentId(root, 'hex')}`
    content = {
      image: describe(
        files.image,
        roots.image,
        formatPointer({ kind: 'http', url: imageUrl, integrity: sri }),
        imagePath,
      ),
      video: describe(
        files.video,
        roots.video,
        formatContentId(roots.video, 'cid'),
        blake3Path(roots.video),
      ),
      download: describe(
        files.download,
        roots.download,
        formatContentId(roots.download, 'cid'),
        blake3Path(roots.download),
      ),
    }
    log(`origin ${origin.url}`)
    signal?.throwIfAborted()

    // Solo: node-1 is the one committee node, the others edge nodes that follow it.
    const committeeSize = consensus === 'committee' ? COMMITTEE_NODES : 1
    devnet = await prepareDevnet({
      dir,
      nodes: committeeSize,
      edge: stakedCount - committeeSize,
      unstaked,
      nodeName: (role, i) =>
        role === 'unstaked'
          ? slotName(stakedCount + i)
          : `node-${role === 'committee' ? i + 1 : committeeSize + i + 1}`,
      epochMs: options.epochMs ?? LOCAL_EPOCH_MS,
      // Committee members dial each other at the genesis addresses, on this host.
      ...(consensus === 'committee' ? { host } : {}),
    })
    log(`chain ${devnet.genesis.chainId}: genesis ${devnet.genesisPath}`)
    log(`starting ${nodeCount} nodes in ${dir} (${consensus})`)
    if (consensus === 'committee') {
      // All at once: a committee of 3f + 1 orders nothing until 2f + 1 members are up. Each on
      // its fixed ports, checked first so that one held by another process is named here.
      for (const slot of slots) {
        const plan = planOf(slot)
        await checkPortFree(host, plan.httpPort, `${slot.name} gateway`)
        await checkPortFree(host, plan.wsPort, `${slot.name} libp2p WebSockets`)
      }
      await Promise.all(slots.map((slot) => serially(slot, () => startSlot(slot))))
    } else {
      // node-1 first: the others follow its gateway.
      const [leader, ...followers] = slots
      await serially(leader!, () => startSlot(leader!))
      await Promise.all(followers.map((slot) => serially(slot, () => startSlot(slot))))
    }
    signal?.throwIfAborted()

    for (const key of ['video', 'download'] as const) {
      await Promise.all(
        slots.map((slot) => importInto(slot.info.gateway, files[key], content![key].hex, log)),
      )
      log(`${files[key].name} (${files[key].bytes.length} bytes) imported into every node`)
    }
    signal?.throwIfAborted()

    const upstream = slots[0]!.info
    liar = await spawnLyingNode({ upstream: upstream.multiaddr, mode: 'flip-byte', host, detached })
    const spawned = liar
    // What it said while starting, then the rest as it comes (nothing arrives in between).
    liarLog = new LogFile(liarLogPath)
    liarLog.write(spawned.stderr())
    const liarFile = liarLog
    spawned.child.stderr?.on('data', (d: Buffer | string) => liarFile.write(d))
    liarInfo = {
      name: 'liar',
      peerId: liar.peerId,
      multiaddr: liar.address,
      upstream: upstream.peerId,
      mode: 'flip-byte',
    }
    liar.child.once('exit', (code, sig) => {
      if (stopped === undefined)
        log(`the liar exited unexpectedly (${code ?? sig})\n${tail(spawned.stderr())}`)
    })
    log(`liar up: ${liar.address} (flip-byte, upstream ${upstream.name})`)
    signal?.throwIfAborted()
  } catch (error) {
    await stop()
    if (signal?.aborted) throw signal.reason
    throw new LocalNetworkError(
      'NETWORK_START_FAILED',
      `the local network did not start: ${tail(messageOf(error), 40)}`,
      { cause: error },
    )
  }

  const layout = devnet!
  const demo = layout.accounts[0]!
  const genesisJson = await readFile(layout.genesisPath, 'utf8')
  const chainInfo = (): NetworkChainInfo => ({
    gateway: slots[0]!.info.gateway,
    consensus,
    chainId: layout.genesis.chainId,
    genesis: layout.genesisPath,
    genesisJson,
    demoAccount: {
      address: `0x${Buffer.from(demo.key.address).toString('hex')}`,
      secretKey: Buffer.from(demo.key.secretKey).toString('hex'),
    },
  })
  const description = (): NetworkDescription => ({
    nodes: slots.map((s) => s.info),
    liar: liarInfo!,
    origin: { url: origin!.url },
    content: content!,
    chain: chainInfo(),
  })
  const server = origin
  const liarProcess = liar!
  return {
    dir,
    devnet: layout,
    get chain() {
      return chainInfo()
    },
    temporaryDir: ownDir,
    logFiles: { nodes: slots.map((s) => s.logPath), liar: liarLogPath },
    get nodes() {
      return slots.map((s) => s.info)
    },
    liar: liarInfo,
    origin: { url: server.url },
    content,
    nodeLogs: (i, lines = 60) => tail(slotAt(i).last?.stderr() ?? '', lines),
    liarLogs: (lines = 60) => tail(liarProcess.stderr(), lines),
    originRequests: (path) =>
      server.requests.filter(
        (r) => path === undefined || new URL(r.url, 'http://origin').pathname === path,
      ).length,
    stopNode: (i) => {
      const slot = slotAt(i)
      return serially(slot, () => stopSlot(slot))
    },
    startNode: (i) => {
      const slot = slotAt(i)
      return serially(slot, () => startSlot(slot))
    },
    stopAllNodes: async () => {
      await Promise.all(slots.map((slot) => serially(slot, () => stopSlot(slot))))
    },
    startAllNodes: async () => {
      await Promise.all(slots.map((slot) => serially(slot, () => startSlot(slot))))
    },
    stop,
    toJSON: description,
  }
}
