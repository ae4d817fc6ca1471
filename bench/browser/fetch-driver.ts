/**
 * Issue 6 in real Chromium ("Browser (issue 6)" in docs/benchmarks.md): a real full node
 * (`fulmen add`, `fulmen node start`) holding pseudo-random content, a `ws` server streaming
 * the same file raw, Vite's dev server serving fetch-page/ with the repository's config, and
 * Debian's Chromium through Playwright. Measured, each beside its peer from the same run:
 *
 * - throughput: the browser client's verified fetch (network and verification in its worker,
 *   the body read on the page) against a raw WebSocket read of the same bytes in a worker and
 *   on the page, in turns; medians;
 * - the page's main thread during each of those runs (Long Tasks API, timer lateness);
 * - time to first byte: through the service worker against the direct client, warm and cold;
 * - bundle sizes (bundles.ts), built before anything is timed.
 *
 * FULMEN_BENCH_BROWSER_PROFILE=1 adds one profiled run of each throughput contender (not
 * counted) and logs where each thread's CPU went (trace-profile.ts).
 */
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright'
import { type Figure, MiB, median, mibPerSecond, spread } from '../shared.ts'
import { type BrowserSectionResult, openBenchStage } from './bench-stage.ts'
import { measureBundles } from './bundles.ts'
import type { FetchBenchPage, FirstByteRun, ThroughputRun } from './fetch-protocol.ts'
import { cpuBetween, cpuSnapshot } from './process-cpu.ts'
import { startRawWsServer } from './raw-ws-server.ts'
import { profileRun } from './trace-profile.ts'

const repo = fileURLToPath(new URL('../..', import.meta.url))
const pageRoot = fileURLToPath(new URL('./fetch-page/', import.meta.url))

export interface FetchBenchOptions {
  /** Content size for throughput (256 MiB; smaller with --quick). */
  readonly bytes: number
  /** Timed turns of each throughput contender, after a warm-up turn. */
  readonly rounds: number
  /** Timed runs of each first-byte contender, warm and cold. */
  readonly firstByteRuns: number
  readonly log: (line: string) => void
}

export type FetchBenchResult = BrowserSectionResult

/** Size of the first-byte content: 16 blocks, read whole after the first chunk. */
const FIRST_BYTE_BYTES = 4 * MiB

