/**
 * Many fetches at once from one client, against real node processes on loopback (issue 23's
 * table): eight 1 MiB contents, `n` `client.fetch` calls at once, three rounds each. Before,
 * the client sent every fetch into its one session with a node, whose 8-stream cap refused the
 * rest (SESSION_RESOURCES_UNAVAILABLE, from every node), and reveals of one session racing on
 * several streams could end the session (ACK_REPLAY) or throw `begin() must come before
 * acknowledgements`. Now a fetch waits for one of the node's advertised streams, and every one
 * completes with the right bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { hash } from '../b3/hash.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  toHex,
  wsAddressOf,
} from '../devnet/processes.ts'
import { printNodeLogsOnFailure } from '../node/testing/diagnostics.ts'
import { metricsOf, metricValue } from '../node/testing/http.ts'
import { createClient, type FulmenClient } from './client.ts'
import { FetchError } from './errors.ts'
import type { FetchProgress } from './progress.ts'

const CONTENTS = 8
const SIZE = 2 ** 20
const contents = Array.from({ length: CONTENTS }, (_, i) => pseudoRandomBytes(SIZE, 1000 + i))
const roots = contents.map((c) => toHex(hash(c)))

let dir = ''
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
const nodes: NodeProcess[] = []
const clients: FulmenClient[] = []

printNodeLogsOnFailure(() => nodes)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-many-'))
  const files = contents.map((c, i) => {
    const file = join(dir, `content-${i}.bin`)
    writeFileSync(file, c)
    return file
  })
  const dataDirs = [0, 1, 2].map((i) => join(dir, `node-${i}`))
  const added = await Promise.all(
    dataDirs.map((d) => runFulmen(['add', '--data-dir', d, ...files], { env: env() })),
  )
  for (const a of added) expect(a.code, a.stderr).toBe(0)
  nodes.push(...(await Promise.all(dataDirs.map((dataDir) => startNode({ dataDir, env: env() })))))
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await Promise.allSettled(nodes.map((n) => n.stop()))
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

async function client(
  of: readonly NodeProcess[],
  options: Partial<Parameters<typeof createClient>[0]> = {},
): Promise<FulmenClient> {
  const c = await createClient({ bootstrap: of.map(wsAddressOf), ...options })
  clients.push(c)
  return c
}

/** `n` fetches at once (content i mod 8); what each ended with. */
async function fetchAtOnce(c: FulmenClient, n: number, onProgress?: (e: FetchProgress) => void) {
  const results = await Promise.allSettled(
    Array.from({ length: n }, async (_, i) => {
      const res = await c.fetch(
        roots[i % CONTENTS]!,
        onProgress === undefined ? {} : { onProgress },
      )
      return new Uint8Array(await res.arrayBuffer())
    }),
  )
  const failures = results.flatMap((r) =>
    r.status === 'rejected' ? [`${(r.reason as { code?: string }).code}: ${r.reason}`] : [],
  )
  const wrong = results.filter(
    (r, i) => r.status === 'fulfilled' && Buffer.compare(r.value, contents[i % CONTENTS]!) !== 0,
  ).length
  return { ok: results.length - failures.length - wrong, failures, wrong }
}

describe('many fetches at once from one client', () => {
  for (const n of [8, 9, 16, 32]) {
    test(`${n} at once from one node, three rounds: all complete, verified`, async () => {
      const c = await client(nodes.slice(0, 1))
      for (let round = 0; round < 3; round++) {
        const { ok, failures, wrong } = await fetchAtOnce(c, n)
        expect({ round, failures, wrong }).toEqual({ round, failures: [], wrong: 0 })
        expect(ok).toBe(n)
      }
    }, 120_000)
  }

  for (const n of [24, 48]) {
    test(`${n} at once, three nodes given: all complete, no node reported as failed`, async () => {
      const c = await client(nodes)
      const events: FetchProgress[] = []
      const { ok, failures } = await fetchAtOnce(c, n, (e) => events.push(e))
      expect(failures).toEqual([])
      expect(ok).toBe(n)
      expect(events.filter((e) => e.type === 'failover')).toEqual([])
      expect(c.nodes().every((s) => s.lastFailure === undefined)).toBe(true)
    }, 120_000)
  }

  test('256 at once from a single node: all complete, within its advertised streams', async () => {
    const c = await client(nodes.slice(0, 1))
    const { ok, failures, wrong } = await fetchAtOnce(c, 256)
    expect({ failures, wrong }).toEqual({ failures: [], wrong: 0 })
    expect(ok).toBe(256)
    // The client kept within the node's limits: the node refused nothing for load.
    const metrics = await metricsOf(nodes[0]!.url)
    const refused = { code: 'SESSION_RESOURCES_UNAVAILABLE' }
    expect(metricValue(metrics, 'fulmen_handshakes_refused_total', refused)).toBe(0)
    // Every block was acknowledged: the session's reveals, across its streams, all counted.
    const status = c.nodes()[0]!
    expect(status.acks?.verifiedUnits).toBe(256 * (SIZE / 2 ** 18))
    expect(status.acks?.acknowledgedUnits).toBe(256 * (SIZE / 2 ** 18))
  }, 240_000)
})

