/**
 * What every e2e test uses: the demo (a local network of real node processes and the page
 * served by Vite, scripts/demo-server.ts), Debian's Chromium driven by Playwright, screenshots
 * under test-results/e2e/, and the page's console and errors captured, printed (with the
 * nodes' last log lines) when a test fails.
 *
 * A test file that runs against the demo page in one context does it all with
 *
 *   const t = useDemoPage()   // then t.page, t.demo, t.context, t.browser, t.logs in tests
 *
 * or, piece by piece:
 *
 *   const demo = await startDemo({ port: 0 })
 *   const browser = await launchChromium()
 *   const context = await browser.newContext()
 *   const logs = capturePageLogs(context)
 *   printLogsOnFailure(() => [logs], () => demo?.network)
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type ConsoleMessage,
  chromium,
  type LaunchOptions,
  type Page,
} from 'playwright'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import { type Demo, type DemoOptions, startDemo } from '../scripts/demo-server.ts'
import type { LocalNetwork } from '../src/devnet/local-network.ts'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.ts'

export { type Demo, type DemoOptions, startDemo }

export const RESULTS_DIR = fileURLToPath(new URL('../test-results/e2e/', import.meta.url))

/** Chromium from Debian, with the project's flags (e2e/chromium.ts) and any extra `args`. */
export function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    headless: true,
    ...options,
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  })
}

/** Saves a PNG of the page as test-results/e2e/<name>.png and returns its path. */
export async function screenshot(
  page: Page,
  name: string,
  options: { readonly fullPage?: boolean } = {},
): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true })
  const path = join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`)
  await page.screenshot({ path, fullPage: options.fullPage ?? true })
  return path
}

export interface PageLogs {
  /** Console messages (`[type] text (url:line)`), page errors, failed requests and crashes. */
  readonly lines: readonly string[]
  /** Uncaught exceptions and unhandled rejections of the pages. */
  readonly errors: readonly string[]
  text(): string
}

function consoleLine(msg: ConsoleMessage): string {
  const { url, lineNumber } = msg.location()
  const where = url === '' ? '' : ` (${url}:${lineNumber})`
  return `[${msg.type()}] ${msg.text()}${where}`
}

/**
 * Records what a page (or every page and service worker of a context) says: console
 * messages, uncaught errors, failed requests, crashes.
 */
export function capturePageLogs(target: Page | BrowserContext): PageLogs {
  const lines: string[] = []
  const errors: string[] = []
  const watch = (page: Page) => {
    page.on('pageerror', (error) => {
      const text = error.stack ?? String(error)
      errors.push(text)
      lines.push(`[pageerror] ${text}`)
    })
    page.on('requestfailed', (req) => {
      lines.push(`[requestfailed] ${req.method()} ${req.url()}: ${req.failure()?.errorText}`)
    })
    page.on('crash', () => lines.push(`[crash] ${page.url()}`))
  }
  if ('pages' in target) {
    // A context's console includes its service workers' and workers' messages.
    target.on('console', (msg) => lines.push(consoleLine(msg)))
    for (const page of target.pages()) watch(page)
    target.on('page', watch)
    target.on('weberror', (e) => {
      const text = e.error().stack ?? String(e.error())
      errors.push(text)
      lines.push(`[weberror] ${text}`)
    })
  } else {
    target.on('console', (msg) => lines.push(consoleLine(msg)))
    watch(target)
  }
  return { lines, errors, text: () => lines.join('\n') }
}

/**
 * After a failed test, prints the captured page logs and the last log lines of every node of
 * the network (and of the liar).
 */
export function printLogsOnFailure(
  logs: () => readonly (PageLogs | undefined)[],
  network?: () => LocalNetwork | undefined,
  lines = 40,
): void {
  afterEach((ctx) => {
    if (ctx.task.result?.state !== 'fail') return
    for (const [i, log] of logs().entries()) {
      if (log === undefined) continue
      process.stderr.write(`--- browser log ${i} ---\n${log.text()}\n`)
    }
    const net = network?.()
    if (net === undefined) return
    for (const [i, node] of net.nodes.entries()) {
      process.stderr.write(
        `--- ${node.name} (last ${lines} lines) ---\n${net.nodeLogs(i, lines)}\n`,
      )
    }
    process.stderr.write(`--- liar (last ${lines} lines) ---\n${net.liarLogs(lines)}\n`)
  })
}

export interface DemoPageOptions {
  /** For `startDemo` (`port` is 0, any free one, unless given). */
  readonly demo?: DemoOptions
  /** For `browser.newContext`. */
  readonly context?: BrowserContextOptions
}

/** The live values of `useDemoPage`; each getter throws if read before its `beforeAll` ran. */
export interface DemoPage {
  readonly demo: Demo
  readonly browser: Browser
  readonly context: BrowserContext
  readonly page: Page
  readonly logs: PageLogs
}

/**
 * Registers, for the calling test file (or `describe`), what a test of the demo page needs:
 * a `beforeAll` that starts the demo (`startDemo`), launches Chromium, opens a context whose
 * page logs are captured and a page on the demo's URL (which must answer 200); an `afterAll`
 * that closes them; and `printLogsOnFailure` for them. A file's own `beforeAll` registered
 * after this call runs after this one.
 */
export function useDemoPage(options: DemoPageOptions = {}): DemoPage {
  let demo: Demo | undefined
  let browser: Browser | undefined
  let context: BrowserContext | undefined
  let page: Page | undefined
  let logs: PageLogs | undefined

  printLogsOnFailure(
    () => [logs],
    () => demo?.network,
  )

  beforeAll(async () => {
    demo = await startDemo({ port: 0, ...options.demo })
    browser = await launchChromium()
    context = await browser.newContext(options.context)
    logs = capturePageLogs(context)
    page = await context.newPage()
    const res = await page.goto(demo.url)
    expect(res?.status()).toBe(200)
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await demo?.close()
  })

  const live = <T>(name: string, value: T | undefined): T => {
    if (value === undefined) {
      throw new Error(
        `useDemoPage: no ${name} yet: read it in a test or hook that runs after useDemoPage's beforeAll (or that beforeAll failed)`,
      )
    }
    return value
  }
  return {
    get demo() {
      return live('demo', demo)
    },
    get browser() {
      return live('browser', browser)
    },
    get context() {
      return live('context', context)
    },
    get page() {
      return live('page', page)
    },
    get logs() {
      return live('logs', logs)
    },
  }
}
