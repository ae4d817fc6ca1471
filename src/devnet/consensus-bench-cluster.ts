/**
 * The consensus benchmark's committee (issue 16), two ways with one interface:
 *
 * - `startProcessCommittee`: one process per member (consensus-bench-node.ts, spawned with
 *   `process.execPath`), on loopback libp2p; a member is stopped with SIGKILL, as `kill -9`.
 * - `startLocalCommittee`: every member in this process over the in-memory network
 *   (src/net/memory-transport.ts): the same code without processes, sockets or encryption,
 *   the peer figure beside the processes' one.
 *
 * Both collect each member's per-second reports; `summarize` turns a window of them into the
 * figures the bench prints.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { readySync } from '../b3/engine.ts'
import type { ConsensusFrame } from '../consensus/dag/consensus-frames.ts'
import { CONSENSUS_FRAMES } from '../consensus/dag/consensus-frames.ts'
import { MemoryNetwork } from '../net/memory-transport.ts'
import { createMessenger, type Messenger } from '../net/messenger.ts'
import {
  BENCH_QUEUE_LIMIT,
  BenchMember,
  type BenchNodeJob,
  type SecondReport,
} from './consensus-bench-member.ts'
import { childEnv } from './processes.ts'

export const BENCH_NODE_SCRIPT = fileURLToPath(
  new URL('./consensus-bench-node.ts', import.meta.url),
)

export interface CommitteeOptions {
  readonly size: number
  /** Transactions each member generates per second. */
  readonly ratePerSecond: number
  readonly recordSequence?: boolean
  readonly batchDelayMs?: number
  readonly maxHeaderDelayMs?: number
  readonly signatures?: 'node' | 'noble'
  /** Batches on the consensus streams too (default: streams of their own). */
  readonly oneStream?: boolean
  readonly maxBatchBytes?: number
  /** False: no transactions until `generate()` (default true). */
  readonly generate?: boolean
  /** Processes: libp2p over TCP (default) or WebSockets (a full node's listeners). */
  readonly transport?: 'tcp' | 'ws'
  /** Node flags of member `m`'s process (`--cpu-prof`…); processes only. */
  readonly execArgv?: (member: number) => readonly string[]
  /** Where `--cpu-prof` writes, and the processes' working directory. */
  readonly cwd?: string
  readonly log?: (line: string) => void
}

export interface Committee {
  /** Every report so far, in arrival order. */
  readonly reports: readonly SecondReport[]
  /** Members not killed. */
  readonly alive: readonly number[]
  /** Starts the transactions (of a committee started with `generate: false`). */
  generate(): void
  /** Stops member `m` at once (SIGKILL for a process). */
  kill(member: number): void
  /** Stops every member; the committed transaction ids of each (when recorded). */
  stop(): Promise<Map<number, readonly string[]>>
}

/** The member settings given (only those: the member's defaults stand for the rest). */
function tuningOf(options: CommitteeOptions) {
  return {
    ...(options.batchDelayMs === undefined ? {} : { batchDelayMs: options.batchDelayMs }),
    ...(options.maxHeaderDelayMs === undefined
      ? {}
      : { maxHeaderDelayMs: options.maxHeaderDelayMs }),
    ...(options.signatures === undefined ? {} : { signatures: options.signatures }),
    ...(options.maxBatchBytes === undefined ? {} : { maxBatchBytes: options.maxBatchBytes }),
  }
}

// --- processes ------------------------------------------------------------------------------

interface ChildLine {
  readonly type: 'ready' | 'report' | 'stopped'
  readonly peerId?: string
  readonly address?: string
  readonly sequence?: string[]
}

