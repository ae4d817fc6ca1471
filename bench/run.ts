/**
 * `npm run bench`: every benchmark of docs/benchmarks.md in one run, each figure printed
 * beside its peer from the same run, as a ratio. Progress goes to stderr.
 *
 *   node bench/run.ts            a readable table on stdout
 *   node bench/run.ts --json     only a JSON array of { name, value, unit } on stdout
 *   --quick                      small inputs and few repetitions (a smoke test, ~30 s)
 *   --no-browser                 skip the Chromium half
 *   --no-full-node               skip the full node (gateway, memory while serving, import,
 *                                sessions, and load)
 *   --no-sessions                skip the sessions over libp2p (bench/node/sessions.ts)
 *   --no-load                    skip many fetches at once (bench/node/load.ts)
 *   --only NAME[,NAME…]          run these sections alone (`--only` may be repeated):
 *     hash        BLAKE3 hashers, b3sum, worker pools, tree, verification, proofs
 *     memory      RSS while hashing 1 GiB (bench/node/memory.ts)
 *     gateway     the full node's HTTP gateway, its memory while serving, import
 *     sessions    sessions over libp2p (bench/node/sessions.ts)
 *     load        many fetches at once, issue 23 (bench/node/load.ts)
 *     browser     the Chromium sections: hashing, issue 6's fetch, first byte and bundle sizes
 *                 (bench/browser/fetch-driver.ts), and tab-node
 *     tab-node    issue 7's tab node (bench/browser/tab-node-driver.ts): tab to tab over
 *                 WebRTC beside tab to node over WebSockets
 *     startup     CLI start-up, issue 13 (bench/node/startup.ts): fulmen --help, --version and
 *                 hash of 1 byte beside node -e 0, from the compiled bin and from source
 *     state       issue 15's state tree (bench/node/state.ts): a 1,000,000-entry table on LevelDB,
 *                 build and overwrite rates beside plain LevelDB, proof sizes, verification in
 *                 Node and Chromium (skipped in Chromium with --no-browser)
 *     chain       issue 15's execution (bench/node/chain.ts): signed transfers and delivery claims
 *                 executed by StateExecutor on LevelDB beside plain LevelDB writes, a block's
 *                 time by step
 *     consensus   issue 16's committee (bench/node/consensus.ts): 4 committee processes on
 *                 loopback libp2p ordering 256-byte transactions, then one killed; the same
 *                 committee in one process over the in-memory network as the peer; then
 *                 ordered AND executed by a devnet of 4 committee `fulmen node` processes fed
 *                 signed transfers over HTTP, one solo node as the peer (consensus-exec.ts)
 *     attestation issue 16's block attestations (bench/node/attestation.ts): BLS aggregate verify of
 *                 4 and 100 signers, one partial, beside one plain BLS verify
 *     light       issue 17's light client (bench/node/light.ts): a year of checkpoint handoffs
 *                 (365, committee 16 from a pool of 64) walked in Node and in a Chromium worker
 *                 beside one plain BLS verify per handoff, and one state proof check
 *     snark       issue 18's DA batch proofs (bench/node/snark.ts): proving a batch of 5 (worker
 *                 prover vs snarkjs in-process), one proof verified in Node (mcl, snarkjs, noble)
 *                 and in a Chromium worker (noble), the executor's CPU per claim settled natively
 *                 vs with proofs (and where it goes), bytes per claim, and the gateway's
 *                 throughput while the node proves (--no-full-node skips that, --no-browser the
 *                 Chromium check)
 *   --consensus-rate N           consensus: transactions each member generates per second
 *   --consensus-exec-rate N      consensus: signed transfers/s offered to the executing devnet
 *   --consensus-exec-senders N   consensus: funded accounts sending them (one in flight each)
 *   --only-sessions, --only-browser, --only-tab-node: aliases of --only sessions, browser, tab-node
 *   --startup-base REF           startup: also time REF's CLI, compiled the same way (the "before")
 *   --startup-npx                startup: also time `npx fulmen` in a project that installed the
 *                                packed tarball
 */

import os from 'node:os'
import { useKernel } from '../src/b3/engine.ts'
import {
  DEFAULT_BATCH_BLOCKS,
  DEFAULT_IN_FLIGHT_PER_WORKER,
  parallelMemoryBound,
} from '../src/b3/parallel.ts'
import { TreeBuilder } from '../src/b3/tree.ts'
import { attestationComparisons, measureAttestation } from './node/attestation.ts'
import { measureB3sum } from './node/b3sum.ts'
import { chainComparisons, measureChain } from './node/chain.ts'
import { consensusComparisons, measureConsensus } from './node/consensus.ts'
import { consensusSimComparisons, measureConsensusSim } from './node/consensus-sim.ts'
import { measureGateway } from './node/gateway.ts'
import { measureHashers, simdKernel } from './node/hashers.ts'
import { lightComparisons, measureLightSection } from './node/light.ts'
import { measureLoad } from './node/load.ts'
import { describeMachine } from './node/machine.ts'
import { measureMemory } from './node/memory.ts'
import { measureSessions } from './node/sessions.ts'
import { measureSnark, snarkComparisons } from './node/snark.ts'
import { measureStartup } from './node/startup.ts'
import { measureState, stateComparisons } from './node/state.ts'
import { measureProofs, measureTreeVsHash, measureVerify } from './node/tree.ts'
import { measureWorkers } from './node/workers.ts'
import { type Figure, GiB, MiB, makeInput, toHex } from './shared.ts'

const argv = process.argv.slice(2)
const args = new Set(argv)
const json = args.has('--json')
const quick = args.has('--quick')

const SECTIONS = [
  'hash',
  'memory',
  'gateway',
  'sessions',
  'load',
  'browser',
  'tab-node',
  'startup',
  'state',
  'chain',
  'attestation',
  'consensus',
  'light',
  'snark',
] as const
type Section = (typeof SECTIONS)[number]
const isSection = (name: string): name is Section => (SECTIONS as readonly string[]).includes(name)
/** `--only NAME[,NAME…]` (or `--only=…`, repeatable) and the older `--only-NAME` aliases. */
const only = new Set<Section>()
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i]!
  const value = arg === '--only' ? argv[++i] : arg.startsWith('--only=') ? arg.slice(7) : undefined
  const alias = /^--only-(sessions|browser|tab-node)$/.exec(arg)?.[1]
  for (const name of value?.split(',') ?? (alias === undefined ? [] : [alias])) {
    if (!isSection(name)) {
      process.stderr.write(`--only ${name ?? ''}: sections are ${SECTIONS.join(', ')}\n`)
      process.exit(2)
    }
    only.add(name)
  }
}
// `browser` has always run the tab-node section too.
if (only.has('browser')) only.add('tab-node')
const skipped: Record<Section, boolean> = {
  hash: false,
  memory: false,
  gateway: args.has('--no-full-node'),
  sessions: args.has('--no-full-node') || args.has('--no-sessions'),
  load: args.has('--no-full-node') || args.has('--no-load'),
  browser: args.has('--no-browser'),
  'tab-node': args.has('--no-browser'),
  startup: false,
  state: false,
  chain: false,
  attestation: false,
  consensus: false,
  light: false,
  snark: false,
}
const runs = (section: Section): boolean =>
  !skipped[section] && (only.size === 0 || only.has(section))

