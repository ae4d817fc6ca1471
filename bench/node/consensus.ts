/**
 * Issue 16's consensus benchmark: a committee of 4 ordering 256-byte random transactions,
 * consensus alone (nothing executed, nothing persisted).
 *
 * - The figure: 4 processes (src/devnet/consensus-bench-node.ts) on loopback libp2p
 *   (WebSockets, Noise, Yamux), Ed25519 by Node's OpenSSL, each generating `ratePerMember`
 *   transactions a second. After a warm-up, a window of `measureS` seconds: transactions ordered
 *   per second (each member orders all of them; the mean over members), and the commit latency
 *   of each member's own transactions (generation → its own commit), p50 and p99. Then one
 *   process is killed with SIGKILL and, after `settleS`, the same over the 3 left (`f1-*`; the
 *   offered load falls by its share).
 * - The peer: the same 4 members in ONE process over the in-memory network (no sockets, no
 *   encryption, one core), the same offered load. Narwhal-HotStuff's 130k tx/s at ~2 s and
 *   Bullshark's 125k tx/s at 2–3 s were on 50 large machines: quoted in a note, not measured.
 *
 * - Ordered AND executed (`consensus.exec-*`, consensus-exec.ts): a devnet of 4 committee
 *   `fulmen node` processes fed pre-signed secp256k1 transfers over POST /chain/tx; the peer,
 *   the same load on one solo-ordering node (`consensus.solo.exec-*`).
 *
 * CPU time (process.cpuUsage of every member process) is reported beside the rates: on a
 * shared 2-core machine the wall-clock rates move with the other load; ordered transactions
 * per CPU second do much less.
 */
import os from 'node:os'
import {
  type Committee,
  startLocalCommittee,
  startProcessCommittee,
  summarize,
  type WindowSummary,
} from '../../src/devnet/consensus-bench-cluster.ts'
import type { Figure } from '../shared.ts'
import { describeExec, type ExecResult, measureExec } from './consensus-exec.ts'

