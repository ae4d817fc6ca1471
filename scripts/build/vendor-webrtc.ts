/**
 * Vendors @libp2p/webrtc into the package (dist/vendor/), so a consumer's install does not carry
 * it. It lists react-native-webrtc as a dependency, whose peer is react-native: npm installs both,
 * 198 MB of a 271 MB consumer node_modules (73 MB without; docs/benchmarks.md). Only its own
 * modules are bundled; every bare import stays external and is a dependency of Fulmen's own
 * (checked here). Two builds, as its package.json's `browser` field makes: the browser one uses
 * the page's RTCPeerConnection, the Node one node-datachannel. The two files of Fulmen's that
 * import it are pointed at the one for where they run.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import { rolldown } from 'rolldown'

const PACKAGE = '@libp2p/webrtc'

/** The compiled files that import it, and which build each gets. */
export const WEBRTC_IMPORTERS = {
  'net/node-libp2p.js': 'node',
  'net/window-libp2p.js': 'browser',
} as const

type Platform = (typeof WEBRTC_IMPORTERS)[keyof typeof WEBRTC_IMPORTERS]

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`). */
export function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
}

/** Bundles one platform's build; returns the bare packages it leaves external. */
async function bundle(platform: Platform, file: string): Promise<Set<string>> {
  const externals = new Set<string>()
  const builtins = new Set(builtinModules)
  const build = await rolldown({
    input: PACKAGE,
    platform: platform === 'browser' ? 'browser' : 'node',
    // Bundle only the package's own modules: everything else is the consumer's to resolve.
    external: (id, importer) => {
      if (importer === undefined || id.startsWith('.') || id.startsWith('/')) return false
      if (id.startsWith('node:') || builtins.has(id)) return true
      if (packageName(id) === PACKAGE) return false
      externals.add(packageName(id))
      return true
    },
    logLevel: 'warn',
  })
  await build.write({ file, format: 'esm', sourcemap: true })
  await build.close()
  return externals
}

/**
 * Builds dist/vendor/libp2p-webrtc.{node,browser}.js and repoints the compiled importers
 * (`compiledSrc`: the folder tsc wrote src/ to) at them. Throws if a bare import of the
 * vendored code is not among `dependencies`, or if another compiled file imports the package.
 */
export async function vendorWebrtc(options: {
  readonly distDir: string
  readonly compiledSrc: string
  readonly dependencies: Readonly<Record<string, string>>
  readonly compiledFiles: readonly string[]
}): Promise<{ files: string[]; externals: string[] }> {
  const { distDir, compiledSrc, dependencies, compiledFiles } = options
  const files: Record<Platform, string> = {
    node: join(distDir, 'vendor', 'libp2p-webrtc.node.js'),
    browser: join(distDir, 'vendor', 'libp2p-webrtc.browser.js'),
  }
  const externals = new Set<string>()
  for (const platform of ['node', 'browser'] as const)
    for (const name of await bundle(platform, files[platform])) externals.add(name)
  const undeclared = [...externals].filter((name) => dependencies[name] === undefined)
  if (undeclared.length > 0)
    throw new Error(
      `vendored ${PACKAGE} imports packages that are not dependencies: ${undeclared.join(', ')}`,
    )

  const pattern = new RegExp(`(from\\s+|import\\()(['"])${PACKAGE.replace('/', '\\/')}\\2`, 'g')
  const repointed = new Set<string>()
  for (const path of compiledFiles) {
    if (!path.endsWith('.js')) continue
    const text = readFileSync(path, 'utf8')
    if (!pattern.test(text)) continue
    pattern.lastIndex = 0
    const key = relative(compiledSrc, path).split('\\').join('/')
    const platform = WEBRTC_IMPORTERS[key as keyof typeof WEBRTC_IMPORTERS]
    if (platform === undefined)
      throw new Error(`${key} imports ${PACKAGE}; only ${Object.keys(WEBRTC_IMPORTERS)} may`)
    let target = relative(join(path, '..'), files[platform]).split('\\').join('/')
    if (!target.startsWith('.')) target = `./${target}`
    writeFileSync(
      path,
      text.replace(pattern, (_, head, quote) => `${head}${quote}${target}${quote}`),
    )
    repointed.add(key)
  }
  const missing = Object.keys(WEBRTC_IMPORTERS).filter((key) => !repointed.has(key))
  if (missing.length > 0) throw new Error(`expected ${missing.join(', ')} to import ${PACKAGE}`)
  return { files: Object.values(files), externals: [...externals].sort() }
}