export async function startProcessCommittee(options: CommitteeOptions): Promise<Committee> {
  const log = options.log ?? (() => {})
  const reports: SecondReport[] = []
  const alive = new Set<number>()
  const children: ChildProcess[] = []
  const ready: Promise<{ peerId: string; address: string }>[] = []
  const stopped = new Map<number, Promise<readonly string[]>>()

  for (let m = 0; m < options.size; m++) {
    const job: BenchNodeJob = {
      member: m,
      size: options.size,
      ratePerSecond: options.ratePerSecond,
      recordSequence: options.recordSequence ?? false,
      ...tuningOf(options),
      ...(options.oneStream ? { oneStream: true } : {}),
      ...(options.generate === false ? { generate: false } : {}),
      ...(options.transport === undefined ? {} : { transport: options.transport }),
    }
    const child = spawn(
      process.execPath,
      [...(options.execArgv?.(m) ?? []), BENCH_NODE_SCRIPT, JSON.stringify(job)],
      { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv(), cwd: options.cwd },
    )
    children.push(child)
    alive.add(m)
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.trimEnd().split('\n')) log(`member ${m}: ${line}`)
    })
    let onReady: (v: { peerId: string; address: string }) => void = () => {}
    let onStopped: (sequence: readonly string[]) => void = () => {}
    let onFailed: (e: Error) => void = () => {}
    ready.push(
      new Promise((resolve, reject) => {
        onReady = resolve
        onFailed = reject
      }),
    )
    stopped.set(
      m,
      new Promise((resolve) => {
        onStopped = resolve
      }),
    )
    child.once('exit', (code, signal) => {
      alive.delete(m)
      onFailed(new Error(`member ${m} exited (${code ?? signal}) before it was ready`))
      onStopped([])
    })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let message: ChildLine & SecondReport
      try {
        message = JSON.parse(line)
      } catch {
        log(`member ${m} (stdout): ${line}`)
        return
      }
      if (message.type === 'ready') onReady({ peerId: message.peerId!, address: message.address! })
      else if (message.type === 'report') reports.push(message)
      else if (message.type === 'stopped') onStopped(message.sequence ?? [])
    })
  }

  const killAll = () => {
    for (const c of children) c.kill('SIGKILL')
  }
  process.once('exit', killAll)
  let peers: { peerId: string; address: string }[]
  try {
    peers = await Promise.all(ready)
  } catch (error) {
    killAll()
    throw error
  }
  for (const child of children) child.stdin?.write(`${JSON.stringify({ type: 'peers', peers })}\n`)

  return {
    reports,
    get alive() {
      return [...alive].sort((a, b) => a - b)
    },
    generate() {
      for (const m of alive) children[m]?.stdin?.write(`${JSON.stringify({ type: 'generate' })}\n`)
    },
    kill(member) {
      alive.delete(member)
      children[member]?.kill('SIGKILL')
    },
    async stop() {
      for (const m of alive) children[m]?.stdin?.write(`${JSON.stringify({ type: 'stop' })}\n`)
      const sequences = new Map<number, readonly string[]>()
      const deadline = new Promise<'late'>((r) => setTimeout(() => r('late'), 15_000).unref())
      for (const [m, done] of stopped) {
        const sequence = await Promise.race([done, deadline])
        if (sequence !== 'late') sequences.set(m, sequence)
      }
      // Whatever has not exited by now is made to.
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolve()
              c.once('exit', () => resolve())
              setTimeout(() => c.kill('SIGKILL'), 5_000).unref()
            }),
        ),
      )
      process.off('exit', killAll)
      return sequences
    },
  }
}

// --- one process ----------------------------------------------------------------------------

