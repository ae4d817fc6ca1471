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
  simulate,
  sweepProblem,
  sweepScenarios,
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

let failures = 0
let runs = 0
let rounds = 0
let twins = 0
let restarts = 0
const t0 = performance.now()
const cpu0 = process.cpuUsage()
for (let seed = from; seed < from + seeds; seed++) {
  for (const size of sizes) {
    for (const [name, options] of Object.entries(sweepScenarios(seed, size, durationMs))) {
      if (values.scenario !== undefined && values.scenario !== name) continue
      runs++
      const result = await simulate(options)
      rounds += result.rounds
      twins += result.twinCertificates
      restarts += result.restarts.length
      const why = sweepProblem(result)
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
