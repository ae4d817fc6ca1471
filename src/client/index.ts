/** The dapp API: `createClient`, `client.fetch` → a verified `Response`, typed errors and events. */
export {
  type ClientFetchOptions,
  type ClientOptions,
  createClient,
  type FulmenClient,
  type NodeStatus,
} from './client.ts'
export {
  FetchError,
  type FetchErrorCode,
  type NodeFailure,
  type NodeFailureCode,
  NodeFailureError,
} from './errors.ts'
export type { AckCounters } from './node-session.ts'
export type { FetchProgress } from './progress.ts'
