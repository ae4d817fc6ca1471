/**
 * Issue 16's simulator target: "≥ 1,000 rounds/s of a 4-node committee in one process (so
 * thousands of seeds run in CI in minutes)".
 *
 * - The figure: the seed sweep's workload (scripts/consensus-sweep.ts: six scenarios a seed —
 *   delays with a slow member, a partition that heals, a paused member, an equivocating author,
 *   a crash and restart from the member's NarwhalStore, an equivocator whose twins a Byzantine
 *   voter votes for — 2 s of virtual time each), 4 members, over `seeds` seeds: virtual rounds
 *   (the highest round of each run, summed) per wall second and per CPU second
 *   (process.cpuUsage), and seeds per wall second. Every run is checked as the sweep checks it
 *   (`sweepProblem`): a failure is counted, not hidden.
 * - The peer, measured in the same run: the same at 7 members (more messages a round: 3n(n − 1)
 *   headers, votes and certificates, and 2f + 1 = 5 vote signatures a certificate).
 *
 * The two sizes alternate in halves of the seeds, so load from other processes on the shared
 * machine falls on both alike; the load average is noted beside the figures. Ten seeds of each
 * size run first, unmeasured, to warm up the JIT (a sweep of thousands of seeds runs warm; the
 * compilers' threads count in process.cpuUsage, and cold, the first seeds cost about twice as
 * much CPU a round): their rate is noted.
 */
import os from 'node:os'
import {
  simulate,
  sweepProblem,
  sweepScenarios,
} from '../../src/consensus/testing/committee-simulator.ts'
import type { Figure } from '../shared.ts'

export interface ConsensusSimBenchOptions {
  /** Seeds measured per committee size (six runs each). */
  readonly seeds: number
  /** Unmeasured seeds per size first (default 10): JIT warm-up. */
  readonly warmupSeeds?: number
  /** Virtual time of a run (default 2,000 ms, the sweep's). */
  readonly durationMs?: number
  readonly log: (line: string) => void
}

interface Tally {
  seeds: number
  runs: number
  rounds: number
  failures: number
  wallS: number
  cpuS: number
}

const cpuSeconds = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1e6
}

/** Runs seeds [from, from + seeds) at `size` and adds them to `tally`. */
async function sweep(
  size: number,
  from: number,
  seeds: number,
  durationMs: number,
  tally: Tally,
  log: (line: string) => void,
): Promise<void> {
  const wall0 = performance.now()
  const cpu0 = cpuSeconds()
  for (let seed = from; seed < from + seeds; seed++) {
    for (const [name, options] of Object.entries(sweepScenarios(seed, size, durationMs))) {
      const result = await simulate(options)
      tally.runs++
      tally.rounds += result.rounds
      const why = sweepProblem(result)
      if (why !== undefined) {
        tally.failures++
        log(`consensus simulator: FAIL seed ${seed} size ${size} ${name}: ${why}`)
      }
    }
  }
  tally.seeds += seeds
  tally.wallS += (performance.now() - wall0) / 1000
  tally.cpuS += cpuSeconds() - cpu0
}

const loadText = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')

function describe(size: number, t: Tally): string {
  return (
    `${size} members: ${t.seeds} seeds × 6 scenarios (${t.runs} runs), ${t.rounds.toLocaleString('en-US')} rounds ` +
    `in ${t.wallS.toFixed(1)} s wall / ${t.cpuS.toFixed(1)} s CPU: ` +
    `${Math.round(t.rounds / t.wallS).toLocaleString('en-US')} rounds per wall second, ` +
    `${Math.round(t.rounds / t.cpuS).toLocaleString('en-US')} per CPU second, ` +
    `${(t.seeds / t.wallS).toFixed(1)} seeds/s, ${t.failures} failures`
  )
}

