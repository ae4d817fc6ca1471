/**
 * light.first-fetch (issue 17's target: "the first verified fetch of a fresh page, light sync
 * included, ≤ 1.5× the first fetch without it"). In Chromium (Vite's dev server, Playwright),
 * against two real node processes holding a 300 KB image, both staked on a chain served by a
 * chain gateway (src/client/testing/chain-gateway.ts: a signed checkpoint over a real
 * executor's state): each sample is a fresh browser client, no stored key, no stored light
 * head, from `createClient` to the image's last byte, with `chain` (light sync from genesis,
 * both nodes' records proven) and without, alternating. The sync there is short (a head inside
 * epoch 0: one checkpoint); a fresh `fulmen/light` client's sync of a chain of `--epochs`
 * handoffs (default 365; committees of `--committee` keys, default 4, fresh each epoch or drawn
 * from a `--pool` of keys) is timed beside it, since a page of a year-old chain
 * walks that much first: `verified + longSync` bounds the first verified fetch on such a chain
 * from above (the walk overlaps libp2p's start; the worker start is counted twice).
 *
 *   npx node bench/light-first-fetch.ts [--rounds 6] [--epochs 365] [--committee 16 --pool 64]
 *     [--trusted-back N] [--json]
 *
 * `--trusted-back N`: the long sync starts at a trusted checkpoint, the handoff N before the
 * head (ClientChainOptions.checkpoint), as a dapp shipping a recent one would.
 *
 * Wall-clock times on a loaded machine: the load average is printed with them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { createServer } from 'vite'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../e2e/chromium.ts'
import { seededContent } from '../src/b3/testing/content.ts'
import { checkpointRunToJson } from '../src/checkpoint/checkpoint-codec.ts'
import { nodeKeyOfPeer } from '../src/client/chain-vetter.ts'
import { chainGatewayFixture } from '../src/client/testing/chain-gateway.ts'
import { type NodeProcess, runFulmen, startNode, wsAddressOf } from '../src/devnet/processes.ts'
import type { FirstFetchConfig, FirstFetchSamples } from './light-first-fetch-protocol.ts'

export interface FirstFetchFigures {
  /** Medians, ms. */
  readonly plainMs: number
  readonly verifiedMs: number
  /** verified / plain: the target is ≤ 1.5. */
  readonly ratio: number
  readonly longSyncMs: number
  readonly longCheckpoints: number
  /** (verified + longSync) / plain: an upper bound for a chain of that many handoffs. */
  readonly longRatioBound: number
  readonly samples: FirstFetchSamples
  readonly load: readonly number[]
  readonly chromium: string
}

const root = fileURLToPath(new URL('..', import.meta.url))

/**
 * Serves the repository with the project's Vite configuration (its pre-bundled dependencies:
 * the client worker's graph is not crawled from the page), opens the page in Debian's
 * Chromium and returns what `window.fulmenLightFirstFetch(config)` answers.
 */
