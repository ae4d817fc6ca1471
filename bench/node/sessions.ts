/**
 * Sessions (docs/protocol.md, "Sessions"), measured between processes over loopback
 * WebSockets: a full node in a child process (bench/node/sessions-node.ts) and clients in
 * others (bench/node/sessions-client.ts), each figure beside its peer from the same run.
 *
 * - throughput: `client.fetch(root)` read whole (every block verified, acknowledged) against
 *   the same node streaming the same stored blocks on a bench-only protocol with no framing
 *   and no verification, read by a plain client libp2p: same processes, connection type,
 *   Noise and Yamux. In turns; the best of each counts;
 * - time to first byte: a fresh client's first verified chunk against a fresh libp2p's first
 *   raw chunk (dial included in both);
 * - Helia: the same bytes added to Helia (`@helia/unixfs`) and fetched over Bitswap by a
 *   second Helia in another process (bench/node/helia-peer.ts);
 * - handshake: dial + openSession against dial + libp2p ping, a fresh libp2p each run, and the
 *   HELLO's CPU (the client's signature, the node's check) measured directly;
 * - acknowledgements per GiB delivered: the client's SessionAcks time against the client
 *   process's CPU over the same fetches; the node's AckLedger + DaPool work for 1 GiB,
 *   replayed in-process, against the node process's CPU serving a GiB.
 *
 * FULMEN_BENCH_PROF=<dir> runs every child with `--cpu-prof --cpu-prof-dir=<dir>`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Figure, GiB, MiB, median, mibPerSecond, spread } from '../shared.ts'
import { runJsonChild } from './json-child.ts'
import { scratchDir } from './scratch-dir.ts'
import type {
  ClientJob,
  CpuResult,
  FirstByteResult,
  HandshakeResult,
  NodeReady,
  ThroughputResult,
} from './sessions-shared.ts'

export interface SessionsBenchOptions {
  /** Content size (256 MiB; smaller with --quick). */
  readonly bytes: number
  /** Timed throughput turns (session, raw, and Helia's), after a warm-up turn. */
  readonly turns: number
  readonly firstByteRuns: number
  readonly handshakeRuns: number
  readonly heliaTurns: number
  readonly log: (line: string) => void
}

export interface SessionsBenchResult {
  readonly figures: Figure[]
  readonly notes: string[]
}

const NODE = fileURLToPath(new URL('./sessions-node.ts', import.meta.url))
const CLIENT = fileURLToPath(new URL('./sessions-client.ts', import.meta.url))
const HELIA = fileURLToPath(new URL('./helia-peer.ts', import.meta.url))

function execArgv(): string[] {
  const dir = process.env.FULMEN_BENCH_PROF
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []
}

/** Runs `script` on `job` in a fresh process; resolves with the JSON line it prints. */
const runJson = <T>(script: string, job: object): Promise<T> =>
  runJsonChild<T>(script, job, execArgv())