const NODE_BYTES = quick ? 32 * MiB : 256 * MiB
const CHROMIUM_HASH_BYTES = quick ? 32 * MiB : 128 * MiB
const CHROMIUM_POOL_BYTES = quick ? 32 * MiB : 256 * MiB
const REPS = quick ? 2 : 7
const GATEWAY_BYTES = quick ? 32 * MiB : 256 * MiB
const GATEWAY_MEMORY_BYTES = quick ? 256 * MiB : GiB
const IMPORT_BYTES = quick ? 64 * MiB : 512 * MiB
const SESSION_BYTES = quick ? 32 * MiB : 256 * MiB
// Each of the 8 contents of the load section's throughput runs: c1 and c8 take ~1–2 s each.
const LOAD_BYTES = quick ? 8 * MiB : 32 * MiB
const LOAD_BURST_BYTES = quick ? MiB : 2 * MiB
const BROWSER_FETCH_BYTES = quick ? 32 * MiB : 256 * MiB
// The tab's store is IndexedDB with a 256 MiB default quota: 128 MiB (and the 4 MiB first-byte
// content) fit beside each other without eviction (docs/benchmarks.md, "Tab node (issue 7)").
const TAB_NODE_BYTES = quick ? 32 * MiB : 128 * MiB
const STARTUP_RUNS = quick ? 5 : 30
const STATE_ENTRIES = quick ? 50_000 : 1_000_000
const STATE_COMMIT = 10_000
const STATE_UPDATE_COMMIT = 1_000
const CHAIN_BLOCK = quick ? 200 : 1_000
const CHAIN_CLAIMS_PER_TX = 256
const CONSENSUS_SIZE = 4
/** `--consensus-rate N`: each member's transactions per second (default 2,750: 11,000/s in all). */
const CONSENSUS_RATE = argv.includes('--consensus-rate')
  ? Number(argv[argv.indexOf('--consensus-rate') + 1])
  : 2_750
/**
 * `--consensus-exec-rate N`: signed transfers a second offered to the executing committee (and
 * to the solo peer); `--consensus-exec-senders N`: the funded accounts sending them, one
 * transaction in flight each (bench/node/consensus-exec.ts).
 */
const CONSENSUS_EXEC_RATE = argv.includes('--consensus-exec-rate')
  ? Number(argv[argv.indexOf('--consensus-exec-rate') + 1])
  : 500
const CONSENSUS_EXEC_SENDERS = argv.includes('--consensus-exec-senders')
  ? Number(argv[argv.indexOf('--consensus-exec-senders') + 1])
  : 2_000
/** `--startup-base REF` (or `=REF`): the CLI of REF timed beside the current one. */
const startupBase = ((): string | undefined => {
  const i = argv.indexOf('--startup-base')
  if (i >= 0) return argv[i + 1]
  return argv.find((a) => a.startsWith('--startup-base='))?.slice(15)
})()

const started = performance.now()
const log = (line: string): void => {
  process.stderr.write(
    `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`,
  )
}

// ---------------------------------------------------------------------------------------
// Measurements

const machine = describeMachine()
// Other processes on a 2-core machine move every figure: say how busy it was.
const loadAtStart = os.loadavg()[0]!
log(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`)
const figures: Figure[] = []
const notes: string[] = []
const digestsAgree: string[] = []

// First, while nothing of ours has warmed or loaded the machine.
let startupBaseRef: string | undefined
if (runs('startup')) {
  try {
    const result = await measureStartup({
      runs: STARTUP_RUNS,
      log,
      ...(startupBase === undefined ? {} : { baseRef: startupBase }),
      npx: args.has('--startup-npx'),
    })
    figures.push(...result.figures)
    notes.push(...result.notes)
    startupBaseRef = result.baseRef
  } catch (e) {
    notes.push(`CLI start-up run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`CLI start-up run failed: ${(e as Error).stack}`)
  }
}

if (runs('hash')) {
  log(`generating ${NODE_BYTES / MiB} MiB of input`)
  const input = makeInput(NODE_BYTES)
  useKernel(simdKernel())

  const hashers = await measureHashers(input, 'node.hash', log, REPS)
  figures.push(...hashers.figures)
  const nodeDigests = new Set(Object.values(hashers.digests))
  digestsAgree.push(
    `Node hashers ${nodeDigests.size === 1 ? 'agree' : `DISAGREE: ${JSON.stringify(hashers.digests)}`}`,
  )

  // Pools first, on a quiet machine (nothing else of ours running or being written back).
  figures.push(...(await measureWorkers(input, log, quick ? 2 : 9)))
  notes.push(
    `Worker pools: batches of ${DEFAULT_BATCH_BLOCKS} blocks (${(DEFAULT_BATCH_BLOCKS * 256) / 1024} MiB), at most ` +
      `${DEFAULT_IN_FLIGHT_PER_WORKER} per worker out at a time: buildTreeParallel holds at most ` +
      `${parallelMemoryBound(1) / MiB} MiB (pool of 1) / ${parallelMemoryBound(2) / MiB} MiB (pool of 2) ` +
      'of input beside the tree (with transferChunks: as many buffers, each a batch or an adopted chunk). ' +
      '"Fresh chunks": 1 MiB buffers made before each run (untimed) and transferred to the workers ' +
      'uncopied; "file stream": fs.createReadStream of the input in a RAM-backed file, 1 MiB reads ' +
      '(timed), chunks transferred; "in-memory views": 1 MiB views of the input, copied into ' +
      'batches. "Independent threads" hash their own in-memory buffers with no ' +
      'coordination: the most this machine can give.',
  )

  // b3sum reads a file of the input 4 times over (1 GiB) so its start-up weighs little.
  const copies = Math.max(1, Math.ceil(GiB / NODE_BYTES))
  log(`b3sum on a ${(copies * NODE_BYTES) / MiB} MiB temp file`)
  const b3 = await measureB3sum(input, copies, 'node.hash.b3sum', REPS)
  if (b3 === undefined) {
    notes.push('b3sum not found: its row is missing')
  } else {
    figures.push(b3.figure)
    const expected = new TreeBuilder({ keepTree: false })
    for (let i = 0; i < copies; i++) expected.update(input)
    const agree = toHex(expected.finalize().root) === b3.digest
    digestsAgree.push(`b3sum ${agree ? 'agrees' : 'DISAGREES'}`)
    notes.push(
      `b3sum: ${machine.b3sum}, \`--num-threads 1 --no-mmap\` on a ${b3.fileBytes / MiB} MiB file in ${b3.dir} ` +
        `(the ${NODE_BYTES / MiB} MiB input ×${copies}); process start-up (${(b3.startupSeconds * 1000).toFixed(1)} ms ` +
        'for an empty file, spawned from this Node process) and read() copies are included, nothing subtracted. It uses native SIMD ' +
        `(${machine.simd.join(', ') || 'none detected'}).`,
    )
    log(`b3sum ${b3.figure.value.toFixed(0)} MiB/s`)
  }

  const treeVsHash = await measureTreeVsHash(input, log, REPS)
  figures.push(...treeVsHash.figures)
  figures.push(...(await measureVerify(input, treeVsHash.tree, log, REPS)))
  figures.push(...(await measureProofs(log, REPS)))
}

if (runs('memory')) figures.push(...measureMemory(log, quick ? 256 * MiB : GiB))

if (runs('gateway')) {
  try {
    const gateway = await measureGateway({
      serveBytes: GATEWAY_BYTES,
      memoryBytes: GATEWAY_MEMORY_BYTES,
      importBytes: IMPORT_BYTES,
      reps: quick ? 2 : 5,
      log,
    })
    figures.push(...gateway.figures)
    notes.push(...gateway.notes)
    digestsAgree.push(
      `fulmen add ${gateway.digestsAgree ? 'agrees' : 'DISAGREES'} with b3sum (or @noble/hashes where b3sum is missing)`,
    )
  } catch (e) {
    notes.push(`Full node run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Full node run failed: ${(e as Error).stack}`)
  }
}

