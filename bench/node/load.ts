/**
 * Many fetches at once (issue 23), between processes over loopback WebSockets: one full node
 * in a child process (bench/node/load-node.ts) and clients in others
 * (bench/node/load-client.ts), each figure beside its peer from the same run.
 *
 * - at once from one client: 64 and 256 fetches of 1 MiB contents started together on one
 *   `createClient`, counted as they succeed;
 * - throughput: 8 distinct contents fetched one after another (c1) and all 8 at once (c8), in
 *   turns, best of each; then 64 at once (c64, each content 8 times) once; aggregate MiB/s
 *   and the CPU of both processes per GiB;
 * - many clients: 20 client processes, each with 16 fetches at once started on one signal,
 *   while a probe (a fresh client, one fetch at a time) takes the first verified byte and the
 *   node's /health; the same probe again with the node idle; the node's RSS before, at peak
 *   (sampled every 20 ms) and `settleSeconds` after.
 *
 * FULMEN_BENCH_PROF=<dir> runs the node and the throughput client with `--cpu-prof`.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Figure, GiB, MiB, mibPerSecond } from '../shared.ts'
import type {
  BurstJob,
  BurstResult,
  FetchPlan,
  LoadClientJob,
  LoadNodeJob,
  LoadNodeReady,
  PlanRun,
  PlansResult,
  ProbeJob,
  ProbeResult,
} from './load-shared.ts'
import { quantile } from './load-shared.ts'
import { scratchDir } from './scratch-dir.ts'

export interface LoadBenchOptions {
  /** Size of each of the 8 throughput contents (32 MiB; smaller with --quick). */
  readonly bigBytes: number
  /** Timed turns of c1 and c8, after an untimed one. */
  readonly turns: number
  /** Client processes of the many-clients load, and fetches at once in each. */
  readonly clients: number
  readonly perClient: number
  /** Size of each content the many clients fetch. */
  readonly burstBytes: number
  /** Probe runs with the node idle. */
  readonly idleProbes: number
  /** Seconds after the many-clients load ends that the node's RSS is read again. */
  readonly settleSeconds: number
  readonly log: (line: string) => void
}

export interface LoadBenchResult {
  readonly figures: Figure[]
  readonly notes: string[]
}

const NODE = fileURLToPath(new URL('./load-node.ts', import.meta.url))
const CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url))
const SMALL_BYTES = MiB
const SMALL_COUNT = 32
const BIG_COUNT = 8

function profArgs(): string[] {
  const dir = process.env.FULMEN_BENCH_PROF
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []
}

/**
 * A child on a JSON job: `ready` resolves at its first `{"ready":…}`-style line (for servers and
 * clients that wait for a signal), `result` with its last stdout line once it exits; `signal`
 * writes a line to its stdin.
 */
function startChild<R, T>(
  script: string,
  job: object,
  execArgv: readonly string[] = [],
): { child: ChildProcess; ready: Promise<R>; result: Promise<T>; signal: () => void } {
  const child = spawn(process.execPath, [...execArgv, script, JSON.stringify(job)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let out = ''
  let onReady: (r: R) => void = () => {}
  let onFail: (e: Error) => void = () => {}
  const ready = new Promise<R>((resolve, reject) => {
    onReady = resolve
    onFail = reject
  })
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const first = out.indexOf('\n') === -1
    out += d
    const line = /^(\{.*\})\n/.exec(out)
    if (first && line !== null) onReady(JSON.parse(line[1]!) as R)
  })
  const result = new Promise<T>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => {
      const error = new Error(`${path.basename(script)} exited (${code})`)
      onFail(error)
      if (code !== 0) reject(error)
      else resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as T)
    })
  })
  result.catch(() => {})
  ready.catch(() => {})
  return { child, ready, result, signal: () => child.stdin!.write('\n') }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

const runClient = <T>(job: LoadClientJob, execArgv: readonly string[] = []): Promise<T> =>
  startChild<unknown, T>(CLIENT, job, execArgv).result