export interface ConsensusBenchOptions {
  readonly size: number
  readonly ratePerMember: number
  readonly warmupS: number
  readonly measureS: number
  /** After the kill, before the second window. */
  readonly settleS: number
  readonly log: (line: string) => void
  /**
   * Ordered AND executed (consensus-exec.ts): a devnet of `size` committee `fulmen node`
   * processes fed signed transfers over HTTP, then the peer, one solo node with the same load.
   */
  readonly exec?: {
    readonly senders: number
    /** Transactions a second offered, in all. */
    readonly rate: number
    readonly warmupS: number
    readonly measureS: number
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Waits until every alive member has committed a leader (the committee is connected and
 * running), or `ms`.
 */
async function untilCommitting(committee: Committee, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const committing = new Set(
      committee.reports.filter((r) => r.committedRound > 0).map((r) => r.member),
    )
    if (committee.alive.every((m) => committing.has(m))) return true
    await sleep(250)
  }
  return false
}

/**
 * Measures the next `seconds`: the reports that end in them (a report covers about a second
 * before it, so the window is the reports' span, not exactly these seconds).
 */
async function window(
  committee: Committee,
  seconds: number,
): Promise<WindowSummary & { load: string }> {
  const from = Date.now()
  const before = os.loadavg()[0] as number
  await sleep(seconds * 1000)
  const after = os.loadavg()[0] as number
  return {
    ...summarize(committee.reports, committee.alive, from, Date.now()),
    load: `${before.toFixed(1)}–${after.toFixed(1)}`,
  }
}

function describe(what: string, s: WindowSummary & { load: string }): string {
  return (
    `${what}: ${Math.round(s.tps).toLocaleString('en-US')} tx/s ordered of ${Math.round(s.offeredTps).toLocaleString('en-US')}/s offered ` +
    `(${Math.round(s.turnedAwayTps).toLocaleString('en-US')}/s turned away by a full mempool), ` +
    `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms (${s.samples.toLocaleString('en-US')} own transactions), ` +
    `CPU ${(s.cpuMsPerSecond / 1000).toFixed(2)} cores in all, ` +
    `${s.pending.toLocaleString('en-US')} own transactions uncommitted at the end, load average ${s.load}`
  )
}

export async function measureConsensus(
  options: ConsensusBenchOptions,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const { log } = options
  const figures: Figure[] = []
  const notes: string[] = []
  // Transactions start once the committee commits (empty rounds until then): the first
  // seconds over cold connections are start-up, not what is measured.
  const base = { size: options.size, ratePerSecond: options.ratePerMember, generate: false }
  const offered = options.size * options.ratePerMember

  log(`consensus: ${options.size} members in one process, in-memory network, ${offered}/s offered`)
  const local = await startLocalCommittee(base)
  try {
    if (!(await untilCommitting(local, 60_000)))
      throw new Error('the one-process committee did not commit')
    local.generate()
    await sleep(options.warmupS * 1000)
    const w = await window(local, options.measureS)
    log(describe('consensus, one process', w))
    notes.push(
      describe(
        `Consensus peer: ${options.size} members in one process over the in-memory network`,
        w,
      ),
    )
    figures.push(
      { name: 'consensus.local.tps', value: w.tps, unit: 'tx/s' },
      { name: 'consensus.local.p50-ms', value: w.p50Ms, unit: 'ms' },
      { name: 'consensus.local.p99-ms', value: w.p99Ms, unit: 'ms' },
      { name: 'consensus.local.cpu-cores', value: w.cpuMsPerSecond / 1000, unit: 'cores' },
    )
  } finally {
    await local.stop()
  }

  log(`consensus: ${options.size} processes on loopback libp2p, ${offered}/s offered`)
  const committee = await startProcessCommittee({ ...base, log: (line) => log(`  ${line}`) })
  try {
    if (!(await untilCommitting(committee, 90_000))) throw new Error('the committee did not commit')
    committee.generate()
    await sleep(options.warmupS * 1000)
    const all = await window(committee, options.measureS)
    log(describe('consensus, 4 processes', all))
    notes.push(describe(`Consensus: ${options.size} processes on loopback libp2p`, all))
    figures.push(
      { name: 'consensus.tps', value: all.tps, unit: 'tx/s' },
      { name: 'consensus.p50-ms', value: all.p50Ms, unit: 'ms' },
      { name: 'consensus.p99-ms', value: all.p99Ms, unit: 'ms' },
      { name: 'consensus.offered-tps', value: all.offeredTps, unit: 'tx/s' },
      { name: 'consensus.cpu-cores', value: all.cpuMsPerSecond / 1000, unit: 'cores' },
      {
        name: 'consensus.tx-per-cpu-s',
        value: (all.tps / all.cpuMsPerSecond) * 1000,
        unit: 'tx/s',
      },
    )

    const victim = options.size - 1
    committee.kill(victim)
    log(`consensus: member ${victim} killed (SIGKILL)`)
    await sleep(options.settleS * 1000)
    const f1 = await window(committee, options.measureS)
    log(describe('consensus, one process killed', f1))
    notes.push(
      describe(
        `Consensus with member ${victim} killed (SIGKILL), the ${committee.alive.length} left`,
        f1,
      ),
    )
    figures.push(
      { name: 'consensus.f1-tps', value: f1.tps, unit: 'tx/s' },
      { name: 'consensus.f1-p50-ms', value: f1.p50Ms, unit: 'ms' },
      { name: 'consensus.f1-p99-ms', value: f1.p99Ms, unit: 'ms' },
      { name: 'consensus.f1-offered-tps', value: f1.offeredTps, unit: 'tx/s' },
    )
  } finally {
    await committee.stop()
  }

  if (options.exec !== undefined) {
    const exec = options.exec
    const run = (consensus: 'committee' | 'solo', nodes: number) =>
      measureExec({ ...exec, consensus, nodes, log: (line) => log(`  ${line}`) })
    const figuresOf = (prefix: string, r: ExecResult): Figure[] => [
      { name: `${prefix}-tps`, value: r.tps, unit: 'tx/s' },
      { name: `${prefix}-p50-ms`, value: r.p50Ms, unit: 'ms' },
      { name: `${prefix}-p99-ms`, value: r.p99Ms, unit: 'ms' },
      { name: `${prefix}-min-tps`, value: r.minTps, unit: 'tx/s' },
      { name: `${prefix}-offered-tps`, value: r.offeredTps, unit: 'tx/s' },
      { name: `${prefix}-accepted-tps`, value: r.acceptedTps, unit: 'tx/s' },
      { name: `${prefix}-cpu-cores`, value: r.nodeCores, unit: 'cores' },
      { name: `${prefix}-loader-cpu-cores`, value: r.loaderCores, unit: 'cores' },
      { name: `${prefix}-load-average`, value: Number(r.load.split('–')[1]), unit: '' },
    ]
    log(
      `consensus: executed — ${options.size} committee node processes, ${exec.rate}/s signed transfers offered by ${exec.senders} senders`,
    )
    try {
      const committee = await run('committee', options.size)
      log(describeExec('consensus, executed by the committee', committee))
      notes.push(
        describeExec(
          `Consensus, ordered and executed: ${options.size} committee fulmen node processes`,
          committee,
        ),
      )
      figures.push(...figuresOf('consensus.exec', committee))
    } catch (e) {
      notes.push(`Consensus exec run failed: ${(e as Error).message.split('\n')[0]}`)
      log(`Consensus exec run failed: ${(e as Error).stack}`)
    }
    log(`consensus: executed — one solo node, the same load`)
    try {
      const solo = await run('solo', 1)
      log(describeExec('consensus, executed by one solo node', solo))
      notes.push(describeExec('Consensus exec peer: one solo-ordering fulmen node', solo))
      figures.push(...figuresOf('consensus.solo.exec', solo))
    } catch (e) {
      notes.push(`Consensus solo exec run failed: ${(e as Error).message.split('\n')[0]}`)
      log(`Consensus solo exec run failed: ${(e as Error).stack}`)
    }
    figures.push({ name: 'consensus.target.exec-tps', value: 3_000, unit: 'tx/s' })
    notes.push(
      `Consensus exec: ${exec.rate.toLocaleString('en-US')}/s signed secp256k1 transfers offered over POST /chain/tx by ${exec.senders.toLocaleString('en-US')} funded accounts, ` +
        `each pinned to one node with one transaction in flight (its next after its last executed), pre-signed before the nodes start; ` +
        `a warm-up of ${exec.warmupS} s, a window of ${exec.measureS} s; executed = receipts "ok" in the blocks each node's head reached in the window (mean over nodes), ` +
        'latency = POST → the block seen executed on the node it was sent to (heads polled every 100 ms).',
    )
  }

  figures.push(
    { name: 'consensus.target.tps', value: 10_000, unit: 'tx/s' },
    { name: 'consensus.target.p50-ms', value: 1_000, unit: 'ms' },
    { name: 'consensus.target.p99-ms', value: 2_000, unit: 'ms' },
    { name: 'consensus.target.f1-p50-ms', value: 2_000, unit: 'ms' },
  )
  notes.push(
    `Consensus: ${options.ratePerMember.toLocaleString('en-US')} transactions/s generated by each member ` +
      `(${offered.toLocaleString('en-US')}/s in all), 256 bytes each; transactions from the committee's first commit (empty rounds before), a warm-up of ${options.warmupS} s, ` +
      `windows of ${options.measureS} s, ${options.settleS} s after the kill. Ordering alone: nothing executed or persisted. ` +
      'Narwhal-HotStuff reported 130,000 tx/s at ~2 s latency and Bullshark 125,000 tx/s at 2–3 s, ' +
      'both on 50 large machines (quoted from their papers, not measured here).',
  )
  return { figures, notes }
}

export function consensusComparisons(options: Pick<ConsensusBenchOptions, 'size'>) {
  const section = `Consensus (issue 16): a committee of ${options.size}, 256-byte transactions, ordering alone`
  const execSection = `Consensus (issue 16): ordered and executed, ${options.size} committee node processes, signed transfers over HTTP`
  return [
    {
      section: execSection,
      label: `ordered and executed, ${options.size} committee processes, vs the target`,
      figure: 'consensus.exec-tps',
      peer: 'consensus.target.exec-tps',
      ratio: 'consensus.ratio.exec-tps/target',
      target: { text: '≥ 3,000/s', met: (_r: number, f: number) => f >= 3_000 },
    },
    {
      section: execSection,
      label: `executed: ${options.size} committee processes vs one solo node, the same load`,
      figure: 'consensus.exec-tps',
      peer: 'consensus.solo.exec-tps',
      ratio: 'consensus.ratio.exec-tps/solo',
    },
    {
      section: execSection,
      label: 'p50 submit → executed: committee vs one solo node',
      figure: 'consensus.exec-p50-ms',
      peer: 'consensus.solo.exec-p50-ms',
      ratio: 'consensus.ratio.exec-p50/solo',
    },
    {
      section,
      label: `ordered, ${options.size} processes over libp2p, vs the target`,
      figure: 'consensus.tps',
      peer: 'consensus.target.tps',
      ratio: 'consensus.ratio.tps/target',
      target: { text: '≥ 10,000/s', met: (_r: number, f: number) => f >= 10_000 },
    },
    {
      section,
      label: 'p50 commit latency vs the target',
      figure: 'consensus.p50-ms',
      peer: 'consensus.target.p50-ms',
      ratio: 'consensus.ratio.p50/target',
      target: { text: '< 1 s', met: (_r: number, f: number) => f < 1_000 },
    },
    {
      section,
      label: 'p99 commit latency vs the target',
      figure: 'consensus.p99-ms',
      peer: 'consensus.target.p99-ms',
      ratio: 'consensus.ratio.p99/target',
      target: { text: '< 2 s', met: (_r: number, f: number) => f < 2_000 },
    },
    {
      section,
      label: 'one process killed: ordered vs all 4',
      figure: 'consensus.f1-tps',
      peer: 'consensus.tps',
      ratio: 'consensus.ratio.f1-tps/tps',
      percent: true,
      target: { text: '≥ 50 %', met: (r: number) => r >= 0.5 },
    },
    {
      section,
      label: 'one process killed: p50 commit latency vs the target',
      figure: 'consensus.f1-p50-ms',
      peer: 'consensus.target.f1-p50-ms',
      ratio: 'consensus.ratio.f1-p50/target',
      target: { text: '< 2 s', met: (_r: number, f: number) => f < 2_000 },
    },
    {
      section,
      label: `ordered: ${options.size} processes over libp2p vs one process in memory`,
      figure: 'consensus.tps',
      peer: 'consensus.local.tps',
      ratio: 'consensus.ratio.tps/local',
    },
    {
      section,
      label: 'p50 latency: processes over libp2p vs one process in memory',
      figure: 'consensus.p50-ms',
      peer: 'consensus.local.p50-ms',
      ratio: 'consensus.ratio.p50/local',
    },
    {
      section,
      label: 'CPU in use: processes vs one process (cores)',
      figure: 'consensus.cpu-cores',
      peer: 'consensus.local.cpu-cores',
      ratio: 'consensus.ratio.cpu/local',
    },
  ]
}
