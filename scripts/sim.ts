/**
 * The geography simulation (issue 19; src/devnet/simulation/simulation.ts):
 *
 *   npm run sim -- --nodes 1000 --clients 10000 --epochs 10 [--seed N] [--json]
 *
 * Prints a line per epoch as it ends (stderr with --json), then the final epoch's figures: as
 * one JSON object with --json (the per-epoch figures under `perEpoch`), else as a table. Same
 * options and seed: the same figures. Exit code 2 for bad options.
 */
import { parseArgs } from 'node:util'
import { type EpochFigures, runSimulation } from '../src/devnet/simulation/simulation.ts'

function count(name: string, value: string, min: number): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`sim: --${name} must be an integer ≥ ${min}, got ${value}`)
    process.exit(2)
  }
  return n
}

let parsed: ReturnType<typeof parse>
function parse() {
  return parseArgs({
    options: {
      nodes: { type: 'string', default: '1000' },
      clients: { type: 'string', default: '10000' },
      epochs: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      'requests-per-client': { type: 'string', default: '10' },
      json: { type: 'boolean', default: false },
    },
  })
}
try {
  parsed = parse()
} catch (e) {
  console.error(`sim: ${(e as Error).message}`)
  process.exit(2)
}
const { values } = parsed
const json = values.json
const options = {
  nodes: count('nodes', values.nodes, 2),
  clients: count('clients', values.clients, 1),
  epochs: count('epochs', values.epochs, 1),
  seed: count('seed', values.seed, 0),
  requestsPerClient: count('requests-per-client', values['requests-per-client'], 1),
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`
const line = (f: EpochFigures, seconds: number) =>
  `epoch ${f.epoch}: p50 routing ${f.routingP50Ms.toFixed(1)} ms, random ${f.randomP50Ms.toFixed(1)}, ` +
  `oracle ${f.oracleP50Ms.toFixed(1)} (×${f.routingP50VsOracle.toFixed(2)} oracle, ` +
  `×${f.routingP50VsRandom.toFixed(2)} random); ρ ${f.reputationSpearman.toFixed(3)}; ` +
  `honest shift ${pct(f.honestScoreShiftMax)}; peer fill ${pct(f.peerFillHitRate)}; ` +
  `${f.connectionsMean.toFixed(1)} connections/node; ${seconds.toFixed(1)} s`

const t0 = performance.now()
const result = runSimulation(options, (f) => {
  const say = line(f, (performance.now() - t0) / 1000)
  if (json) console.error(say)
  else console.log(say)
})
const last = result.epochs.at(-1) as EpochFigures
if (json) {
  console.log(
    JSON.stringify({
      ...options,
      routingP50VsOracle: last.routingP50VsOracle,
      routingP50VsRandom: last.routingP50VsRandom,
      reputationSpearman: last.reputationSpearman,
      honestScoreShiftMax: last.honestScoreShiftMax,
      peerFillHitRate: last.peerFillHitRate,
      seconds: result.seconds,
      last,
      perEpoch: result.epochs,
    }),
  )
} else {
  console.log(
    `\n${options.nodes} nodes, ${options.clients} clients, ${options.epochs} epochs, seed ${options.seed}: ` +
      `${result.seconds.toFixed(1)} s\n` +
      `  routing p50 / oracle      ${last.routingP50VsOracle.toFixed(3)}   (target ≤ 1.2)\n` +
      `  routing p50 / random      ${last.routingP50VsRandom.toFixed(3)}   (target ≤ 0.5)\n` +
      `  reputation ρ (Spearman)   ${last.reputationSpearman.toFixed(3)}   (target ≥ 0.9)\n` +
      `  honest score shift, max   ${pct(last.honestScoreShiftMax)} (${last.honestScoreShiftMaxPoints} points; target ≤ 10 %)\n` +
      `  peer-fill hit rate        ${pct(last.peerFillHitRate)}\n` +
      `  summaries                 ${last.summariesSent} sent, ${last.summaryBytes} bytes\n` +
      `  connections per node      ${last.connectionsMean.toFixed(1)} mean, ${last.connectionsMax} max`,
  )
}
