/**
 * The client side of the load benchmark, in a process of its own, running one job and printing
 * its result as one JSON line (bench/node/load-shared.ts has the jobs):
 *
 *   node bench/node/load-client.ts '<json: LoadClientJob>'
 *
 * - plans: one client process, a fresh `createClient` per plan and turn (opened with an
 *   untimed fetch), `count` fetches of whole contents with at most `atOnce` running; CPU of
 *   both processes around each;
 * - burst: one of many client processes: 16 (or so) fetches at once on a start signal;
 * - probe: one fetch at a time, a fresh client each, to its first verified byte, and /health.
 */

import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { readySync } from '../../src/b3/engine.ts'
import type { FulmenClient } from '../../src/client/client.ts'
import { createClient } from '../../src/client/create-client.node.ts'
import { FetchError } from '../../src/client/errors.ts'
import { createClientLibp2p } from '../../src/net/client-libp2p.ts'
import type {
  BurstJob,
  BurstResult,
  FetchPlan,
  LoadClientJob,
  NodeCounters,
  PlanRun,
  PlansJob,
  PlansResult,
  ProbeJob,
  ProbeResult,
} from './load-shared.ts'
import { CPU_PROTOCOL, cpuMs } from './sessions-shared.ts'

/** A failure's code: the fetch's, and the first node's reason behind it. */
function codeOf(error: unknown): string {
  if (error instanceof FetchError) {
    const node = error.failures[0]?.code
    return node === undefined ? error.code : `${error.code}/${node}`
  }
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : ((error as Error).name ?? 'Error')
}

function count(into: Record<string, number>, code: string): void {
  into[code] = (into[code] ?? 0) + 1
}

/** Reads a fetch's body to the end; calls `onFirst` at its first chunk. */
async function fetchWhole(
  client: FulmenClient,
  root: string,
  onFirst?: () => void,
): Promise<number> {
  const res = await client.fetch(root)
  const reader = res.body!.getReader()
  let n = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return n
    if (n === 0) onFirst?.()
    n += value.byteLength
  }
}

/**
 * The node process's CPU time, over the bench-only CPU protocol. Listeners, not the async
 * iterator: libp2p's iterator never ends for a stream whose bytes and close arrived before it
 * was iterated (bench/node/sessions-client.ts, readStream).
 */
async function nodeCpu(connection: Connection): Promise<NodeCounters> {
  const stream = await connection.newStream(CPU_PROTOCOL)
  const decoder = new TextDecoder()
  let text = ''
  await new Promise<void>((resolve, reject) => {
    const ended = () => stream.remoteWriteStatus === 'closed' && stream.readBufferLength === 0
    stream.addEventListener('message', (event) => {
      const bytes = event.data instanceof Uint8Array ? event.data : event.data.subarray()
      text += decoder.decode(bytes, { stream: true })
      if (ended()) resolve()
    })
    stream.addEventListener('remoteCloseWrite', () => resolve())
    stream.addEventListener('close', (event) =>
      event.error === undefined ? resolve() : reject(event.error),
    )
    if (ended()) resolve()
  })
  await stream.close()
  return JSON.parse(text) as NodeCounters
}

async function runPlan(
  plan: FetchPlan,
  job: PlansJob,
  turn: number,
  cpuLink: Connection,
): Promise<PlanRun> {
  const client = await createClient({ bootstrap: [job.multiaddr] })
  try {
    await fetchWhole(client, job.warmRoot)
    const codes: Record<string, number> = {}
    let ok = 0
    let failed = 0
    let okBytes = 0
    let next = 0
    const worker = async () => {
      while (next < plan.count) {
        const i = next++
        try {
          const n = await fetchWhole(client, plan.roots[i % plan.roots.length]!)
          okBytes += n
          ok++
        } catch (error) {
          failed++
          count(codes, codeOf(error))
        }
      }
    }
    const node0 = await nodeCpu(cpuLink)
    const cpu0 = process.cpuUsage()
    const elu0 = performance.eventLoopUtilization()
    const t0 = performance.now()
    await Promise.all(Array.from({ length: Math.min(plan.atOnce, plan.count) }, worker))
    const seconds = (performance.now() - t0) / 1000
    const clientCpuMs = cpuMs(cpu0, process.cpuUsage())
    const clientBusy = performance.eventLoopUtilization(elu0).utilization
    const node1 = await nodeCpu(cpuLink)
    const busy = (a: NodeCounters['elu'], b: NodeCounters['elu']) =>
      (b.active - a.active) / (b.active + b.idle - a.active - a.idle)
    return {
      name: plan.name,
      turn,
      seconds,
      ok,
      failed,
      okBytes,
      codes,
      clientCpuMs,
      nodeCpuMs: cpuMs(node0, node1),
      clientBusy,
      nodeBusy: busy(node0.elu, node1.elu),
      ackWaits: node1.ackWaits - node0.ackWaits,
      ackWaitMs: node1.ackWaitMs - node0.ackWaitMs,
    }
  } finally {
    await client.close()
  }
}

