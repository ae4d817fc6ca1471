/**
 * The full node, measured from the outside: `fulmen node start` serving a file through its
 * HTTP gateway, against Node's plain `http` serving the same file with `fs.createReadStream`
 * (bench/node/plain-server.ts), each in its own process, read by the same client
 * (bench/node/gateway-client.ts, in a fresh process: `http.get` over one keep-alive connection,
 * every body read to the end).
 *
 * - throughput: raw body, proof-carrying frames decoded (`FrameDecoder`), and frames verified
 *   (`readContentBody`), each in content MiB/s, in turns with the plain server;
 * - memory: the node's VmRSS (/proc/<pid>/status, sampled every 10 ms) before, at the peak of
 *   and after serving a 1 GiB content raw and then as frames;
 * - import: `fulmen add` of a file with no node running (process start-up included) against
 *   `b3sum --num-threads 1` on the same file.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { blake3 } from '@noble/hashes/blake3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { childEnv, FULMEN_CLI, type NodeProcess, startNode } from '../../src/devnet/processes.ts'
import { type Figure, fillPseudoRandom, MiB, mibPerSecond } from '../shared.ts'
import { runJsonChild } from './json-child.ts'
import { scratchDir } from './scratch-dir.ts'

export interface GatewayBenchOptions {
  /** Size of the file served for throughput (default 256 MiB). */
  readonly serveBytes: number
  /** Size of the content served for the memory figures (default 1 GiB). */
  readonly memoryBytes: number
  /** Size of the imported file (default 512 MiB). */
  readonly importBytes: number
  readonly reps: number
  readonly log: (line: string) => void
}

export interface GatewayBenchResult {
  readonly figures: Figure[]
  readonly notes: string[]
  /** Roots of the served and imported files as fulmen and b3sum printed them. */
  readonly digestsAgree: boolean
}

const PLAIN_SERVER = fileURLToPath(new URL('./plain-server.ts', import.meta.url))
const CLIENT = fileURLToPath(new URL('./gateway-client.ts', import.meta.url))

/** Writes `bytes` of pseudo-random data to `file`, 64 MiB at a time. */
function writeInput(file: string, bytes: number, seed: number): void {
  const chunk = new Uint8Array(Math.min(bytes, 64 * MiB))
  const fd = openSync(file, 'w')
  try {
    for (let off = 0, i = 0; off < bytes; off += chunk.length, i++) {
      fillPseudoRandom(chunk, seed + i)
      writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off))
    }
  } finally {
    closeSync(fd)
  }
}

function fulmenAdd(dataDir: string, file: string): { hex: string; seconds: number } {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [FULMEN_CLI, 'add', '--data-dir', dataDir, file], {
    encoding: 'utf8',
    env: childEnv({ XDG_DATA_HOME: dataDir }),
  })
  const seconds = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`fulmen add failed: ${r.stderr}`)
  return { hex: r.stdout.slice(0, 64), seconds }
}

/** `b3sum --num-threads 1` of `file`, or undefined where b3sum is not installed. */
function b3sum(file: string): { hex: string; seconds: number } | undefined {
  const t0 = performance.now()
  const r = spawnSync('b3sum', ['--num-threads', '1', file], { encoding: 'utf8' })
  const seconds = (performance.now() - t0) / 1000
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined
  if (r.status !== 0) throw new Error(`b3sum failed: ${r.stderr || r.error}`)
  return { hex: r.stdout.slice(0, 64), seconds }
}

/** The file's BLAKE3 by b3sum where installed, else by @noble/hashes (the digests' cross-check). */
function referenceHex(file: string): string {
  const measured = b3sum(file)
  if (measured !== undefined) return measured.hex
  const hasher = blake3.create()
  const fd = openSync(file, 'r')
  try {
    const chunk = new Uint8Array(8 * MiB)
    for (;;) {
      const n = readSync(fd, chunk)
      if (n === 0) break
      hasher.update(chunk.subarray(0, n))
    }
  } finally {
    closeSync(fd)
  }
  return bytesToHex(hasher.digest())
}

function vmRss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

async function startPlainServer(file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [PLAIN_SERVER, file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d
      const m = /^(http:\/\/\S+)\n/.exec(out)
      if (m !== null) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`plain server exited (${code})`)))
  })
  return { child, url }
}

