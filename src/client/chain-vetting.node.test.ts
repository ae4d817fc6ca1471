/**
 * The client with `chain.verifyChain` against two real node processes that hold the same
 * content: a light client synced from a chain gateway (a signed checkpoint over a real
 * executor's state) proves node A staked and active, and node B not (unregistered, or below
 * the minimum stake). B is refused with CLIENT_NOT_STAKED before it is dialled, though it would
 * serve the right bytes, and A serves; with A gone too, the fetch fails naming both refusals.
 * A forging gateway leaves every node unvetted (CLIENT_CHAIN_UNVERIFIED). Ranking by verified
 * reputation with a vetter given (latency scaled by it; with order 'given', reputation first).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { checkpointRunToJson } from '../checkpoint/checkpoint-codec.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
  wsAddressOf,
} from '../devnet/processes.ts'
import { createClientLibp2p } from '../net/client-libp2p.ts'
import { libp2pDialer } from '../net/libp2p-dialer.ts'
import { printNodeLogsOnFailure } from '../node/testing/diagnostics.ts'
import { metricsOf, metricValue } from '../node/testing/http.ts'
import {
  lightNodeVetter,
  type NodeVetter,
  type NodeVetting,
  nodeKeyOfPeer,
} from './chain-vetter.ts'
import { type ClientOptions, createClient, type FulmenClient } from './client.ts'
import { ClientOptionsError, FetchError, NodeFailureError } from './errors.ts'
import {
  type ChainGateway,
  type ChainGatewayFixture,
  chainGatewayFixture,
} from './testing/chain-gateway.ts'

const SIZE = 3 * 256 * 1024 + 99
const content = pseudoRandomBytes(SIZE, 17)
let dir = ''
let hex = ''
const nodes: NodeProcess[] = []
const clients: FulmenClient[] = []
const gateways: ChainGateway[] = []
let fixture: ChainGatewayFixture
let honest: ChainGateway
/** Peer ids: A staked, B not registered. */
let peerA = ''
let peerB = ''

const peerOf = (address: string) => address.slice(address.lastIndexOf('/p2p/') + 5)

async function client(options: Omit<ClientOptions, 'bootstrap'>, bootstrap = nodes) {
  const c = await createClient({ bootstrap: bootstrap.map(wsAddressOf), ...options })
  clients.push(c)
  return c
}

async function bytesServed(node: NodeProcess): Promise<number> {
  return metricValue(await metricsOf(node.url), 'fulmen_bytes_served_total', { format: 'session' })
}

async function rejection<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T) {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(e).toBeInstanceOf(type)
  return e as T
}

