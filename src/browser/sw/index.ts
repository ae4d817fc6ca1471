/** `fulmen/sw`: the service worker (`installFulmenServiceWorker`) and its page side (`registerFulmen`). */
export { type FulmenServiceWorkerOptions, installFulmenServiceWorker } from './fulmen-sw.ts'
export { type FulmenServiceWorker, type RegisterFulmenOptions, registerFulmen } from './register.ts'
export type { SwConfig } from './sw-config.ts'
export { SwError, type SwErrorCode } from './sw-errors.ts'
export type { SwStats } from './sw-stats.ts'