/** Calls `window.fulmenFetchBench[method](...args)` on the page. */
function call<K extends keyof FetchBenchPage>(
  page: Page,
  method: K,
  ...args: Parameters<FetchBenchPage[K]>
): Promise<Awaited<ReturnType<FetchBenchPage[K]>>> {
  return page.evaluate(
    ([m, a]) => (window.fulmenFetchBench![m] as (...x: unknown[]) => unknown)(...a),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<FetchBenchPage[K]>>>
}

export async function runFetchBench(options: FetchBenchOptions): Promise<FetchBenchResult> {
  const { bytes, rounds, log } = options
  const figures: Figure[] = []
  const notes: string[] = []
  const add = (name: string, value: number, unit: string) =>
    figures.push({ name: `chromium.${name}`, value, unit })

  log('browser: bundle sizes (vite build, minified)')
  const bundles = await measureBundles(repo)
  figures.push(...bundles.figures)
  notes.push(...bundles.notes)

  log(`browser: ${bytes / MiB} MiB into a full node (fulmen add, fulmen node start)`)
  const stage = await openBenchStage({
    name: 'browser',
    pageRoot,
    bigBytes: bytes,
    smallBytes: FIRST_BYTE_BYTES,
    seeds: [0x600d, 0xf1257],
    optimizeDeps: ['@noble/ciphers/chacha.js'],
  })
  const base = path.dirname(stage.dir)
  try {
    const { node, bigHex, smallHex, url, browser } = stage
    const bootstrap = [stage.nodeAddress]
    const raw = await startRawWsServer(stage.bigFile)
    stage.onClose(() => raw.close())
    const version = browser.version()
    const page = await browser.newPage()
    page.on('pageerror', (e) => log(`[chromium] page error: ${e.message}`))
    await page.goto(url)
    await page.waitForFunction(() => window.fulmenFetchBench !== undefined, null, {
      timeout: 60_000,
    })
    const longTasksSupported = await call(page, 'longTasksSupported')
    await call(page, 'startClient', bootstrap)

    // --- throughput and the main thread -------------------------------------------------
    const runs: Record<'verified' | 'rawWorker' | 'rawPage', ThroughputRun[]> = {
      verified: [],
      rawWorker: [],
      rawPage: [],
    }
    const contenders = {
      verified: () => call(page, 'verified', bigHex),
      rawWorker: () => call(page, 'rawWorker', raw.url, bytes),
      rawPage: () => call(page, 'rawPage', raw.url, bytes),
    }
    // CPU ms of every process involved, by role, for each timed run.
    const cpu: Record<keyof typeof runs, Record<string, number>[]> = {
      verified: [],
      rawWorker: [],
      rawPage: [],
    }
    const nodePid = node.pid
    const load0 = os.loadavg()[0]!
    for (let round = 0; round <= rounds; round++) {
      for (const [name, run] of Object.entries(contenders)) {
        const before = cpuSnapshot(nodePid)
        const r = await run()
        const used = cpuBetween(before, cpuSnapshot(nodePid))
        if (r.bytes !== bytes) throw new Error(`${name} read ${r.bytes} bytes, not ${bytes}`)
        if (round > 0) {
          runs[name as keyof typeof runs].push(r)
          cpu[name as keyof typeof runs].push(used)
        }
        log(
          `browser: ${round === 0 ? 'warm-up' : `round ${round}`} ${name} ${mibPerSecond(bytes, r.ms / 1000).toFixed(0)} MiB/s, ` +
            `main thread: ${r.main.longTasks} long tasks (longest ${r.main.longestTaskMs.toFixed(0)} ms), timer lag ≤ ${r.main.maxTimerLagMs.toFixed(0)} ms`,
        )
      }
    }
    const load1 = os.loadavg()[0]!
    const cipher = await call(page, 'noiseDecrypt', 64 * MiB)
    add('noise.decrypt', mibPerSecond(cipher.bytes, cipher.ms / 1000), 'MiB/s')
    log(
      `browser: Noise's ChaCha20-Poly1305 alone ${mibPerSecond(cipher.bytes, cipher.ms / 1000).toFixed(0)} MiB/s`,
    )
    if (process.env.FULMEN_BENCH_BROWSER_PROFILE) {
      for (const [name, run] of Object.entries(contenders)) {
        for (const t of await profileRun(browser, page, run))
          log(
            `browser: profile of ${name}, ${t.thread}: ${t.ms.toFixed(0)} ms busy; ` +
              t.top.map((f) => `${f.fn} ${f.ms.toFixed(0)}`).join(', '),
          )
      }
    }
    const mibs = (name: keyof typeof runs) =>
      runs[name].map((r) => mibPerSecond(bytes, r.ms / 1000))
    const cpuNotes: string[] = []
    for (const [name, key] of [
      ['verified', 'verified'],
      ['raw-worker', 'rawWorker'],
      ['raw-page', 'rawPage'],
    ] as const) {
      add(`fetch.${name}`, median(mibs(key)), 'MiB/s')
      const perMiB = (runsCpu: Record<string, number>[], role?: string) =>
        median(
          runsCpu.map(
            (c) =>
              (role === undefined ? Object.values(c).reduce((x, y) => x + y, 0) : (c[role] ?? 0)) /
              (bytes / MiB),
          ),
        )
      add(`cpu.${name}`, perMiB(cpu[key]), 'ms/MiB')
      const roles = [...new Set(cpu[key].flatMap((c) => Object.keys(c)))].sort()
      cpuNotes.push(
        `${name} ${perMiB(cpu[key]).toFixed(1)} (${roles.map((r) => `${r} ${perMiB(cpu[key], r).toFixed(1)}`).join(', ')})`,
      )
      const main = runs[key].map((r) => r.main)
      add(`main.${name}.long-tasks`, Math.max(...main.map((m) => m.longTasks)), 'count')
      add(`main.${name}.longest-task`, Math.max(...main.map((m) => m.longestTaskMs)), 'ms')
      add(`main.${name}.timer-lag`, Math.max(...main.map((m) => m.maxTimerLagMs)), 'ms')
    }
    notes.push(
      `Browser throughput: ${bytes / MiB} MiB of pseudo-random content in a full node's store (${base}; ` +
        '`fulmen add`, then `fulmen node start`) against the same file streamed by a `ws` server in the bench ' +
        'process in 256 KiB binary messages (no framing, encryption or verification), read by a plain WebSocket ' +
        '(binaryType arraybuffer, bytes counted, clock from the request on an open socket) in a dedicated worker ' +
        "(the fair peer: the client's network code runs in its worker) and on the page. The client (one " +
        '`createClient`, session warm from the warm-up turn) reads `client.fetch(hex)` whole on the page. ' +
        `Vite dev server (the repository's vite.config.ts), headless Chromium. ${rounds} turns after a warm-up turn, ` +
        `medians; every turn: verified ${spread(mibs('verified'), 'MiB/s')}, raw in a worker ` +
        `${spread(mibs('rawWorker'), 'MiB/s')}, raw on the page ${spread(mibs('rawPage'), 'MiB/s')}. ` +
        `Load average ${load0.toFixed(2)} before the turns, ${load1.toFixed(2)} after.`,
    )
    notes.push(
      `CPU per MiB delivered, all processes of the run (/proc of every descendant of the bench process: Chromium's ` +
        'by role, the node; `bench` is this process: the raw server and Playwright), medians over the timed turns, ' +
        `ms/MiB: ${cpuNotes.join('; ')}. On a loaded machine this is what a contender needs, whatever it got.`,
    )
    notes.push(
      `Main thread, worst of the ${rounds} timed runs of each: Long Tasks API ${longTasksSupported ? '' : '(NOT supported here) '}` +
        `entries (tasks over 50 ms) and the worst lateness of a 10 ms setInterval. Verified: ` +
        runs.verified
          .map((r) => `${r.main.longTasks} (${r.main.longestTaskMs.toFixed(0)} ms)`)
          .join(', ') +
        `; raw on the page: ${runs.rawPage.map((r) => `${r.main.longTasks} (${r.main.longestTaskMs.toFixed(0)} ms)`).join(', ')}; ` +
        `raw in a worker: ${runs.rawWorker.map((r) => `${r.main.longTasks} (${r.main.longestTaskMs.toFixed(0)} ms)`).join(', ')}.`,
    )

    // --- time to first byte ------------------------------------------------------------
    const n = options.firstByteRuns
    log(`browser: first byte, warm: direct client vs service worker, ${n} runs each`)
    const ttfb: Record<'direct' | 'sw' | 'swCached' | 'directCold' | 'swCold', FirstByteRun[]> = {
      direct: [],
      sw: [],
      swCached: [],
      directCold: [],
      swCold: [],
    }
    let swFailure: string | undefined
    try {
      await call(page, 'registerServiceWorker', bootstrap)
    } catch (e) {
      swFailure = (e as Error).message.split('\n')[0]
      log(`browser: the service worker did not start: ${swFailure}`)
    }
    const warmRound = async (keep: boolean) => {
      const direct = await call(page, 'firstByteDirect', smallHex)
      if (keep) ttfb.direct.push(direct)
      if (swFailure !== undefined) return
      // From a node each time: the worker's block cache is emptied (untimed) first.
      await call(page, 'clearServiceWorkerCache')
      const sw = await call(page, 'firstByteServiceWorker', smallHex)
      const cached = await call(page, 'firstByteServiceWorker', smallHex)
      if (keep) {
        ttfb.sw.push(sw)
        ttfb.swCached.push(cached)
      }
    }
    await warmRound(false)
    for (let i = 0; i < n; i++) await warmRound(true)

    log(
      `browser: first byte, cold: a fresh client vs a fresh service worker, each in a fresh browser context, ${n} runs each`,
    )
    // Both contenders start in a fresh context (no registration, no IndexedDB, nothing
    // cached, no compiled scripts): a cold start of the one is not compared with a warm
    // context of the other. Untimed until the client is started or the worker configured.
    const inFreshContext = async <T>(run: (page: Page) => Promise<T>): Promise<T> => {
      const context = await browser.newContext()
      try {
        const fresh = await context.newPage()
        await fresh.goto(url)
        await fresh.waitForFunction(() => window.fulmenFetchBench !== undefined, null, {
          timeout: 60_000,
        })
        return await run(fresh)
      } finally {
        await context.close()
      }
    }
    for (let i = 0; i < n; i++) {
      ttfb.directCold.push(
        await inFreshContext((fresh) => call(fresh, 'firstByteDirectCold', bootstrap, smallHex)),
      )
      if (swFailure !== undefined) continue
      ttfb.swCold.push(
        await inFreshContext(async (fresh) => {
          const startMs = await call(fresh, 'registerServiceWorker', bootstrap)
          return { ...(await call(fresh, 'firstByteServiceWorker', smallHex)), startMs }
        }),
      )
    }
    for (const [k, runs] of Object.entries(ttfb))
      for (const r of runs)
        if (r.bytes !== FIRST_BYTE_BYTES) throw new Error(`${k} read ${r.bytes} bytes`)
    const fb = (k: keyof typeof ttfb) => ttfb[k].map((r) => r.firstByteMs)
    const starts = (k: keyof typeof ttfb) => ttfb[k].map((r) => r.startMs ?? 0)
    add('ttfb.direct', median(fb('direct')), 'ms')
    add('ttfb.direct-cold', median(fb('directCold')), 'ms')
    add('ttfb.direct-start', median(starts('directCold')), 'ms')
    if (swFailure === undefined) {
      add('ttfb.sw', median(fb('sw')), 'ms')
      add('ttfb.sw-cached', median(fb('swCached')), 'ms')
      add('ttfb.sw-cold', median(fb('swCold')), 'ms')
      add('ttfb.sw-start', median(starts('swCold')), 'ms')
    }
    const headers = (k: keyof typeof ttfb) => median(ttfb[k].map((r) => r.headersMs))
    const show = (k: keyof typeof ttfb) =>
      ttfb[k].length === 0
        ? 'not run'
        : `${median(fb(k)).toFixed(1)} ms (${spread(fb(k), 'ms', 1)}; Response at ${headers(k).toFixed(1)} ms)`
    log(
      `browser: first byte warm: direct ${show('direct')}, service worker ${show('sw')}, from its cache ${show('swCached')}`,
    )
    log(`browser: first byte cold: direct ${show('directCold')}, service worker ${show('swCold')}`)
    notes.push(
      `First byte: a ${FIRST_BYTE_BYTES / MiB} MiB content, from the request to the body's first chunk (the body then ` +
        `read whole and its length checked); medians of ${n} in turns after a warm-up round. Warm: \`client.fetch\` on ` +
        `the page's started client, session open: ${show('direct')}; \`fetch('${'/fulmen/'}<hex>', { cache: 'no-store' })\` ` +
        'through the service worker (workers/fulmen-sw.ts, registered by `registerFulmen` as a module, its own client ' +
        `and session already warm, its block cache emptied before each run so the bytes come from the node): ${show('sw')}; ` +
        `the same request again at once, from the worker's IndexedDB block cache: ${show('swCached')}. ` +
        `Cold, the first request after start, each contender in a fresh browser context: a fresh \`createClient\` (worker, libp2p, key; ${median(starts('directCold')).toFixed(0)} ms, ` +
        `untimed) then its first fetch (latency ping, dial, handshake, header, block 0 verified): ${show('directCold')}; ` +
        'a fresh browser context (no registration, empty IndexedDB) whose page runs `registerFulmen` (untimed' +
        (swFailure === undefined
          ? `, ${median(starts('swCold')).toFixed(0)} ms under the dev server`
          : '') +
        `) then its first fetch (the worker starts its client lazily: libp2p, key from IndexedDB, then as direct): ${show('swCold')}.` +
        (swFailure === undefined ? '' : ` The service worker failed to start: ${swFailure}.`),
    )
    return { figures, notes, version }
  } finally {
    await stage.close()
  }
}