printNodeLogsOnFailure(() => nodes)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-vetting-'))
  const env = { XDG_DATA_HOME: join(dir, 'xdg') }
  writeFileSync(join(dir, 'content.bin'), content)
  const dataDirs = [0, 1].map((i) => join(dir, `node-${i}`))
  const added = await Promise.all(
    dataDirs.map((d) => runFulmen(['add', '--data-dir', d, join(dir, 'content.bin')], { env })),
  )
  for (const a of added) expect(a.code, a.stderr).toBe(0)
  hex = added[0]!.stdout.slice(0, 64)
  nodes.push(...(await Promise.all(dataDirs.map((dataDir) => startNode({ dataDir, env })))))
  peerA = peerOf(wsAddressOf(nodes[0]!))
  peerB = peerOf(wsAddressOf(nodes[1]!))
  fixture = await chainGatewayFixture({ staked: [nodeKeyOfPeer(peerA)!] })
  honest = await fixture.serve()
  gateways.push(honest)
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
  await Promise.allSettled(nodes.map((n) => n.stop()))
  await Promise.allSettled(gateways.map((g) => g.close()))
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('verifyChain over real nodes', () => {
  test('the unstaked node is refused though it serves the right bytes; the staked one serves', async () => {
    const before = await bytesServed(nodes[1]!)
    // B first in the given order: without the chain it would serve.
    const c = await client(
      { order: 'given', chain: { genesis: fixture.genesisJson, gateways: [honest.url] } },
      [nodes[1]!, nodes[0]!],
    )
    const res = await c.fetch(hex)
    expect(res.headers.get('x-fulmen-node')).toBe(peerA)
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(content)
    const status = c.nodes()
    const a = status.find((n) => n.peer === peerA)!
    const b = status.find((n) => n.peer === peerB)!
    expect(a.vetting).toEqual({
      staked: true,
      reputation: undefined,
      epoch: 0,
      height: fixture.headHeight,
    })
    expect(b.vetting).toBeUndefined()
    expect(b.lastFailure?.code).toBe('CLIENT_NOT_STAKED')
    // Never dialled: no ping, no session, nothing served.
    expect(b.latencyMs).toBeUndefined()
    expect(b.session).toBe(false)
    expect(await bytesServed(nodes[1]!)).toBe(before)
    // The light client asked the gateway: the run, then A's and B's records at the head.
    expect(honest.requests[0]).toBe('/chain/checkpoints?from=0')
    expect(honest.requests.some((r) => r.includes(`height=${fixture.headHeight}`))).toBe(true)
  })

  test('the same bootstrap without the chain uses the unstaked node', async () => {
    const c = await client({ order: 'given' }, [nodes[1]!, nodes[0]!])
    const res = await c.fetch(hex)
    expect(res.headers.get('x-fulmen-node')).toBe(peerB)
    await res.arrayBuffer()
    expect(c.nodes().every((n) => n.vetting === undefined)).toBe(true)
  })

  test('no staked node left: the fetch fails with each refusal', async () => {
    const c = await client({ chain: { genesis: fixture.genesisJson, gateways: [honest.url] } }, [
      nodes[1]!,
    ])
    const e = await rejection(c.fetch(hex), FetchError)
    expect(e.code).toBe('FETCH_ALL_NODES_FAILED')
    expect(e.failures.map((f) => [f.node, f.code])).toEqual([[peerB, 'CLIENT_NOT_STAKED']])
  })

  test('a node registered under the minimum stake is refused too', async () => {
    const under = await chainGatewayFixture({
      staked: [nodeKeyOfPeer(peerA)!],
      underMinimum: [nodeKeyOfPeer(peerB)!],
    })
    const g = await under.serve()
    gateways.push(g)
    const c = await client({ chain: { genesis: under.genesis, gateways: [g.url] } })
    const res = await c.fetch(hex)
    expect(res.headers.get('x-fulmen-node')).toBe(peerA)
    await res.arrayBuffer()
    const b = c.nodes().find((n) => n.peer === peerB)!
    expect(b.lastFailure?.code).toBe('CLIENT_NOT_STAKED')
    expect(b.lastFailure?.message).toMatch(/not active in epoch 0/)
  })

  for (const forge of ['checkpoint', 'proof'] as const) {
    test(`a gateway that forges a ${forge}: no node is vetted, none used (CLIENT_CHAIN_UNVERIFIED)`, async () => {
      const liar = await fixture.serve(forge)
      gateways.push(liar)
      const c = await client({ chain: { genesis: fixture.genesisJson, gateways: [liar.url] } })
      const e = await rejection(c.fetch(hex), FetchError)
      expect(e.code).toBe('FETCH_ALL_NODES_FAILED')
      expect(new Set(e.failures.map((f) => f.code))).toEqual(new Set(['CLIENT_CHAIN_UNVERIFIED']))
      for (const n of c.nodes()) {
        expect(n.session).toBe(false)
        expect(n.lastFailure?.code).toBe('CLIENT_CHAIN_UNVERIFIED')
      }
    })
  }

  test('the honest gateway after a forging one: the node is vetted from it', async () => {
    const liar = await fixture.serve('checkpoint')
    gateways.push(liar)
    const c = await client({
      chain: { genesis: fixture.genesisJson, gateways: [liar.url, honest.url] },
    })
    const res = await c.fetch(hex)
    expect(res.headers.get('x-fulmen-node')).toBe(peerA)
    await res.arrayBuffer()
  })

  test('a trusted checkpoint: the light client walks from its epoch, not from genesis', async () => {
    // The fixture's state stays the genesis's, so its later epochs have no committees/<epoch>
    // entry: no node is active at this head, both are refused by a verified proof. What the
    // test shows is where the walk starts and that the head it reaches is the chain's.
    const long = await chainGatewayFixture({ staked: [nodeKeyOfPeer(peerA)!], epochs: 3 })
    const served = await long.serve()
    gateways.push(served)
    const trusted = checkpointRunToJson([long.handoffs[1]!]).checkpoints[0]!
    const chain = {
      genesis: long.genesisJson,
      gateways: [served.url],
      checkpoint: JSON.stringify(trusted),
    }
    const c = await client({ order: 'given', chain }, [nodes[1]!, nodes[0]!])
    const e = await rejection(c.fetch(hex), FetchError)
    expect(e.code).toBe('FETCH_ALL_NODES_FAILED')
    for (const n of c.nodes()) expect(n.lastFailure?.code).toBe('CLIENT_NOT_STAKED')
    // From the trusted handoff's epoch (2), not from genesis (0); then the records at the head.
    expect(served.requests[0]).toBe('/chain/checkpoints?from=2')
    expect(served.requests.some((r) => r.includes(`height=${long.headHeight}`))).toBe(true)
  })

  test('bad chain options are refused before anything starts', async () => {
    const otherChain = await chainGatewayFixture({ staked: [], epochs: 1 })
    const trusted = JSON.stringify(checkpointRunToJson([otherChain.handoffs[0]!]).checkpoints[0])
    const bad = [
      // Not a handoff; another chain's handoff for this genesis.
      { genesis: fixture.genesisJson, gateways: [honest.url], checkpoint: '{"checkpoint":"00"}' },
      {
        genesis: fixture.genesisJson.replace(/"chainId":\s*\d+/, '"chainId": 77'),
        gateways: [honest.url],
        checkpoint: trusted,
      },
      { genesis: fixture.genesisJson },
      { genesis: fixture.genesisJson, gateways: ['ftp://x'] },
      { genesis: '{not json', gateways: [honest.url] },
      { verifyChain: true, gateways: [honest.url] },
    ]
    for (const chain of bad) {
      const e = await rejection(
        createClient({ bootstrap: nodes.map(wsAddressOf), chain }),
        ClientOptionsError,
      )
      expect([e.code, e.option]).toEqual(['CLIENT_BAD_OPTION', 'chain'])
    }
  })
})

