/**
 * Issue 7 in real Chromium ("Tab node (issue 7)" in docs/benchmarks.md): tab-to-tab verified
 * throughput over WebRTC on loopback beside tab-to-node over WebSockets, same run.
 *
 * A real full node (`fulmen add`, `fulmen node start`: the relay and the WebSockets peer),
 * Vite's dev server serving tab-node-page/ with the repository's config, and Debian's Chromium
 * through Playwright with two pages, each in a browser context of its own (its own renderer
 * process and IndexedDB): page A runs a tab node (`startNode`, WebRTC through the node's
 * circuit relay) and `cache`s the content into its IndexedDB store; page B runs two browser
 * clients, one with `discover: true` (asks the node who holds the root, dials A over WebRTC
 * through the page, fetches from it first) and one with `discover: false` (the node over
 * WebSockets). Interleaved turns after a warm-up: MiB/s, CPU per MiB by process (page A's and
 * page B's renderers told apart), first byte; then first byte of a small content in turns.
 *
 * FULMEN_BENCH_BROWSER_PROFILE=1 adds one profiled, uncounted fetch of each path and logs
 * where each thread's CPU went (trace-profile.ts).
 */
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright'
import { type Figure, MiB, median, mibPerSecond, spread } from '../shared.ts'
import { type BrowserSectionResult, openBenchStage } from './bench-stage.ts'
import { cpuBetween, cpuSnapshot, rendererCpu } from './process-cpu.ts'
import type { TabBenchPage, TabFetchRun } from './tab-node-protocol.ts'
import { profileRun } from './trace-profile.ts'

const pageRoot = fileURLToPath(new URL('./tab-node-page/', import.meta.url))

export interface TabNodeBenchOptions {
  /** Content size for throughput (128 MiB; smaller with --quick). */
  readonly bytes: number
  /** Timed turns of each path, after a warm-up turn. */
  readonly rounds: number
  /** Timed first-byte runs of each path (small content). */
  readonly firstByteRuns: number
  readonly log: (line: string) => void
}

export type TabNodeBenchResult = BrowserSectionResult

/** Size of the first-byte content: 16 blocks, read whole after the first chunk. */
const FIRST_BYTE_BYTES = 4 * MiB
/** Labels of the two renderer processes in the CPU figures. */
const TAB_RENDERER = 'renderer-A-tab'
const CLIENT_RENDERER = 'renderer-B-client'

type Path = 'tab' | 'node'
const PATHS: readonly Path[] = ['tab', 'node']

/** Calls `window.fulmenTabBench[method](...args)` on the page. */
function call<K extends keyof TabBenchPage>(
  page: Page,
  method: K,
  ...args: Parameters<TabBenchPage[K]>
): Promise<Awaited<ReturnType<TabBenchPage[K]>>> {
  return page.evaluate(
    ([m, a]) => (window.fulmenTabBench![m] as (...x: unknown[]) => unknown)(...a),
    [method, args] as const,
  ) as Promise<Awaited<ReturnType<TabBenchPage[K]>>>
}

/** A page in a browser context of its own, loaded. */
async function openPage(browser: Browser, url: string, name: string, log: (l: string) => void) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (e) => log(`[chromium ${name}] page error: ${e.message}`))
  await page.goto(url)
  await page.waitForFunction(() => window.fulmenTabBench !== undefined, null, { timeout: 60_000 })
  return page
}

/** The renderer process that runs `page`: the one whose CPU time grows while it spins. */
async function rendererOf(page: Page): Promise<number> {
  const before = rendererCpu()
  await call(page, 'spin', 400)
  const after = rendererCpu()
  let best: [number, number] = [-1, 0]
  for (const [pid, ms] of after) {
    const d = ms - (before.get(pid) ?? 0)
    if (d > best[1]) best = [pid, d]
  }
  if (best[0] < 0) throw new Error('no renderer process was busy while the page spun')
  return best[0]
}

