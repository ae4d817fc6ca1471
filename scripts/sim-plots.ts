/**
 * Regenerates the plots and the figures table of docs/simulation.md from one full-size run:
 *
 *   npm run sim:plots [-- --nodes 1000 --clients 10000 --epochs 10 --seed 1]
 *
 * Writes docs/simulation/{latency,reputation,summaries}.svg and replaces the text between
 * `<!-- sim:figures -->` and `<!-- /sim:figures -->` in docs/simulation.md.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runSimulation } from '../src/devnet/simulation/simulation.ts'
import { lineChartSvg } from '../src/devnet/simulation/svg-chart.ts'

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    clients: { type: 'string', default: '10000' },
    epochs: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
  },
})
const options = {
  nodes: Number(values.nodes),
  clients: Number(values.clients),
  epochs: Number(values.epochs),
  seed: Number(values.seed),
}
const docs = fileURLToPath(new URL('../docs/', import.meta.url))
const result = runSimulation(options, (f) =>
  console.error(`epoch ${f.epoch}: routing ×${f.routingP50VsOracle.toFixed(2)} oracle`),
)
const e = result.epochs
const flat = (v: number) => e.map(() => v)

mkdirSync(`${docs}simulation`, { recursive: true })
writeFileSync(
  `${docs}simulation/latency.svg`,
  lineChartSvg({
    title: 'Request latency, p50 and p99 (ms)',
    xLabel: 'epoch',
    yLabel: 'ms',
    series: [
      { name: 'routing p50', values: e.map((f) => f.routingP50Ms), color: '#1f77b4' },
      { name: 'oracle p50', values: e.map((f) => f.oracleP50Ms), color: '#2ca02c' },
      { name: 'random p50', values: e.map((f) => f.randomP50Ms), color: '#d62728' },
      { name: 'routing p99', values: e.map((f) => f.routingP99Ms), color: '#1f77b4', dashed: true },
      { name: 'random p99', values: e.map((f) => f.randomP99Ms), color: '#d62728', dashed: true },
    ],
  }),
)
writeFileSync(
  `${docs}simulation/reputation.svg`,
  lineChartSvg({
    title: 'Reputation against true quality',
    xLabel: 'epoch',
    yLabel: 'ρ, share',
    yMax: 1,
    series: [
      { name: 'Spearman ρ', values: e.map((f) => f.reputationSpearman), color: '#1f77b4' },
      { name: 'target ρ 0.9', values: flat(0.9), color: '#1f77b4', dashed: true },
      { name: 'honest shift, max', values: e.map((f) => f.honestScoreShiftMax), color: '#d62728' },
      { name: 'target shift 0.1', values: flat(0.1), color: '#d62728', dashed: true },
    ],
  }),
)
writeFileSync(
  `${docs}simulation/summaries.svg`,
  lineChartSvg({
    title: 'Caches and content summaries',
    xLabel: 'epoch',
    yLabel: 'share',
    yMax: 1,
    series: [
      { name: 'cache hit rate', values: e.map((f) => f.cacheHitRate), color: '#1f77b4' },
      { name: 'peer-fill hit rate', values: e.map((f) => f.peerFillHitRate), color: '#2ca02c' },
    ],
  }),
)

const row = (f: (typeof e)[number]) =>
  `| ${f.epoch} | ${f.routingP50Ms.toFixed(1)} | ${f.oracleP50Ms.toFixed(1)} | ${f.randomP50Ms.toFixed(1)} | ` +
  `${f.routingP50VsOracle.toFixed(2)} | ${f.routingP50VsRandom.toFixed(2)} | ${f.reputationSpearman.toFixed(3)} | ` +
  `${(100 * f.honestScoreShiftMax).toFixed(1)} % (${f.honestScoreShiftMaxPoints}) | ${(100 * f.cacheHitRate).toFixed(1)} % | ` +
  `${(100 * f.peerFillHitRate).toFixed(1)} % | ${f.summariesSent} / ${(f.summaryBytes / 1024).toFixed(0)} KiB | ` +
  `${f.connectionsMean.toFixed(1)} / ${f.connectionsMax} |`
const table = [
  `\`npm run sim -- --nodes ${options.nodes} --clients ${options.clients} --epochs ${options.epochs} --seed ${options.seed}\`: ${result.seconds.toFixed(1)} s on this machine (${process.arch}, Node ${process.versions.node}).`,
  '',
  '| epoch | routing p50 ms | oracle p50 | random p50 | routing / oracle | routing / random | ρ | honest shift max (points) | cache hits | peer fills | summaries sent / bytes | connections mean / max |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...e.map(row),
].join('\n')
const path = `${docs}simulation.md`
const text = readFileSync(path, 'utf8')
const start = '<!-- sim:figures -->'
const end = '<!-- /sim:figures -->'
const a = text.indexOf(start)
const b = text.indexOf(end)
if (a < 0 || b < a) throw new Error(`${path} lacks the ${start} … ${end} markers`)
writeFileSync(path, `${text.slice(0, a + start.length)}\n${table}\n${text.slice(b)}`)
// The table as biome lays it out (it pads columns), so that `npm run lint` stays clean.
execFileSync(fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url)), [
  'format',
  '--write',
  path,
])
console.error(`wrote docs/simulation/*.svg and the figures of docs/simulation.md`)
