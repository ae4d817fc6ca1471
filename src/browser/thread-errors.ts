/**
 * Typed errors between the page and Fulmen's workers. Structured clone, and comlink's own
 * handler, keep an Error's name and message but drop `code` and everything else: a
 * `FetchError` thrown in the client worker would reach the page as a bare `Error`. The
 * registry (src/core/error-registry.ts) carries every data field and rebuilds these classes.
 */
import * as Comlink from 'comlink'
import { CheckpointError } from '../checkpoint/errors.ts'
import { ClientOptionsError, FetchError, NodeFailureError } from '../client/errors.ts'
import { type ErrorData, ErrorRegistry } from '../core/error-registry.ts'
import { LightError } from '../light/errors.ts'
import { StateError } from '../state/errors.ts'
import { TransactionError } from '../state/transaction.ts'
import { LightWorkerError } from './light/errors.ts'
import { TabNodeError } from './node/tab-node-errors.ts'

export type { ErrorData }

/** The classes a page or a worker throws to the other side; any other comes back an `Error`. */
const registry = new ErrorRegistry({
  CheckpointError,
  ClientOptionsError,
  FetchError,
  LightError,
  LightWorkerError,
  NodeFailureError,
  StateError,
  TabNodeError,
  TransactionError,
})

export function errorToData(error: unknown): ErrorData {
  return registry.toData(error)
}

export function errorFromData(data: ErrorData): Error {
  return registry.fromData(data)
}

let installed = false

/** Makes comlink carry thrown errors as `ErrorData` (call on both sides before use). */
export function installThreadErrors(): void {
  if (installed) return
  installed = true
  Comlink.transferHandlers.set('throw', {
    // comlink wraps what a call threw in an object keyed by its (unexported) marker symbol.
    canHandle: (value): value is { value: unknown } =>
      typeof value === 'object' &&
      value !== null &&
      Object.getOwnPropertySymbols(value).some((s) => s.description === 'Comlink.thrown'),
    serialize: ({ value }: { value: unknown }) => [errorToData(value), []],
    deserialize: (data: ErrorData) => {
      throw errorFromData(data)
    },
  } as Comlink.TransferHandler<unknown, ErrorData>)
}

/**
 * Rejects with `failure(why)` when `worker` reports an error (its script failed to load or
 * threw at the top), and keeps the event from reaching the page's console as uncaught: the
 * page's API names it instead. Never resolves.
 */
export function workerFailure(worker: Worker, failure: (why: string) => Error): Promise<never> {
  return new Promise<never>((_, reject) => {
    worker.addEventListener('error', (event) => {
      event.preventDefault()
      reject(failure(event.message || 'it did not load'))
    })
  })
}
