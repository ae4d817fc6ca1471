/**
 * The workers as self-contained ES module bundles in dist/workers/. A dapp's bundler treats a
 * `new Worker(new URL(…))` as a separate entry, and Vite's dev server does not pre-bundle the
 * bare imports of a dependency's worker graph (a dapp's `vite` failed with "netmask has no
 * export Netmask"), so nothing bare may be left inside for it to resolve.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { rolldown } from 'rolldown'

/** Every file of workers/, by the name its bundle gets (dist/workers/<name>.js). */
export const WORKERS = [
  'client-worker',
  'tab-node-worker',
  'b3-worker',
  'fulmen-sw',
  'light-client-worker',
] as const

export type WorkerName = (typeof WORKERS)[number]

/** Bundles workers/<name>.ts to `<outDir>/<name>.js` (+ .map); returns the files written. */
async function bundleWorker(root: string, name: WorkerName, outDir: string): Promise<string[]> {
  // The service worker goes out as is (the `fulmen/vite` plugin emits the file): minified here.
  // The others are a dapp's bundler's worker entries, which it minifies itself.
  const minify = name === 'fulmen-sw'
  const builtins = new Set(builtinModules)
  const bare: string[] = []
  const build = await rolldown({
    input: join(root, 'workers', `${name}.ts`),
    platform: 'browser',
    cwd: root,
    // Dependencies' development branches are dropped, as a dapp's production build would.
    transform: { define: { 'process.env.NODE_ENV': '"production"' } },
    external: (id, importer) => {
      if (importer === undefined || id.startsWith('.') || id.startsWith('/')) return false
      if (id.startsWith('node:') || builtins.has(id)) {
        bare.push(`${id} (from ${importer})`)
        return true
      }
      return false
    },
    // An import it cannot resolve would be left bare in the bundle: fail instead.
    onLog: (level, log, handler) => {
      if (log.code === 'UNRESOLVED_IMPORT') handler('error', log)
      else if (level === 'warn') handler(level, log)
    },
  })
  const file = join(outDir, `${name}.js`)
  // One file: a service worker cannot import(), and a worker's chunks would be bare URLs again.
  // (b3-worker's Node branch imports worker_threads from variables: left to Node at run time.)
  const { output } = await build.write({
    file,
    format: 'esm',
    sourcemap: true,
    codeSplitting: false,
    minify,
  })
  await build.close()
  if (bare.length > 0) throw new Error(`workers/${name}.ts imports Node built-ins: ${bare}`)
  const chunks = output.filter((o) => o.type === 'chunk')
  const left = chunks.flatMap((c) => [...c.imports, ...c.dynamicImports])
  if (chunks.length !== 1 || left.length > 0)
    throw new Error(
      `workers/${name}.ts did not bundle to one file: ${chunks.length} chunks, imports ${left}`,
    )
  trimMapSources(`${file}.map`)
  return [file, `${file}.map`]
}

/**
 * Keeps the text of Fulmen's own sources in a bundle's map and replaces its dependencies' with
 * a one-line note (the map still names their files and lines): the client worker's map 2.7 MB →
 * 1.05 MB. A note, not nothing: a missing text sends Vite's dev server looking for the file,
 * and warning that it is not there.
 */
function trimMapSources(mapFile: string): void {
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as {
    sources: string[]
    sourcesContent?: (string | null)[]
  }
  map.sourcesContent = map.sources.map((source, i) =>
    source.includes('node_modules/')
      ? `// ${source.slice(source.lastIndexOf('node_modules/'))}: a dependency's source, not shipped with fulmen\n`
      : (map.sourcesContent?.[i] ?? null),
  )
  writeFileSync(mapFile, JSON.stringify(map))
}

/** Bundles every worker; returns the files written. */
export async function bundleWorkers(root: string, outDir: string): Promise<string[]> {
  const files: string[] = []
  for (const name of WORKERS) files.push(...(await bundleWorker(root, name, outDir)))
  return files
}