describe('ranking by verified reputation', () => {
  /** A vetter that vouches for both nodes with the given reputations. */
  const vetterOf = (reputation: Record<string, number | undefined>): NodeVetter => ({
    check: async (peer): Promise<NodeVetting> => ({
      staked: true,
      reputation: reputation[peer],
      epoch: 3,
      height: 300,
    }),
  })

  test('the higher reputation serves, whatever the order or latency', async () => {
    for (const [first, second] of [
      [peerA, peerB],
      [peerB, peerA],
    ] as const) {
      const c = await client({
        order: 'given',
        chain: { vetter: vetterOf({ [first]: 90, [second]: 10 }) },
      })
      // Given order A, B: B wins when it has the reputation.
      const res = await c.fetch(hex)
      expect(res.headers.get('x-fulmen-node')).toBe(first)
      await res.arrayBuffer()
      await c.close()
    }
  })

  test('no reputation counts as 0; equal reputations keep the order', async () => {
    const c = await client({ order: 'given', chain: { vetter: vetterOf({ [peerB]: 1 }) } })
    const res = await c.fetch(hex)
    expect(res.headers.get('x-fulmen-node')).toBe(peerB)
    await res.arrayBuffer()
    const same = await client({
      order: 'given',
      chain: { vetter: vetterOf({ [peerA]: 50, [peerB]: 50 }) },
    })
    const again = await same.fetch(hex)
    expect(again.headers.get('x-fulmen-node')).toBe(peerA)
    await again.arrayBuffer()
  })

  test('in latency order, latency scaled by reputation: a far better node may be a little farther', async () => {
    // Pings are the dialer's to say: the real dialer with fixed round trips.
    const libp2p = await createClientLibp2p()
    const base = libp2pDialer(libp2p)
    try {
      for (const [pingA, serves] of [
        [10, peerB], // A 10 ms × (2 − 0.1) = 19 against B 15 ms × (2 − 0.9) = 16.5
        [5, peerA], // A 5 ms × 1.9 = 9.5 against B 16.5
      ] as const) {
        const rtt: Record<string, number> = { [peerA]: pingA, [peerB]: 15 }
        const c = await client({
          dialer: {
            dial: (address, signal) => base.dial(address, signal),
            ping: async (address) => rtt[String(address).split('/p2p/').at(-1) ?? ''] ?? 1_000,
          },
          chain: { vetter: vetterOf({ [peerA]: 10, [peerB]: 90 }) },
        })
        await c.measure()
        const res = await c.fetch(hex)
        expect(res.headers.get('x-fulmen-node')).toBe(serves)
        await res.arrayBuffer()
        await c.close()
      }
    } finally {
      await libp2p.stop()
    }
  })

  test('verifyChain: false ignores the vetter', async () => {
    const c = await client({
      order: 'given',
      chain: { verifyChain: false, vetter: vetterOf({ [peerB]: 99 }) },
    })
    const res = await c.fetch(hex)
    expect(res.headers.get('x-fulmen-node')).toBe(peerA)
    await res.arrayBuffer()
  })
})