interface ClientJob {
  readonly turns: number
  readonly bytes: number
  readonly runs: Record<string, { url: string; mode: 'raw' | 'frames' | 'verified'; root?: string }>
}

/** Runs bench/node/gateway-client.ts on `job`: the best seconds of each run. */
const runClient = (job: ClientJob) => runJsonChild<Record<string, number>>(CLIENT, job)

export async function measureGateway(options: GatewayBenchOptions): Promise<GatewayBenchResult> {
  const { serveBytes, memoryBytes, importBytes, reps, log } = options
  const figures: Figure[] = []
  const notes: string[] = []
  let digestsAgree = true
  const base = scratchDir(serveBytes + 2 * memoryBytes + 3 * importBytes)
  const dir = mkdtempSync(path.join(base, 'fulmen-bench-node-'))
  const children: ChildProcess[] = []
  let node: NodeProcess | undefined
  try {
    // --- files, imported before the node starts ------------------------------------------
    const served = path.join(dir, 'served.bin')
    writeInput(served, serveBytes, 0x51)
    const large = path.join(dir, 'large.bin')
    closeSync(openSync(large, 'w'))
    truncateSync(large, memoryBytes) // zeros, sparse: the content does not matter for memory
    const dataDir = path.join(dir, 'node')
    mkdirSync(dataDir)
    log(
      `gateway: importing ${serveBytes / MiB} MiB and ${memoryBytes / MiB} MiB into the node's store`,
    )
    const servedHex = fulmenAdd(dataDir, served).hex
    const largeHex = fulmenAdd(dataDir, large).hex
    if (referenceHex(served) !== servedHex) digestsAgree = false

    node = await startNode({ dataDir, env: { XDG_DATA_HOME: dir, FULMEN_LOG_LEVEL: 'warn' } })
    const plain = await startPlainServer(served)
    children.push(plain.child)
    const rawUrl = `${node.url}/services/0/blake3/${servedHex}`
    const framesUrl = `${rawUrl}?format=frames`

    // --- throughput, in turns, from a fresh client process ----------------------------------
    log(
      `gateway: ${serveBytes / MiB} MiB, plain http vs raw vs frames (decoded, verified), ${reps} turns`,
    )
    const best = await runClient({
      turns: reps,
      bytes: serveBytes,
      runs: {
        plain: { url: plain.url, mode: 'raw' },
        raw: { url: rawUrl, mode: 'raw' },
        frames: { url: framesUrl, mode: 'frames' },
        'frames-verified': { url: framesUrl, mode: 'verified', root: servedHex },
      },
    })
    for (const [name, s] of Object.entries(best)) {
      figures.push({
        name: `node.gateway.${name}`,
        value: mibPerSecond(serveBytes, s),
        unit: 'MiB/s',
      })
    }
    log(
      `gateway: ${Object.entries(best)
        .map(([k, s]) => `${k} ${mibPerSecond(serveBytes, s).toFixed(0)} MiB/s`)
        .join(', ')}`,
    )
    const framedLength = Number(
      (await fetch(framesUrl, { method: 'HEAD' })).headers.get('content-length'),
    )
    notes.push(
      `Gateway: ${serveBytes / MiB} MiB of pseudo-random content, the node's store and the plain server's file in ${base}; ` +
        `frames carry ${(((framedLength - serveBytes) / serveBytes) * 100).toFixed(3)} % of proofs and prefixes (counted out: figures are content MiB/s). ` +
        `Client: bench/node/gateway-client.ts, a fresh process: http.get over one keep-alive connection, every body read to the end; ${reps} turns after a warm-up, best of each.`,
    )

    // --- memory while serving ------------------------------------------------------------
    log(`gateway: node RSS while serving ${memoryBytes / MiB} MiB raw, then as frames`)
    const pid = node.pid
    await new Promise((r) => setTimeout(r, 500))
    const before = vmRss(pid)
    let peak = before
    const sampler = setInterval(() => {
      peak = Math.max(peak, vmRss(pid))
    }, 10)
    const largeUrl = `${node.url}/services/0/blake3/${largeHex}`
    try {
      // Turn 0 only: each downloaded once.
      await runClient({
        turns: 0,
        bytes: memoryBytes,
        runs: {
          raw: { url: largeUrl, mode: 'raw' },
          frames: { url: `${largeUrl}?format=frames`, mode: 'frames' },
        },
      })
    } finally {
      clearInterval(sampler)
    }
    peak = Math.max(peak, vmRss(pid))
    await new Promise((r) => setTimeout(r, 1000))
    const after = vmRss(pid)
    figures.push(
      { name: 'node.gateway.rss-before', value: before / MiB, unit: 'MiB' },
      { name: 'node.gateway.rss-peak', value: peak / MiB, unit: 'MiB' },
      { name: 'node.gateway.rss-after', value: after / MiB, unit: 'MiB' },
      { name: 'node.gateway.rss-served', value: (2 * memoryBytes) / MiB, unit: 'MiB' },
      { name: 'node.gateway.rss-growth', value: (peak - before) / MiB, unit: 'MiB' },
    )
    log(
      `gateway: RSS ${(before / MiB).toFixed(0)} MiB before, ${(peak / MiB).toFixed(0)} MiB peak, ${(after / MiB).toFixed(0)} MiB after`,
    )
    await node.stop('SIGTERM')
    node = undefined
    plain.child.kill('SIGTERM')

    // --- import ----------------------------------------------------------------------------
    const imported = path.join(dir, 'import.bin')
    writeInput(imported, importBytes, 0x1e)
    log(`import: fulmen add of ${importBytes / MiB} MiB vs b3sum --num-threads 1, ${reps} turns`)
    const importBest = { add: Number.POSITIVE_INFINITY, b3sum: Number.POSITIVE_INFINITY }
    const addDir = path.join(dir, 'import-store')
    for (let i = 0; i < reps + 1; i++) {
      rmSync(addDir, { recursive: true, force: true })
      const a = fulmenAdd(addDir, imported)
      const b = b3sum(imported)
      if (a.hex !== (b?.hex ?? referenceHex(imported))) digestsAgree = false
      if (i === 0) continue
      importBest.add = Math.min(importBest.add, a.seconds)
      if (b !== undefined) importBest.b3sum = Math.min(importBest.b3sum, b.seconds)
    }
    const empty = path.join(dir, 'empty.bin')
    closeSync(openSync(empty, 'w'))
    let startup = Number.POSITIVE_INFINITY
    for (let i = 0; i < 3; i++) {
      rmSync(addDir, { recursive: true, force: true })
      startup = Math.min(startup, fulmenAdd(addDir, empty).seconds)
    }
    rmSync(addDir, { recursive: true, force: true })
    figures.push(
      {
        name: 'node.import.fulmen-add',
        value: mibPerSecond(importBytes, importBest.add),
        unit: 'MiB/s',
      },
      { name: 'node.import.fulmen-add-startup', value: startup * 1000, unit: 'ms' },
    )
    const hasB3sum = Number.isFinite(importBest.b3sum)
    if (hasB3sum)
      figures.push({
        name: 'node.import.b3sum',
        value: mibPerSecond(importBytes, importBest.b3sum),
        unit: 'MiB/s',
      })
    else
      notes.push(
        'b3sum not found: the import row beside it is missing (digests checked with @noble/hashes)',
      )
    notes.push(
      `Import: \`fulmen add\` (no node running: the CLI opens the store, hashes while writing content/ and trees/, ` +
        `fsyncs, commits to LevelDB) of a ${importBytes / MiB} MiB file in ${base} into a fresh store there, ` +
        `process start-up included (${(startup * 1000).toFixed(0)} ms for an empty file); ` +
        `b3sum --num-threads 1 (mmap) on the same file only hashes it.`,
    )
    log(
      `import: fulmen add ${mibPerSecond(importBytes, importBest.add).toFixed(0)} MiB/s` +
        (hasB3sum ? `, b3sum ${mibPerSecond(importBytes, importBest.b3sum).toFixed(0)} MiB/s` : ''),
    )
    return { figures, notes, digestsAgree }
  } finally {
    await node?.stop('SIGTERM').catch(() => {})
    for (const c of children) c.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}