export async function runTabNodeBench(options: TabNodeBenchOptions): Promise<TabNodeBenchResult> {
  const { bytes, rounds, log } = options
  const figures: Figure[] = []
  const notes: string[] = []
  const add = (name: string, value: number, unit: string) =>
    figures.push({ name: `chromium.tab-node.${name}`, value, unit })

  log(`tab node: ${bytes / MiB} MiB into a full node (fulmen add, fulmen node start)`)
  const stage = await openBenchStage({
    name: 'tab-node',
    pageRoot,
    bigBytes: bytes,
    smallBytes: FIRST_BYTE_BYTES,
    seeds: [0x7ab, 0x7ab1],
  })
  const base = path.dirname(stage.dir)
  try {
    const { node, nodeAddress, bigHex, smallHex, url, browser } = stage
    const version = browser.version()

    // Page A: the tab node, its store filled from the full node (untimed for the turns).
    const pageA = await openPage(browser, url, 'A', log)
    const pageB = await openPage(browser, url, 'B', log)
    const pidA = await rendererOf(pageA)
    const pidB = await rendererOf(pageB)
    if (pidA === pidB) throw new Error(`pages A and B share renderer ${pidA}`)
    const labels = new Map([
      [pidA, TAB_RENDERER],
      [pidB, CLIENT_RENDERER],
    ])
    log(`tab node: page A in renderer ${pidA}, page B in renderer ${pidB}`)
    const tab = await call(pageA, 'startTab', [nodeAddress], `fulmen-bench-tab-${Date.now()}`)
    log(`tab node: A is ${tab.peerId}, reachable at ${tab.addresses[0] ?? '(no address)'}`)
    const cacheBig = await call(pageA, 'cache', bigHex)
    const cacheSmall = await call(pageA, 'cache', smallHex)
    if (cacheBig.length !== bytes || cacheSmall.length !== FIRST_BYTE_BYTES)
      throw new Error(`the tab cached ${cacheBig.length} and ${cacheSmall.length} bytes`)
    const cacheMiBs = mibPerSecond(bytes, cacheBig.ms / 1000)
    add('cache', cacheMiBs, 'MiB/s')
    log(
      `tab node: A cached ${bytes / MiB} MiB in ${(cacheBig.ms / 1000).toFixed(1)} s (${cacheMiBs.toFixed(0)} MiB/s, from the node over WebSockets into IndexedDB)`,
    )

    // Page B: the two clients; sessions opened by the warm-up turn.
    await call(pageB, 'startClients', [nodeAddress])
    const expected: Record<Path, string> = { tab: tab.peerId, node: node.peerId }
    const fetchVia = async (which: Path, hex: string, length: number): Promise<TabFetchRun> => {
      const r = await call(pageB, 'fetch', which, hex)
      if (r.bytes !== length) throw new Error(`${which} read ${r.bytes} bytes, not ${length}`)
      if (r.node !== expected[which])
        throw new Error(`${which} was served by ${r.node}, not ${expected[which]}`)
      return r
    }

    // --- throughput, CPU, first byte of the big content, in turns ------------------------
    const runs: Record<Path, TabFetchRun[]> = { tab: [], node: [] }
    const cpu: Record<Path, Record<string, number>[]> = { tab: [], node: [] }
    const served: number[] = []
    // The warm-up turn's fetch: the first of each client, its connection set up inside it.
    const warmUp: Partial<Record<Path, TabFetchRun>> = {}
    const load0 = os.loadavg()[0]!
    for (let round = 0; round <= rounds; round++) {
      // Alternating order: drift in the machine's load falls on both paths alike.
      for (const which of round % 2 ? [...PATHS].reverse() : PATHS) {
        const servedBefore = which === 'tab' ? (await call(pageA, 'tabStats')).bytesServed : 0
        const before = cpuSnapshot(node.pid, labels)
        const r = await fetchVia(which, bigHex, bytes)
        const used = cpuBetween(before, cpuSnapshot(node.pid, labels))
        if (which === 'tab') served.push((await call(pageA, 'tabStats')).bytesServed - servedBefore)
        if (round > 0) {
          runs[which].push(r)
          cpu[which].push(used)
        } else warmUp[which] = r
        log(
          `tab node: ${round === 0 ? 'warm-up' : `round ${round}`} ${which === 'tab' ? 'tab A over WebRTC' : 'full node over WebSockets'} ` +
            `${mibPerSecond(bytes, r.ms / 1000).toFixed(0)} MiB/s, first byte ${r.firstByteMs.toFixed(0)} ms`,
        )
      }
    }
    const load1 = os.loadavg()[0]!

    // --- first byte of a small content, in turns -------------------------------------------
    const n = options.firstByteRuns
    log(`tab node: first byte of ${FIRST_BYTE_BYTES / MiB} MiB, ${n} runs of each after a warm-up`)
    const fb: Record<Path, TabFetchRun[]> = { tab: [], node: [] }
    for (let i = 0; i <= n; i++)
      for (const which of i % 2 ? [...PATHS].reverse() : PATHS) {
        const r = await fetchVia(which, smallHex, FIRST_BYTE_BYTES)
        if (i > 0) fb[which].push(r)
      }
    const load2 = os.loadavg()[0]!

    if (process.env.FULMEN_BENCH_BROWSER_PROFILE) {
      const who = (thread: string) =>
        thread.replace(/\(pid (\d+)\)/, (m, pid: string) => {
          const l = labels.get(Number(pid))
          return l === undefined ? m : `(${l})`
        })
      for (const which of PATHS) {
        let profiled: TabFetchRun | undefined
        const threads = await profileRun(browser, pageB, async () => {
          profiled = await fetchVia(which, bigHex, bytes)
        })
        log(
          `tab node: profiled ${which} fetch: ${(profiled?.ms ?? 0).toFixed(0)} ms, ` +
            `${mibPerSecond(bytes, (profiled?.ms ?? 1) / 1000).toFixed(0)} MiB/s (not counted)`,
        )
        for (const t of threads)
          log(
            `tab node: profile of ${which}, ${who(t.thread)}: ${t.ms.toFixed(0)} ms busy; ` +
              t.top.map((f) => `${f.fn} ${f.ms.toFixed(0)}`).join(', '),
          )
      }
    }
    await call(pageB, 'closeClients')
    const stats = await call(pageA, 'tabStats')
    await call(pageA, 'stopTab')

    // --- figures -----------------------------------------------------------------------
    const mibs = (w: Path) => runs[w].map((r) => mibPerSecond(bytes, r.ms / 1000))
    const perMiB = (w: Path, role?: string) =>
      median(
        cpu[w].map(
          (c) =>
            (role === undefined ? Object.values(c).reduce((x, y) => x + y, 0) : (c[role] ?? 0)) /
            (bytes / MiB),
        ),
      )
    const cpuNotes: string[] = []
    for (const w of PATHS) {
      add(`fetch.${w}`, median(mibs(w)), 'MiB/s')
      add(`cpu.${w}`, perMiB(w), 'ms/MiB')
      add(`cpu.${w}.client-page`, perMiB(w, CLIENT_RENDERER), 'ms/MiB')
      add(`cpu.${w}.tab-page`, perMiB(w, TAB_RENDERER), 'ms/MiB')
      add(`cpu.${w}.node`, perMiB(w, 'node'), 'ms/MiB')
      add(`cpu.${w}.bench`, perMiB(w, 'bench'), 'ms/MiB')
      add(`ttfb.${w}`, median(fb[w].map((r) => r.firstByteMs)), 'ms')
      add(`ttfb-big.${w}`, median(runs[w].map((r) => r.firstByteMs)), 'ms')
      const roles = [...new Set(cpu[w].flatMap((c) => Object.keys(c)))].sort()
      cpuNotes.push(
        `${w === 'tab' ? 'tab A over WebRTC' : 'full node over WebSockets'} ${perMiB(w).toFixed(1)} (` +
          roles
            .map((r) => [r, perMiB(w, r)] as const)
            .filter(([, v]) => v >= 0.05)
            .map(([r, v]) => `${r} ${v.toFixed(1)}`)
            .join(', ') +
          ')',
      )
    }
    const show = (runsOf: TabFetchRun[]) => {
      const f = runsOf.map((r) => r.firstByteMs)
      return `${median(f).toFixed(1)} ms (${spread(f, 'ms', 1)}; Response at ${median(runsOf.map((r) => r.headersMs)).toFixed(1)} ms)`
    }
    log(
      `tab node: tab ${median(mibs('tab')).toFixed(0)} MiB/s vs node ${median(mibs('node')).toFixed(0)} MiB/s; ` +
        `first byte tab ${show(fb.tab)}, node ${show(fb.node)}`,
    )
    log(`tab node: CPU per MiB: ${cpuNotes.join('; ')}`)
    notes.push(
      `Tab node (issue 7): ${bytes / MiB} MiB of pseudo-random content in a full node's store (${base}; \`fulmen add\`, ` +
        '`fulmen node start`), headless Chromium through Playwright, two pages each in a browser context of its own ' +
        `(renderers ${pidA} and ${pidB}), served by Vite's dev server. Page A: \`startNode({ relays: [node] })\` ` +
        `(WebRTC through the node's circuit relay), \`cache(hex)\` into its IndexedDB store (${(cacheBig.ms / 1000).toFixed(1)} s, ` +
        `${cacheMiBs.toFixed(0)} MiB/s, untimed for the turns). Page B: \`createClient({ discover: true })\` (finds A through ` +
        'the node, dials it over WebRTC from the page) and `createClient({ discover: false, webrtc: false })` (the node over ' +
        "WebSockets), both on the node, each body read whole on page B, `x-fulmen-node` checked to be A's peer id / the node's. " +
        `${rounds} turns after a warm-up turn, order alternating, medians; every turn: tab ${spread(mibs('tab'), 'MiB/s')}, ` +
        `node ${spread(mibs('node'), 'MiB/s')}. Bytes the tab counted as served per fetch: ${[...new Set(served)].map((b) => (b / MiB).toFixed(2)).join(', ')} MiB; ` +
        `at the end ${stats.sessionsTotal} sessions, ${stats.dasUnits} DA units, ${(stats.storeBytes / MiB).toFixed(0)} MiB held. ` +
        `Load average ${load0.toFixed(2)} before the turns, ${load1.toFixed(2)} after, ${load2.toFixed(2)} after the first-byte runs.`,
    )
    notes.push(
      `Tab node CPU per MiB delivered, medians over the turns, ms/MiB (${TAB_RENDERER}: page A's renderer, the tab node's ` +
        `window libp2p and worker; ${CLIENT_RENDERER}: page B's, the clients' page and workers; bench: this process, ` +
        `Playwright): ${cpuNotes.join('; ')}.`,
    )
    notes.push(
      `Tab node first byte: a ${FIRST_BYTE_BYTES / MiB} MiB content (also cached by A), from \`client.fetch\` to the body's ` +
        `first chunk, ${n} runs of each in alternating turns after a warm-up round, sessions warm: tab ${show(fb.tab)}, ` +
        `node ${show(fb.node)}; the discovering client asks the nodes who holds a root once per 30 s (its first fetch of it pays the query). ` +
        `Of the ${bytes / MiB} MiB turns: tab ${show(runs.tab)}, node ${show(runs.node)}. The warm-up turn, each ` +
        "client's first fetch (one run; the tab's includes the discovery query, the WebRTC dial through the relay " +
        `and the handshake; the node's the latency ping, dial and handshake): tab ${warmUp.tab?.firstByteMs.toFixed(0)} ms, ` +
        `node ${warmUp.node?.firstByteMs.toFixed(0)} ms to the first byte.`,
    )
    return { figures, notes, version }
  } finally {
    await stage.close()
  }
}
