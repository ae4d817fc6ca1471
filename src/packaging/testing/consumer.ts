/**
 * Test support for the consumer test: the package packed as `npm publish` would, installed
 * into temporary copies of examples/ from the npm cache only, and what a user would measure
 * (sizes on disk, gzip sizes of a built page).
 */
import { execFile, spawn } from 'node:child_process'
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { startServer, type TestServer } from '../../origin/testing/servers.node.ts'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `command args` to its end (never rejects on a non-zero exit: the caller asserts on
 * `code`, and a failure's output lands in the assertion's diff).
 */
export function run(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly timeoutMs?: number; readonly env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 180_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({
          code,
          stdout,
          stderr: error !== null && code === -1 ? `${error}\n${stderr}` : stderr,
        })
      },
    )
  })
}

/** Fails with the command's output when it did not exit 0. */
export function ok(what: string, result: RunResult): RunResult {
  if (result.code !== 0)
    throw new Error(`${what} exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  return result
}

export interface PackedPackage {
  readonly tarball: string
  /** Bytes of the .tgz. */
  readonly size: number
  readonly unpackedSize: number
  readonly files: readonly string[]
}

/** `npm pack` of the repository into `dir` (its `prepack` runs `npm run build`). */
export async function packPackage(dir: string): Promise<PackedPackage> {
  const result = ok(
    'npm pack',
    await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT }),
  )
  // The build's own output comes first on stdout; npm's JSON report is the last thing.
  const json = result.stdout.slice(result.stdout.lastIndexOf('\n[') + 1)
  const [report] = JSON.parse(json) as {
    filename: string
    size: number
    unpackedSize: number
    files: { path: string }[]
  }[]
  return {
    tarball: join(dir, report!.filename),
    size: report!.size,
    unpackedSize: report!.unpackedSize,
    files: report!.files.map((f) => f.path),
  }
}

/**
 * A copy of examples/<name> in `dir`, its `fulmen` dependency the tarball, installed with
 * `npm install --offline`. The repository's lockfile comes along: npm then reads the versions
 * it pins from the cache's abbreviated packuments (what the repository's own install left
 * there) instead of asking the registry for full ones, and drops what the example does not use.
 */
export async function installExample(
  name: string,
  tarball: string,
  dir: string,
): Promise<{ readonly dir: string; readonly seconds: number }> {
  const target = join(dir, name)
  cpSync(join(ROOT, 'examples', name), target, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|dist)$/.test(src),
  })
  const manifestPath = join(target, 'package.json')
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    dependencies?: Record<string, string>
    devDependencies?: Record<string, string>
  }
  const repo = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>
  }
  // Offline, only the repository's pinned versions are there: an example that asks for
  // another range than the repository's own would need the registry.
  for (const [dep, range] of Object.entries(manifest.devDependencies ?? {})) {
    if (repo.devDependencies[dep] !== range)
      throw new Error(
        `examples/${name} wants ${dep}@${range}; the repository has ${repo.devDependencies[dep]}: use the same range`,
      )
  }
  manifest.dependencies = { ...manifest.dependencies, fulmen: `file:${tarball}` }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`)
  cpSync(join(ROOT, 'package-lock.json'), join(target, 'package-lock.json'))
  const started = performance.now()
  ok(
    `npm install in examples/${name}`,
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: target }),
  )
  return { dir: target, seconds: (performance.now() - started) / 1000 }
}

/** Bytes of every file under `dir` (links not followed). */
export function sizeOnDisk(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size
  }
  return total
}

/** Bytes of the packages a production install of the project keeps (`npm ls --omit=dev`). */
export async function productionSize(dir: string): Promise<number> {
  const listed = ok(
    'npm ls',
    await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: dir }),
  )
  const packages = listed.stdout.split('\n').filter((p) => p !== '' && p !== dir)
  // Each package's own files: a nested node_modules is another listed package.
  let total = 0
  for (const p of packages) {
    for (const entry of readdirSync(p, { recursive: true, withFileTypes: true })) {
      const path = join(entry.parentPath, entry.name)
      if (entry.isFile() && !path.slice(p.length).includes('/node_modules/'))
        total += statSync(path).size
    }
  }
  return total
}

/** Every .js file of a built page, with its size and gzip size. */
export function gzipSizes(
  distDir: string,
): { readonly file: string; readonly bytes: number; readonly gzip: number }[] {
  return readdirSync(distDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((file) => {
      const bytes = readFileSync(join(distDir, file))
      return { file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
    })
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
}

/** Serves `dir` as a static site (what a dapp's host does with `vite build`'s output). */
export function serveStatic(dir: string): Promise<TestServer> {
  return startServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path)
    if (!file.startsWith(dir) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    })
    res.end(await readFile(file))
  })
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`

/** `vite` (the dev server) of the project in `dir`, on a port the system picks. */
export async function startViteDev(
  dir: string,
): Promise<{ readonly url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['node_modules/vite/bin/vite.js', '--host', '127.0.0.1', '--port', '0', '--strictPort'],
    { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`vite did not start in 60 s\n${output}`)),
      60_000,
    )
    const read = (chunk: Buffer) => {
      output += chunk
      const m = /Local:\s+(http:\/\/\S+?)\/?\s/.exec(output)
      if (m === null) return
      clearTimeout(timer)
      resolve(m[1]!)
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    void exited.then(() => reject(new Error(`vite exited before it started\n${output}`)))
  })
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    },
  }
}
