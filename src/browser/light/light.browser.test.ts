/**
 * The light client in real Chromium (`fulmen/light`): its worker syncs from a chain gateway
 * (the project's global setup: a signed checkpoint over a real executor's state), keeps the
 * verified head in IndexedDB, and answers node records and entries proven at the head. A
 * forged checkpoint and a forged proof are refused with their codes, typed across the worker
 * boundary. It checks a settlement's DA batch proofs in the worker (real proofs). The browser
 * client with `chain` refuses the unstaked node (CLIENT_NOT_STAKED) and fetches from the
 * staked one.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, describe, expect, inject, test } from 'vitest'
import fixture from '../../acks/testing/da-batch-fixture.json' with { type: 'json' }
import { nodeKeyOfPeer } from '../../client/chain-vetter.ts'
import { FetchError } from '../../client/errors.ts'
import { LightError } from '../../light/errors.ts'
import type { LightProgress } from '../../light/light-sync.ts'
import { StateError } from '../../state/errors.ts'
import { nodeTx, testAccount, testNode } from '../../state/testing/chain-fixture.ts'
import { TransactionError } from '../../state/transaction.ts'
import { type BrowserClient, createClient } from '../client.ts'
import '../testing/network.ts'
import { LightWorkerError } from './errors.ts'
import { type BrowserLightClient, createLightClient, type LightClientOptions } from './light.ts'

const network = inject('network')
const { chain } = network
const opened: (BrowserLightClient | BrowserClient)[] = []
let databases = 0
/** A database of its own per client, unless one is shared on purpose. */
const freshDatabase = () => `fulmen-light-test-${Date.now()}-${databases++}`

async function light(options: Partial<LightClientOptions> = {}) {
  const c = await createLightClient({
    genesis: chain.genesis,
    gateways: [chain.honest],
    database: freshDatabase(),
    ...options,
  })
  opened.push(c)
  return c
}

async function rejection<T extends Error>(
  p: Promise<unknown>,
  type: abstract new (...a: never[]) => T,
) {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(e).toBeInstanceOf(type)
  return e as T
}

afterAll(async () => {
  await Promise.allSettled(opened.map((c) => c.close()))
})

