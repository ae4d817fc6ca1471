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
    await page.goto(new URL('bench/browser/index.html', base).href)
    await page.waitForFunction(() => window.fulmenBench !== undefined, null, { timeout: 60_000 })
    const result = await page.evaluate((c) => window.fulmenBench!(c), config)
    return { ...result, version: browser.version() }
  } finally {
    await browser.close()
    await server.close()
  }
}
