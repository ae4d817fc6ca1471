/**
 * A bug in a handler cannot end a node.
 *
 * - As a process: `fulmen node start` with bugs planted in its HTTP request handling
 *   (src/node/testing/handler-faults.ts, loaded with `node --import`): a request handler that
 *   rejects and one that throws from a callback. The process guard logs each (structured, with
 *   its kind), counts it in `fulmen_unexpected_errors_total{kind}`, and the node keeps serving
 *   and stops cleanly. Without the guard, Node 24 ends the process at the first one.
 * - In the gateway: a failure that escapes the handler's own error handling (an error whose
 *   `code` getter throws, so that even mapping it to a status fails) costs that request's
 *   connection, never the server; the gateway logs it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { afterAll, describe, expect, test } from 'vitest'
import { type NodeProcess, startNode } from '../devnet/processes.ts'
import { MalformedResponse, rawRequest } from '../devnet/raw-http.ts'
import { createResolver } from '../origin/resolver.ts'
import { MemoryBlockStore } from '../store/memory-block-store.ts'
import { createGateway } from './gateway/http-gateway.ts'
import { createMetrics } from './metrics.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { FAULT_PATHS } from './testing/handler-faults.ts'
import { metricsOf, metricValue } from './testing/http.ts'

const HANDLER_FAULTS = fileURLToPath(new URL('./testing/handler-faults.ts', import.meta.url))

let dir = ''
let node: NodeProcess | undefined

printNodeLogsOnFailure(() => [node])

afterAll(async () => {
  await node?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

/** Sends `GET target` and waits briefly: a planted bug never answers. */
async function unanswered(port: number, target: string) {
  await expect(
    rawRequest(port, `GET ${target} HTTP/1.1\r\nhost: x\r\n\r\n`, { timeoutMs: 300 }),
  ).rejects.toThrow(/no answer/)
}

describe('the process guard of `fulmen node start`', () => {
  test('a rejecting and a throwing request handler: logged, counted, and the node serves on', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fulmen-guard-'))
    node = await startNode({
      dataDir: join(dir, 'node'),
      env: { XDG_DATA_HOME: join(dir, 'xdg') },
      execArgv: ['--import', HANDLER_FAULTS],
    })
    const port = Number(new URL(node.url).port)

    for (let round = 1; round <= 2; round++) {
      await unanswered(port, FAULT_PATHS.reject)
      await unanswered(port, FAULT_PATHS.throw)
      const health = await fetch(`${node.url}/health`)
      expect(health.status).toBe(200)
      const text = await metricsOf(node.url)
      const count = (kind: string) => metricValue(text, 'fulmen_unexpected_errors_total', { kind })
      expect({
        unhandledRejection: count('unhandledRejection'),
        uncaughtException: count('uncaughtException'),
      }).toEqual({ unhandledRejection: round, uncaughtException: round })
    }

    const logged = node
      .logs()
      .filter((l) => l.msg === 'unexpected error; the node keeps serving')
      .map((l) => {
        const message = (l.err as { message?: string } | undefined)?.message
        return `${l.level} ${String(l.component)} ${String(l.kind)}: ${message}`
      })
    expect(logged.sort()).toEqual([
      '50 process-guard uncaughtException: planted: a request handler threw',
      '50 process-guard uncaughtException: planted: a request handler threw',
      '50 process-guard unhandledRejection: planted: a request handler rejected',
      '50 process-guard unhandledRejection: planted: a request handler rejected',
    ])
    expect(await node.stop()).toEqual({ code: 0, signal: null })
  })
})

describe('the gateway', () => {
  test('a failure past the handler’s error handling costs one connection, not the server', async () => {
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>)
        done()
      },
    })
    const store = new MemoryBlockStore()
    /** Not even its code can be read: `toFailure` throws inside the handler's catch. */
    const hostile = Object.defineProperty(new Error('hostile'), 'code', {
      get() {
        throw new Error('a getter that throws')
      },
    })
    const gateway = createGateway({
      store,
      resolver: createResolver({ store, origins: [], limits: { maxBytes: 1e6, timeoutMs: 1e4 } }),
      metrics: createMetrics(),
      logger: pino({ level: 'info' }, sink),
      nodeId: 'test-node',
      status: () => Promise.reject(hostile),
    })
    const { port } = (await gateway.listen(0, '127.0.0.1')) as AddressInfo
    try {
      for (let i = 0; i < 3; i++) {
        await expect(
          rawRequest(port, 'GET /status HTTP/1.1\r\nhost: x\r\n\r\n'),
        ).rejects.toBeInstanceOf(MalformedResponse) // the connection closed without an answer
        const health = await rawRequest(port, 'GET /health HTTP/1.1\r\nhost: x\r\n\r\n')
        expect(health.status).toBe(200)
      }
      expect(lines.filter((l) => l.msg === 'request handler failed')).toHaveLength(3)
    } finally {
      await gateway.close(0)
    }
  })
})
