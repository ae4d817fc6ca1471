/**
 * The package as a user gets it: `npm pack` (its prepack builds dist/), the tarball installed
 * offline from the npm cache into temporary copies of examples/, and each example doing what
 * its README says: Node imports and a verified fetch, the CLI, and the two Vite dapps
 * typechecked with their own strict tsconfig, built, served statically and run in Chromium
 * against a real `fulmen node start`. The sizes a user would notice are printed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blake3 } from '@noble/hashes/blake3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { capturePageLogs, launchChromium, type PageLogs } from '../../e2e/harness.ts'
import { formatContentId } from '../b3/content-id.ts'
import { seededContent } from '../b3/testing/content.ts'
import { galleryImage } from '../browser/testing/gallery.ts'
import { type NodeProcess, runFulmen, startNode, wsAddressOf } from '../devnet/processes.ts'
import {
  gzipSizes,
  installExample,
  kib,
  mib,
  ok,
  type PackedPackage,
  packPackage,
  productionSize,
  run,
  serveStatic,
  sizeOnDisk,
  startViteDev,
} from './testing/consumer.ts'

/** 96 × 992 px of noise: a 286 KB PNG, two 256 KiB blocks. */
const IMAGE = galleryImage(40)
/** Three blocks, the last one short. */
const BLOB = seededContent(600_000, 0xc0de)
const BLOB_HEX = bytesToHex(blake3(BLOB))

const EXAMPLES = ['node-fetch', 'vite-dapp', 'service-worker'] as const
type Example = (typeof EXAMPLES)[number]

/**
 * A built page's JavaScript by role, gzip sizes: what the page loads up front (its entry and
 * shared chunks), the client worker, the service worker, and the chunk loaded only on a first
 * WebRTC dial (src/net/window-libp2p.ts).
 */
function summary(sizes: ReturnType<typeof gzipSizes>): string {
  const role = (file: string) =>
    /client-worker/.test(file)
      ? 'client worker'
      : /fulmen-sw/.test(file)
        ? 'service worker'
        : /window-libp2p/.test(file)
          ? 'WebRTC dialer (lazy)'
          : /tab-node-worker/.test(file)
            ? 'tab-node worker'
            : 'page'
  const sums = new Map<string, number>()
  for (const s of sizes) sums.set(role(s.file), (sums.get(role(s.file)) ?? 0) + s.gzip)
  return [...sums].map(([r, gzip]) => `${r} ${kib(gzip)}`).join(', ')
}

/** The project's Node (24): what `npm test` runs. */
const NODE = process.execPath

