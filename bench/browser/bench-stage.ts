/**
 * What every browser bench stands on: a real full node (`fulmen add` of a big and a small
 * pseudo-random file, then `fulmen node start`) in a scratch directory, Vite's dev server
 * serving one bench page with the repository's config, and Debian's Chromium through
 * Playwright. `close()` undoes it all, extra closers first.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright'
import { createServer } from 'vite'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/chromium.ts'
import { type NodeProcess, runFulmen, startNode, wsAddressOf } from '../../src/devnet/processes.ts'
import { scratchDir } from '../node/scratch-dir.ts'
import { type Figure, makeInput } from '../shared.ts'

const repo = fileURLToPath(new URL('../..', import.meta.url))

/** What a browser bench section returns to bench/run.ts. */
export interface BrowserSectionResult {
  readonly figures: Figure[]
  readonly notes: string[]
  /** Chromium's version, for the machine line. */
  readonly version: string
}

export interface BenchStageOptions {
  /** Names the scratch and Vite cache directories. */
  readonly name: string
  readonly pageRoot: string
  readonly bigBytes: number
  readonly smallBytes: number
  /** Seeds of the big and the small content. */
  readonly seeds: readonly [number, number]
  /** More dependencies for Vite to pre-bundle (else it reloads the page mid-run). */
  readonly optimizeDeps?: readonly string[]
}

export interface BenchStage {
  /** The scratch directory (removed by `close`). */
  readonly dir: string
  readonly node: NodeProcess
  /** The node's WebSockets multiaddr with /p2p. */
  readonly nodeAddress: string
  readonly bigFile: string
  readonly bigHex: string
  readonly smallHex: string
  /** The bench page. */
  readonly url: string
  readonly browser: Browser
  /** Closes `close` with the stage, before the browser, Vite and the node. */
  onClose(close: () => Promise<unknown>): void
  close(): Promise<void>
}

async function addFile(dataDir: string, file: string, env: Record<string, string>) {
  const added = await runFulmen(['add', '--data-dir', dataDir, file], { env, timeoutMs: 120_000 })
  if (added.code !== 0) throw new Error(`fulmen add failed: ${added.stderr}`)
  return added.stdout.slice(0, 64)
}

export async function openBenchStage(options: BenchStageOptions): Promise<BenchStage> {
  const dir = mkdtempSync(
    path.join(scratchDir(3 * options.bigBytes), `fulmen-bench-${options.name}-`),
  )
  const env = { XDG_DATA_HOME: dir }
  let node: NodeProcess | undefined
  const closers: (() => Promise<unknown>)[] = []
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {})
    await node?.stop().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const bigFile = path.join(dir, 'content.bin')
    const smallFile = path.join(dir, 'first-byte.bin')
    writeFileSync(bigFile, makeInput(options.bigBytes, options.seeds[0]))
    writeFileSync(smallFile, makeInput(options.smallBytes, options.seeds[1]))
    const dataDir = path.join(dir, 'node')
    const bigHex = await addFile(dataDir, bigFile, env)
    const smallHex = await addFile(dataDir, smallFile, env)
    node = await startNode({ dataDir, env })
    const server = await createServer({
      configFile: path.join(repo, 'vite.config.ts'),
      root: options.pageRoot,
      // Own cache: never disturb the ones Vitest and `npm start` use.
      cacheDir: path.join(os.tmpdir(), `fulmen-bench-${options.name}-vite`),
      logLevel: 'warn',
      clearScreen: false,
      server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
      // Merged with the config's list.
      optimizeDeps: { include: [...(options.optimizeDeps ?? [])] },
    })
    await server.listen()
    closers.push(() => server.close())
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
    })
    closers.push(() => browser.close())
    const url = server.resolvedUrls?.local[0]
    if (url === undefined) throw new Error('Vite did not report a URL')
    const running = node
    return {
      dir,
      node: running,
      nodeAddress: wsAddressOf(running),
      bigFile,
      bigHex,
      smallHex,
      url,
      browser,
      onClose: (c) => void closers.push(c),
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}
