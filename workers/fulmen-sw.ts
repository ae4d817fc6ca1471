/**
 * The Fulmen service worker script: register it with `registerFulmen` (module type; Vite's
 * dev server serves it from `demo/fulmen-sw.ts`). No top-level await and no dynamic
 * `import()` anywhere below: service workers refuse both.
 */
import { installFulmenServiceWorker, type ServiceWorkerScope } from '../src/browser/sw/fulmen-sw.ts'

installFulmenServiceWorker(self as unknown as ServiceWorkerScope)
