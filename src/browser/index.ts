/**
 * Fulmen for pages (the package's `browser` entry): the client API with its work in a Web
 * Worker, the service worker's page side, the client key in IndexedDB, and the BLAKE3 engine.
 */
export * from '../b3/index.ts'
export type { ClientFetchOptions, FulmenClient, NodeStatus } from '../client/client.ts'
export {
  FetchError,
  type FetchErrorCode,
  type NodeFailure,
  type NodeFailureCode,
  NodeFailureError,
} from '../client/errors.ts'
export type { AckCounters } from '../client/node-session.ts'
export type { FetchProgress } from '../client/progress.ts'
export { FulmenError, type FulmenErrorOptions } from '../core/errors.ts'
export { type BrowserClient, type BrowserClientOptions, createClient } from './client.ts'
export type { BrowserChainOptions } from './client-worker-api.ts'
export { deleteClientKey, KEY_DATABASE, loadOrCreateClientKey } from './key-store.ts'
export {
  type CacheOptions,
  startNode,
  type TabNode,
  type TabNodeOptions,
} from './node/tab-node.ts'
export type {
  CachedContent,
  CacheProgress,
  TabNodeStats,
} from './node/tab-node-api.ts'
export { TabNodeError, type TabNodeErrorCode } from './node/tab-node-errors.ts'
export {
  type FulmenServiceWorker,
  type RegisterFulmenOptions,
  registerFulmen,
} from './sw/register.ts'
