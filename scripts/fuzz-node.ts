/**
 * The node fuzzers at scale, and the node's memory across them: starts a `fulmen node start`
 * process on a temp dir (one file of content added), sends `--requests` fuzzed HTTP requests
 * (src/devnet/http-fuzz.ts) and `--streams` garbage libp2p streams
 * (src/devnet/libp2p-fuzz.ts) in `--rounds` rounds, and prints after each round the
 * node's resident memory (VmRSS of /proc/PID/status; the peak is VmHWM) and what it answered.
 * Exits 1 if any request got a malformed answer or a 500, or the node died.
 *
 *   npx node scripts/fuzz-node.ts [--requests N] [--streams N] [--rounds N] [--seed S]
 *                                 [--node-arg FLAG]… [--idle S] [--keep]
 *
 * Defaults: 10,000 requests and 10,000 streams per round, 3 rounds, a random seed (printed; the
 * same seed sends the same inputs). `--node-arg` passes a flag to the node's Node.js, e.g.
 * `--node-arg=--max-old-space-size=96`: a heap that must stay under 96 MiB makes a leak end the
 * node (and this script fail) instead of hiding behind a lazy garbage collector. `--idle S`: how
 * long the node is left quiet before the last measure (default 10 s). The heap in use
 * (`fulmen_nodejs_heap_size_used_bytes`) is printed too. The test suite runs the same fuzzers at a smaller size
 * (src/node/gateway/gateway-fuzz.node.test.ts, src/node/libp2p-fuzz.node.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runHttpFuzz } from '../src/devnet/http-fuzz.ts'
import { runLibp2pFuzz } from '../src/devnet/libp2p-fuzz.ts'
import {
  pseudoRandomBytes,
  runFulmen,
  sleep,
  startNode,
  wsAddressOf,
} from '../src/devnet/processes.ts'
import { createClientLibp2p } from '../src/net/client-libp2p.ts'

const USAGE =
  'Usage: npx node scripts/fuzz-node.ts [--requests N] [--streams N] [--rounds N] [--seed S] [--node-arg FLAG]… [--idle S] [--keep]\n'

function count(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`fuzz-node: ${what} must be a whole number, got '${text}'\n${USAGE}`)
    process.exit(2)
  }
  return n
}

const { values } = parseArgs({
  options: {
    requests: { type: 'string' },
    cases: { type: 'string' }, // an alias of --requests
    streams: { type: 'string' },
    rounds: { type: 'string' },
    seed: { type: 'string' },
    'node-arg': { type: 'string', multiple: true },
    idle: { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
})
if (values.help) {
  process.stdout.write(USAGE)
  process.exit(0)
}
const requests = count(values.requests ?? values.cases, 10_000, '--requests')
const streams = count(values.streams, 10_000, '--streams')
const rounds = count(values.rounds, 3, '--rounds')
const idle = count(values.idle, 10, '--idle')
const seed = count(values.seed, (Math.random() * 0x1_0000_0000) >>> 0, '--seed') >>> 0

/**
 * VmRSS and VmHWM (peak) of `pid`, in MiB, and of the RSS what is anonymous memory (the heap,
 * malloc) and what is mapped files (code, LevelDB's tables).
 */
function memoryOf(pid: number): { rss: number; peak: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
  return {
    rss: kib('VmRSS') / 1024,
    peak: kib('VmHWM') / 1024,
    anon: kib('RssAnon') / 1024,
    file: kib('RssFile') / 1024,
  }
}

const rssText = (m: ReturnType<typeof memoryOf>) =>
  `rss ${mib(m.rss)} (anon ${mib(m.anon)}, files ${mib(m.file)})`

const mib = (n: number) => `${n.toFixed(1)} MiB`

/** The node's V8 heap in use, its total, and memory outside it (Buffers…), from its /metrics. */
async function heapOf(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const value = (name: string) => {
    const m = new RegExp(`^fulmen_nodejs_${name} (\\S+)$`, 'm').exec(text)
    return m === null ? Number.NaN : Number(m[1]) / 1024 / 1024
  }
  return `heap used ${mib(value('heap_size_used_bytes'))} of ${mib(value('heap_size_total_bytes'))}, external ${mib(value('external_memory_bytes'))}`
}