describe('the packed package in fresh projects', () => {
  let dir: string
  let packed: PackedPackage
  const installed = {} as Record<Example, string>
  let node: NodeProcess
  let nodeAddress: string
  let browser: Browser | undefined
  const report: string[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fulmen-consumer-'))
    const content = join(dir, 'content')
    mkdirSync(content)
    writeFileSync(join(content, 'image.png'), IMAGE.bytes)
    writeFileSync(join(content, 'blob.bin'), BLOB)
    const env = { XDG_DATA_HOME: dir }
    const dataDir = join(dir, 'node')
    // The node comes from the sources (like every process-level test); the package's own CLI
    // is checked below.
    const nodeReady = (async () => {
      const added = await runFulmen(
        ['add', '--data-dir', dataDir, join(content, 'image.png'), join(content, 'blob.bin')],
        { env },
      )
      if (added.code !== 0) throw new Error(`fulmen add failed: ${added.stderr}`)
      node = await startNode({ dataDir, env })
      nodeAddress = wsAddressOf(node)
    })()
    const started = performance.now()
    packed = await packPackage(dir)
    report.push(
      `npm pack: ${packed.tarball} ${kib(packed.size)} (unpacked ${mib(packed.unpackedSize)}, ${packed.files.length} files) in ${((performance.now() - started) / 1000).toFixed(0)} s with the build`,
    )
    // One at a time: three npm installs at once only trade CPU on a 2-core machine.
    for (const name of EXAMPLES) {
      const { dir: at, seconds } = await installExample(name, packed.tarball, dir)
      installed[name] = at
      report.push(`npm install --offline examples/${name}: ${seconds.toFixed(0)} s`)
    }
    await nodeReady
  }, 600_000)

  afterAll(async () => {
    await browser?.close()
    await node?.stop()
    process.stdout.write(`\n--- consumer test: sizes and times ---\n${report.join('\n')}\n`)
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it('ships dist, README, LICENSE and CHANGELOG only', () => {
    const outside = packed.files.filter(
      (f) => !/^(dist\/|README\.md$|LICENSE$|CHANGELOG\.md$|package\.json$)/.test(f),
    )
    expect(outside).toEqual([])
    expect(
      packed.files.filter((f) => /\.test\.|\/testing\/|\.ts$/.test(f) && !f.endsWith('.d.ts')),
    ).toEqual([])
  })

  it('records what a consumer installs', async () => {
    const at = installed['node-fetch']
    const all = sizeOnDisk(join(at, 'node_modules'))
    const production = await productionSize(at)
    report.push(
      `consumer node_modules (examples/node-fetch): ${mib(all)} with typescript and @types/node, ${mib(production)} for fulmen and its dependencies`,
    )
    // react-native came in through @libp2p/webrtc's react-native-webrtc (184 MB of 277 MB).
    expect(() => readFileSync(join(at, 'node_modules/react-native/package.json'))).toThrow()
    expect(production).toBeGreaterThan(0)
  }, 180_000)

  it('imports fulmen and fulmen/b3 in Node 24, which hash a buffer as @noble/hashes does', async () => {
    const script = `
      const root = await import('fulmen')
      const b3 = await import('fulmen/b3')
      await b3.ready()
      const bytes = new TextEncoder().encode('fulmen consumer test')
      console.log(JSON.stringify({
        createClient: typeof root.createClient,
        FetchError: typeof root.FetchError,
        rootHash: Buffer.from(root.hash(bytes)).toString('hex'),
        b3Hash: Buffer.from(b3.hash(bytes)).toString('hex'),
        kernel: b3.activeKernel().name,
      }))
    `
    const result = ok(
      'node -e',
      await run(NODE, ['--input-type=module', '-e', script], { cwd: installed['node-fetch'] }),
    )
    const out = JSON.parse(result.stdout) as Record<string, string>
    const expected = bytesToHex(blake3(new TextEncoder().encode('fulmen consumer test')))
    expect(out).toMatchObject({
      createClient: 'function',
      FetchError: 'function',
      rootHash: expected,
      b3Hash: expected,
    })
    report.push(
      `Node ${process.version}: import('fulmen') and 'fulmen/b3' ok (kernel ${out.kernel})`,
    )
    // Node 20 is below `engines`: say what it does, for the record.
    const node20 = await run('/usr/bin/node', ['--input-type=module', '-e', script], {
      cwd: installed['node-fetch'],
    })
    const version = (await run('/usr/bin/node', ['--version'], { cwd: dir })).stdout.trim()
    report.push(
      `${version || '/usr/bin/node'} (below engines >=22): ${node20.code === 0 ? 'imports work' : `exit ${node20.code}: ${node20.stderr.trim().split('\n').slice(0, 3).join(' | ')}`}`,
    )
  }, 180_000)

  it('runs the compiled CLI: npx fulmen --help, and fulmen hash', async () => {
    const at = installed['node-fetch']
    const help = await run('npx', ['--offline', 'fulmen', '--help'], { cwd: at })
    expect(help.code, help.stderr).toBe(0)
    expect(help.stdout).toMatch(/^Usage: fulmen <command>/m)
    expect(help.stdout).toMatch(/^ {2}hash /m)
    const hashed = await run(
      NODE,
      ['node_modules/.bin/fulmen', 'hash', join(dir, 'content/blob.bin')],
      {
        cwd: at,
      },
    )
    expect(hashed.code, hashed.stderr).toBe(0)
    expect(hashed.stdout.slice(0, 64)).toBe(BLOB_HEX)
  }, 180_000)

  it('node-fetch: typechecks (NodeNext) and fetches the verified image from a real node', async () => {
    const at = installed['node-fetch']
    const tsc = await run(NODE, ['node_modules/typescript/bin/tsc', '--noEmit'], { cwd: at })
    expect(tsc.code, tsc.stdout).toBe(0)
    // The id and the node the vite-dapp page is given below.
    const cid = formatContentId(blake3(IMAGE.bytes), 'cid')
    const out = join(dir, 'fetched.png')
    const fetched = await run(NODE, ['fetch.ts', nodeAddress, cid, out], { cwd: at })
    expect(fetched.code, fetched.stderr).toBe(0)
    expect(Buffer.compare(readFileSync(out), IMAGE.bytes)).toBe(0)
    expect(fetched.stderr).toContain(`${IMAGE.bytes.length} bytes verified: ${cid}`)
  }, 180_000)

  for (const name of ['vite-dapp', 'service-worker'] as const) {
    it(`${name}: typechecks with its strict tsconfig and builds with vite`, async () => {
      const at = installed[name]
      const tsc = await run(NODE, ['node_modules/typescript/bin/tsc', '--noEmit'], { cwd: at })
      expect(tsc.code, tsc.stdout).toBe(0)
      const build = await run(NODE, ['node_modules/vite/bin/vite.js', 'build'], { cwd: at })
      expect(build.code, `${build.stdout}\n${build.stderr}`).toBe(0)
      const sizes = gzipSizes(join(at, 'dist'))
      expect(sizes.map((s) => s.file)).toContain('fulmen-sw.js')
      // Node-only dependencies never reach a page (issue 13: LevelDB, pino, prom-client…).
      const bundled = sizes.map((s) => readFileSync(join(at, 'dist', s.file), 'utf8')).join('\n')
      expect(bundled).not.toMatch(/classic-level|prom-client|cli-progress|from ?"node:/)
      const line = (f: (typeof sizes)[number]) => `${f.file} ${kib(f.bytes)} (gzip ${kib(f.gzip)})`
      report.push(`vite build examples/${name}:\n  ${sizes.map(line).join('\n  ')}`)
      report.push(`  ${name} by role, gzip: ${summary(sizes)}`)
    }, 240_000)
  }

  /** Opens `base/?query` in a fresh context of the shared Chromium. */
  async function openPage(base: string, query: URLSearchParams) {
    browser ??= await launchChromium()
    const context = await browser.newContext()
    const logs: PageLogs = capturePageLogs(context)
    const page = await context.newPage()
    await page.goto(`${base}/?${query}`)
    return { page, logs, context }
  }

  /** Opens the built example `name`, served statically (what a dapp's host does with dist/). */
  async function openBuilt(name: Example, query: URLSearchParams) {
    const server = await serveStatic(join(installed[name], 'dist'))
    const { page, logs, context } = await openPage(server.url, query)
    return {
      page,
      logs,
      close: async () => {
        await context.close()
        await server.close()
      },
    }
  }

  /** The vite-dapp page at `base` shows the image, fetched by `createClient` and verified. */
  async function showsVerifiedImage(base: string): Promise<void> {
    const cid = formatContentId(blake3(IMAGE.bytes), 'cid')
    const { page, logs, context } = await openPage(
      base,
      new URLSearchParams({ node: nodeAddress, id: cid }),
    )
    try {
      await page
        .waitForFunction(() => document.body.dataset.serviceWorker === 'ready', null, {
          timeout: 90_000,
        })
        .catch(async (e: unknown) => {
          throw new Error(`${e}\n${await page.textContent('#status')}\n${logs.text()}`)
        })
      expect(await page.textContent('#status')).toBe(`${IMAGE.bytes.length} bytes verified: ${cid}`)
      const size = await page.$eval('#image', (img: HTMLImageElement) => [
        img.naturalWidth,
        img.naturalHeight,
      ])
      expect(size).toEqual([IMAGE.width, IMAGE.height])
      expect(logs.errors).toEqual([])
    } finally {
      await context.close()
    }
  }

  it('vite-dapp: the built page shows the verified image from a real node in Chromium', async () => {
    const server = await serveStatic(join(installed['vite-dapp'], 'dist'))
    try {
      await showsVerifiedImage(server.url)
    } finally {
      await server.close()
    }
  }, 180_000)

  it('vite-dapp: the same under the dev server (`vite`), with only the fulmen() plugin', async () => {
    const vite = await startViteDev(installed['vite-dapp'])
    try {
      await showsVerifiedImage(vite.url)
    } finally {
      await vite.stop()
    }
  }, 180_000)

  it('service-worker: the built page loads the image through its service worker', async () => {
    const query = new URLSearchParams({ node: nodeAddress, id: IMAGE.hex })
    const { page, logs, close } = await openBuilt('service-worker', query)
    try {
      await page
        .waitForFunction(
          () =>
            /^loaded through the service worker/.test(
              document.querySelector('#status')?.textContent ?? '',
            ),
          null,
          { timeout: 90_000 },
        )
        .catch(async (e: unknown) => {
          throw new Error(`${e}\n${await page.textContent('#status')}\n${logs.text()}`)
        })
      const size = await page.$eval('#image', (img: HTMLImageElement) => [
        img.naturalWidth,
        img.naturalHeight,
      ])
      expect(size).toEqual([IMAGE.width, IMAGE.height])
      // The same URL from the page's fetch(): the bytes, and who served them.
      const answer = await page.evaluate(async (path) => {
        const response = await fetch(path)
        return {
          status: response.status,
          source: response.headers.get('x-fulmen-source'),
          bytes: [...new Uint8Array(await response.arrayBuffer())],
        }
      }, `/fulmen/${BLOB_HEX}`)
      expect(answer.status).toBe(200)
      expect(answer.source).toBe('node')
      expect(bytesToHex(blake3(Uint8Array.from(answer.bytes)))).toBe(BLOB_HEX)
      expect(logs.errors).toEqual([])
    } finally {
      await close()
    }
  }, 180_000)
})
