/**
 * LightSync: a walk from genesis over sources, failing over from a lying or unreachable source
 * to the next (and LIGHT_NO_SOURCE when none is left), state queries proven at the head with
 * the same failover, node records, HTTP sources against a loopback server, and persistence in
 * a KvStore (memory and LevelDB): sync, reopen, continue from the stored anchor.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { checkpointHash, type ServedCheckpoint } from '../checkpoint/index.ts'
import {
  buildCheckpointChain,
  type CheckpointChainFixture,
} from '../checkpoint/testing/checkpoint-fixture.ts'
import { openLevelKvStore } from '../kv/level-kv-store.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { encodeCanonical } from '../state/cbor-shape.ts'
import type { StateExecutor } from '../state/executor.ts'
import { StateExecutor as Executor } from '../state/executor.ts'
import type { Genesis, TableName } from '../state/model.ts'
import { ONE_TOKEN } from '../state/model.ts'
import { parseTableKey } from '../state/tables.ts'
import { type TestChain, testChain } from '../state/testing/chain-fixture.ts'
import { LightError } from './errors.ts'
import { LightClient } from './light-client.ts'
import {
  encodeLightState,
  LIGHT_HEAD_KEY,
  loadLightHead,
  openLightClient,
  saveLightHead,
} from './light-head-store.ts'
import { httpLightSource, type LightProgress, type LightSource, LightSync } from './light-sync.ts'
import {
  memorySource,
  runFrom,
  type ServedChain,
  servedChainOf,
  servedState,
} from './testing/light-fixture.ts'
import { serveLightHttp } from './testing/light-http-server.ts'

let chain: TestChain
let genesis: Genesis
let executor: StateExecutor
let fixture: CheckpointChainFixture
let served: ServedChain
let root: Uint8Array

beforeAll(async () => {
  chain = testChain({ nodeCount: 2 })
  const [n0, n1] = chain.genesis.nodes as [Genesis['nodes'][0], Genesis['nodes'][0]]
  // Node 1 is registered with less than the minimum stake: not active, not staked.
  genesis = {
    ...chain.genesis,
    nodes: [n0, { ...n1, stake: 500n * ONE_TOKEN }],
    committee: [n0.key],
  }
  executor = await Executor.open(new MemoryKvStore(), genesis)
  root = executor.head.stateRoot
  fixture = buildCheckpointChain({
    epochs: 4,
    committeeSize: 4,
    insidePerEpoch: 2,
    stateRootAt: () => root,
    genesisRoot: root,
  })
  served = servedChainOf(fixture, 3)
})

const fresh = () => LightClient.fromGenesis(fixture.genesis)
const honestState = (table: TableName, key: Uint8Array, height: number) =>
  servedState(executor, table, key, height)
const decodeCbor = (b: Uint8Array) => dagCbor.decode(b) as Record<string, unknown>
const tailHeight = () => (served.tail as ServedCheckpoint).checkpoint.body.height

/** A served chain whose handoff into epoch `epoch` is replaced. */
function forgedAt(epoch: number): ServedChain {
  const handoffs = served.handoffs.map((h, i) => {
    if (i !== epoch - 1) return h
    const body = { ...h.checkpoint.body, stateRoot: new Uint8Array(32).fill(0xab) }
    return { ...h, checkpoint: { ...h.checkpoint, body } }
  })
  return { ...served, handoffs }
}

async function rejection(p: Promise<unknown>): Promise<LightError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(e).toBeInstanceOf(LightError)
  return e as LightError
}

