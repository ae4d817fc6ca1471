/**
 * A node holds many clients (issue 23, point 3): one real full node process with eight 1 MiB
 * contents, then twenty client processes (src/node/testing/many-fetches-client.ts), each one
 * `createClient` doing 16 `client.fetch` at once, released together. Every one of the 320
 * fetches completes with the right bytes (checked against the BLAKE3 root in the client process);
 * while they run, the node answers `/health` and a fresh client (a new handshake) fetches.
 *
 * The node's resident memory (VmRSS of /proc/<pid>/status) is sampled before the load, through
 * it (its peak, with the kernel's own high-water mark VmHWM beside it) and a full minute after
 * the last client finished (the issue's "a minute after"; idle waiting, cheap for CI). Bounds,
 * not timings, are asserted: see RSS_PEAK_GROWTH_MIB and RSS_AFTER_GROWTH_MIB. The test prints
 * one summary line (`many-clients:`) with the figures.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { hash } from '../b3/hash.ts'
import { createClient } from '../client/create-client.node.ts'
import {
  childEnv,
  exited,
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  sleep,
  startNode,
  waitFor,
  wsAddressOf,
} from '../devnet/processes.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { metricsOf, metricValue, request } from './testing/http.ts'
import type { ManyFetchesResult } from './testing/many-fetches-client.ts'

const CONTENTS = 8
const SIZE = 2 ** 20
const CLIENTS = 20
const FETCHES = 16
/** The issue's "a minute after" (FULMEN_TEST_AFTER_MS shortens it for a quick local run). */
const AFTER_MS = Number(process.env.FULMEN_TEST_AFTER_MS ?? 60_000)
/** The node's acknowledgement timeout and the clients' stall timeout here (see beforeAll). */
const SLOW_PEER_MS = 60_000
/**
 * Peak RSS over the idle node's, MiB. What the load can make the node hold: 20 sessions of at
 * most 8 busy streams (the client keeps within the advertised limit), each with one 256 KiB
 * block read and framed and libp2p's send window behind it: under 1 MiB a stream, 160 MiB for
 * the 160 streams; twice that for V8's heap growth and garbage not yet collected, and 20
 * libp2p connections (Noise, yamux) on top. A node that held every body at once (or leaked per
 * fetch) would pass it: 320 fetches x 1 MiB, twice over.
 */
const RSS_PEAK_GROWTH_MIB = 512
/**
 * RSS a minute after, over the idle node's, MiB: what the load may leave behind (V8 keeps a
 * grown heap, the allocator its arenas), but not the load's working set: under half the peak
 * bound.
 */
const RSS_AFTER_GROWTH_MIB = 256
/**
 * Not a timing assertion: a guard against a hang. Past it the clients still running are killed
 * and the test fails with what they wrote (a client describes its unsettled fetches at 120 s).
 */
const LOAD_GUARD_MS = 300_000
const CLIENT_SCRIPT = fileURLToPath(new URL('./testing/many-fetches-client.ts', import.meta.url))

let dir = ''
let node: NodeProcess
const clientProcesses = new Set<ChildProcess>()
const roots: string[] = []

const testStarted = performance.now()
/** Where the test is, on stderr: a load test that hangs on a loaded machine says where. */
function progress(message: string): void {
  const s = ((performance.now() - testStarted) / 1000).toFixed(1)
  process.stderr.write(`many-clients +${s}s: ${message}\n`)
}

/** VmRSS and VmHWM of `pid`, MiB. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1])
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 }
}

interface ClientProcess {
  readonly child: ChildProcess
  /** Resolves once it has its client and waits for the word to fetch. */
  readonly ready: Promise<void>
  /** Its result line, once it has exited. */
  readonly result: Promise<ManyFetchesResult>
}

