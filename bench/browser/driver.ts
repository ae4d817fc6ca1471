/**
 * Runs the Chromium half of the benchmarks: starts Vite's dev server programmatically on the
 * repository (so the page, its workers and src/ are served exactly as in development), opens
 * bench/browser/index.html in Debian's Chromium through Playwright and collects what the page
 * returns from `window.fulmenBench`.
 */
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { createServer } from 'vite'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/chromium.ts'
import type { BrowserBenchConfig, BrowserBenchResult } from './protocol.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface ChromiumRun extends BrowserBenchResult {
  readonly version: string
}

export async function runChromiumBench(
  config: BrowserBenchConfig,
  log: (line: string) => void,
): Promise<ChromiumRun> {
  return runBenchPage<BrowserBenchConfig, BrowserBenchResult>(
    'bench/browser/index.html',
    'fulmenBench',
    config,
    log,
  )
}

/**
 * Serves the repository with Vite, opens `pagePath` in Chromium, waits for the page to define
 * `window[entry]` and returns what it answers for `config` (with Chromium's version): the one
 * driver of every page-based bench section.
 */
export async function runBenchPage<C, R>(
  pagePath: string,
  entry: string,
  config: C,
  log: (line: string) => void,
): Promise<R & { readonly version: string }> {
  const server = await createServer({
    configFile: false,
    root,
    // Own cache: never disturb the one Vitest's browser mode uses.
    cacheDir: path.join(os.tmpdir(), 'fulmen-bench-vite'),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null, fs: { allow: [root] } },
    // Dependencies are ESM already; no discovery means no mid-run re-optimisation and reload.
    optimizeDeps: { noDiscovery: true, include: [] },
    worker: { format: 'es' },
  })
  await server.listen()
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  })
  try {
    const base = server.resolvedUrls?.local[0]
    if (base === undefined) throw new Error('Vite did not report a URL')
    const page = await browser.newPage()
    page.on('console', (m) => log(`[chromium] ${m.text()}`))
    page.on('pageerror', (e) => log(`[chromium] page error: ${e.message}`))
    await page.goto(new URL(pagePath, base).href)
    // These functions run in the page (serialized): they may use only their arguments.
    await page.waitForFunction(
      (name) => (window as unknown as Record<string, unknown>)[name] !== undefined,
      entry,
      { timeout: 60_000 },
    )
    const result = await page.evaluate(
      ([name, c]) =>
        (window as unknown as Record<string, (config: unknown) => Promise<unknown>>)[name]!(c),
      [entry, config] as const,
    )
    return { ...(result as R), version: browser.version() }
  } finally {
    await browser.close()
    await server.close()
  }
}