/** Resident set of process `pid`, MiB (VmRSS). */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]
  return kib === undefined ? Number.NaN : Number(kib) / 1024
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function codesText(codes: Record<string, number>): string {
  const entries = Object.entries(codes)
  return entries.length === 0 ? 'none' : entries.map(([c, n]) => `${n}× ${c}`).join(', ')
}

function merge(into: Record<string, number>, from: Record<string, number>): void {
  for (const [c, n] of Object.entries(from)) into[c] = (into[c] ?? 0) + n
}

export async function measureLoad(options: LoadBenchOptions): Promise<LoadBenchResult> {
  const { log, bigBytes, turns } = options
  const figures: Figure[] = []
  const notes: string[] = []
  const add = (name: string, value: number, unit: string) =>
    figures.push({ name: `load.${name}`, value, unit })
  const stored = BIG_COUNT * bigBytes + SMALL_COUNT * SMALL_BYTES + SMALL_COUNT * options.burstBytes
  const base = scratchDir(2 * stored)
  const dir = mkdtempSync(path.join(base, 'fulmen-bench-load-'))
  const loadAtStart = os.loadavg()[0]!
  let node: ChildProcess | undefined
  const clients: ChildProcess[] = []
  try {
    log(
      `load: starting a full node holding ${BIG_COUNT} × ${bigBytes / MiB} MiB, ` +
        `${SMALL_COUNT} × ${SMALL_BYTES / MiB} MiB and ${SMALL_COUNT} × ${options.burstBytes / MiB} MiB`,
    )
    const nodeJob: LoadNodeJob = {
      dataDir: path.join(dir, 'node'),
      groups: {
        big: { bytes: bigBytes, count: BIG_COUNT },
        small: { bytes: SMALL_BYTES, count: SMALL_COUNT },
        burst: { bytes: options.burstBytes, count: SMALL_COUNT },
      },
    }
    const started = startChild<LoadNodeReady, unknown>(NODE, nodeJob, profArgs())
    node = started.child
    const ready = await started.ready
    const { multiaddr, roots, pid } = ready
    await sleep(1000)
    const rssBefore = rssMiB(pid)

    // --- one client: counts at once, and throughput --------------------------------------
    const plan = (name: string, group: string, count: number, atOnce: number): FetchPlan => ({
      name,
      roots: roots[group]!,
      count,
      atOnce,
    })
    log(
      `load: one client: ${BIG_COUNT} × ${bigBytes / MiB} MiB one after another and all at once, ` +
        `${turns} turns; then 64 at once of them, and 64 and 256 at once of 1 MiB`,
    )
    const plans = await runClient<PlansResult>(
      {
        mode: 'plans',
        multiaddr,
        warmRoot: roots.small![0]!,
        turns,
        plans: [plan('c1', 'big', BIG_COUNT, 1), plan('c8', 'big', BIG_COUNT, BIG_COUNT)],
        once: [
          plan('c64', 'big', 64, 64),
          plan('ok64', 'small', 64, 64),
          plan('ok256', 'small', 256, 256),
        ],
      },
      profArgs(),
    )
    const timed = (name: string): PlanRun[] =>
      plans.runs.filter((r) => r.name === name && r.turn > 0)
    const best = (name: string): PlanRun =>
      timed(name).reduce((a, b) => (a.okBytes / a.seconds >= b.okBytes / b.seconds ? a : b))
    const c1 = best('c1')
    const c8 = best('c8')
    const c64 = best('c64')
    const ok64 = best('ok64')
    const ok256 = best('ok256')
    const mibs = (r: PlanRun) => mibPerSecond(r.okBytes, r.seconds)
    add('ok.c64', ok64.ok, 'count')
    add('asked.c64', 64, 'count')
    add('ok.c256', ok256.ok, 'count')
    add('asked.c256', 256, 'count')
    add('mibs.c1', mibs(c1), 'MiB/s')
    add('mibs.c8', mibs(c8), 'MiB/s')
    add('mibs.c64', mibs(c64), 'MiB/s')
    add('k8.one-after-another', c1.seconds, 's')
    add('k8.at-once', c8.seconds, 's')
    const perGiB = (ms: number, r: PlanRun) => ms / (r.okBytes / GiB)
    add('cpu.client.c1', perGiB(c1.clientCpuMs, c1), 'ms/GiB')
    add('cpu.client.c8', perGiB(c8.clientCpuMs, c8), 'ms/GiB')
    add('cpu.node.c1', perGiB(c1.nodeCpuMs, c1), 'ms/GiB')
    add('cpu.node.c8', perGiB(c8.nodeCpuMs, c8), 'ms/GiB')
    const turnsText = (name: string) =>
      timed(name)
        .map((r) => `${mibs(r).toFixed(0)} MiB/s (${r.seconds.toFixed(2)} s)`)
        .join(', ')
    log(
      `load: c1 ${mibs(c1).toFixed(0)} MiB/s, c8 ${mibs(c8).toFixed(0)} MiB/s, c64 ${mibs(c64).toFixed(0)} ` +
        `MiB/s (${c64.ok}/64); at once of 1 MiB: ${ok64.ok}/64, ${ok256.ok}/256`,
    )
    notes.push(
      `Load (issue 23): one full node (bench/node/load-node.ts) and each client (bench/node/load-client.ts, ` +
        'the Node `createClient`) in processes of their own over loopback WebSockets, Noise, Yamux; store in ' +
        `${base}. On this ${os.cpus().length}-core machine one core runs the client and one the node (and the ` +
        `other jobs of the machine: load average ${loadAtStart.toFixed(2)} at the section's start, ` +
        `${os.loadavg()[0]!.toFixed(2)} after the single-client part). Throughput: ${BIG_COUNT} distinct ` +
        `${bigBytes / MiB} MiB contents, a fresh client per run (session opened by an untimed 1 MiB fetch): ` +
        `one after another (c1) and all at once (c8), ${turns} turns after an untimed one, best of each; ` +
        `every turn c1 ${turnsText('c1')}, c8 ${turnsText('c8')}; c64: 64 at once (each content 8 times), once: ` +
        `${c64.ok}/64 completed, failures ${codesText(c64.codes)}. CPU per GiB, client ` +
        `${perGiB(c1.clientCpuMs, c1).toFixed(0)} (c1) vs ${perGiB(c8.clientCpuMs, c8).toFixed(0)} ms (c8), node ` +
        `${perGiB(c1.nodeCpuMs, c1).toFixed(0)} vs ${perGiB(c8.nodeCpuMs, c8).toFixed(0)} ms. At once from one ` +
        `client, ${SMALL_COUNT} distinct 1 MiB contents: 64 → ${ok64.ok} completed (failures ` +
        `${codesText(ok64.codes)}), 256 → ${ok256.ok} (failures ${codesText(ok256.codes)}).`,
    )

    // --- many clients --------------------------------------------------------------------
    const n = options.clients
    const k = options.perClient
    log(`load: ${n} client processes × ${k} fetches at once of ${options.burstBytes / MiB} MiB`)
    const probeJob = (runs: number): ProbeJob => ({
      mode: 'probe',
      multiaddr,
      url: ready.url,
      root: roots.small![0]!,
      runs,
      spacingMs: 50,
    })
    const burstRoots = roots.burst!
    const bursts = Array.from({ length: n }, (_, i) =>
      startChild<unknown, BurstResult>(CLIENT, {
        mode: 'burst',
        multiaddr,
        roots: Array.from({ length: k }, (_, j) => burstRoots[(i * k + j) % burstRoots.length]!),
      } satisfies BurstJob),
    )
    const probe = startChild<unknown, ProbeResult>(CLIENT, probeJob(0))
    // The twenty clients run below the node's priority: on one 2-core machine they stand for
    // clients on machines of their own. At equal priority they leave the node a twenty-first of
    // the CPU, and its dials and streams miss libp2p's 10 s timeouts (the run then measures
    // this machine's oversubscription, not the node: 272/320 with resets and failed dials).
    for (const b of bursts) {
      try {
        os.setPriority(b.child.pid!, 10)
      } catch {}
    }
    clients.push(...bursts.map((b) => b.child), probe.child)
    await Promise.all([...bursts.map((b) => b.ready), probe.ready])
    let peak = rssMiB(pid)
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(pid))
    }, 20)
    const t0 = performance.now()
    for (const b of bursts) b.signal()
    const results = await Promise.all(bursts.map((b) => b.result))
    const loadSeconds = (performance.now() - t0) / 1000
    probe.signal()
    const loaded = await probe.result
    clearInterval(sampler)
    peak = Math.max(peak, rssMiB(pid))
    const loadEnded = performance.now()
    const burstOk = results.reduce((s, r) => s + r.ok, 0)
    const burstCodes: Record<string, number> = {}
    for (const r of results) merge(burstCodes, r.codes)
    const burstFirst = results.flatMap((r) => r.firstByteMs)
    add('clients20x16.ok', burstOk, 'count')
    add('clients20x16.asked', n * k, 'count')
    add('node.rss.beforeMiB', rssBefore, 'MiB')
    add('node.rss.peakMiB', peak, 'MiB')
    log(
      `load: ${burstOk}/${n * k} in ${loadSeconds.toFixed(1)} s, node RSS ${rssBefore.toFixed(0)} → ` +
        `${peak.toFixed(0)} MiB; failures ${codesText(burstCodes)}; probe ${loaded.firstByteMs.length} runs`,
    )

    log(
      `load: probe on the idle node, ${options.idleProbes} runs; RSS ${options.settleSeconds} s after`,
    )
    await sleep(2000)
    const idle = await runClient<ProbeResult>(probeJob(options.idleProbes))
    const wait = loadEnded + options.settleSeconds * 1000 - performance.now()
    if (wait > 0) await sleep(wait)
    const rssAfter = rssMiB(pid)
    add('node.rss.afterMiB', rssAfter, 'MiB')
    for (const [name, values] of [
      ['ttfb.loaded', loaded.firstByteMs],
      ['ttfb.idle', idle.firstByteMs],
      ['health.loaded', loaded.healthMs],
      ['health.idle', idle.healthMs],
      ['clients20x16.ttfb', burstFirst],
    ] as const) {
      add(`${name}.p50`, quantile(values, 0.5), 'ms')
      add(`${name}.p99`, quantile(values, 0.99), 'ms')
    }
    const ms = (values: readonly number[]) =>
      `p50 ${quantile(values, 0.5).toFixed(1)} ms, p99 ${quantile(values, 0.99).toFixed(1)} ms`
    notes.push(
      `Many clients: ${n} client processes, each a fresh \`createClient\` (made before the start) ` +
        `fetching ${k} of ${SMALL_COUNT} distinct ${options.burstBytes / MiB} MiB contents at once on one ` +
        `signal (their handshakes part of the load): ${burstOk}/${n * k} completed in ` +
        `${loadSeconds.toFixed(1)} s (failures ${codesText(burstCodes)}); their own first verified bytes, from ` +
        `the signal: ${ms(burstFirst)}. Beside them a probe process, one fetch at a time of a 1 MiB ` +
        `content, a fresh client each (dial, handshake, header, first block verified), then GET /health, ` +
        `50 ms apart: under the load ${loaded.firstByteMs.length} runs (${loaded.failed} failed: ` +
        `${codesText(loaded.codes)}), first byte ${ms(loaded.firstByteMs)}, /health ${ms(loaded.healthMs)}; ` +
        `idle (${idle.firstByteMs.length} runs, 2 s after the load): first byte ${ms(idle.firstByteMs)}, ` +
        `/health ${ms(idle.healthMs)}. Node RSS (VmRSS of its process, sampled every 20 ms from the ` +
        `bench): ${rssBefore.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at peak, ${rssAfter.toFixed(0)} MiB ` +
        `${options.settleSeconds} s after the load ended.`,
    )
    return { figures, notes }
  } finally {
    await Promise.all(clients.map(stopChild))
    if (node !== undefined) await stopChild(node)
    rmSync(dir, { recursive: true, force: true })
  }
}