function startClient(index: number): ClientProcess {
  const child = spawn(
    process.execPath,
    [
      CLIENT_SCRIPT,
      '--bootstrap',
      wsAddressOf(node),
      '--roots',
      roots.join(','),
      '--fetches',
      String(FETCHES),
      '--offset',
      String(index),
      '--wait-stdin',
      '--stall-ms',
      String(SLOW_PEER_MS),
      '--handshake-ms',
      String(SLOW_PEER_MS),
    ],
    { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] },
  )
  // The clients run below the node's priority: on this one machine they stand for clients on
  // machines of their own. At equal priority twenty verifying clients leave the node a
  // twenty-first of two cores, and its WebSocket upgrades miss the clients' dial timeout.
  try {
    setPriority(child.pid!, 10)
  } catch {}
  clientProcesses.add(child)
  child.once('exit', () => clientProcesses.delete(child))
  let stdout = ''
  let stderr = ''
  let onReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    onReady = resolve
  })
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
    if (stdout.startsWith('ready\n')) onReady()
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const result = exited(child).then(({ code, signal }) => {
    const line = stdout.split('\n').find((l) => l.startsWith('{'))
    if (code !== 0 || line === undefined)
      throw new Error(`client ${index} exited (${code ?? signal}) without a result\n${stderr}`)
    return JSON.parse(line) as ManyFetchesResult
  })
  // A client that dies before it is ready must not leave the test waiting for it.
  void result.catch(() => onReady())
  return { child, ready, result }
}

/** A new client's fetch of the first content, checked against its root; never throws. */
async function freshFetch(): Promise<{ ok: boolean; duringLoad: boolean; error?: string }> {
  const client = await createClient({ bootstrap: [wsAddressOf(node)] })
  try {
    const body = new Uint8Array(await (await client.fetch(roots[0]!)).arrayBuffer())
    return { ok: bytesToHex(hash(body)) === roots[0], duringLoad: false }
  } catch (error) {
    return { ok: false, duringLoad: false, error: `${(error as Error).message}` }
  } finally {
    await client.close()
  }
}

printNodeLogsOnFailure(() => (node === undefined ? [] : [node]))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-many-clients-'))
  const files = Array.from({ length: CONTENTS }, (_, i) => {
    const file = join(dir, `content-${i}.bin`)
    writeFileSync(file, pseudoRandomBytes(SIZE, 1000 + i))
    return file
  })
  const env = { XDG_DATA_HOME: join(dir, 'xdg') }
  const dataDir = join(dir, 'node')
  const added = await runFulmen(['add', '--data-dir', dataDir, ...files], { env })
  expect(added.code, added.stderr).toBe(0)
  roots.push(
    ...added.stdout
      .trim()
      .split('\n')
      .map((l) => l.slice(0, 64)),
  )
  expect(roots).toHaveLength(CONTENTS)
  // The node's acknowledgement and handshake timeouts, like the clients' stall and handshake
  // timeouts (--stall-ms, --handshake-ms), guard against one slow peer. Twenty clients on one
  // 2-core machine, beside the rest of the suite, are all slow at once in a way clients on
  // machines of their own are not (17 CLIENT_STALLED and 23 SESSION_TIMEOUT of 320 at load
  // average 20; 45 SESSION_TIMEOUT of 320 at load ~5 with benchmarks beside the suite): this
  // test is about the node holding them, so all are set past what oversubscription costs.
  node = await startNode({
    dataDir,
    env: {
      ...env,
      FULMEN_ACK_TIMEOUT_MS: String(SLOW_PEER_MS),
      FULMEN_HANDSHAKE_TIMEOUT_MS: String(SLOW_PEER_MS),
    },
  })
}, 120_000)

