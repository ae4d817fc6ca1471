/**
 * Test only: bugs planted in a node process's HTTP request handling, to prove the process guard
 * (src/node/process-guard.ts) keeps a node up through them. Loaded before the CLI with
 * `node --import <this file> fulmen.ts node start …` (StartNodeOptions.execArgv); nothing in the
 * node itself knows of it. Every `http.Server` in the process (the gateway, libp2p's WebSockets)
 * gets a request listener that, for two paths only, misbehaves as a buggy handler would:
 *
 *   /__fault/reject   a promise rejected and never handled (→ 'unhandledRejection')
 *   /__fault/throw    an exception thrown from a callback (→ 'uncaughtException')
 *
 * Neither answers: the request is left to the client's timeout, like a real bug would leave it.
 */
import { type IncomingMessage, Server } from 'node:http'

export const FAULT_PATHS = { reject: '/__fault/reject', throw: '/__fault/throw' } as const

const emit = Server.prototype.emit
Server.prototype.emit = function (this: Server, event: string | symbol, ...args: unknown[]) {
  if (event === 'request') {
    const url = (args[0] as IncomingMessage).url
    if (url === FAULT_PATHS.reject) {
      void Promise.reject(new Error('planted: a request handler rejected'))
      return true
    }
    if (url === FAULT_PATHS.throw) {
      setImmediate(() => {
        throw new Error('planted: a request handler threw')
      })
      return true
    }
  }
  return emit.apply(this, [event, ...args] as Parameters<typeof emit>)
} as typeof Server.prototype.emit