describe('sync over sources', () => {
  test('from genesis to the head, in runs of two, with progress events', async () => {
    const source = memorySource('a', served, { run: (from) => runFrom(served, from, 2) })
    const events: LightProgress[] = []
    const light = new LightSync(fresh(), [source], { onProgress: (p) => events.push(p) })
    const result = await light.sync()
    expect(result).toMatchObject({ epoch: 3, height: tailHeight(), checkpoints: 4, source: 'a' })
    expect(result.stateRoot).toEqual(root)
    expect(source.asked).toEqual([0, 2, 3])
    expect(events.map((e) => [e.epoch, e.checkpoints])).toEqual([
      [2, 2],
      [3, 4],
    ])
    expect(light.failures).toEqual([])
    // Synced again: one question, the same tail again, nothing new.
    expect((await light.sync()).checkpoints).toBe(0)
    expect(source.asked).toEqual([0, 2, 3, 3])
    expect(light.client.verified).toBe(6)
  })

  test('a lying source first is dropped; the honest second one is used', async () => {
    const liar = memorySource('liar', forgedAt(1))
    const honest = memorySource('honest', served)
    const light = new LightSync(fresh(), [liar, honest])
    const result = await light.sync()
    expect(result.source).toBe('honest')
    expect(result.height).toBe(tailHeight())
    expect(light.dropped).toEqual(['liar'])
    expect(light.failures.map((f) => [f.source, f.code])).toEqual([
      ['liar', 'CHECKPOINT_SIGNATURE'],
    ])
    // A dropped source is not asked again.
    await light.sync()
    expect(liar.asked).toEqual([0])
  })

  test('a source that lies mid-walk: the next one continues from the last good handoff', async () => {
    const liar = memorySource('liar', forgedAt(2), { run: (from) => runFrom(forgedAt(2), from, 1) })
    const honest = memorySource('honest', served)
    const light = new LightSync(fresh(), [liar, honest])
    const result = await light.sync()
    expect(liar.asked).toEqual([0, 1])
    expect(honest.asked[0]).toBe(1)
    expect(result.checkpoints).toBe(4)
  })

  test('a source that withholds newer checkpoints: the next one, asked once, takes the walk on', async () => {
    // The first source answers as if it were at epoch 1: a run that stops, no error.
    const withholding = memorySource('withholding', served, {
      run: (from) => (from >= 1 ? [] : runFrom(served, from, 1)),
    })
    const honest = memorySource('honest', served)
    const light = new LightSync(fresh(), [withholding, honest])
    const result = await light.sync()
    expect(result).toMatchObject({ epoch: 3, height: tailHeight(), source: 'honest' })
    expect(result.checkpoints).toBe(4)
    expect(honest.asked[0]).toBe(1)
    expect(light.failures).toEqual([])
    // When the first is honest and up to date, the others are asked once and change nothing.
    const again = new LightSync(fresh(), [memorySource('a', served), memorySource('b', served)])
    expect(await again.sync()).toMatchObject({ source: 'a', checkpoints: 4 })
  })

  test('every source lying or failing: LIGHT_NO_SOURCE with each failure', async () => {
    const malformed: LightSource = {
      id: 'malformed',
      checkpoints: async () => {
        throw new LightError('LIGHT_SOURCE_FAILED', 'connection refused')
      },
      state: async () => ({}),
    }
    const light = new LightSync(fresh(), [
      memorySource('liar', forgedAt(1)),
      memorySource('gap', served, { run: () => [served.handoffs[1] as ServedCheckpoint] }),
      malformed,
    ])
    const e = await rejection(light.sync())
    expect(e.code).toBe('LIGHT_NO_SOURCE')
    const failures = (e.details as { failures: { source: string; code: string }[] }).failures
    expect(failures.map((f) => [f.source, f.code])).toEqual([
      ['liar', 'CHECKPOINT_SIGNATURE'],
      ['gap', 'CHECKPOINT_GAP'],
      ['malformed', 'LIGHT_SOURCE_FAILED'],
    ])
    expect(e.message).toMatch(/CHECKPOINT_SIGNATURE/)
    // Unreachable is not lying: asked again next time; the liars are not.
    expect(light.dropped).toEqual(['liar', 'gap'])
    expect(light.client.verified).toBe(0)
  })

  test('an aborted signal ends the sync with its reason and blames no source', async () => {
    const controller = new AbortController()
    const source = memorySource('a', served, {
      run: (from) => {
        controller.abort(new Error('stop'))
        return runFrom(served, from, 1)
      },
    })
    const light = new LightSync(fresh(), [source])
    await expect(light.sync(controller.signal)).rejects.toThrow('stop')
    expect(light.failures).toEqual([])
    expect(light.client.verified).toBe(0)
  })
})

