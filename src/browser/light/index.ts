/**
 * `fulmen/light` for pages: `createLightClient({ genesis, gateways })`, the light client in a
 * Web Worker with its verified head in IndexedDB (light.ts), and its typed errors. On Node,
 * `fulmen/light` is the isomorphic light client itself (src/light: LightSync, LightClient).
 */
export {
  CheckpointError,
  type CheckpointErrorCode,
} from '../../checkpoint/errors.ts'
export { FulmenError, type FulmenErrorOptions } from '../../core/errors.ts'
export type { ClaimBatchCheck } from '../../light/claim-batches.ts'
export { LightError, type LightErrorCode } from '../../light/errors.ts'
export type { LightNodeRecord } from '../../light/light-queries.ts'
export type { LightProgress, LightSyncResult, SourceFailure } from '../../light/light-sync.ts'
export { StateError, type StateErrorCode } from '../../state/errors.ts'
export type { Genesis, TableName } from '../../state/model.ts'
export { TransactionError, type TransactionErrorCode } from '../../state/transaction.ts'
export { LightWorkerError, type LightWorkerErrorCode } from './errors.ts'
export {
  type BrowserLightClient,
  createLightClient,
  type LightCallSignal,
  type LightClientOptions,
  type LightSyncOptions,
} from './light.ts'
export { LIGHT_DATABASE, type LightHeadInfo, type VerifiedEntry } from './light-worker-api.ts'