export async function measureConsensusSim(
  options: ConsensusSimBenchOptions,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const { log, seeds } = options
  const durationMs = options.durationMs ?? 2_000
  const warmup = options.warmupSeeds ?? 10
  const loadBefore = loadText()
  log(`consensus simulator: the sweep's 6 scenarios, ${seeds} seeds at 4 and at 7 members`)
  // Warm-up seeds far from the measured ones (1..seeds).
  const cold: Tally = { seeds: 0, runs: 0, rounds: 0, failures: 0, wallS: 0, cpuS: 0 }
  await sweep(4, 1_000_001, warmup, durationMs, cold, log)
  await sweep(7, 1_000_001, warmup, durationMs, cold, log)
  const four: Tally = { seeds: 0, runs: 0, rounds: 0, failures: 0, wallS: 0, cpuS: 0 }
  const seven: Tally = { seeds: 0, runs: 0, rounds: 0, failures: 0, wallS: 0, cpuS: 0 }
  const half = Math.ceil(seeds / 2)
  await sweep(4, 1, half, durationMs, four, log)
  await sweep(7, 1, half, durationMs, seven, log)
  await sweep(4, 1 + half, seeds - half, durationMs, four, log)
  await sweep(7, 1 + half, seeds - half, durationMs, seven, log)
  const loadAfter = loadText()
  log(`consensus simulator: ${describe(4, four)}`)
  log(`consensus simulator: ${describe(7, seven)}`)

  const figures: Figure[] = [
    { name: 'consensus.sim-rounds-per-s', value: four.rounds / four.wallS, unit: 'rounds/s' },
    { name: 'consensus.sim-rounds-per-cpu-s', value: four.rounds / four.cpuS, unit: 'rounds/s' },
    { name: 'consensus.sim-seeds-per-s', value: four.seeds / four.wallS, unit: 'seeds/s' },
    { name: 'consensus.sim7-rounds-per-s', value: seven.rounds / seven.wallS, unit: 'rounds/s' },
    {
      name: 'consensus.sim7-rounds-per-cpu-s',
      value: seven.rounds / seven.cpuS,
      unit: 'rounds/s',
    },
    { name: 'consensus.sim7-seeds-per-s', value: seven.seeds / seven.wallS, unit: 'seeds/s' },
    { name: 'consensus.sim-failures', value: four.failures + seven.failures, unit: 'count' },
    {
      name: 'consensus.sim-load-average',
      value: Number(loadAfter.split(', ')[0]),
      unit: '',
    },
    { name: 'consensus.sim.target-rounds-per-s', value: 1_000, unit: 'rounds/s' },
  ]
  // What the CI sweep of 1,000 seeds at both sizes would take at these rates (CPU time).
  const thousandSeedsS = 1_000 * (four.cpuS / four.seeds + seven.cpuS / seven.seeds)
  const notes = [
    `Consensus simulator (src/consensus/testing/committee-simulator.ts, one process): the seed sweep's six scenarios, ` +
      `${durationMs} ms of virtual time each, rounds = the highest round of each run; ` +
      `${describe(4, four)}; peer, ${describe(7, seven)}. ` +
      `A 1,000-seed sweep at both sizes: ${(thousandSeedsS / 60).toFixed(1)} CPU minutes. ` +
      `The warm-up first (${warmup} seeds a size, other seeds, cold JIT): ${Math.round(cold.rounds / cold.cpuS).toLocaleString('en-US')} rounds per CPU second over both sizes, ${cold.failures} failures. ` +
      `Load average (1, 5, 15 min) ${loadBefore} before, ${loadAfter} after (a shared 2-core machine: the per-CPU-second rates move less with it).`,
  ]
  return { figures, notes }
}

export function consensusSimComparisons() {
  const section =
    "Consensus (issue 16): the committee simulator, one process, the seed sweep's 6 scenarios"
  return [
    {
      section,
      label: '4 members: rounds per CPU second vs the target',
      figure: 'consensus.sim-rounds-per-cpu-s',
      peer: 'consensus.sim.target-rounds-per-s',
      ratio: 'consensus.ratio.sim-rounds/target',
      target: { text: '≥ 1,000 rounds/s', met: (_r: number, f: number) => f >= 1_000 },
    },
    {
      section,
      label: '4 members: rounds per wall second vs the target',
      figure: 'consensus.sim-rounds-per-s',
      peer: 'consensus.sim.target-rounds-per-s',
      ratio: 'consensus.ratio.sim-wall-rounds/target',
      target: { text: '≥ 1,000 rounds/s', met: (_r: number, f: number) => f >= 1_000 },
    },
    {
      section,
      label: 'rounds per CPU second: 4 members vs 7',
      figure: 'consensus.sim-rounds-per-cpu-s',
      peer: 'consensus.sim7-rounds-per-cpu-s',
      ratio: 'consensus.ratio.sim/sim7',
    },
  ]
}