describe('proven queries', () => {
  let light: LightSync
  let headInEpoch0: ServedChain
  beforeAll(async () => {
    // A head inside epoch 0, where the executor's state is (committees/0 is its committee).
    headInEpoch0 = servedChainOf(fixture, 0)
    expect(headInEpoch0.tail).toBeDefined()
    const flipper = memorySource('flipper', headInEpoch0, {
      state: async (table, key, height) => {
        const answer = await honestState(table, key, height)
        if (answer.value === null) return answer
        const flipped = (answer.value.startsWith('a') ? 'b' : 'a') + answer.value.slice(1)
        return { ...answer, value: flipped }
      },
    })
    const honest = memorySource('honest', headInEpoch0, { state: honestState })
    light = new LightSync(fresh(), [honest, flipper])
    await light.sync()
    // The flipper is asked first from here on.
    light = new LightSync(light.client, [flipper, honest])
  })

  test('an entry from a source whose proof fails comes from the next one', async () => {
    const account = await light.account(chain.alice.address)
    expect(account).toEqual(await executor.account(chain.alice.address))
    expect(light.failures.map((f) => [f.source, f.code])).toEqual([
      ['flipper', 'LIGHT_PROOF_INVALID'],
    ])
    expect(await light.account(new Uint8Array(20).fill(1))).toBeUndefined()
    expect((await light.committee(0))?.members).toEqual(genesis.committee)
  })

  test('node records: staked and active, registered below the minimum, unknown', async () => {
    const [n0, n1] = genesis.nodes as [Genesis['nodes'][0], Genesis['nodes'][0]]
    const staked = await light.stakedNode(n0.key)
    expect(staked).toMatchObject({
      registered: true,
      staked: true,
      active: true,
      member: true,
      stake: 2000n * ONE_TOKEN,
      minimumStake: 1000n * ONE_TOKEN,
      addresses: n0.addresses,
      participation: 'true',
      epoch: 0,
      height: light.client.height,
      reputation: undefined,
    })
    expect(staked.blsKey).toEqual(n0.blsKey)
    const low = await light.nodeRecord(n1.key)
    expect(low).toMatchObject({ registered: true, staked: false, active: false, member: false })
    expect((await rejection(light.stakedNode(n1.key))).code).toBe('LIGHT_NOT_STAKED')
    const unknown = await light.nodeRecord(new Uint8Array(32).fill(3))
    expect(unknown).toMatchObject({ registered: false, staked: false, addresses: [] })
  })

  test('every source failing a proof: LIGHT_NO_SOURCE', async () => {
    const wrongRoot = memorySource('stale', headInEpoch0, {
      state: async (table, key, height) => ({
        ...(await honestState(table, key, height)),
        height: 1,
      }),
    })
    const only = new LightSync(light.client, [wrongRoot])
    const e = await rejection(only.account(chain.alice.address))
    expect(e.code).toBe('LIGHT_NO_SOURCE')
    expect(e.message).toMatch(/LIGHT_WRONG_ROOT/)
  })
})

describe('HTTP sources', () => {
  const servers: { close(): Promise<void> }[] = []
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  async function node(options: Parameters<typeof serveLightHttp>[0]) {
    const server = await serveLightHttp(options)
    servers.push(server)
    return server
  }

  const stateRoute = async (table: string, keyText: string, height: number) =>
    honestState(table as TableName, parseTableKey(table as TableName, keyText), height)

  test('a node whose run is not JSON is dropped; the next serves the walk and proofs', async () => {
    const broken = await node({ run: () => [], rawRun: () => '{"checkpoints": [' })
    const down = await node({ run: () => [] })
    await down.close()
    const good = await node({ run: (from) => runFrom(served, from, 2), state: stateRoute })
    const light = new LightSync(fresh(), [
      httpLightSource(broken.url),
      httpLightSource(`${down.url}/`),
      httpLightSource(good.url),
    ])
    const result = await light.sync()
    expect(result).toMatchObject({ epoch: 3, height: tailHeight(), source: good.url })
    // The down node is passed over twice: in the walk, and when asked whether it is ahead.
    expect(light.failures.map((f) => f.code)).toEqual([
      'CHECKPOINT_MALFORMED',
      'LIGHT_SOURCE_FAILED',
      'LIGHT_SOURCE_FAILED',
    ])
    expect(good.requests).toEqual([
      '/chain/checkpoints?from=0',
      '/chain/checkpoints?from=2',
      '/chain/checkpoints?from=3',
    ])
    const params = await light.entry('params', new TextEncoder().encode('minimumNodeStake'))
    expect(params?.value).toBe(1000n * ONE_TOKEN)
    expect(good.requests.at(-1)).toBe(`/chain/state/params/minimumNodeStake?height=${tailHeight()}`)
    expect(await light.committee(0)).toBeDefined()
    expect(good.requests.at(-1)).toBe(`/chain/state/committees/0?height=${tailHeight()}`)
  })

  test('error answers are LIGHT_SOURCE_FAILED with the node code; too large answers too', async () => {
    const none = await node({ run: (from) => runFrom(served, from), state: async () => undefined })
    const light = new LightSync(fresh(), [httpLightSource(none.url)])
    await light.sync()
    const e = await rejection(light.account(chain.alice.address))
    expect(e.code).toBe('LIGHT_NO_SOURCE')
    expect(e.message).toMatch(/404 CHAIN_STATE_UNAVAILABLE/)
    expect(light.dropped).toEqual([])
    const tiny = new LightSync(fresh(), [httpLightSource(none.url, fetch, { maxBytes: 100 })])
    expect((await rejection(tiny.sync())).message).toMatch(/over 100 bytes/)
  })
})