if (runs('sessions')) {
  try {
    const result = await measureSessions({
      bytes: SESSION_BYTES,
      turns: quick ? 2 : 5,
      firstByteRuns: quick ? 3 : 15,
      handshakeRuns: quick ? 10 : 30,
      heliaTurns: quick ? 1 : 3,
      log,
    })
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`Sessions run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Sessions run failed: ${(e as Error).stack}`)
  }
}

if (runs('load')) {
  try {
    const result = await measureLoad({
      bigBytes: LOAD_BYTES,
      turns: quick ? 1 : 3,
      clients: 20,
      perClient: 16,
      burstBytes: LOAD_BURST_BYTES,
      idleProbes: quick ? 5 : 30,
      settleSeconds: quick ? 5 : 60,
      log,
    })
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`Load run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Load run failed: ${(e as Error).stack}`)
  }
}

if (runs('state')) {
  try {
    const result = await measureState({
      entries: STATE_ENTRIES,
      commitSize: STATE_COMMIT,
      updates: quick ? 5_000 : 20_000,
      updateCommitSize: STATE_UPDATE_COMMIT,
      proofs: quick ? 200 : 1000,
      rounds: quick ? 5 : 15,
      chromium: !args.has('--no-browser'),
      log,
    })
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`State run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`State run failed: ${(e as Error).stack}`)
  }
}

if (runs('chain')) {
  try {
    const result = await measureChain({
      accounts: CHAIN_BLOCK,
      blockSize: CHAIN_BLOCK,
      blocks: quick ? 3 : 10,
      claimsPerTx: CHAIN_CLAIMS_PER_TX,
      claimTxsPerBlock: quick ? 1 : 4,
      claimBlocks: quick ? 1 : 4,
      claimUnits: 16,
      log,
    })
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`Chain run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Chain run failed: ${(e as Error).stack}`)
  }
}

if (runs('attestation')) {
  try {
    const result = await measureAttestation({ reps: quick ? 4 : 40, rounds: quick ? 2 : 5, log })
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`Attestation run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Attestation run failed: ${(e as Error).stack}`)
  }
}

// Light client (issue 17): a year of handoffs and a state proof, in Node and a Chromium worker.
const LIGHT_EPOCHS = quick ? 64 : 365
const LIGHT_COMMITTEE = 16
const LIGHT_POOL = 64
if (runs('light')) {
  try {
    const result = await measureLightSection({
      epochs: LIGHT_EPOCHS,
      committeeSize: LIGHT_COMMITTEE,
      poolSize: LIGHT_POOL,
      freshEpochs: quick ? 8 : 32,
      rounds: quick ? 1 : 5,
      chromium: !args.has('--no-browser'),
      log,
    })
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`Light run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Light run failed: ${(e as Error).stack}`)
  }
}

// DA batch proofs (issue 18): proving, verifying, settling, serving while proving.
const SNARK_CLAIMS = quick ? 10 : 40
if (runs('snark')) {
  try {
    const result = await measureSnark({
      claims: SNARK_CLAIMS,
      clients: quick ? 2 : 8,
      units: 16,
      inProcessProofs: quick ? 2 : 3,
      verifyRounds: quick ? 2 : 10,
      settleRounds: quick ? 2 : 7,
      checkRounds: quick ? 5 : 30,
      chromium: !args.has('--no-browser'),
      serving: !args.has('--no-full-node'),
      serveBytes: quick ? 32 * MiB : 128 * MiB,
      serveTurns: quick ? 2 : 3,
      servePairs: quick ? 1 : 4,
      serveNicePairs: quick ? 1 : 2,
      log,
    })
    if (result.chromiumVersion !== undefined) machine.chromium = result.chromiumVersion
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`Snark run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Snark run failed: ${(e as Error).stack}`)
  }
}

if (runs('consensus')) {
  try {
    const sim = await measureConsensusSim({ seeds: quick ? 10 : 50, log })
    figures.push(...sim.figures)
    notes.push(...sim.notes)
  } catch (e) {
    notes.push(`Consensus simulator run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Consensus simulator run failed: ${(e as Error).stack}`)
  }
  try {
    const result = await measureConsensus({
      size: CONSENSUS_SIZE,
      ratePerMember: CONSENSUS_RATE,
      warmupS: quick ? 3 : 10,
      measureS: quick ? 5 : 15,
      settleS: quick ? 3 : 5,
      log,
      exec: {
        senders: CONSENSUS_EXEC_SENDERS,
        rate: CONSENSUS_EXEC_RATE,
        warmupS: quick ? 3 : 5,
        measureS: quick ? 5 : 15,
      },
    })
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`Consensus run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Consensus run failed: ${(e as Error).stack}`)
  }
}

let chromiumVersion = 'not run'

/** One Chromium section: its figures and notes kept; a failure is a note, not the end of the run. */
async function browserSection(
  label: string,
  run: () => Promise<{ version: string; figures: Figure[]; notes: string[] }>,
): Promise<void> {
  try {
    const result = await run()
    chromiumVersion = result.version
    machine.chromium = result.version
    figures.push(...result.figures)
    notes.push(...result.notes)
  } catch (e) {
    notes.push(`${label} failed: ${(e as Error).message.split('\n')[0]}`)
    log(`${label} failed: ${(e as Error).stack}`)
  }
}
if (runs('browser')) {
  try {
    log('Chromium: Vite dev server + Playwright')
    // Loaded only now: Vite and Playwright add tens of MB of live heap, which makes every
    // mark-compact of the Node measurements above dearer (file streams trigger many).
    const { runChromiumBench } = await import('./browser/driver.ts')
    const run = await runChromiumBench(
      { hashBytes: CHROMIUM_HASH_BYTES, poolBytes: CHROMIUM_POOL_BYTES, reps: REPS },
      log,
    )
    chromiumVersion = run.version
    machine.chromium = run.version
    figures.push(...run.figures)
    const isTree = (k: string): boolean => /pool-\d/.test(k) || k === 'sequential'
    const hashDigests = new Set(
      Object.entries(run.digests)
        .filter(([k]) => !isTree(k))
        .map(([, v]) => v),
    )
    const treeDigests = new Set(
      Object.entries(run.digests)
        .filter(([k]) => isTree(k))
        .map(([, v]) => v),
    )
    digestsAgree.push(
      `Chromium hashers ${hashDigests.size === 1 ? 'agree' : 'DISAGREE'}, pools ${treeDigests.size === 1 ? 'agree' : 'DISAGREE'}`,
    )
  } catch (e) {
    notes.push(`Chromium run failed: ${(e as Error).message.split('\n')[0]}`)
    log(`Chromium run failed: ${(e as Error).stack}`)
  }
  await browserSection('Browser fetch run', async () =>
    (await import('./browser/fetch-driver.ts')).runFetchBench({
      bytes: BROWSER_FETCH_BYTES,
      rounds: quick ? 2 : 5,
      firstByteRuns: quick ? 3 : 12,
      log,
    }),
  )
}
if (runs('tab-node')) {
  await browserSection('Tab node run', async () =>
    (await import('./browser/tab-node-driver.ts')).runTabNodeBench({
      bytes: TAB_NODE_BYTES,
      rounds: quick ? 2 : 5,
      firstByteRuns: quick ? 3 : 9,
      log,
    }),
  )
}

// ---------------------------------------------------------------------------------------
// Comparisons: a figure, its peer and their ratio.

interface Comparison {
  readonly section: string
  readonly label: string
  readonly figure: string
  readonly peer: string
  /** Name of the ratio in the JSON output. */
  readonly ratio: string
  readonly target?: {
    readonly text: string
    readonly met: (ratio: number, figure: number) => boolean
  }
  /** The ratio is a share of the peer: printed as a percentage. */
  readonly percent?: boolean
}

const SESSIONS = `Sessions: ${SESSION_BYTES / MiB} MiB over loopback WebSockets (node and client in separate processes)`

const LOAD = `Many fetches at once (issue 23): ${LOAD_BYTES / MiB} MiB contents, one node, client processes (one core each side)`
const LOAD_MANY = `Many fetches at once (issue 23): 20 client processes × 16 fetches of ${LOAD_BURST_BYTES / MiB} MiB, one node`

const BROWSER = `Browser (issue 6): Chromium, ${BROWSER_FETCH_BYTES / MiB} MiB over loopback WebSockets, a real node`
const BUNDLES = 'Browser (issue 6): bundle sizes (vite build, minified; gzip -9)'
const TAB_NODE = `Tab node (issue 7): Chromium, ${TAB_NODE_BYTES / MiB} MiB, tab to tab over loopback WebRTC vs tab to node over WebSockets`

const STARTUP = `CLI start-up (issue 13): median wall time of ${STARTUP_RUNS} interleaved runs, Node ${process.version}`
const STARTUP_TARGET = { text: '≤ 3×', met: (r: number) => r <= 3 }

const comparisons: Comparison[] = [
  {
    section: STARTUP,
    label: 'fulmen --help, compiled bin vs node -e 0',
    figure: 'startup.compiled.help',
    peer: 'startup.node',
    ratio: 'startup.ratio.compiled-help/node',
    target: STARTUP_TARGET,
  },
  {
    section: STARTUP,
    label: 'fulmen hash of 1 byte, compiled bin vs node -e 0',
    figure: 'startup.compiled.hash',
    peer: 'startup.node',
    ratio: 'startup.ratio.compiled-hash/node',
    target: STARTUP_TARGET,
  },
  {
    section: STARTUP,
    label: 'fulmen --version, compiled bin vs node -e 0',
    figure: 'startup.compiled.version',
    peer: 'startup.node',
    ratio: 'startup.ratio.compiled-version/node',
  },
  {
    section: STARTUP,
    label: 'fulmen --help, from source (type stripping) vs node -e 0',
    figure: 'startup.source.help',
    peer: 'startup.node',
    ratio: 'startup.ratio.source-help/node',
  },
  {
    section: STARTUP,
    label: 'fulmen hash of 1 byte, from source vs node -e 0',
    figure: 'startup.source.hash',
    peer: 'startup.node',
    ratio: 'startup.ratio.source-hash/node',
  },
  {
    section: STARTUP,
    label: 'fulmen --version, from source vs node -e 0',
    figure: 'startup.source.version',
    peer: 'startup.node',
    ratio: 'startup.ratio.source-version/node',
  },
  {
    section: STARTUP,
    label: `fulmen --help, before (${startupBaseRef}) compiled vs node -e 0`,
    figure: 'startup.base.help',
    peer: 'startup.node',
    ratio: 'startup.ratio.base-help/node',
  },
  {
    section: STARTUP,
    label: `fulmen hash of 1 byte, before compiled vs node -e 0`,
    figure: 'startup.base.hash',
    peer: 'startup.node',
    ratio: 'startup.ratio.base-hash/node',
  },
  {
    section: STARTUP,
    label: `fulmen --version, before compiled vs node -e 0`,
    figure: 'startup.base.version',
    peer: 'startup.node',
    ratio: 'startup.ratio.base-version/node',
  },
  {
    section: STARTUP,
    label: `fulmen --help, before from source vs node -e 0`,
    figure: 'startup.base-source.help',
    peer: 'startup.node',
    ratio: 'startup.ratio.base-source-help/node',
  },
  {
    section: STARTUP,
    label: `fulmen hash of 1 byte, before from source vs node -e 0`,
    figure: 'startup.base-source.hash',
    peer: 'startup.node',
    ratio: 'startup.ratio.base-source-hash/node',
  },
  {
    section: STARTUP,
    label: 'fulmen --help, compiled: now vs before',
    figure: 'startup.compiled.help',
    peer: 'startup.base.help',
    ratio: 'startup.ratio.compiled-help/base-help',
  },
  {
    section: STARTUP,
    label: 'fulmen hash of 1 byte, compiled: now vs before',
    figure: 'startup.compiled.hash',
    peer: 'startup.base.hash',
    ratio: 'startup.ratio.compiled-hash/base-hash',
  },
  {
    section: STARTUP,
    label: 'npx fulmen --help (installed tarball) vs node -e 0',
    figure: 'startup.npx.help',
    peer: 'startup.node',
    ratio: 'startup.ratio.npx-help/node',
  },
  {
    section: STARTUP,
    label: 'npx fulmen hash of 1 byte vs node -e 0',
    figure: 'startup.npx.hash',
    peer: 'startup.node',
    ratio: 'startup.ratio.npx-hash/node',
  },
  {
    section: STARTUP,
    label: 'npx fulmen --version vs node -e 0',
    figure: 'startup.npx.version',
    peer: 'startup.node',
    ratio: 'startup.ratio.npx-version/node',
  },
  {
    section: STARTUP,
    label: 'npx fulmen --help vs npx of an empty bin (npx itself)',
    figure: 'startup.npx.help',
    peer: 'startup.npx-noop',
    ratio: 'startup.ratio.npx-help/npx-noop',
  },
  {
    section: STARTUP,
    label: 'npx fulmen hash of 1 byte vs npx of an empty bin',
    figure: 'startup.npx.hash',
    peer: 'startup.npx-noop',
    ratio: 'startup.ratio.npx-hash/npx-noop',
  },
  {
    section: `Node: BLAKE3 of ${NODE_BYTES / MiB} MiB in memory`,
    label: 'Fulmen wasm-simd vs hash-wasm (256 KiB updates)',
    figure: 'node.hash.wasm-simd',
    peer: 'node.hash.hash-wasm-256k',
    ratio: 'node.ratio.simd/hash-wasm',
    target: { text: '≥ 2×', met: (r) => r >= 2 },
  },
  {
    section: `Node: BLAKE3 of ${NODE_BYTES / MiB} MiB in memory`,
    label: 'Fulmen wasm-simd vs hash-wasm (one-shot)',
    figure: 'node.hash.wasm-simd',
    peer: 'node.hash.hash-wasm-oneshot',
    ratio: 'node.ratio.simd/hash-wasm-oneshot',
    target: { text: '≥ 2×', met: (r) => r >= 2 },
  },
  {
    section: `Node: BLAKE3 of ${NODE_BYTES / MiB} MiB in memory`,
    label: 'Fulmen portable vs @noble/hashes',
    figure: 'node.hash.portable',
    peer: 'node.hash.noble',
    ratio: 'node.ratio.portable/noble',
    target: { text: '≥ 4×', met: (r) => r >= 4 },
  },
  {
    section: `Node: BLAKE3 of ${NODE_BYTES / MiB} MiB in memory`,
    label: 'Fulmen wasm-simd vs b3sum (native, 1 thread)',
    figure: 'node.hash.wasm-simd',
    peer: 'node.hash.b3sum',
    ratio: 'node.ratio.simd/b3sum',
  },
  {
    section: `Node: BLAKE3 of ${NODE_BYTES / MiB} MiB in memory`,
    label: 'Fulmen wasm-simd vs Fulmen portable',
    figure: 'node.hash.wasm-simd',
    peer: 'node.hash.portable',
    ratio: 'node.ratio.simd/portable',
  },
  {
    section: `Chromium ${chromiumVersion}: BLAKE3 of ${CHROMIUM_HASH_BYTES / MiB} MiB in a dedicated worker`,
    label: 'Fulmen wasm-simd vs hash-wasm (256 KiB updates)',
    figure: 'chromium.hash.wasm-simd',
    peer: 'chromium.hash.hash-wasm-256k',
    ratio: 'chromium.ratio.simd/hash-wasm',
    target: { text: '≥ 2×', met: (r) => r >= 2 },
  },
  {
    section: `Chromium ${chromiumVersion}: BLAKE3 of ${CHROMIUM_HASH_BYTES / MiB} MiB in a dedicated worker`,
    label: 'Fulmen wasm-simd vs hash-wasm (one-shot)',
    figure: 'chromium.hash.wasm-simd',
    peer: 'chromium.hash.hash-wasm-oneshot',
    ratio: 'chromium.ratio.simd/hash-wasm-oneshot',
    target: { text: '≥ 2×', met: (r) => r >= 2 },
  },
  {
    section: `Chromium ${chromiumVersion}: BLAKE3 of ${CHROMIUM_HASH_BYTES / MiB} MiB in a dedicated worker`,
    label: 'Fulmen portable vs @noble/hashes',
    figure: 'chromium.hash.portable',
    peer: 'chromium.hash.noble',
    ratio: 'chromium.ratio.portable/noble',
    target: { text: '≥ 4×', met: (r) => r >= 4 },
  },
  {
    section: `Chromium ${chromiumVersion}: BLAKE3 of ${CHROMIUM_HASH_BYTES / MiB} MiB in a dedicated worker`,
    label: 'Fulmen wasm-simd vs Fulmen portable',
    figure: 'chromium.hash.wasm-simd',
    peer: 'chromium.hash.portable',
    ratio: 'chromium.ratio.simd/portable',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: pool of 2 vs pool of 1, fresh chunks (transferChunks)',
    figure: 'node.workers.fresh-pool-2',
    peer: 'node.workers.fresh-pool-1',
    ratio: 'node.ratio.fresh-pool-2/fresh-pool-1',
    target: { text: '≥ 1.7×', met: (r) => r >= 1.7 },
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: pool of 2 vs pool of 1, file stream (transferChunks)',
    figure: 'node.workers.file-pool-2',
    peer: 'node.workers.file-pool-1',
    ratio: 'node.ratio.file-pool-2/file-pool-1',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: pool of 2 vs pool of 1, in-memory views (copied)',
    figure: 'node.workers.pool-2',
    peer: 'node.workers.pool-1',
    ratio: 'node.ratio.pool-2/pool-1',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: pool of 2 on the file stream, transferred vs copied',
    figure: 'node.workers.file-pool-2',
    peer: 'node.workers.file-pool-2-copied',
    ratio: 'node.ratio.file-pool-2/file-pool-2-copied',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: 2 independent hashing threads vs 1 (ceiling)',
    figure: 'node.workers.threads-2',
    peer: 'node.workers.threads-1',
    ratio: 'node.ratio.threads-2/threads-1',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: pool of 2 (fresh chunks, transferChunks) vs 2 independent threads',
    figure: 'node.workers.fresh-pool-2',
    peer: 'node.workers.threads-2',
    ratio: 'node.ratio.fresh-pool-2/threads-2',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: pool of 2 (in-memory, copied) vs 2 independent threads',
    figure: 'node.workers.pool-2',
    peer: 'node.workers.threads-2',
    ratio: 'node.ratio.pool-2/threads-2',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Node: pool of 1 vs buildTree on the main thread',
    figure: 'node.workers.pool-1',
    peer: 'node.workers.sequential',
    ratio: 'node.ratio.pool-1/sequential',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Chromium: pool of 2 vs pool of 1, fresh chunks (transferChunks)',
    figure: 'chromium.workers.fresh-pool-2',
    peer: 'chromium.workers.fresh-pool-1',
    ratio: 'chromium.ratio.fresh-pool-2/fresh-pool-1',
    target: { text: '≥ 1.7×', met: (r) => r >= 1.7 },
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Chromium: pool of 2 vs pool of 1, in-memory views (copied)',
    figure: 'chromium.workers.pool-2',
    peer: 'chromium.workers.pool-1',
    ratio: 'chromium.ratio.pool-2/pool-1',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Chromium: pool of 2 vs pool of 1, Blob.stream() (transferChunks)',
    figure: 'chromium.workers.blob-pool-2',
    peer: 'chromium.workers.blob-pool-1',
    ratio: 'chromium.ratio.blob-pool-2/blob-pool-1',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Chromium: pool of 2 on Blob.stream(), transferred vs copied',
    figure: 'chromium.workers.blob-pool-2',
    peer: 'chromium.workers.blob-pool-2-copied',
    ratio: 'chromium.ratio.blob-pool-2/blob-pool-2-copied',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Chromium: pool of 2 on Blob.stream() vs reading the Blob alone',
    figure: 'chromium.workers.blob-pool-2',
    peer: 'chromium.workers.blob-read',
    ratio: 'chromium.ratio.blob-pool-2/blob-read',
  },
  {
    section: `Workers: buildTreeParallel over a ${NODE_BYTES / MiB} MiB stream (1 MiB chunks)`,
    label: 'Chromium: pool of 1 vs buildTree on the page',
    figure: 'chromium.workers.pool-1',
    peer: 'chromium.workers.sequential',
    ratio: 'chromium.ratio.pool-1/sequential',
  },
  {
    section: 'Tree, proofs and verification (Node, wasm-simd)',
    label: `buildTree (64 KiB stream chunks) vs hash(), ${NODE_BYTES / MiB} MiB`,
    figure: 'node.tree.buildTree',
    peer: 'node.tree.hash',
    ratio: 'node.ratio.buildTree/hash',
  },
  {
    section: 'Tree, proofs and verification (Node, wasm-simd)',
    label: 'initial vs resume proofs, every block of a 1 GiB tree',
    figure: 'node.proof.initial',
    peer: 'node.proof.resume',
    ratio: 'node.ratio.initial/resume',
  },
  {
    section: 'Tree, proofs and verification (Node, wasm-simd)',
    label: `IncrementalVerifier (proof + block, every block) vs buildTree, ${NODE_BYTES / MiB} MiB`,
    figure: 'node.verify.incremental',
    peer: 'node.verify.buildTree',
    ratio: 'node.ratio.verify/buildTree',
    target: { text: 'overhead ≤ 5 %', met: (r) => (1 / r - 1) * 100 <= 5 },
  },
  {
    section: 'Tree, proofs and verification (Node, wasm-simd)',
    label: `IncrementalVerifier vs blockHash of every block (hashing alone), ${NODE_BYTES / MiB} MiB`,
    figure: 'node.verify.incremental',
    peer: 'node.verify.blockHash',
    ratio: 'node.ratio.verify/blockHash',
    target: { text: 'overhead ≤ 5 %', met: (r) => (1 / r - 1) * 100 <= 5 },
  },
  {
    section: 'Memory: buildTree({ keepTree: false }) over a generated stream (64 KiB chunks)',
    label: 'peak RSS growth (sampled every 10 ms) vs input',
    figure: 'node.memory.peak-rss-growth',
    peer: 'node.memory.input',
    ratio: 'node.ratio.rss-growth/input',
    target: { text: '≤ 32 MiB', met: (_, growth) => growth <= 32 },
  },
  {
    section: 'Memory: buildTree({ keepTree: false }) over a generated stream (64 KiB chunks)',
    label: 'peak RSS growth (Linux VmHWM) vs input',
    figure: 'node.memory.peak-rss-growth-vmhwm',
    peer: 'node.memory.input',
    ratio: 'node.ratio.rss-growth-vmhwm/input',
    target: { text: '≤ 32 MiB', met: (_, growth) => growth <= 32 },
  },
  {
    section: `Full node: HTTP gateway, ${GATEWAY_BYTES / MiB} MiB over loopback (same client, content MiB/s)`,
    label: 'raw body vs plain node:http + fs.createReadStream',
    figure: 'node.gateway.raw',
    peer: 'node.gateway.plain',
    ratio: 'node.ratio.gateway-raw/plain',
    target: { text: '≥ 0.95×', met: (r) => r >= 0.95 },
  },
  {
    section: `Full node: HTTP gateway, ${GATEWAY_BYTES / MiB} MiB over loopback (same client, content MiB/s)`,
    label: 'proof-carrying frames, decoded, vs plain',
    figure: 'node.gateway.frames',
    peer: 'node.gateway.plain',
    ratio: 'node.ratio.gateway-frames/plain',
    target: { text: '≥ 0.9×', met: (r) => r >= 0.9 },
  },
  {
    section: `Full node: HTTP gateway, ${GATEWAY_BYTES / MiB} MiB over loopback (same client, content MiB/s)`,
    label: 'frames verified by readContentBody vs plain',
    figure: 'node.gateway.frames-verified',
    peer: 'node.gateway.plain',
    ratio: 'node.ratio.gateway-frames-verified/plain',
  },
  {
    section: `Full node: RSS of the node process serving ${GATEWAY_MEMORY_BYTES / MiB} MiB raw, then as frames`,
    label: 'peak RSS vs RSS before',
    figure: 'node.gateway.rss-peak',
    peer: 'node.gateway.rss-before',
    ratio: 'node.ratio.gateway-rss-peak/before',
  },
  {
    section: `Full node: RSS of the node process serving ${GATEWAY_MEMORY_BYTES / MiB} MiB raw, then as frames`,
    label: 'RSS 1 s after vs RSS before',
    figure: 'node.gateway.rss-after',
    peer: 'node.gateway.rss-before',
    ratio: 'node.ratio.gateway-rss-after/before',
  },
  {
    section: `Full node: RSS of the node process serving ${GATEWAY_MEMORY_BYTES / MiB} MiB raw, then as frames`,
    label: 'peak RSS growth vs bytes served',
    figure: 'node.gateway.rss-growth',
    peer: 'node.gateway.rss-served',
    ratio: 'node.ratio.gateway-rss-growth/served',
  },
  {
    section: `Full node: import of a ${IMPORT_BYTES / MiB} MiB file`,
    label: 'fulmen add (no node running, start-up included) vs b3sum -t 1',
    figure: 'node.import.fulmen-add',
    peer: 'node.import.b3sum',
    ratio: 'node.ratio.add/b3sum',
  },
  {
    section: SESSIONS,
    label: 'session (client.fetch, verified) vs raw libp2p stream, same node',
    figure: 'node.sessions.session',
    peer: 'node.sessions.raw',
    ratio: 'node.ratio.session/raw',
    target: { text: '≥ 0.9×', met: (r) => r >= 0.9 },
  },
  {
    section: SESSIONS,
    label: 'raw stream, 3 sends per block as the CDN service writes, vs raw',
    figure: 'node.sessions.raw-split',
    peer: 'node.sessions.raw',
    ratio: 'node.ratio.raw-split/raw',
  },
  {
    section: SESSIONS,
    label: 'session vs raw-split: what framing and verification cost',
    figure: 'node.sessions.session',
    peer: 'node.sessions.raw-split',
    ratio: 'node.ratio.session/raw-split',
  },
  {
    section: SESSIONS,
    label: 'first verified byte vs first raw byte (fresh client, dial incl.)',
    figure: 'node.sessions.ttfb-session',
    peer: 'node.sessions.ttfb-raw',
    ratio: 'node.ratio.ttfb-session/raw',
  },
  {
    section: SESSIONS,
    label: 'session vs Helia (unixfs + Bitswap), same bytes and transport',
    figure: 'node.sessions.session',
    peer: 'node.sessions.helia',
    ratio: 'node.ratio.session/helia',
    target: { text: '≥ 3×', met: (r) => r >= 3 },
  },
  {
    section: SESSIONS,
    label: 'dial + openSession vs dial + libp2p ping (fresh libp2p, medians)',
    figure: 'node.sessions.handshake-open',
    peer: 'node.sessions.handshake-ping',
    ratio: 'node.ratio.handshake-open/ping',
  },
  {
    section: SESSIONS,
    label: 'HELLO CPU (sign + verify, new key) vs latency the handshake adds',
    figure: 'node.sessions.hello-cpu',
    peer: 'node.sessions.handshake-added',
    ratio: 'node.ratio.hello-cpu/handshake-added',
    target: { text: '≤ 5 ms', met: (_, ms) => ms <= 5 },
  },
  {
    section: SESSIONS,
    label: 'client: SessionAcks sign + hash vs client CPU, per GiB',
    figure: 'node.sessions.acks-client',
    peer: 'node.sessions.client-cpu',
    ratio: 'node.ratio.acks-client/client-cpu',
    target: { text: '≤ 2 %', met: (r) => r <= 0.02 },
    percent: true,
  },
  {
    section: SESSIONS,
    label: 'node: ledger commit + reveals + DaPool.put vs node CPU, per GiB',
    figure: 'node.sessions.acks-node',
    peer: 'node.sessions.node-cpu',
    ratio: 'node.ratio.acks-node/node-cpu',
    target: { text: '≤ 2 %', met: (r) => r <= 0.02 },
    percent: true,
  },
  {
    section: LOAD,
    label: '64 fetches of 1 MiB at once, one client: succeeded vs asked',
    figure: 'load.ok.c64',
    peer: 'load.asked.c64',
    ratio: 'load.ratio.ok/asked.c64',
    target: { text: 'all', met: (r) => r === 1 },
  },
  {
    section: LOAD,
    label: '256 fetches of 1 MiB at once, one client: succeeded vs asked',
    figure: 'load.ok.c256',
    peer: 'load.asked.c256',
    ratio: 'load.ratio.ok/asked.c256',
    target: { text: 'all', met: (r) => r === 1 },
  },
  {
    section: LOAD,
    label: 'aggregate MiB/s, 8 at once vs one at a time',
    figure: 'load.mibs.c8',
    peer: 'load.mibs.c1',
    ratio: 'load.ratio.c8/c1',
    target: { text: '≥ 0.9×', met: (r) => r >= 0.9 },
  },
  {
    section: LOAD,
    label: 'aggregate MiB/s, 64 at once vs one at a time',
    figure: 'load.mibs.c64',
    peer: 'load.mibs.c1',
    ratio: 'load.ratio.c64/c1',
    target: { text: '≥ 0.9×', met: (r) => r >= 0.9 },
  },
  {
    section: LOAD,
    label: '8 contents at once vs one after another: time to finish all',
    figure: 'load.k8.at-once',
    peer: 'load.k8.one-after-another',
    ratio: 'load.ratio.k8-at-once/one-after-another',
    target: { text: '≤ 1×', met: (r) => r <= 1 },
  },
  {
    section: LOAD,
    label: 'client CPU per GiB, 8 at once vs one at a time',
    figure: 'load.cpu.client.c8',
    peer: 'load.cpu.client.c1',
    ratio: 'load.ratio.cpu-client-c8/c1',
  },
  {
    section: LOAD,
    label: 'node CPU per GiB, 8 at once vs one at a time',
    figure: 'load.cpu.node.c8',
    peer: 'load.cpu.node.c1',
    ratio: 'load.ratio.cpu-node-c8/c1',
  },
  {
    section: LOAD_MANY,
    label: 'fetches that succeeded vs asked (20 × 16)',
    figure: 'load.clients20x16.ok',
    peer: 'load.clients20x16.asked',
    ratio: 'load.ratio.clients20x16-ok/asked',
    target: { text: 'all', met: (r) => r === 1 },
  },
  {
    section: LOAD_MANY,
    label: 'node RSS at peak vs before',
    figure: 'load.node.rss.peakMiB',
    peer: 'load.node.rss.beforeMiB',
    ratio: 'load.ratio.rss-peak/before',
  },
  {
    section: LOAD_MANY,
    label: 'node RSS after the load (settled) vs before',
    figure: 'load.node.rss.afterMiB',
    peer: 'load.node.rss.beforeMiB',
    ratio: 'load.ratio.rss-after/before',
  },
  {
    section: LOAD_MANY,
    label: 'first byte, fresh probe client, p50: under the load vs idle',
    figure: 'load.ttfb.loaded.p50',
    peer: 'load.ttfb.idle.p50',
    ratio: 'load.ratio.ttfb-loaded/idle.p50',
  },
  {
    section: LOAD_MANY,
    label: 'first byte, fresh probe client, p99: under the load vs idle',
    figure: 'load.ttfb.loaded.p99',
    peer: 'load.ttfb.idle.p99',
    ratio: 'load.ratio.ttfb-loaded/idle.p99',
  },
  {
    section: LOAD_MANY,
    label: 'GET /health, p50: under the load vs idle',
    figure: 'load.health.loaded.p50',
    peer: 'load.health.idle.p50',
    ratio: 'load.ratio.health-loaded/idle.p50',
  },
  {
    section: LOAD_MANY,
    label: 'GET /health, p99: under the load vs idle',
    figure: 'load.health.loaded.p99',
    peer: 'load.health.idle.p99',
    ratio: 'load.ratio.health-loaded/idle.p99',
  },
  {
    section: LOAD_MANY,
    label: "first byte of the load's own fetches (from the start), p50 vs idle probe",
    figure: 'load.clients20x16.ttfb.p50',
    peer: 'load.ttfb.idle.p50',
    ratio: 'load.ratio.ttfb-clients/idle.p50',
  },
  {
    section: BROWSER,
    label: 'verified fetch (client worker, body read on the page) vs raw WS in a worker',
    figure: 'chromium.fetch.verified',
    peer: 'chromium.fetch.raw-worker',
    ratio: 'chromium.ratio.verified/raw-worker',
    target: { text: '≥ 0.85×', met: (r) => r >= 0.85 },
  },
  {
    section: BROWSER,
    label: 'verified fetch vs raw WebSocket read on the page',
    figure: 'chromium.fetch.verified',
    peer: 'chromium.fetch.raw-page',
    ratio: 'chromium.ratio.verified/raw-page',
  },
  {
    section: BROWSER,
    label: 'raw WebSocket read on the page vs in a worker',
    figure: 'chromium.fetch.raw-page',
    peer: 'chromium.fetch.raw-worker',
    ratio: 'chromium.ratio.raw-page/raw-worker',
  },
  {
    section: BROWSER,
    label: "verified fetch vs Noise's ChaCha20-Poly1305 alone (JS, in a worker)",
    figure: 'chromium.fetch.verified',
    peer: 'chromium.noise.decrypt',
    ratio: 'chromium.ratio.verified/noise-decrypt',
  },
  {
    section: BROWSER,
    label: 'CPU per MiB, all processes: verified fetch vs raw WS in a worker',
    figure: 'chromium.cpu.verified',
    peer: 'chromium.cpu.raw-worker',
    ratio: 'chromium.ratio.cpu-verified/raw-worker',
  },
  {
    section: BROWSER,
    label: 'main-thread long tasks (> 50 ms), verified vs raw read on the page',
    figure: 'chromium.main.verified.long-tasks',
    peer: 'chromium.main.raw-page.long-tasks',
    ratio: 'chromium.ratio.long-tasks-verified/raw-page',
    target: { text: 'none > 50 ms', met: (_, n) => n === 0 },
  },
  {
    section: BROWSER,
    label: 'longest main-thread task, verified vs raw read on the page',
    figure: 'chromium.main.verified.longest-task',
    peer: 'chromium.main.raw-page.longest-task',
    ratio: 'chromium.ratio.longest-task-verified/raw-page',
    target: { text: '≤ 50 ms', met: (_, ms) => ms <= 50 },
  },
  {
    section: BROWSER,
    label: 'worst 10 ms timer lag on the page, verified vs raw read on the page',
    figure: 'chromium.main.verified.timer-lag',
    peer: 'chromium.main.raw-page.timer-lag',
    ratio: 'chromium.ratio.timer-lag-verified/raw-page',
  },
  {
    section: BROWSER,
    label: 'first byte, service worker vs direct client (warm, medians)',
    figure: 'chromium.ttfb.sw',
    peer: 'chromium.ttfb.direct',
    ratio: 'chromium.ratio.ttfb-sw/direct',
    target: { text: '≤ 1.2×', met: (r) => r <= 1.2 },
  },
  {
    section: BROWSER,
    label: 'first byte, service worker from its block cache vs direct client (warm)',
    figure: 'chromium.ttfb.sw-cached',
    peer: 'chromium.ttfb.direct',
    ratio: 'chromium.ratio.ttfb-sw-cached/direct',
  },
  {
    section: BROWSER,
    label: 'first byte, service worker vs direct client (cold, medians)',
    figure: 'chromium.ttfb.sw-cold',
    peer: 'chromium.ttfb.direct-cold',
    ratio: 'chromium.ratio.ttfb-sw-cold/direct-cold',
    target: { text: '≤ 1.2×', met: (r) => r <= 1.2 },
  },
  {
    section: TAB_NODE,
    label: 'verified fetch: tab A over WebRTC vs the full node over WebSockets',
    figure: 'chromium.tab-node.fetch.tab',
    peer: 'chromium.tab-node.fetch.node',
    ratio: 'chromium.tab-node.ratio.tab/node',
  },
  {
    section: TAB_NODE,
    label: 'CPU per MiB, all processes: from tab A vs from the node',
    figure: 'chromium.tab-node.cpu.tab',
    peer: 'chromium.tab-node.cpu.node',
    ratio: 'chromium.tab-node.ratio.cpu-tab/node',
  },
  {
    section: TAB_NODE,
    label: "CPU per MiB, client page B's renderer: from tab A vs the node",
    figure: 'chromium.tab-node.cpu.tab.client-page',
    peer: 'chromium.tab-node.cpu.node.client-page',
    ratio: 'chromium.tab-node.ratio.cpu-client-page-tab/node',
  },
  {
    section: TAB_NODE,
    label: "CPU per MiB serving: tab A's renderer vs the full node process",
    figure: 'chromium.tab-node.cpu.tab.tab-page',
    peer: 'chromium.tab-node.cpu.node.node',
    ratio: 'chromium.tab-node.ratio.cpu-serve-tab/node',
  },
  {
    section: TAB_NODE,
    label: 'CPU per MiB, Playwright (bench process): tab A vs the node',
    figure: 'chromium.tab-node.cpu.tab.bench',
    peer: 'chromium.tab-node.cpu.node.bench',
    ratio: 'chromium.tab-node.ratio.cpu-bench-tab/node',
  },
  {
    section: TAB_NODE,
    label: 'first byte, 4 MiB, warm: tab A (discovery incl.) vs the node',
    figure: 'chromium.tab-node.ttfb.tab',
    peer: 'chromium.tab-node.ttfb.node',
    ratio: 'chromium.tab-node.ratio.ttfb-tab/node',
  },
  {
    section: TAB_NODE,
    label: `first byte of the ${TAB_NODE_BYTES / MiB} MiB turns: from tab A vs the node`,
    figure: 'chromium.tab-node.ttfb-big.tab',
    peer: 'chromium.tab-node.ttfb-big.node',
    ratio: 'chromium.tab-node.ratio.ttfb-big-tab/node',
  },
  {
    section: TAB_NODE,
    label: "A's cache() (node to IndexedDB) vs B's fetch from the node",
    figure: 'chromium.tab-node.cache',
    peer: 'chromium.tab-node.fetch.node',
    ratio: 'chromium.tab-node.ratio.cache/node',
  },
  {
    section: BUNDLES,
    label: 'page client + client worker vs @helia/verified-fetch (gzip)',
    figure: 'bundle.client-total.gzip',
    peer: 'bundle.helia-verified-fetch.gzip',
    ratio: 'bundle.ratio.client-total/helia-gzip',
  },
  {
    section: BUNDLES,
    label: 'page client + client worker vs @helia/verified-fetch (minified)',
    figure: 'bundle.client-total.raw',
    peer: 'bundle.helia-verified-fetch.raw',
    ratio: 'bundle.ratio.client-total/helia-raw',
  },
  {
    section: BUNDLES,
    label: 'page client alone (what the page loads first) vs @helia/verified-fetch (gzip)',
    figure: 'bundle.client.gzip',
    peer: 'bundle.helia-verified-fetch.gzip',
    ratio: 'bundle.ratio.client/helia-gzip',
  },
  {
    section: BUNDLES,
    label: 'client worker vs @helia/verified-fetch (gzip)',
    figure: 'bundle.client-worker.gzip',
    peer: 'bundle.helia-verified-fetch.gzip',
    ratio: 'bundle.ratio.client-worker/helia-gzip',
  },
  {
    section: BUNDLES,
    label: 'service worker vs @helia/verified-fetch (gzip)',
    figure: 'bundle.service-worker.gzip',
    peer: 'bundle.helia-verified-fetch.gzip',
    ratio: 'bundle.ratio.service-worker/helia-gzip',
  },
]

comparisons.push(...stateComparisons(STATE_ENTRIES, STATE_COMMIT, STATE_UPDATE_COMMIT))
comparisons.push(...chainComparisons({ blockSize: CHAIN_BLOCK, claimsPerTx: CHAIN_CLAIMS_PER_TX }))
comparisons.push(...consensusComparisons({ size: CONSENSUS_SIZE }))
comparisons.push(...consensusSimComparisons())
comparisons.push(...attestationComparisons())
comparisons.push(...lightComparisons(LIGHT_EPOCHS, LIGHT_COMMITTEE, LIGHT_POOL))
comparisons.push(...snarkComparisons(SNARK_CLAIMS))

const byName = new Map(figures.map((f) => [f.name, f]))
const ratios: Figure[] = []
interface Row {
  readonly c: Comparison
  readonly a: Figure
  readonly b: Figure
  readonly ratio: number
}
const rows: Row[] = []
for (const c of comparisons) {
  const a = byName.get(c.figure)
  const b = byName.get(c.peer)
  if (a === undefined || b === undefined) continue
  const ratio = a.value / b.value
  rows.push({ c, a, b, ratio })
  ratios.push({ name: c.ratio, value: ratio, unit: 'x' })
}

// ---------------------------------------------------------------------------------------
// Output

if (json) {
  const machineFigures: Figure[] = [
    { name: 'machine.cores', value: machine.cores, unit: 'cores' },
    { name: 'machine.memory', value: machine.memoryGiB, unit: 'GiB' },
    { name: 'machine.load-average-at-start', value: loadAtStart, unit: '' },
    { name: 'bench.duration', value: (performance.now() - started) / 1000, unit: 's' },
  ]
  log(`machine: ${JSON.stringify(machine)}`)
  process.stdout.write(`${JSON.stringify([...figures, ...ratios, ...machineFigures], null, 2)}\n`)
} else {
  process.stdout.write(renderTable())
}

function formatValue(f: Figure): string {
  if (f.unit === 'MiB/s')
    return f.value >= 1024 ? `${(f.value / 1024).toFixed(2)} GiB/s` : `${f.value.toFixed(0)} MiB/s`
  if (f.unit === 'proofs/s') return `${Math.round(f.value).toLocaleString('en-US')} proofs/s`
  if (f.unit === 'MiB') return `${f.value.toFixed(f.value >= 100 ? 0 : 1)} MiB`
  if (f.unit === 'KiB') return `${f.value.toFixed(1)} KiB`
  if (f.unit === 'count') return String(Math.round(f.value))
  if (f.unit === 'entries/s') return `${Math.round(f.value).toLocaleString('en-US')} entries/s`
  if (f.unit === 'tx/s' || f.unit === 'claims/s')
    return `${Math.round(f.value).toLocaleString('en-US')} ${f.unit}`
  if (f.unit === 'B') return `${Math.round(f.value)} B`
  return `${f.value.toFixed(2)} ${f.unit}`
}

function formatRatio(r: Row): string {
  if (!Number.isFinite(r.ratio)) return '—'
  if (r.c.percent) return `${(r.ratio * 100).toFixed(2)} %`
  if (r.c.figure.startsWith('node.memory') || r.c.figure === 'node.gateway.rss-growth')
    return `${(r.ratio * 100).toFixed(2)} %`
  if (r.c.figure === 'node.verify.incremental') {
    // Time overhead of verifying over the peer: t_verify / t_peer - 1.
    const overhead = (1 / r.ratio - 1) * 100
    return `${r.ratio.toFixed(3)}× (${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)} % time)`
  }
  return `${r.ratio.toFixed(2)}×`
}

function renderTable(): string {
  const lines: string[] = []
  const seconds = (performance.now() - started) / 1000
  lines.push(
    `Fulmen benchmarks — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${seconds.toFixed(0)} s`,
  )
  lines.push(
    `Machine: ${machine.cpu} (${machine.simd.join(', ') || 'no x86 SIMD flags'}), ${machine.cores} cores, ` +
      `${machine.memoryGiB.toFixed(1)} GiB RAM, ${machine.os}`,
  )
  lines.push(
    `Runtimes: Node ${machine.node}, Chromium ${machine.chromium ?? chromiumVersion}; ${machine.b3sum}; ` +
      Object.entries(machine.packages)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  )
  lines.push(
    `Load average (1 min): ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at the end. ` +
      'Each figure is the best of several runs after a warm-up; ratio = figure / peer.',
  )
  let section = ''
  const header = ['Comparison', 'Figure', 'Peer', 'Ratio', 'Target']
  const widths = [64, 16, 16, 26, 18]
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  for (const r of rows) {
    if (r.c.section !== section) {
      section = r.c.section
      lines.push('', section, fmt(header), fmt(widths.map((w) => '-'.repeat(w))))
    }
    const target = r.c.target
      ? `${r.c.target.text} ${r.c.target.met(r.ratio, r.a.value) ? 'met' : 'MISSED'}`
      : ''
    lines.push(fmt([r.c.label, formatValue(r.a), formatValue(r.b), formatRatio(r), target]))
  }
  if (digestsAgree.length > 0) lines.push('', `Digests: ${digestsAgree.join('; ')}.`)
  else lines.push('')
  for (const n of notes) lines.push(`Note: ${n}`)
  return `${lines.join('\n')}\n`
}