describe('fulmen/light in a worker', () => {
  test('syncs from genesis with progress; the head is kept in IndexedDB', async () => {
    const database = freshDatabase()
    const events: LightProgress[] = []
    const a = await light({ database, onProgress: (p) => events.push(p) })
    expect((await a.head()).height).toBe(0)
    const result = await a.sync()
    expect(result).toMatchObject({ epoch: 0, height: chain.headHeight, checkpoints: 1 })
    expect(result.source).toBe(chain.honest)
    expect(events.map((e) => [e.epoch, e.height])).toEqual([[0, chain.headHeight]])
    const head = await a.head()
    expect([head.epoch, head.height]).toEqual([0, chain.headHeight])
    expect(head.stateRoot).toEqual(result.stateRoot)
    await a.close()
    // Another client of the same database starts from the verified head, not genesis.
    const b = await light({ database })
    expect((await b.head()).height).toBe(chain.headHeight)
  })

  test('a node record proven at the head: staked by peer id, unregistered, by key hex', async () => {
    const c = await light()
    const staked = await c.nodeRecord(chain.stakedPeer)
    expect(staked).toMatchObject({
      registered: true,
      staked: true,
      active: true,
      member: false,
      epoch: 0,
      height: chain.headHeight,
      reputation: undefined,
    })
    expect(typeof staked.stake).toBe('bigint')
    expect(staked.nodeKey).toEqual(nodeKeyOfPeer(chain.stakedPeer))
    const other = await c.nodeRecord(chain.unstakedPeer)
    expect(other).toMatchObject({ registered: false, staked: false, active: false })
    const byHex = await c.nodeRecord(bytesToHex(nodeKeyOfPeer(chain.stakedPeer)!))
    expect(byHex.staked).toBe(true)
  })

  test('verify: an entry proven at the head, decoded; absent is proven too', async () => {
    const c = await light()
    const key = bytesToHex(nodeKeyOfPeer(chain.stakedPeer)!)
    const node = await c.verify('nodes', key)
    expect(node).toMatchObject({ table: 'nodes', key, height: chain.headHeight })
    expect(node.value).toBeInstanceOf(Uint8Array)
    expect(node.entry).toMatchObject({ addresses: [] })
    const absent = await c.verify('nodes', bytesToHex(nodeKeyOfPeer(chain.unstakedPeer)!))
    expect([absent.value, absent.entry]).toEqual([undefined, null])
  })

  test('a forged checkpoint: LIGHT_NO_SOURCE naming CHECKPOINT_SIGNATURE, typed', async () => {
    const c = await light({ gateways: [chain.forgedCheckpoint] })
    const e = await rejection(c.sync(), LightError)
    expect(e.code).toBe('LIGHT_NO_SOURCE')
    const failures = (e.details as { failures: { source: string; code: string }[] }).failures
    expect(failures.map((f) => [f.source, f.code])).toEqual([
      [chain.forgedCheckpoint, 'CHECKPOINT_SIGNATURE'],
    ])
    // Nothing forged was taken: the head is still genesis.
    expect((await c.head()).height).toBe(0)
  })

  test('a forged proof: LIGHT_NO_SOURCE naming LIGHT_PROOF_INVALID; an honest gateway next serves', async () => {
    const c = await light({ gateways: [chain.forgedProof] })
    await c.sync()
    const e = await rejection(c.nodeRecord(chain.stakedPeer), LightError)
    expect(e.code).toBe('LIGHT_NO_SOURCE')
    const failures = (e.details as { failures: { code: string }[] }).failures
    expect(failures.map((f) => f.code)).toEqual(['LIGHT_PROOF_INVALID'])
    const both = await light({ gateways: [chain.forgedProof, chain.honest] })
    expect((await both.nodeRecord(chain.stakedPeer)).staked).toBe(true)
  })

  test('bad arguments and a closed client are typed errors', async () => {
    const c = await light()
    expect((await rejection(c.verify('nope' as never, 'x'), StateError)).code).toBe(
      'STATE_INVALID_ARGUMENT',
    )
    expect((await rejection(c.nodeRecord('not a peer'), StateError)).code).toBe(
      'STATE_INVALID_ARGUMENT',
    )
    await c.close()
    expect((await rejection(c.head(), LightWorkerError)).code).toBe('LIGHT_WORKER_CLOSED')
    // A genesis that is not one fails the start, typed.
    await rejection(light({ genesis: '{}' }), StateError)
  })

  test('a settlement’s batch proofs checked in the worker; bytes that are not one, typed', async () => {
    const c = await light()
    const batches = fixture.batches.map((b) => ({
      claims: b.claims.map(hexToBytes),
      proof: hexToBytes(b.proof),
    }))
    const claims = batches.flatMap((b) => b.claims)
    const node = testNode('n0', testAccount('operator'))
    const submit = (proofs: Uint8Array[]) =>
      nodeTx(node, 0, { type: 'SubmitDeliveryClaims', claims, proofs })
    const checks = await c.checkClaimBatches(submit(batches.map((b) => b.proof)))
    expect(checks.map((b) => [b.claims, b.valid, b.code])).toEqual([
      [5, true, undefined],
      [2, true, undefined],
    ])
    for (const b of checks) {
      expect(b.batch).toMatch(/^[0-9a-f]{64}$/)
      expect(b.ms).toBeGreaterThan(0)
    }
    // The proofs swapped: each a sound proof of the other batch.
    const swapped = await c.checkClaimBatches(submit(batches.map((b) => b.proof).reverse()))
    expect(swapped.map((b) => [b.valid, b.code])).toEqual([
      [false, 'ACK_PROOF_INVALID'],
      [false, 'ACK_PROOF_INVALID'],
    ])
    const e = await rejection(c.checkClaimBatches(new Uint8Array([1, 2, 3])), TransactionError)
    expect(e.code).toBe('TX_MALFORMED')
    expect(
      (await rejection(c.checkClaimBatches(nodeTx(node, 0, { type: 'OptIn' })), StateError)).code,
    ).toBe('STATE_INVALID_ARGUMENT')
    // The worker is still there.
    expect((await c.head()).height).toBe(0)
  })

  test('an aborted sync rejects with the reason', async () => {
    const c = await light()
    const controller = new AbortController()
    const syncing = c.sync({ signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(syncing).rejects.toThrow('stop')
    // The walk itself went on: a later sync ends at the head.
    expect((await c.sync()).height).toBe(chain.headHeight)
  })
})

describe('the browser client with chain.verifyChain', () => {
  test('the unstaked node is refused, though it serves the same bytes; the staked one serves', async () => {
    // The unstaked node first in the given order.
    const c = await createClient({
      bootstrap: [network.nodes[1]!, network.nodes[0]!],
      keyDatabase: false,
      order: 'given',
      // The default database: the genesis's own, shared with fulmen/light below.
      chain: { genesis: chain.genesis, gateways: [chain.honest] },
    })
    opened.push(c)
    const res = await c.fetch(network.images[0]!.hex)
    expect(res.headers.get('x-fulmen-node')).toBe(chain.stakedPeer)
    expect((await res.arrayBuffer()).byteLength).toBe(network.images[0]!.size)
    const nodes = await c.status()
    const refused = nodes.find((n) => n.peer === chain.unstakedPeer)!
    expect(refused.lastFailure?.code).toBe('CLIENT_NOT_STAKED')
    expect(refused.session).toBe(false)
    expect(nodes.find((n) => n.peer === chain.stakedPeer)!.vetting).toMatchObject({
      staked: true,
      epoch: 0,
      height: chain.headHeight,
    })
    // The client worker's light client kept its verified head in the genesis's database.
    const shared = await light({ database: undefined })
    expect((await shared.head()).height).toBe(chain.headHeight)
  })

  test('a forging gateway: no node is vetted, the fetch fails typed with each node', async () => {
    const c = await createClient({
      bootstrap: network.nodes,
      keyDatabase: false,
      chain: { genesis: chain.genesis, gateways: [chain.forgedCheckpoint], database: false },
    })
    opened.push(c)
    const e = await rejection(c.fetch(network.images[1]!.hex), FetchError)
    expect(e.code).toBe('FETCH_ALL_NODES_FAILED')
    expect(e.failures.map((f) => f.code)).toEqual([
      'CLIENT_CHAIN_UNVERIFIED',
      'CLIENT_CHAIN_UNVERIFIED',
    ])
  })
})
