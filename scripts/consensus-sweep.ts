/**
 * The larger seed sweep of the committee simulator (npm test runs a bounded number of seeds):
 *
 *   node scripts/consensus-sweep.ts [--seeds N] [--from S] [--size 4,7] [--ms 2000]
 *
 * Each seed runs four scenarios (delays with a slow member; a 2-way partition that heals; a
 * paused member; an equivocating author) and checks safety (every member's committed sequence
 * a prefix of the longest, nothing twice) and progress. A failing seed is printed with its scenario; rerun it alone with
 * --from <seed> --seeds 1, it replays exactly. Exit code 1 on any failure.
 */
import { parseArgs } from 'node:util'
import { type SimulationResult, simulate } from '../src/consensus/testing/committee-simulator.ts'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    size: { type: 'string', default: '4,7' },
    ms: { type: 'string', default: '2000' },
  },
})
const seeds = Number(values.seeds)
const from = Number(values.from)
const sizes = values.size.split(',').map(Number)
const durationMs = Number(values.ms)

function problem(result: SimulationResult): string | undefined {
  const longest = result.sequences.reduce((a, b) => (b.length > a.length ? b : a))
  for (const [m, s] of result.sequences.entries()) {
    if (!s.every((d, i) => longest[i] === d))
      return `member ${m} diverges from the longest sequence`
    if (new Set(s).size !== s.length) return `member ${m} commits a certificate twice`
  }
  if (result.sequences.some((s) => s.length === 0)) return 'a member committed nothing'
  return undefined
}

let failures = 0
let runs = 0
const t0 = performance.now()
for (let seed = from; seed < from + seeds; seed++) {
  for (const size of sizes) {
    const scenarios = {
      delays: () =>
        simulate({
          seed,
          size,
          // The slow member's links need time too (see the simulator test).
          durationMs: durationMs + 25 * (1 + (seed % 120) + 100),
          minDelayMs: 1,
          maxDelayMs: 1 + (seed % 120),
          slow: { member: seed % size, extraMs: 100 },
        }),
      partition: () =>
        simulate({
          seed,
          size,
          durationMs,
          partition: {
            fromMs: durationMs / 5,
            toMs: durationMs / 2,
            groups: [
              Array.from({ length: size >> 1 }, (_, i) => i),
              Array.from({ length: size - (size >> 1) }, (_, i) => i + (size >> 1)),
            ],
          },
        }),
      equivocator: () => simulate({ seed, size, durationMs, equivocator: (seed + 1) % size }),
      pause: () =>
        simulate({
          seed,
          size,
          durationMs,
          crashes: [{ member: seed % size, fromMs: durationMs / 5, toMs: durationMs / 2 }],
        }),
    }
    for (const [name, run] of Object.entries(scenarios)) {
      runs++
      const why = problem(run())
      if (why !== undefined) {
        failures++
        console.error(`FAIL seed ${seed} size ${size} ${name}: ${why}`)
      }
    }
  }
  if ((seed - from + 1) % 100 === 0) {
    console.log(
      `${seed - from + 1}/${seeds} seeds, ${runs} runs, ${failures} failures, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    )
  }
}
console.log(
  `${runs} runs (${seeds} seeds x sizes ${sizes.join(',')} x 4 scenarios, ${durationMs} ms each): ${failures} failures in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
)
process.exitCode = failures === 0 ? 0 : 1