describe('a node refusing for load is busy, not failed', () => {
  let busy: NodeProcess
  let holder: FulmenClient

  beforeAll(async () => {
    // A node that holds one session at a time, held by another client's idle stream.
    const dataDir = join(dir, 'busy-node')
    const added = await runFulmen(['add', '--data-dir', dataDir, join(dir, 'content-0.bin')], {
      env: env(),
    })
    expect(added.code, added.stderr).toBe(0)
    busy = await startNode({ dataDir, env: env(), args: ['--max-sessions', '1'] })
    nodes.push(busy)
    holder = await createClient({ bootstrap: [wsAddressOf(busy)] })
    await (await holder.fetch(roots[0]!)).arrayBuffer()
  }, 60_000)

  afterAll(async () => {
    await holder.close()
  })

  test('another node serves; the busy one is neither failed nor penalised', async () => {
    const c = await client([busy, nodes[0]!], { order: 'given' })
    const events: FetchProgress[] = []
    const res = await c.fetch(roots[0]!, { onProgress: (e) => events.push(e) })
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(contents[0])
    expect(res.headers.get('x-fulmen-node')).toBe(nodes[0]!.peerId)
    expect(events.filter((e) => e.type === 'busy')).toMatchObject([
      { node: busy.peerId, failure: { code: 'SESSION_RESOURCES_UNAVAILABLE' } },
    ])
    expect(events.filter((e) => e.type === 'failover')).toEqual([])
    expect(c.nodes().find((s) => s.peer === busy.peerId)?.lastFailure).toBeUndefined()
  })

  test('with only the busy node, the fetch waits and completes once it has room', async () => {
    const c = await client([busy])
    let freed: Promise<void> | undefined
    const res = await c.fetch(roots[0]!, {
      onProgress: (e) => {
        if (e.type === 'busy') freed ??= holder.close()
      },
    })
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(contents[0])
    expect(freed).toBeDefined()
    await c.close()
  })

  test('a node busy past busyTimeoutMs: FETCH_ALL_NODES_FAILED, naming the refusal', async () => {
    const other = await createClient({ bootstrap: [wsAddressOf(busy)] })
    clients.push(other)
    await (await other.fetch(roots[0]!)).arrayBuffer()
    const c = await client([busy], { busyTimeoutMs: 300 })
    const error = await c.fetch(roots[0]!).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect(error).toMatchObject({
      code: 'FETCH_ALL_NODES_FAILED',
      failures: [{ node: busy.peerId, code: 'SESSION_RESOURCES_UNAVAILABLE' }],
    })
  })

  test('a fetch aborted while it waits for a stream leaves the queue; the rest complete', async () => {
    const c = await client(nodes.slice(0, 1))
    const controller = new AbortController()
    // Fetch 20 is queued behind the node's 8 streams when fetch 0's first block arrives.
    const abortOnFirstBlock = (e: FetchProgress) => {
      if (e.type === 'block') controller.abort(new Error('the page went away'))
    }
    const all = Array.from({ length: 24 }, (_, i) =>
      c
        .fetch(
          roots[i % CONTENTS]!,
          i === 20
            ? { signal: controller.signal }
            : i === 0
              ? { onProgress: abortOnFirstBlock }
              : {},
        )
        .then(async (res) => new Uint8Array(await res.arrayBuffer())),
    )
    const results = await Promise.allSettled(all)
    expect(results[20]).toMatchObject({
      status: 'rejected',
      reason: { message: 'the page went away' },
    })
    for (const [i, r] of results.entries()) {
      if (i === 20) continue
      expect(r.status).toBe('fulfilled')
      expect(
        Buffer.compare((r as PromiseFulfilledResult<Uint8Array>).value, contents[i % CONTENTS]!),
      ).toBe(0)
    }
  })
})
