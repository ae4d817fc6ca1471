/**
 * The node core as components, over a memory store and a DA pool on a memory KvStore (both
 * runtimes): start order store → claims → transports → sessions → components, stop in reverse,
 * a failing part rolls back what started, parts read before the start are refused.
 */
import { describe, expect, test } from 'vitest'
import { createDaPool } from '../acks/da-pool.ts'
import type { Component } from '../core/lifecycle.ts'
import { noopLogger } from '../core/logger.ts'
import { createMemoryMetrics } from '../core/metrics.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { MemoryBlockStore } from '../store/memory-block-store.ts'
import { createHostMetrics, HOST_METRIC_NAMES } from './host-metrics.ts'
import { type ClaimPool, createNodeCore, storeComponent } from './node-core.ts'

const NODE_ID = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...new Array(32).fill(7)])
const SESSIONS = {
  ackWindow: 16,
  ackTimeoutMs: 10_000,
  handshakeTimeoutMs: 2_000,
  maxSessionsPerClient: 4,
  maxStreamsPerSession: 4,
  epochMs: 60_000,
}

function journaled(name: string, journal: string[], fail = false): Component {
  return {
    name,
    start() {
      if (fail) throw new Error(`${name} cannot start`)
      journal.push(`start ${name}`)
    },
    stop() {
      journal.push(`stop ${name}`)
    },
  }
}

function core(options: { transports?: Component[]; components?: Component[] } = {}) {
  const journal: string[] = []
  const store = new MemoryBlockStore()
  let pool: ClaimPool | undefined
  const memory = createMemoryMetrics()
  const node = createNodeCore({
    name: 'test node',
    nodeKey: new Uint8Array(32).fill(1),
    nodePeerId: NODE_ID,
    sessionConfig: SESSIONS,
    store: storeComponent(async () => {
      journal.push('start store')
      const close = store.close.bind(store)
      store.close = async () => {
        journal.push('stop store')
        await close()
      }
      return store
    }),
    openClaims: async () => {
      journal.push('start claims')
      const p = createDaPool(new MemoryKvStore())
      pool = {
        put: (claim, meta) => p.put(claim, meta),
        close: async () => {
          journal.push('stop claims')
          await p.close()
        },
      }
      return pool
    },
    ...(options.transports === undefined ? {} : { transports: options.transports }),
    ...(options.components === undefined ? {} : { components: options.components }),
    metrics: createHostMetrics(memory),
    logger: noopLogger,
  })
  return { node, journal, store, memory }
}

describe('node core', () => {
  test('starts store → claims → transports → sessions → components; stops in reverse', async () => {
    const journal: string[] = []
    const {
      node,
      journal: parts,
      memory,
    } = core({
      transports: [journaled('libp2p', journal)],
      components: [journaled('gateway', journal), journaled('committee', journal)],
    })
    await node.start()
    expect(node.started).toEqual(['store', 'claims', 'libp2p', 'sessions', 'gateway', 'committee'])
    expect(parts).toEqual(['start store', 'start claims'])
    expect(journal).toEqual(['start libp2p', 'start gateway', 'start committee'])
    // The sessions gauge reads the host's table.
    expect(node.sessions.table.size).toBe(0)
    expect(memory.value(HOST_METRIC_NAMES.sessions)).toBe(0)
    await node.stop()
    expect(journal).toEqual([
      'start libp2p',
      'start gateway',
      'start committee',
      'stop committee',
      'stop gateway',
      'stop libp2p',
    ])
    expect(parts).toEqual(['start store', 'start claims', 'stop claims', 'stop store'])
    // The host is stopped: a new stream is refused at once.
    expect(node.sessions.activeSessions).toBe(0)
  })

  test('a component that fails to start rolls back the core, and the error names it', async () => {
    const journal: string[] = []
    const { node, journal: parts } = core({
      transports: [journaled('libp2p', journal)],
      components: [journaled('gateway', journal), journaled('committee', journal, true)],
    })
    const error = await node.start().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'LIFECYCLE_START_FAILED', component: 'committee' })
    expect((error as Error).cause).toMatchObject({ message: 'committee cannot start' })
    expect(journal).toEqual(['start libp2p', 'start gateway', 'stop gateway', 'stop libp2p'])
    expect(parts).toEqual(['start store', 'start claims', 'stop claims', 'stop store'])
    expect(node.started).toEqual([])
  })

  test('a part read before the start is refused with LIFECYCLE_NOT_STARTED', () => {
    const { node } = core()
    expect(() => node.sessions).toThrow(expect.objectContaining({ code: 'LIFECYCLE_NOT_STARTED' }))
    expect(() => node.store).toThrow(expect.objectContaining({ code: 'LIFECYCLE_NOT_STARTED' }))
    expect(() => node.claims).toThrow(expect.objectContaining({ code: 'LIFECYCLE_NOT_STARTED' }))
  })
})