describe('the light vetter', () => {
  test('caches per peer per head epoch, and vets again when the epoch changes', async () => {
    let epoch = 1
    const asked: string[] = []
    const vetter = lightNodeVetter(
      {
        sync: async () => ({ epoch, height: epoch * 100 }),
        nodeRecord: async (nodeKey) => {
          asked.push(`${epoch}`)
          return {
            nodeKey,
            epoch,
            height: epoch * 100,
            registered: true,
            staked: epoch === 1,
            active: epoch === 1,
            member: false,
            stake: 1n,
            minimumStake: 1n,
            participation: 'true',
            addresses: [],
            blsKey: undefined,
            reputation: { score: 70, epoch },
          }
        },
      },
      { resyncMs: 0 },
    )
    expect(await vetter.check(peerA)).toEqual({
      staked: true,
      reputation: 70,
      epoch: 1,
      height: 100,
    })
    await vetter.check(peerA)
    expect(asked).toEqual(['1'])
    epoch = 2
    // The resync runs in the background: the check after it sees epoch 2 and refuses.
    await vetter.check(peerA)
    await new Promise((r) => setTimeout(r, 0))
    const e = await rejection(vetter.check(peerA), NodeFailureError)
    expect(e.code).toBe('CLIENT_NOT_STAKED')
    expect(e.details).toMatchObject({ peer: peerA, epoch: 2, registered: true, active: false })
    expect(asked).toEqual(['1', '2'])
  })

  test('a peer id with no Ed25519 key is refused without a question', async () => {
    const vetter = lightNodeVetter({
      sync: async () => ({ epoch: 0, height: 0 }),
      nodeRecord: () => Promise.reject(new Error('not asked')),
    })
    // A secp256k1 peer id.
    const e = await rejection(
      vetter.check('16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY'),
      NodeFailureError,
    )
    expect(e.code).toBe('CLIENT_NOT_STAKED')
  })
})
