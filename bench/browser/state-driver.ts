/**
 * Runs the state section's Chromium half: Vite's dev server on the repository, Debian's
 * Chromium through Playwright, bench/browser/state-page/index.html, `window.fulmenStateBench`.
 */
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { createServer } from 'vite'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/chromium.ts'
import type { StateVerifyConfig, StateVerifyResult } from '../state-verify.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

export async function runStateChromium(
  config: StateVerifyConfig,
  log: (line: string) => void,
): Promise<StateVerifyResult & { version: string }> {
  const server = await createServer({
    configFile: false,
    root,
    cacheDir: path.join(os.tmpdir(), 'fulmen-bench-vite'),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null, fs: { allow: [root] } },
    optimizeDeps: { noDiscovery: true, include: [] },
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
    await page.goto(new URL('bench/browser/state-page/index.html', base).href)
    await page.waitForFunction(() => window.fulmenStateBench !== undefined, null, {
      timeout: 60_000,
    })
    const result = await page.evaluate((c) => window.fulmenStateBench!(c), config)
    return { ...result, version: browser.version() }
  } finally {
    await browser.close()
    await server.close()
  }
}
