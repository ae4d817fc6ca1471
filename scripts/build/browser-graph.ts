/**
 * The page-side module graph of the compiled browser entries: which files a dapp's bundler
 * reaches from `fulmen`, `fulmen/sw`, `fulmen/b3` and `fulmen/crypto`, and the bare packages they
 * import. Workers are not followed: they are self-contained bundles (worker-bundles.ts).
 */
import { existsSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, relative, resolve } from 'node:path'
import { packageName } from './vendor-webrtc.ts'

/** Dependencies that only work on Node: none may be reachable from a page. */
export const NODE_ONLY_PACKAGES = ['classic-level', 'pino', 'prom-client', 'cli-progress']

const STATIC = /(?:^|[\n;])\s*(?:import|export)\b[^'";]*?\bfrom\s*(['"])([^'"]+)\1/g
const SIDE_EFFECT = /(?:^|[\n;])\s*import\s*(['"])([^'"]+)\1/g
const DYNAMIC = /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g

export interface BrowserGraph {
  /** Compiled files reached, relative to `distDir`. */
  readonly files: string[]
  /** Bare specifiers imported, exactly as written (a dapp's optimizer keys on these). */
  readonly bare: string[]
}

/** Walks static and literal dynamic imports from `entries` (paths under `distDir`). */
export function browserGraph(distDir: string, entries: readonly string[]): BrowserGraph {
  const seen = new Set<string>()
  const bare = new Set<string>()
  const queue = entries.map((e) => resolve(distDir, e))
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    if (!existsSync(file)) throw new Error(`${relative(distDir, file)} is imported but missing`)
    seen.add(file)
    const code = readFileSync(file, 'utf8')
    for (const pattern of [STATIC, SIDE_EFFECT, DYNAMIC])
      for (const match of code.matchAll(pattern)) {
        const specifier = match[2]!
        if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier))
        else bare.add(specifier)
      }
  }
  return {
    files: [...seen].map((f) => relative(distDir, f)).sort(),
    bare: [...bare].sort(),
  }
}

/** The graph's imports that cannot run in a page: Node built-ins and Node-only packages. */
export function nodeOnlyImports(graph: BrowserGraph): string[] {
  const builtins = new Set(builtinModules)
  return graph.bare.filter(
    (s) =>
      s.startsWith('node:') ||
      builtins.has(packageName(s)) ||
      NODE_ONLY_PACKAGES.includes(packageName(s)),
  )
}