/** Starts a server child; resolves with it and the JSON line it prints once ready. */
async function startServer<T>(
  script: string,
  job: object,
): Promise<{ child: ChildProcess; ready: T }> {
  const child = spawn(process.execPath, [...execArgv(), script, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const ready = await new Promise<T>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const line = /^(\{.*\})\n/.exec(out)
      if (line !== null) resolve(JSON.parse(line[1]!) as T)
    })
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${path.basename(script)} exited (${code})`)))
  })
  return { child, ready }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

const client = <T>(job: ClientJob): Promise<T> => runJson<T>(CLIENT, job)

export async function measureSessions(options: SessionsBenchOptions): Promise<SessionsBenchResult> {
  const { bytes, turns, log } = options
  const figures: Figure[] = []
  const notes: string[] = []
  const add = (name: string, value: number, unit: string) =>
    figures.push({ name: `node.sessions.${name}`, value, unit })
  const base = scratchDir(2 * bytes)
  const dir = mkdtempSync(path.join(base, 'fulmen-bench-sessions-'))
  let node: ChildProcess | undefined
  let helia: ChildProcess | undefined
  try {
    // --- CPU, no network: before any server runs -------------------------------------------
    log('sessions: HELLO signature and check, acknowledgements of 1 GiB replayed on the node side')
    const dasDir = path.join(dir, 'das')
    mkdirSync(dasDir)
    const cpu = await client<CpuResult>({ mode: 'cpu', dir: dasDir, runs: 7 })
    const helloCpu = cpu.helloSign + cpu.helloVerify
    add('hello-sign', cpu.helloSign, 'ms')
    add('hello-verify', cpu.helloVerify, 'ms')
    add('hello-verify-seen-key', cpu.helloVerifySeenKey, 'ms')
    add('hello-cpu', helloCpu, 'ms')
    const nodeAckMs = cpu.ackCommit + cpu.ackReveals + cpu.ackPuts
    add('acks-node', nodeAckMs, 'ms/GiB')
    add('acks-chain', cpu.chainMs, 'ms')
    add('acks-commit-sign', cpu.commitSignMs, 'ms')

    // --- the node --------------------------------------------------------------------------
    log(`sessions: starting a full node holding ${bytes / MiB} MiB`)
    const started = await startServer<NodeReady>(NODE, { dataDir: path.join(dir, 'node'), bytes })
    node = started.child
    const { multiaddr, rootHex } = started.ready

    log(`sessions: ${bytes / MiB} MiB, session fetch vs raw libp2p stream, ${turns} turns`)
    const t = await client<ThroughputResult>({
      mode: 'throughput',
      multiaddr,
      rootHex,
      bytes,
      turns,
    })
    const sessionMiBs = mibPerSecond(bytes, Math.min(...t.session))
    const rawMiBs = mibPerSecond(bytes, Math.min(...t.raw))
    const splitMiBs = mibPerSecond(bytes, Math.min(...t.rawSplit))
    add('session', sessionMiBs, 'MiB/s')
    add('raw', rawMiBs, 'MiB/s')
    add('raw-split', splitMiBs, 'MiB/s')
    const sessionGiB = t.sessionBytes / GiB
    const rawGiB = t.rawBytes / GiB
    const clientAckMs = t.ackSignMs + t.ackHashMs
    add('acks-client', clientAckMs / sessionGiB, 'ms/GiB')
    add('client-cpu', t.clientCpuMs / sessionGiB, 'ms/GiB')
    add('node-cpu', t.nodeCpuMs / sessionGiB, 'ms/GiB')
    add('client-cpu-raw', t.clientRawCpuMs / rawGiB, 'ms/GiB')
    add('node-cpu-raw', t.nodeRawCpuMs / rawGiB, 'ms/GiB')
    log(
      `sessions: session ${sessionMiBs.toFixed(0)} MiB/s (${spread(
        t.session.map((s) => mibPerSecond(bytes, s)),
        'MiB/s',
      )}), raw ${rawMiBs.toFixed(0)} MiB/s (${spread(
        t.raw.map((s) => mibPerSecond(bytes, s)),
        'MiB/s',
      )}), raw in 3 sends per block ${splitMiBs.toFixed(0)} MiB/s`,
    )
    notes.push(
      `Sessions: ${bytes / MiB} MiB of pseudo-random content in a full node's store (${base}), the node ` +
        '(bench/node/sessions-node.ts) and each client (bench/node/sessions-client.ts) in processes of their own, ' +
        'over loopback WebSockets, Noise, Yamux. The raw peer is a bench-only protocol on the same node ' +
        '(`/fulmen-bench/raw/1.0.0`) sending the stored 256 KiB blocks (getBlock, one read ahead as the CDN ' +
        'service does) unframed, read by a plain createClientLibp2p that counts bytes. A third contender ' +
        '(`/fulmen-bench/raw-split/1.0.0`) sends the same blocks the way the CDN service writes a body: per ' +
        'block a 37-byte stand-in PROOF frame, the 5-byte DATA prefix and the block, three `send` calls (each its ' +
        'own Yamux frame, Noise message and WebSocket frame), with nothing verified. ' +
        `${turns} turns (session, raw, raw-split) after a warm-up turn on one client, best of each; every turn: session ` +
        `${spread(
          t.session.map((s) => mibPerSecond(bytes, s)),
          'MiB/s',
        )}, raw ${spread(
          t.raw.map((s) => mibPerSecond(bytes, s)),
          'MiB/s',
        )}, raw-split ${spread(
          t.rawSplit.map((s) => mibPerSecond(bytes, s)),
          'MiB/s',
        )}. CPU per GiB: node ${(t.nodeCpuMs / sessionGiB).toFixed(0)} ms serving sessions, ` +
        `${(t.nodeRawCpuMs / rawGiB).toFixed(0)} ms raw; client ${(t.clientCpuMs / sessionGiB).toFixed(0)} ms ` +
        `fetching sessions, ${(t.clientRawCpuMs / rawGiB).toFixed(0)} ms raw.`,
    )
    notes.push(
      `Acknowledgements, client: SessionAcks signMs + hashMs (${t.ackSignMs.toFixed(1)} + ${t.ackHashMs.toFixed(1)} ms: ` +
        `${t.commitments} commitment, its hash chain of 16,384 units made up front, ${t.acknowledgedUnits} units revealed) ` +
        `over the ${(sessionGiB * 1024).toFixed(0)} MiB all the session's fetches delivered, warm-up included, against ` +
        'process.cpuUsage() of the client process around the same fetches. Nearly all of it is paid once per ' +
        `session, whatever it delivers: measured apart (SessionAcks.begin, no network), the chain takes ` +
        `${cpu.chainMs.toFixed(1)} ms (${cpu.chainColdMs.toFixed(1)} ms the first time in a process) and signing the ` +
        `commitment ${cpu.commitSignMs.toFixed(2)} ms (${cpu.commitSignColdMs.toFixed(1)} ms the first time: Poseidon's ` +
        'constants for 6 inputs are made on first use). Node: AckLedger.commit ' +
        `(${cpu.ackCommit.toFixed(2)} ms), ${cpu.reveals} reveals of 16 units (${cpu.ackReveals.toFixed(2)} ms) and as ` +
        `many DaPool.put into a LevelDB in ${base} (${cpu.ackPuts.toFixed(2)} ms) for 1 GiB of blocks, replayed in a ` +
        `fresh process (best of 7; process CPU of that run ${cpu.ackCpu.toFixed(1)} ms, LevelDB's threads included), ` +
        'against process.cpuUsage() of the node process (read over a bench-only protocol before and after each fetch) ' +
        'serving the session fetches above.',
    )

    log(`sessions: time to first byte, ${options.firstByteRuns} fresh clients each`)
    const fb = await client<FirstByteResult>({
      mode: 'first-byte',
      multiaddr,
      rootHex,
      runs: options.firstByteRuns,
    })
    add('ttfb-session', median(fb.session), 'ms')
    add('ttfb-raw', median(fb.raw), 'ms')
    add('ttfb-raw-block', median(fb.rawBlock), 'ms')
    add('ttfb-session-header', median(fb.sessionHeader), 'ms')
    notes.push(
      `First byte: medians of ${options.firstByteRuns} runs after a warm-up, session and raw in turns; the clock starts ` +
        'after the client (libp2p, key) is made. Session: `client.fetch(root)` on a fresh client (dial, the ping ' +
        'the client measures latency with, handshake stream, HELLO, SESSION, the REQUEST pipelined behind HELLO, the ' +
        `header and block 0 verified) to the body's first chunk (${spread(fb.session, 'ms', 1)}; \`fetch\` resolved, ` +
        `the header checked, at ${median(fb.sessionHeader).toFixed(1)} ms); raw: dial, ` +
        `raw stream, first chunk (${spread(fb.raw, 'ms', 1)}), first 256 KiB median ${median(fb.rawBlock).toFixed(1)} ms. ` +
        "New connections are spaced ≥ 260 ms apart (untimed), so that one run's teardown is over before the next dials.",
    )

    log(`sessions: handshake latency, ${options.handshakeRuns} fresh clients each`)
    const hs = await client<HandshakeResult>({
      mode: 'handshake',
      multiaddr,
      runs: options.handshakeRuns,
    })
    const openMs = median(hs.session)
    const pingMs = median(hs.ping)
    add('handshake-open', openMs, 'ms')
    add('handshake-ping', pingMs, 'ms')
    add('handshake-dial', median(hs.dial), 'ms')
    add('handshake-added', openMs - pingMs, 'ms')
    notes.push(
      `Handshake: medians of ${options.handshakeRuns} runs after 3 warm-ups, a fresh createClientLibp2p (and client key) ` +
        `each, in turns: dial alone ${median(hs.dial).toFixed(1)} ms (${spread(hs.dial, 'ms', 1)}), dial + ` +
        `libp2p ping ${pingMs.toFixed(1)} ms (${spread(hs.ping, 'ms', 1)}), dial + handshake stream + openSession ` +
        `${openMs.toFixed(1)} ms (${spread(hs.session, 'ms', 1)}). HELLO CPU measured directly (medians): ` +
        `handshakeMessage + key.sign ${cpu.helloSign.toFixed(2)} ms on the client; handshakeMessage + verify ` +
        `${cpu.helloVerify.toFixed(2)} ms on the node for a key it has not seen (${cpu.helloVerifySeenKey.toFixed(2)} ms ` +
        'for one in its decoded-key cache).',
    )
    await stopServer(node)
    node = undefined

    // --- Helia -----------------------------------------------------------------------------
    try {
      log(`sessions: Helia, ${bytes / MiB} MiB over Bitswap, ${options.heliaTurns} turns`)
      const provider = await startServer<{ multiaddr: string; cid: string }>(HELIA, {
        role: 'provide',
        bytes,
      })
      helia = provider.child
      const h = await runJson<{ seconds: number[]; cpuMs: number[] }>(HELIA, {
        role: 'fetch',
        multiaddr: provider.ready.multiaddr,
        cid: provider.ready.cid,
        bytes,
        turns: options.heliaTurns,
      })
      const heliaMiBs = mibPerSecond(bytes, Math.min(...h.seconds))
      add('helia', heliaMiBs, 'MiB/s')
      log(`sessions: Helia ${heliaMiBs.toFixed(0)} MiB/s`)
      notes.push(
        `Helia: helia ${packageVersion('helia')} (createHeliaLight, no routers, no trustless gateways) with ` +
          `@helia/bitswap ${packageVersion('@helia/bitswap')} only and @helia/unixfs ${packageVersion('@helia/unixfs')} ` +
          '(its defaults: 1 MiB raw leaves, balanced DAG of 1,024 children), in-memory blockstore and datastore; libp2p ' +
          'with WebSockets, Noise, Yamux and identify alone (no DHT, bootstrap, autonat, UPnP, relay, mDNS). ' +
          'The provider adds the same bytes; the fetcher, another process, dials it directly before the clock starts ' +
          `and reads \`unixfs.cat\` to the end into a fresh in-memory blockstore. ${options.heliaTurns} turns after a ` +
          `warm-up, best counts (${spread(
            h.seconds.map((s) => mibPerSecond(bytes, s)),
            'MiB/s',
          )}); fetcher CPU ${((median(h.cpuMs) * GiB) / bytes).toFixed(0)} ms per GiB.`,
      )
    } catch (e) {
      notes.push(`Helia run failed: ${(e as Error).message.split('\n')[0]}`)
      log(`sessions: Helia failed: ${(e as Error).stack}`)
    }
    return { figures, notes }
  } finally {
    if (node !== undefined) await stopServer(node)
    if (helia !== undefined) await stopServer(helia)
    rmSync(dir, { recursive: true, force: true })
  }
}

function packageVersion(name: string): string {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}