async function plans(job: PlansJob): Promise<PlansResult> {
  // The node's CPU is read over a libp2p of its own, so the clients' sessions are untouched.
  const lib = await createClientLibp2p()
  const cpuLink = await lib.dial(multiaddr(job.multiaddr))
  const runs: PlanRun[] = []
  try {
    // Plans in turns (A B C, A B C, …): load from other processes weighs on all of them.
    for (let turn = 0; turn <= job.turns; turn++)
      for (const plan of job.plans) {
        const run = await runPlan(plan, job, turn, cpuLink)
        process.stderr.write(
          `  load: ${plan.name} turn ${turn}: ${run.ok}/${plan.count} in ${run.seconds.toFixed(2)} s, ` +
            `busy client ${(run.clientBusy * 100).toFixed(0)} % node ${(run.nodeBusy * 100).toFixed(0)} %, ` +
            `${run.ackWaits} waits for acks (${run.ackWaitMs.toFixed(0)} ms)\n`,
        )
        runs.push(run)
      }
    for (const plan of job.once) {
      const run = await runPlan(plan, job, 1, cpuLink)
      process.stderr.write(
        `  load: ${plan.name}: ${run.ok}/${plan.count} in ${run.seconds.toFixed(2)} s\n`,
      )
      runs.push(run)
    }
  } finally {
    await lib.stop()
  }
  return { runs }
}

/** Resolves at the next line on stdin. */
function nextLine(): Promise<void> {
  const lines = createInterface({ input: process.stdin })
  return new Promise((resolve) =>
    lines.once('line', () => {
      lines.close()
      resolve()
    }),
  )
}

async function burst(job: BurstJob): Promise<BurstResult> {
  const client = await createClient({ bootstrap: [job.multiaddr] })
  const codes: Record<string, number> = {}
  const firstByteMs: number[] = []
  let ok = 0
  let failed = 0
  try {
    const go = nextLine()
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
    await go
    const t0 = performance.now()
    await Promise.all(
      job.roots.map(async (root) => {
        let first = 0
        try {
          await fetchWhole(client, root, () => {
            first = performance.now() - t0
          })
          firstByteMs.push(first)
          ok++
        } catch (error) {
          failed++
          count(codes, codeOf(error))
        }
      }),
    )
    return { ok, failed, codes, seconds: (performance.now() - t0) / 1000, firstByteMs }
  } finally {
    await client.close()
  }
}

async function probe(job: ProbeJob): Promise<ProbeResult> {
  const result = { firstByteMs: [] as number[], healthMs: [] as number[], failed: 0, codes: {} }
  let stopped = false
  if (job.runs === 0) {
    void nextLine().then(() => {
      stopped = true
    })
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
  }
  for (let run = 0; job.runs === 0 ? !stopped : run < job.runs; run++) {
    // A fresh client (made before the clock starts): dial, handshake, header, first block.
    const client = await createClient({ bootstrap: [job.multiaddr] })
    try {
      const t0 = performance.now()
      const res = await client.fetch(job.root)
      const reader = res.body!.getReader()
      const first = await reader.read()
      if (first.done) throw new Error('empty body')
      result.firstByteMs.push(performance.now() - t0)
      await reader.cancel()
    } catch (error) {
      result.failed++
      count(result.codes, codeOf(error))
    } finally {
      await client.close()
    }
    const t1 = performance.now()
    const health = await fetch(`${job.url}/health`)
    await health.arrayBuffer()
    if (health.ok) result.healthMs.push(performance.now() - t1)
    await new Promise((r) => setTimeout(r, job.spacingMs))
  }
  return result
}

readySync()
const job = JSON.parse(process.argv[2] ?? '') as LoadClientJob
const result =
  job.mode === 'plans'
    ? await plans(job)
    : job.mode === 'burst'
      ? await burst(job)
      : await probe(job)
process.stdout.write(`${JSON.stringify(result)}\n`)
// libp2p may leave timers behind (identify, reconnects): nothing more to wait for.
process.exit(0)