const dir = mkdtempSync(join(tmpdir(), 'fulmen-fuzz-node-'))
const env = { XDG_DATA_HOME: join(dir, 'xdg') }
const dataDir = join(dir, 'node')
writeFileSync(join(dir, 'content.bin'), pseudoRandomBytes(300_000, 11))
const added = await runFulmen(['add', '--data-dir', dataDir, join(dir, 'content.bin')], { env })
if (added.code !== 0) throw new Error(`fulmen add failed: ${added.stderr}`)
const [hex, cid] = added.stdout.split(/\s+/) as [string, string]
const node = await startNode({ dataDir, env, execArgv: values['node-arg'] ?? [] })
const port = Number(new URL(node.url).port)
const client = await createClientLibp2p()
let failed = false

const alive = async (): Promise<boolean> => {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return false
  try {
    return (await fetch(`${node.url}/health`)).status === 200
  } catch {
    return false
  }
}

try {
  // Settled: the first requests load code and warm caches; the baseline comes after them.
  await runHttpFuzz({ port, seed: seed ^ 0xffff, cases: 500, content: { hex, cid } })
  await runLibp2pFuzz({
    dialer: client,
    address: wsAddressOf(node),
    seed: seed ^ 0xffff,
    cases: 200,
  })
  await sleep(2000)
  const before = memoryOf(node.pid)
  process.stdout.write(
    `fuzz-node: seed ${seed}, node pid ${node.pid}${values['node-arg'] === undefined ? '' : ` (node ${values['node-arg'].join(' ')})`}, ${rounds} rounds of ${requests} requests and ${streams} streams\n` +
      `  before       ${rssText(before)}, peak so far ${mib(before.peak)}, ${await heapOf(node.url)}\n`,
  )
  for (let round = 0; round < rounds; round++) {
    const http = await runHttpFuzz({
      port,
      seed,
      start: round * requests,
      cases: requests,
      content: { hex, cid },
    })
    const afterHttp = memoryOf(node.pid)
    const p2p = await runLibp2pFuzz({
      dialer: client,
      address: wsAddressOf(node),
      seed,
      start: round * streams,
      cases: streams,
    })
    const afterStreams = memoryOf(node.pid)
    const ok = await alive()
    process.stdout.write(
      `  round ${round + 1}\n` +
        `    http     ${requests} requests in ${http.ms} ms (${Math.round((requests * 1000) / Math.max(1, http.ms))}/s), ${http.connections} connections, ${rssText(afterHttp)}\n` +
        `             ${JSON.stringify(http.statuses)}\n` +
        `    libp2p   ${streams} streams in ${p2p.ms} ms (${Math.round((streams * 1000) / Math.max(1, p2p.ms))}/s), ${rssText(afterStreams)}\n` +
        `             ${JSON.stringify(p2p.outcomes)}${p2p.leftOpen.length > 0 ? ` left open: ${p2p.leftOpen.join(',')}` : ''}\n` +
        `    alive    ${ok}${ok ? `, ${await heapOf(node.url)}` : ''}\n`,
    )
    for (const f of http.failures)
      process.stdout.write(`    FAIL case ${f.index}: ${f.problem}\n         ${f.request}\n`)
    if (http.failures.length > 0 || !ok) {
      failed = true
      break
    }
  }
  if (!failed) {
    // Idle: V8 gives back what it grew to under load once the node is quiet for a while.
    await sleep(idle * 1000)
    const after = memoryOf(node.pid)
    const metrics = await (await fetch(`${node.url}/metrics`)).text()
    const unexpected = metrics
      .split('\n')
      .filter((l) => l.startsWith('fulmen_unexpected_errors_total'))
    process.stdout.write(
      `  after ${idle} s idle  ${rssText(after)}, peak ${mib(after.peak)} (before: ${mib(before.rss)}), ${await heapOf(node.url)}\n` +
        `  unexpected errors: ${unexpected.length === 0 ? 'none' : unexpected.join('; ')}\n`,
    )
  }
} finally {
  await client.stop()
  await node.stop().catch(() => {})
  if (values.keep) process.stdout.write(`  kept ${dir}\n`)
  else rmSync(dir, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
