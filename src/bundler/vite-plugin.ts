/**
 * `fulmen/vite`: the one Vite plugin a dapp adds (`plugins: [fulmen()]`) so `vite` and
 * `vite build` work with Fulmen installed from the registry.
 *
 * - Vite's dev optimizer pre-bundles dependencies into node_modules/.vite/deps and loses their
 *   relative worker URLs (vitejs/vite#21422): Fulmen is excluded and served as its compiled ES
 *   modules instead, and the packages those import are pre-bundled up front (`fulmen > name`),
 *   so none is found late (a late one makes Vite reload the page).
 * - Workers are ES modules (`worker.format: 'es'`).
 * - The service worker script is served at `/fulmen-sw.js` in dev and emitted there by a build,
 *   the URL `registerFulmen()` registers by default.
 *
 * Types only from vite: the plugin runs in the dapp's Vite, whatever its version.
 */
import { readFileSync } from 'node:fs'
import type { Plugin, ResolvedConfig } from 'vite'

/**
 * The bare imports of Fulmen's page-side modules (the `fulmen`, `fulmen/sw`, `fulmen/b3` and
 * `fulmen/crypto` entries) exactly as written, which the build lists beside this file
 * (scripts/build/browser-graph.ts).
 */
export const BROWSER_DEPENDENCIES_FILE = 'browser-dependencies.json'

export interface FulmenPluginOptions {
  /**
   * Where the service worker script is served and emitted, below Vite's `base` (default
   * `fulmen-sw.js`: `registerFulmen()`'s default URL at base `/`); `false` for neither.
   */
  readonly serviceWorker?: string | false
}

/** The compiled service worker: dist/workers/fulmen-sw.js beside this file's dist/bundler/. */
const SERVICE_WORKER_SCRIPT = new URL('../workers/fulmen-sw.js', import.meta.url)

function browserDependencies(): string[] {
  return JSON.parse(readFileSync(new URL(BROWSER_DEPENDENCIES_FILE, import.meta.url), 'utf8'))
}

export function fulmen(options: FulmenPluginOptions = {}): Plugin {
  const fileName = options.serviceWorker ?? 'fulmen-sw.js'
  let config: ResolvedConfig | undefined
  const script = () => readFileSync(SERVICE_WORKER_SCRIPT, 'utf8')
  return {
    name: 'fulmen',
    config: () => ({
      optimizeDeps: {
        exclude: ['fulmen'],
        include: browserDependencies().map((name) => `fulmen > ${name}`),
      },
      worker: { format: 'es' },
    }),
    configResolved(resolved) {
      config = resolved
    },
    configureServer(server) {
      if (fileName === false) return
      const path = `${server.config.base}${fileName}`
      server.middlewares.use((request, response, next) => {
        const url = request.url?.split('?')[0]
        if (url !== path && url !== `${path}.map`) return next()
        const map = url.endsWith('.map')
        response.setHeader('Content-Type', map ? 'application/json' : 'text/javascript')
        // Not cached: a service worker script is checked for updates on every registration.
        response.setHeader('Cache-Control', 'no-cache')
        response.end(map ? readFileSync(new URL(`${SERVICE_WORKER_SCRIPT.href}.map`)) : script())
      })
    },
    generateBundle() {
      if (fileName === false || this.environment?.config.consumer !== 'client') return
      const withMaps = Boolean(config?.build.sourcemap)
      this.emitFile({
        type: 'asset',
        fileName,
        // The map goes out only with the dapp's own maps; otherwise its comment would dangle.
        source: withMaps ? script() : script().replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'),
      })
      if (withMaps)
        this.emitFile({
          type: 'asset',
          fileName: `${fileName}.map`,
          source: readFileSync(new URL(`${SERVICE_WORKER_SCRIPT.href}.map`), 'utf8'),
        })
    },
  }
}
