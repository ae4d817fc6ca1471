/** The dapp API: `createClient`, `client.fetch` → a verified `Response`, typed errors and events. */

export {
  type ClientChainOptions,
  type LightVetterOptions,
  lightNodeVetter,
  type NodeVetter,
  type NodeVetting,
  nodeKeyOf,
  nodeKeyOfPeer,
  type VettingLight,
} from './chain-vetter.ts'
export type {
  ClientFetchOptions,
  ClientOptions,
  FulmenClient,
  NodeStatus,
} from './client.ts'
export { createClient } from './create-client.node.ts'
export {
  ClientOptionsError,
  type ClientOptionsErrorCode,
  FetchError,
  type FetchErrorCode,
  type NodeFailure,
  type NodeFailureCode,
  NodeFailureError,
} from './errors.ts'
export {
  DEFAULT_HOLD_MEMORY,
  type HoldingOptions,
  type OpenSpill,
  type Spill,
} from './holding-buffer.ts'
export type { AckCounters } from './node-session.ts'
export type { FetchProgress } from './progress.ts'
export { type TempFileSpillOptions, tempFileSpill } from './temp-file-spill.node.ts'
