/**
 * The larger seed sweep of the committee simulator (npm test runs a bounded number of seeds):
 *
 *   node scripts/consensus-sweep.ts [--seeds N] [--from S] [--size 4,7] [--ms 2000]
 *   node scripts/consensus-sweep.ts --seed S [--scenario restart] [--size 7]   (one seed, replayed)
 *
 * Each seed runs six scenarios: delays with a slow member; a 2-way partition that heals; a
 * paused member; an equivocating author; a member that crashes, loses its memory and restarts
 * from its NarwhalStore (killed between two of its actions, or right after a header or vote it
 * sends); an equivocating author whose twins a Byzantine voter also votes for
 * (the equivocator itself in 4 members, f = 1; another member in 7, f = 2). It checks safety
 * (every member's committed sequence a prefix of the longest, nothing twice on a member, across
 * its restart too; never two certificates of one author and round delivered to a member; an
 * honest member never signs two headers of a round or two votes of a slot, restarts included) and
 * progress (every member commits; a restarted one commits again after its restart). A failing
 * seed is printed with its scenario and the command that replays it exactly. Exit code 1 on any
 * failure. The last line gives the virtual rounds per CPU second (process.cpuUsage).
 */
import { parseArgs } from 'node:util'
import {
  type SimulationOptions,
  type SimulationResult,
  simulate,
} from '../src/consensus/testing/committee-simulator.ts'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    seed: { type: 'string' },
    scenario: { type: 'string' },
    size: { type: 'string', default: '4,7' },
    ms: { type: 'string', default: '2000' },
  },
})
const seeds = values.seed !== undefined ? 1 : Number(values.seeds)
const from = Number(values.seed ?? values.from)
const sizes = values.size.split(',').map(Number)
const durationMs = Number(values.ms)

function problem(result: SimulationResult): string | undefined {
  const longest = result.sequences.reduce((a, b) => (b.length > a.length ? b : a))
  for (const [m, s] of result.sequences.entries()) {
    if (!s.every((d, i) => longest[i] === d))
      return `member ${m} diverges from the longest sequence`
    if (new Set(s).size !== s.length) return `member ${m} commits a certificate twice`
  }
  if (result.conflictingCertificates > 0) {
    return `${result.conflictingCertificates} times two certificates of one author and round`
  }
  if (result.honestConflicts > 0) {
    return `an honest member signed two headers of a round or two votes of a slot (${result.honestConflicts})`
  }
  if (result.sequences.some((s) => s.length === 0)) return 'a member committed nothing'
  for (const r of result.restarts) {
    if (result.sequences[r.member]!.length <= r.committed) {
      return `member ${r.member} commits nothing after its restart at ${r.atMs} ms`
    }
  }
  return undefined
}

function scenarios(seed: number, size: number): Record<string, SimulationOptions> {
  const halves = [
    Array.from({ length: size >> 1 }, (_, i) => i),
    Array.from({ length: size - (size >> 1) }, (_, i) => i + (size >> 1)),
  ]
  const equivocator = (seed + 1) % size
  return {
    // The slow member's links need time too (see the simulator test).
    delays: {
      seed,
      size,
      durationMs: durationMs + 25 * (1 + (seed % 120) + 100),
      minDelayMs: 1,
      maxDelayMs: 1 + (seed % 120),
      slow: { member: seed % size, extraMs: 100 },
    },
    partition: {
      seed,
      size,
      durationMs,
      partition: { fromMs: durationMs / 5, toMs: durationMs / 2, groups: halves },
    },
    equivocator: { seed, size, durationMs, equivocator },
    pause: {
      seed,
      size,
      durationMs,
      crashes: [{ member: seed % size, fromMs: durationMs / 5, toMs: durationMs / 2 }],
    },
    // Down for 0.2 to 0.5 of the run from a seeded instant; a second of virtual time after it.
    restart: {
      seed,
      size,
      durationMs: durationMs + 1_000,
      crashes: [
        {
          member: seed % size,
          fromMs: ((seed * 37) % 500) + 100,
          toMs: ((seed * 37) % 500) + 100 + durationMs * (0.2 + ((seed * 13) % 30) / 100),
          restart: true,
        },
      ],
    },
    'conflicting-votes': {
      seed,
      size,
      durationMs,
      equivocator,
      doubleVoter: size < 7 ? equivocator : (equivocator + 3) % size,
    },
  }
}

let failures = 0
let runs = 0
let rounds = 0
let twins = 0
let restarts = 0
const t0 = performance.now()
const cpu0 = process.cpuUsage()
for (let seed = from; seed < from + seeds; seed++) {
  for (const size of sizes) {
    for (const [name, options] of Object.entries(scenarios(seed, size))) {
      if (values.scenario !== undefined && values.scenario !== name) continue
      runs++
      const result = await simulate(options)
      rounds += result.rounds
      twins += result.twinCertificates
      restarts += result.restarts.length
      const why = problem(result)
      if (why !== undefined) {
        failures++
        console.error(
          `FAIL seed ${seed} size ${size} ${name}: ${why} (replay: npm run consensus:sweep -- --seed ${seed} --size ${size} --scenario ${name} --ms ${durationMs})`,
        )
      }
    }
  }
  if ((seed - from + 1) % 100 === 0) {
    console.log(
      `${seed - from + 1}/${seeds} seeds, ${runs} runs, ${failures} failures, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    )
  }
}
const cpu = process.cpuUsage(cpu0)
const cpuSeconds = (cpu.user + cpu.system) / 1e6
console.log(
  `${runs} runs (${seeds} seeds x sizes ${sizes.join(',')} x ${values.scenario ?? '6 scenarios'}, ${durationMs} ms each): ${failures} failures in ${((performance.now() - t0) / 1000).toFixed(0)} s wall, ${cpuSeconds.toFixed(0)} s CPU; ${rounds} rounds (the highest of each run), ${(rounds / cpuSeconds).toFixed(0)} rounds per CPU second; ${restarts} restarts, ${twins} twin certificates`,
)
process.exitCode = failures === 0 ? 0 : 1