afterAll(async () => {
  for (const child of clientProcesses) child.kill('SIGKILL')
  await node?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('a node holds many clients', () => {
  test(
    `${CLIENTS} client processes x ${FETCHES} fetches at once: all complete, the node answers, its memory is bounded`,
    async () => {
      const before = memoryOf(node.pid)
      const clients = Array.from({ length: CLIENTS }, (_, i) => startClient(i))
      let running = CLIENTS
      for (const c of clients) void c.result.finally(() => running--).catch(() => {})
      await Promise.all(clients.map((c) => c.ready))
      progress(`${CLIENTS} clients ready; node RSS ${Math.round(before.rss)} MiB`)

      // Sampled from the moment the clients are released until the last one has its result.
      let peakRss = before.rss
      const health: number[] = []
      let loadDone = false
      const sampler = (async () => {
        while (!loadDone) {
          peakRss = Math.max(peakRss, memoryOf(node.pid).rss)
          await sleep(100)
        }
      })()
      const prober = (async () => {
        while (!loadDone) {
          health.push(
            await request(`${node.url}/health`).then(
              (r) => r.status,
              () => 0,
            ),
          )
          await sleep(250)
        }
      })()
      const started = performance.now()
      let results: PromiseSettledResult<ManyFetchesResult>[]
      let streamsSeen = 0
      let fresh: { ok: boolean; duringLoad: boolean; error?: string } = {
        ok: false,
        duringLoad: false,
      }
      try {
        for (const c of clients) c.child.stdin!.end('go\n')
        // Once the load is on (streams open on the node), a new client: its own handshake.
        streamsSeen = await waitFor(
          async () => {
            const n = metricValue(await metricsOf(node.url), 'fulmen_session_streams')
            return n >= CLIENTS && n
          },
          'the clients to open their streams',
          120_000,
        )
        progress(`${streamsSeen} streams open on the node; a fresh client fetches`)
        fresh = await freshFetch()
        fresh = { ...fresh, duringLoad: running > 0 }
        progress(`fresh client: ${fresh.ok ? 'ok' : fresh.error}; ${running} clients still running`)
        const all = Promise.allSettled(clients.map((c) => c.result))
        const guard = new Promise<undefined>((resolve) => {
          setTimeout(resolve, LOAD_GUARD_MS, undefined).unref()
        })
        if ((await Promise.race([all, guard])) === undefined) {
          progress(`${running} clients still running after ${LOAD_GUARD_MS} ms: killed`)
          for (const c of clients) c.child.kill('SIGKILL')
        }
        results = await all
        progress('every client has its result')
      } finally {
        loadDone = true
        await Promise.allSettled([sampler, prober])
        for (const c of clients) if (c.child.exitCode === null) c.child.kill('SIGKILL')
      }
      const loadMs = Math.round(performance.now() - started)
      const peak = memoryOf(node.pid)
      const metricsAtEnd = await metricsOf(node.url)

      await sleep(AFTER_MS)
      const after = memoryOf(node.pid)
      const healthAfter = (await request(`${node.url}/health`)).status

      const lines = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined))
      const ok = lines.reduce((n, r) => n + (r?.ok ?? 0), 0)
      const failures = lines.flatMap((r) => r?.failed ?? [])
      // A client whose close() hung is the client's matter, not the node's: reported only.
      const closeHung = lines.filter((r) => r !== undefined && !r.closed).length
      const refusals = Object.fromEntries(
        ['sessions_per_client', 'streams_per_session', 'node_sessions', 'node_streams'].map(
          (reason) => [
            reason,
            metricValue(metricsAtEnd, 'fulmen_session_refusals_total', { reason }),
          ],
        ),
      )
      const mib = (n: number) => Math.round(n)
      console.log(
        `many-clients: ${ok}/${CLIENTS * FETCHES} fetches ok (${CLIENTS} client processes x ${FETCHES} at once, ${CONTENTS} x 1 MiB contents, ${loadMs} ms); ` +
          `node RSS before ${mib(before.rss)} MiB, peak ${mib(peakRss)} MiB sampled (VmHWM ${mib(peak.hwm)} MiB), ` +
          `${AFTER_MS / 1000} s after ${mib(after.rss)} MiB; ` +
          `/health ${health.filter((s) => s === 200).length}/${health.length} ok during the load; ` +
          `fresh client fetch ${fresh.ok ? 'ok' : `FAILED (${fresh.error})`}${fresh.duringLoad ? ' while the load ran' : ' (the load had ended)'}; ` +
          `streams open when it began ${streamsSeen}; refusals for load ${JSON.stringify(refusals)}` +
          (closeHung > 0 ? `; client.close() hung in ${closeHung} of ${CLIENTS} clients` : ''),
      )

      for (const r of results) if (r.status === 'rejected') throw r.reason
      expect(failures).toEqual([])
      expect(ok).toBe(CLIENTS * FETCHES)
      expect(health.length).toBeGreaterThan(0)
      expect(health.every((s) => s === 200)).toBe(true)
      expect(fresh).toMatchObject({ ok: true })
      expect(healthAfter).toBe(200)
      expect(peakRss - before.rss).toBeLessThan(RSS_PEAK_GROWTH_MIB)
      expect(peak.hwm - before.rss).toBeLessThan(RSS_PEAK_GROWTH_MIB)
      expect(after.rss - before.rss).toBeLessThan(RSS_AFTER_GROWTH_MIB)
    },
    10 * 60_000,
  )
})