async function runPage(
  config: FirstFetchConfig,
  log: (line: string) => void,
): Promise<FirstFetchSamples & { version: string }> {
  const server = await createServer({
    configFile: join(root, 'vite.config.ts'),
    root,
    cacheDir: join(tmpdir(), 'fulmen-bench-first-fetch-vite'),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
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
    page.on('response', (r) => {
      if (r.status() >= 400) log(`[chromium] ${r.status()} ${r.url()}`)
    })
    // These run in the page (serialized): they may use only their arguments.
    type Page = {
      fulmenLightFirstFetch?: (c: FirstFetchConfig) => Promise<FirstFetchSamples>
      fulmenLightFirstFetchWarm?: (c: FirstFetchConfig) => Promise<void>
    }
    const open = async () => {
      await page.goto(new URL('bench/browser/light-fetch-page/index.html', base).href)
      await page.waitForFunction(
        () => (window as unknown as Page).fulmenLightFirstFetch !== undefined,
        undefined,
        { timeout: 60_000 },
      )
    }
    // A cold Vite cache discovers the workers' dependencies as they load and re-optimises,
    // failing what loaded meanwhile: load both workers once, then start from a fresh page.
    await open()
    await page
      .evaluate((c) => (window as unknown as Page).fulmenLightFirstFetchWarm!(c), config)
      .catch((e: unknown) => log(`warm-up: ${(e as Error).message.split('\n')[0]}`))
    await open()
    const result = await page.evaluate(
      (c) => (window as unknown as Page).fulmenLightFirstFetch!(c),
      config,
    )
    return { ...result, version: browser.version() }
  } finally {
    await browser.close()
    await server.close()
  }
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export async function runLightFirstFetch(
  options: {
    rounds?: number
    epochs?: number
    committee?: { readonly size: number; readonly pool?: number }
    /** Start the long sync at the handoff this many before the head (a trusted checkpoint). */
    trustedBack?: number
  } = {},
  log: (line: string) => void = () => {},
): Promise<FirstFetchFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'fulmen-bench-first-fetch-'))
  const env = { XDG_DATA_HOME: join(dir, 'xdg') }
  const nodes: NodeProcess[] = []
  const closers: (() => Promise<void>)[] = []
  try {
    const size = 300 * 1024 + 17
    writeFileSync(join(dir, 'image.bin'), seededContent(size, 0x1f))
    const dataDirs = [0, 1].map((i) => join(dir, `node-${i}`))
    const added = await Promise.all(
      dataDirs.map((d) => runFulmen(['add', '--data-dir', d, join(dir, 'image.bin')], { env })),
    )
    for (const a of added) if (a.code !== 0) throw new Error(`fulmen add: ${a.stderr}`)
    nodes.push(...(await Promise.all(dataDirs.map((dataDir) => startNode({ dataDir, env })))))
    const addresses = nodes.map(wsAddressOf)
    const keys = addresses.map((a) => nodeKeyOfPeer(a.slice(a.lastIndexOf('/p2p/') + 5))!)
    log('chains: signing the gateways’ checkpoints')
    const short = await chainGatewayFixture({ staked: keys })
    const long = await chainGatewayFixture({
      staked: keys,
      epochs: options.epochs ?? 365,
      ...(options.committee === undefined ? {} : { committee: options.committee }),
    })
    const [g, lg] = await Promise.all([short.serve(), long.serve()])
    closers.push(g.close, lg.close)
    const config: FirstFetchConfig = {
      nodes: addresses,
      hex: added[0]!.stdout.slice(0, 64),
      size,
      genesis: short.genesisJson,
      gateway: g.url,
      longGenesis: long.genesisJson,
      longGateway: lg.url,
      ...(options.trustedBack === undefined
        ? {}
        : {
            longCheckpoint: JSON.stringify(
              checkpointRunToJson([long.handoffs[long.handoffs.length - options.trustedBack]!])
                .checkpoints[0],
            ),
          }),
      rounds: options.rounds ?? 6,
    }
    log(`Chromium: ${config.rounds} rounds`)
    const run = await runPage(config, log)
    const plainMs = median(run.plain)
    const verifiedMs = median(run.verified)
    const longSyncMs = median(run.longSync)
    return {
      plainMs,
      verifiedMs,
      ratio: verifiedMs / plainMs,
      longSyncMs,
      longCheckpoints: run.longCheckpoints,
      longRatioBound: (verifiedMs + longSyncMs) / plainMs,
      samples: {
        plain: run.plain,
        verified: run.verified,
        longSync: run.longSync,
        longCheckpoints: run.longCheckpoints,
      },
      load: loadavg(),
      chromium: run.version,
    }
  } finally {
    await Promise.allSettled([...closers.map((c) => c()), ...nodes.map((n) => n.stop())])
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const value = (name: string) => {
    const i = args.indexOf(name)
    return i === -1 ? undefined : Number(args[i + 1])
  }
  const figures = await runLightFirstFetch(
    {
      rounds: value('--rounds') ?? 6,
      epochs: value('--epochs') ?? 365,
      ...(value('--trusted-back') === undefined ? {} : { trustedBack: value('--trusted-back') }),
      committee: (() => {
        const size = value('--committee') ?? 4
        const pool = value('--pool')
        return pool === undefined ? { size } : { size, pool }
      })(),
    },
    (line) => console.error(line),
  )
  if (args.includes('--json')) console.log(JSON.stringify(figures, null, 2))
  else {
    const ms = (x: number) => `${x.toFixed(0)} ms`
    console.log(
      `light.first-fetch (Chromium ${figures.chromium}, load ${figures.load.map((l) => l.toFixed(2)).join(' ')})`,
    )
    console.log(`  first fetch, fresh page, no chain:        ${ms(figures.plainMs)}`)
    console.log(
      `  first verified fetch (sync from genesis): ${ms(figures.verifiedMs)}  ratio ${figures.ratio.toFixed(2)} (target ≤ 1.5)`,
    )
    console.log(
      `  fresh light sync, ${figures.longCheckpoints} checkpoints:      ${ms(figures.longSyncMs)}  bound on such a chain: ratio ≤ ${figures.longRatioBound.toFixed(2)}`,
    )
  }
}
