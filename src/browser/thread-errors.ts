/**
 * Typed errors across a thread boundary. Structured clone keeps an Error's name and message
 * but drops `code` and everything else, and comlink's own handler does the same: a
 * `FetchError` thrown in the client worker would reach the page as a bare `Error`. These
 * functions carry the fields the API promises (`code`, `failures`) and rebuild the classes.
 */
import * as Comlink from 'comlink'
import type { NodeFailure } from '../client/errors.ts'
import { FetchError, type FetchErrorCode, NodeFailureError } from '../client/errors.ts'

/** An error as plain data. */
export interface ErrorData {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly failures?: readonly NodeFailure[]
  readonly stack?: string
}

export function errorToData(error: unknown): ErrorData {
  if (!(error instanceof Error) && !(error instanceof DOMException)) {
    return { name: 'Error', message: String(error) }
  }
  const { code, failures } = error as { code?: unknown; failures?: unknown }
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(Array.isArray(failures)
      ? {
          failures: failures.map((f: NodeFailure) => ({
            node: f.node,
            code: f.code,
            message: f.message,
          })),
        }
      : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  }
}

export function errorFromData(data: ErrorData): Error {
  let error: Error
  if (data.name === 'FetchError' && data.code !== undefined) {
    error = new FetchError(data.code as FetchErrorCode, data.message, data.failures ?? [])
  } else if (data.name === 'NodeFailureError' && data.code !== undefined) {
    error = new NodeFailureError(data.code as NodeFailureError['code'], data.message)
  } else if (data.name === 'AbortError' || data.name === 'TimeoutError') {
    // What `signal.reason` is by default: keep it a DOMException, as fetch() rejects with.
    return new DOMException(data.message, data.name)
  } else {
    error = Object.assign(new Error(data.message), {
      name: data.name,
      ...(data.code === undefined ? {} : { code: data.code }),
    })
  }
  if (data.stack !== undefined) error.stack = data.stack
  return error
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