export async function startLocalCommittee(options: CommitteeOptions): Promise<Committee> {
  readySync() // as each process does
  // Two networks: one for consensus, one for batches (each peer id listens once on each).
  const networks = options.oneStream
    ? [new MemoryNetwork()]
    : [new MemoryNetwork(), new MemoryNetwork()]
  const ids = Array.from({ length: options.size }, (_, m) => `member-${m}`)
  const reports: SecondReport[] = []
  const alive = new Set<number>()
  const messengers: Messenger<ConsensusFrame>[] = []
  const members: BenchMember[] = []
  for (let m = 0; m < options.size; m++) {
    const [messenger, batchMessenger] = networks.map((network) =>
      createMessenger({
        transport: network.transport(ids[m] as string),
        codec: CONSENSUS_FRAMES,
        peers: ids.filter((_, i) => i !== m),
        queueLimit: BENCH_QUEUE_LIMIT,
        backoff: { initialMs: 100, maxMs: 1_000 },
      }),
    ) as [Messenger<ConsensusFrame>, Messenger<ConsensusFrame> | undefined]
    messengers.push(messenger)
    if (batchMessenger !== undefined) messengers.push(batchMessenger)
    members.push(
      new BenchMember({
        member: m,
        size: options.size,
        ratePerSecond: options.ratePerSecond,
        messenger,
        ...(batchMessenger === undefined ? {} : { batchMessenger }),
        peerIds: ids,
        recordSequence: options.recordSequence ?? false,
        ...tuningOf(options),
        // One process: its CPU time is reported once, by member 0.
        processCpu: m === 0,
        onReport: (report) => reports.push(report),
      }),
    )
    alive.add(m)
  }
  await Promise.all(messengers.map((x) => x.start()))
  for (const member of members) member.start({ generate: options.generate !== false })
  return {
    reports,
    get alive() {
      return [...alive].sort((a, b) => a - b)
    },
    generate() {
      for (const m of alive) members[m]?.generate()
    },
    kill(member) {
      alive.delete(member)
      members[member]?.stop()
      for (const network of networks) network.cut(ids[member] as string)
    },
    async stop() {
      const sequences = new Map<number, readonly string[]>()
      for (const m of alive) {
        members[m]?.stop()
        sequences.set(m, members[m]?.sequence ?? [])
      }
      await Promise.all(messengers.map((x) => x.stop()))
      return sequences
    },
  }
}

// --- figures --------------------------------------------------------------------------------

export interface WindowSummary {
  /** Transactions ordered per second (the mean over the members counted). */
  readonly tps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Own transactions committed in the window, whose latencies the percentiles are of. */
  readonly samples: number
  /** CPU time per wall second, summed over the members' processes (ms/s; 1000 = one core). */
  readonly cpuMsPerSecond: number
  /** Transactions generated per second, all members (turned away or not). */
  readonly offeredTps: number
  /** Of those, turned away per second (a full mempool). */
  readonly turnedAwayTps: number
  /** Own transactions still uncommitted at the window's end, all members. */
  readonly pending: number
  readonly seconds: number
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

/**
 * The figures of the reports of `members` that end in (fromMs, toMs]: each member's rate over
 * the time its reports cover (they start and end within a second of the window's edges).
 */
export function summarize(
  reports: readonly SecondReport[],
  members: readonly number[],
  fromMs: number,
  toMs: number,
): WindowSummary {
  const inWindow = reports.filter(
    (r) => members.includes(r.member) && r.atMs > fromMs && r.atMs <= toMs,
  )
  let tpsSum = 0
  let cpu = 0
  let generated = 0
  let turnedAway = 0
  let pending = 0
  const latencies: number[] = []
  for (const m of members) {
    const own = inWindow.filter((r) => r.member === m)
    if (own.length === 0) continue
    const spanMs = (own.at(-1) as SecondReport).atMs - (own[0] as SecondReport).sinceMs
    let committed = 0
    for (const r of own) {
      committed += r.committed
      cpu += r.cpuMs
      generated += r.generated
      turnedAway += r.turnedAway
      for (const l of r.latenciesMs) latencies.push(l)
    }
    tpsSum += (committed / spanMs) * 1000
    pending += (own.at(-1) as SecondReport).pending
  }
  latencies.sort((a, b) => a - b)
  const seconds = (toMs - fromMs) / 1000
  return {
    // A member with no report in the window (stalled) counts as ordering nothing.
    tps: tpsSum / members.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    samples: latencies.length,
    cpuMsPerSecond: cpu / seconds,
    offeredTps: (generated + turnedAway) / seconds,
    turnedAwayTps: turnedAway / seconds,
    pending,
    seconds,
  }
}