describe('persistence', () => {
  async function syncStoreReopen(open: () => Promise<import('../kv/kv-store.ts').KvStore>) {
    const short = servedChainOf(fixture, 2)
    let store = await open()
    const first = await openLightClient(store, fixture.genesis)
    expect(first.height).toBe(0)
    await new LightSync(first, [memorySource('a', short)], { store }).sync()
    const heightAfterFirst = first.height
    expect(first.epoch).toBe(2)
    await store.close()

    store = await open()
    const restored = await openLightClient(store, fixture.genesis)
    expect(restored.epoch).toBe(2)
    expect(restored.height).toBe(heightAfterFirst)
    expect(restored.anchor.hash).toEqual(first.anchor.hash)
    expect(restored.head.hash).toEqual(first.head.hash)
    const source = memorySource('b', served)
    const result = await new LightSync(restored, [source], { store }).sync()
    expect(source.asked[0]).toBe(2)
    expect(result).toMatchObject({ epoch: 3, height: tailHeight(), checkpoints: 2 })
    await store.close()
    store = await open()
    expect((await loadLightHead(store, fixture.genesis))?.height).toBe(tailHeight())
    await store.close()
  }

  test('MemoryKvStore: sync, reopen, continue from the stored anchor', async () => {
    const memory = new MemoryKvStore()
    // Reopening a MemoryKvStore is handing the same one back (closing it would empty it).
    let closed = false
    const store = new Proxy(memory, {
      get: (target, p, receiver) =>
        p === 'close'
          ? async () => {
              closed = true
            }
          : Reflect.get(target, p, receiver),
    })
    await syncStoreReopen(async () => store)
    expect(closed).toBe(true)
  })

  test('LevelKvStore in a temporary directory: sync, reopen, continue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fulmen-light-'))
    try {
      await syncStoreReopen(() => openLevelKvStore({ dir }))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a corrupt record, another genesis, an inconsistent head: refused with their codes', async () => {
    const store = new MemoryKvStore()
    const client = fresh()
    client.applyRun(runFrom(served, 0))
    await saveLightHead(store, client)
    const other = buildCheckpointChain({ epochs: 1, committeeSize: 4, chainId: 8 })
    expect((await rejection(loadLightHead(store, other.genesis))).code).toBe(
      'LIGHT_STORE_OTHER_CHAIN',
    )
    const state = client.state
    const inside = fixture.served.find(
      (x) => x.committee === undefined && x.checkpoint.body.epoch === 1,
    ) as ServedCheckpoint
    const bytes = encodeLightState(state)
    const bad: [string, Uint8Array][] = [
      ['truncated', bytes.slice(0, -1)],
      ['not CBOR', new Uint8Array([0xff, 0x00])],
      ['an extra field', encodeCanonical({ ...decodeCbor(bytes), extra: 1 })],
      [
        'committee keys the anchor does not bind',
        encodeLightState({
          ...state,
          anchor: { ...state.anchor, committee: [...state.anchor.committee].reverse() },
        }),
      ],
      [
        'a head outside the anchor epoch',
        encodeLightState({
          ...state,
          head: { body: inside.checkpoint.body, hash: checkpointHash(inside.checkpoint.body) },
        }),
      ],
      [
        'a head of another chain',
        encodeLightState({
          ...state,
          head: { body: { ...state.head.body, chainId: 8 }, hash: state.head.hash },
        }),
      ],
      ['version 2', encodeCanonical({ ...decodeCbor(bytes), v: 2 })],
    ]
    for (const [what, record] of bad) {
      await store.put(LIGHT_HEAD_KEY, record)
      const e = await rejection(loadLightHead(store, fixture.genesis))
      expect(e.code, what).toBe('LIGHT_STORE_CORRUPT')
    }
    await store.put(LIGHT_HEAD_KEY, encodeCanonical({ v: 2 }))
    expect((await rejection(loadLightHead(store, fixture.genesis))).code).toBe(
      'LIGHT_STORE_CORRUPT',
    )
  })
})
