/**
 * `npm run build`: the package's dist/ from src/ and workers/ (run by the project's Node 24).
 *
 * - tsc (tsconfig.build.json): src/ → dist/ as JavaScript, declarations and source maps, tests
 *   and testing helpers left out. dist/ mirrors src/, so `../../package.json` from
 *   dist/node/full-node.js is the package's own.
 * - @libp2p/webrtc vendored into dist/vendor/ (vendor-webrtc.ts).
 * - workers/ → dist/workers/<name>.js, self-contained ES modules (worker-bundles.ts), and the
 *   compiled worker URLs pointed at them (compiled-paths.ts).
 * - Checks that fail the build: a `.ts` path left in dist, a Node-only import reachable from the
 *   browser entries. The bare imports of those entries are listed for the `fulmen/vite` plugin.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BROWSER_DEPENDENCIES_FILE } from '../../src/bundler/vite-plugin.ts'
import { browserGraph, nodeOnlyImports } from './browser-graph.ts'
import {
  rewriteDeclarationSpecifiers,
  rewriteWorkerUrls,
  sourcePathsLeft,
} from './compiled-paths.ts'
import { vendorWebrtc } from './vendor-webrtc.ts'
import { bundleWorkers, WORKERS } from './worker-bundles.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DIST = join(ROOT, 'dist')
const WORKERS_OUT = join(DIST, 'workers')

/** The compiled entries a page can import (package.json `exports` for browsers). */
export const BROWSER_ENTRIES = [
  'browser/index.js',
  'browser/sw/index.js',
  'browser/light/index.js',
  'b3/index.js',
  'crypto/index.js',
]

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
}

function sizeOf(files: readonly string[]): number {
  return files.reduce((sum, f) => sum + statSync(f).size, 0)
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`

function fail(message: string, lines: readonly string[]): never {
  throw new Error(`${message}:\n  ${lines.join('\n  ')}`)
}

export async function build(): Promise<void> {
  const started = performance.now()
  rmSync(DIST, { recursive: true, force: true })

  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  })
  const compiled = filesUnder(DIST)

  const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  const vendored = await vendorWebrtc({
    distDir: DIST,
    compiledSrc: DIST,
    dependencies: packageJson.dependencies,
    compiledFiles: compiled,
  })

  const bundles = await bundleWorkers(ROOT, WORKERS_OUT)
  const urls = rewriteWorkerUrls({
    root: ROOT,
    compiledSrc: DIST,
    workersOut: WORKERS_OUT,
    workers: WORKERS,
    compiledFiles: compiled,
  })
  const declarations = rewriteDeclarationSpecifiers(compiled)

  const left = sourcePathsLeft(filesUnder(DIST))
  if (left.length > 0) fail('source paths left in dist', left)

  const graph = browserGraph(DIST, BROWSER_ENTRIES)
  const nodeOnly = nodeOnlyImports(graph)
  if (nodeOnly.length > 0) fail('Node-only imports reachable from the browser entries', nodeOnly)
  // What `fulmen/vite` has Vite pre-bundle for the page (src/bundler/vite-plugin.ts).
  writeFileSync(
    join(DIST, 'bundler', BROWSER_DEPENDENCIES_FILE),
    `${JSON.stringify(graph.bare, null, 2)}\n`,
  )

  const all = filesUnder(DIST)
  const report = [
    `tsc: ${compiled.length} files`,
    `vendored @libp2p/webrtc: ${vendored.files.map((f) => relative(ROOT, f)).join(', ')}`,
    ...urls.map((u) => `worker URL ${u}`),
    `declarations: ${declarations} .ts specifiers → .js`,
    ...bundles
      .filter((f) => f.endsWith('.js'))
      .map((f) => `${relative(ROOT, f)}: ${mib(statSync(f).size)}`),
    `browser graph: ${graph.files.length} files, ${graph.bare.length} bare imports, no Node-only`,
    `dist: ${all.length} files, ${mib(sizeOf(all))} (${mib(sizeOf(all.filter((f) => !f.endsWith('.map'))))} without maps)`,
    `built in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  ]
  process.stdout.write(`${report.join('\n')}\n`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await build()
