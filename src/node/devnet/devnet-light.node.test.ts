/**
 * The light client (src/light) against a real committee devnet: four committee nodes, two edge
 * nodes and one unstaked node (`--unstaked 1`: a full node outside the genesis), seven
 * `fulmen node start` processes started by the devnet runner, with 8 s epochs so that the beacon
 * redraws the committee several times while the file runs. One devnet serves every test.
 *
 * - A client that trusts only DIR/genesis.json walks the checkpoints the nodes serve through the
 *   committee rotations and ends on the root every full node has at the head checkpoint's height;
 *   a devnet node's record is proven staked and active, the unstaked node's is not.
 * - A tampering proxy in front of one node's gateway rewrites what it serves (a checkpoint's
 *   root or signature, a handoff dropped, another epoch's committee, a run of another devnet, a
 *   state value or height swapped): alone it makes the client fail with the forgery's code and
 *   keep what it had; first before an honest node it is dropped and the client ends on the
 *   honest head. And for random mutations of the served runs (fast-check, fixed seed) the client
 *   rejects or ends on the honest chain's root, never another.
 * - Later the client syncs again from where it was and moves forward.
 *
 * A failing test prints each node's log tail and keeps the devnet directory.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import {
  type CheckpointAnchor,
  type CheckpointRunJson,
  checkpointHash,
  checkpointRunToJson,
  committeeKeysHash,
  decodeSignedCheckpoint,
  encodeSignedCheckpoint,
  genesisAnchor,
} from '../../checkpoint/index.ts'
import { signByCommittee } from '../../checkpoint/testing/checkpoint-fixture.ts'
import { FULMEN_CLI, waitFor } from '../../devnet/processes.ts'
import { httpLightSource, LightClient, LightError, LightSync } from '../../light/index.ts'
import { parseGenesis } from '../../state/genesis.ts'
import { chainClient, type HeadJson } from '../cli/chain-client.ts'
import { type DevnetLayout, prepareDevnet } from './devnet-genesis.ts'
import { DEVNET_FILE, NODE_LOG, type RunningDevnet, startDevnet } from './devnet-runner.ts'

const EPOCH_MS = 8000
const STAKED = ['node-1', 'node-2', 'node-3', 'node-4', 'edge-1', 'edge-2']
const ALL = [...STAKED, 'unstaked-1']
/** Where block roots are read (every node holds the same blocks). */
const BLOCKS = 'node-1'
/**
 * The node the tampering proxy stands in front of, and an honest one to fail over to: the two
 * staked nodes serving the most handoffs when the proxy tests start. (A node that followed when a
 * handoff was made may lack its aggregate and serve a run that ends before it: see the report.)
 */
let PROXIED = ''
let HONEST = ''

interface Net {
  readonly dir: string
  readonly layout: DevnetLayout
  readonly running: RunningDevnet
  readonly gateways: ReadonlyMap<string, string>
  readonly genesis: CheckpointAnchor
}

let net: Net | undefined
let failed = 0
const gw = (name: string) => net!.gateways.get(name)!
const nodeKey = (name: string) => net!.layout.nodes.find((n) => n.name === name)!.identity.nodeKey
const stripHex = (s: string) => s.replace(/^0x/, '')

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fulmen-devnet-light-'))
  const layout = await prepareDevnet({ dir, nodes: 4, edge: 2, unstaked: 1, epochMs: EPOCH_MS })
  const running = await startDevnet({
    layout,
    consensus: 'committee',
    cli: FULMEN_CLI,
    env: { XDG_DATA_HOME: join(dir, 'xdg'), NODE_OPTIONS: '', VITEST: '' },
    timeoutMs: 100_000,
  })
  const gateways = new Map(running.description.nodes.map((n) => [n.name, n.gateway]))
  const genesis = await genesisAnchor(parseGenesis(readFileSync(layout.genesisPath, 'utf8')))
  net = { dir, layout, running, gateways, genesis }
}, 150_000)

afterAll(async () => {
  if (net === undefined) return
  await net.running.stop(10_000)
  if (failed > 0) process.stderr.write(`devnet kept for its logs: ${net.dir}\n`)
  else rmSync(net.dir, { recursive: true, force: true })
}, 60_000)

afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail' || net === undefined) return
  failed++
  for (const node of net.layout.nodes) {
    let text = ''
    try {
      text = readFileSync(join(node.dataDir, NODE_LOG), 'utf8')
    } catch {}
    const tail = text.trimEnd().split('\n').slice(-30).join('\n')
    process.stderr.write(`--- ${node.name} ---\n${tail}\n`)
  }
})

async function head(name: string): Promise<HeadJson> {
  return chainClient(gw(name), 5000).head()
}

/** The state root of block `height` as node `name` holds it (waits until it has it). */
async function rootAt(name: string, height: number): Promise<string> {
  await waitFor(
    () =>
      head(name).then(
        (h) => h.height >= height,
        () => false,
      ),
    `${name} at height ${height}`,
    60_000,
    250,
  )
  const block = (await chainClient(gw(name), 5000).block(height)) as {
    header: { height: number; stateRoot: string }
  }
  expect(block.header.height).toBe(height)
  return stripHex(block.header.stateRoot)
}

const fromGenesis = () => LightClient.fromGenesis(net!.genesis)
const source = (name: string) => httpLightSource(gw(name), fetch, { timeoutMs: 10_000 })
const honest = () => source(HONEST)
/** Every staked node as a source: a sync asks each once and follows the one furthest on. */
const allStaked = () => STAKED.map(source)

/** Sorted hex keys, to compare committees as sets. */
const keySet = (keys: readonly Uint8Array[]) =>
  keys
    .map((k) => bytesToHex(k))
    .sort()
    .join()

// --- the light client follows the devnet ------------------------------------------------------

/** The client test 1 synced; the last test syncs it again. */
let followed: LightSync | undefined

describe('a light client on a committee devnet (4 committee, 2 edge, 1 unstaked; 8 s epochs)', () => {
  test('from the genesis file it follows the committee rotations to the root every full node has', async () => {
    const n = net!
    const genesisMembers = keySet(n.layout.genesis.committee)
    // The devnet at epoch 3 or beyond, with a committee other than the genesis's drawn on the way.
    let rotated: number | undefined
    await waitFor(
      async () => {
        const h = await head('node-1').catch(() => undefined)
        if (h === undefined) return false
        for (let e = 1; e <= h.epoch && rotated === undefined; e++) {
          const c = await chainClient(gw('node-1'), 5000)
            .state('committees', String(e))
            .catch(() => undefined)
          const members = (c?.entry as { members?: string[] } | null)?.members
          if (members === undefined) continue
          const set = members.map(stripHex).sort().join()
          if (set !== genesisMembers) rotated = e
        }
        return rotated !== undefined && h.epoch >= Math.max(3, rotated + 1)
      },
      'the devnet at epoch 3 with a rotated committee',
      150_000,
      1000,
    )

    const client = fromGenesis()
    const light = new LightSync(client, allStaked())
    // The newest handoff is served once its committee's aggregate is in: sync until it is.
    const result = await waitFor(
      async () => {
        const r = await light.sync()
        return client.epoch >= Math.max(3, rotated!) && r
      },
      `a light sync to epoch ${Math.max(3, rotated!)}`,
      60_000,
      1000,
    )
    expect(light.dropped).toEqual([])
    // From the genesis anchor through every handoff to epoch 3 or beyond.
    expect(client.epoch).toBeGreaterThanOrEqual(3)
    expect(client.anchor.body.epoch).toBe(client.epoch)
    expect(client.accepted).toBeGreaterThanOrEqual(3)
    expect(result.stateRoot).toEqual(client.stateRoot)

    // Every full node, staked or not, holds that root at that height.
    const root = bytesToHex(client.stateRoot)
    for (const name of ALL) {
      expect({ name, root: await rootAt(name, client.height) }).toEqual({ name, root })
    }

    // The committees it walked through, proven at its head: one differs from the genesis's.
    const walked: string[] = []
    for (let e = 0; e <= client.epoch; e++) {
      const c = await light.committee(e)
      expect(c, `committee ${e}`).toBeDefined()
      walked.push(keySet(c!.members))
    }
    expect(walked[0]).toBe(genesisMembers)
    expect(walked.some((c) => c !== genesisMembers)).toBe(true)
    // And the head committee's BLS keys are the anchor's (the one the last handoff bound).
    expect(bytesToHex(committeeKeysHash(client.anchor.committee))).toBe(
      bytesToHex(client.anchor.body.nextCommittee),
    )

    // A devnet node is staked and active, proven at the head.
    for (const name of ['node-1', 'edge-2']) {
      const record = await light.nodeRecord(nodeKey(name))
      expect({
        name,
        registered: record.registered,
        staked: record.staked,
        active: record.active,
      }).toEqual({
        name,
        registered: true,
        staked: true,
        active: true,
      })
      expect(record.height).toBe(client.height)
      expect(record.stake).toBeGreaterThanOrEqual(record.minimumStake)
      expect(record.stake).toBeGreaterThan(0n)
      expect(bytesToHex(record.blsKey!)).toBe(
        bytesToHex(n.layout.nodes.find((x) => x.name === name)!.bls.publicKey),
      )
    }
    followed = light
  }, 240_000)

  test('the unstaked node follows and serves the chain, and the light client refuses it', async () => {
    const n = net!
    const description = JSON.parse(readFileSync(join(n.dir, DEVNET_FILE), 'utf8')) as {
      nodes: { name: string; role: string }[]
    }
    expect(description.nodes.map((x) => [x.name, x.role]).sort()).toEqual(
      [
        ...STAKED.map((x) => [x, x.startsWith('node-') ? 'committee' : 'edge']),
        ['unstaked-1', 'unstaked'],
      ].sort(),
    )
    const key = nodeKey('unstaked-1')
    expect(n.layout.genesis.nodes.some((x) => bytesToHex(x.key) === bytesToHex(key))).toBe(false)
    const h = await head('unstaked-1')
    expect(h.chainId).toBe(n.layout.genesis.chainId)
    // It follows: past the genesis, at the height a staked node had a moment ago.
    const target = (await head('node-1')).height
    await waitFor(
      () =>
        head('unstaked-1').then(
          (x) => x.height >= target,
          () => false,
        ),
      `unstaked-1 at height ${target}`,
      60_000,
      250,
    )
    const light = new LightSync(fromGenesis(), allStaked())
    await light.sync()
    const record = await light.nodeRecord(key)
    expect({ registered: record.registered, staked: record.staked, active: record.active }).toEqual(
      {
        registered: false,
        staked: false,
        active: false,
      },
    )
    const refused = await light.stakedNode(key).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(LightError)
    expect((refused as LightError).code).toBe('LIGHT_NOT_STAKED')
    // A light client may read the chain from it all the same: what it serves verifies (how far
    // it goes depends on the aggregates it got while following), and its state proofs check.
    const fromUnstaked = new LightSync(fromGenesis(), [source('unstaked-1')])
    await fromUnstaked.sync()
    expect(bytesToHex(fromUnstaked.client.stateRoot)).toBe(
      fromUnstaked.client.height === 0
        ? bytesToHex(n.genesis.body.stateRoot)
        : await rootAt(BLOCKS, fromUnstaked.client.height),
    )
    const own = await new LightSync(light.client, [source('unstaked-1')]).nodeRecord(key)
    expect(own.registered).toBe(false)
  }, 120_000)
})

// --- a tampering proxy ------------------------------------------------------------------------

type Tamper = (url: URL, body: string) => string | Promise<string>

interface TamperingProxy {
  readonly url: string
  /** How it rewrites a 200 answer (undefined: it forwards as is). */
  tamper: Tamper | undefined
  close(): Promise<void>
}

/** A node:http proxy in front of `upstream`'s gateway that rewrites what it answers. */
async function startProxy(upstream: string): Promise<TamperingProxy> {
  let server: Server
  const proxy: TamperingProxy = {
    url: '',
    tamper: undefined,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', upstream)
      try {
        const answer = await fetch(url, { signal: AbortSignal.timeout(10_000) })
        let body = await answer.text()
        const tamper = proxy.tamper
        if (answer.ok && tamper !== undefined) body = await tamper(url, body)
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(body)
      } catch (e) {
        res.writeHead(502, { 'content-type': 'text/plain' }).end((e as Error).message)
      }
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return Object.assign(proxy, { url: `http://127.0.0.1:${port}` })
}

type Item = CheckpointRunJson['checkpoints'][number]

const isRun = (url: URL) => url.pathname === '/chain/checkpoints'
const isState = (url: URL) => url.pathname.startsWith('/chain/state/')

/** A tamper that edits the items of every checkpoint run served. */
const onRuns =
  (edit: (items: Item[], url: URL) => Item[]): Tamper =>
  (url, body) => {
    if (!isRun(url)) return body
    const json = JSON.parse(body) as CheckpointRunJson
    return JSON.stringify({ checkpoints: edit([...json.checkpoints], url) })
  }

function flipByte(hex: string, index: number, bit = 0): string {
  const bytes = hexToBytes(hex)
  const i = ((index % bytes.length) + bytes.length) % bytes.length
  bytes[i]! ^= 1 << bit
  return bytesToHex(bytes)
}

/** The item re-encoded with a byte of its body's state root flipped (its signature kept). */
function withRootFlipped(item: Item): Item {
  const signed = decodeSignedCheckpoint(hexToBytes(item.checkpoint))
  const stateRoot = hexToBytes(flipByte(bytesToHex(signed.body.stateRoot), 7))
  const body = { ...signed.body, stateRoot }
  return { ...item, checkpoint: bytesToHex(encodeSignedCheckpoint({ ...signed, body })) }
}

/** The item re-encoded with a byte of its aggregate signature flipped. */
function withSignatureFlipped(item: Item): Item {
  const signed = decodeSignedCheckpoint(hexToBytes(item.checkpoint))
  const signature = hexToBytes(flipByte(bytesToHex(signed.signature), 20))
  return { ...item, checkpoint: bytesToHex(encodeSignedCheckpoint({ ...signed, signature })) }
}

/**
 * A valid run of another devnet (made here, keys only): its handoff into epoch 1, signed by its
 * genesis committee, binding the same committee again.
 */
async function otherDevnetRun(): Promise<{ anchor: CheckpointAnchor; json: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fulmen-devnet-other-'))
  try {
    const other = await prepareDevnet({ dir, nodes: 4, epochMs: EPOCH_MS })
    const anchor = await genesisAnchor(other.genesis)
    const byKey = new Map(other.nodes.map((x) => [bytesToHex(x.bls.publicKey), x.bls]))
    const committee = anchor.committee.map((k) => byKey.get(bytesToHex(k))!)
    const body = {
      chainId: anchor.body.chainId,
      epoch: 1,
      height: 40,
      stateRoot: anchor.body.stateRoot,
      previous: anchor.hash,
      nextCommittee: anchor.body.nextCommittee,
    }
    const run = [{ checkpoint: signByCommittee(committee, body), committee: anchor.committee }]
    // A true handoff of that devnet: its own genesis's client takes it.
    expect(LightClient.fromGenesis(anchor).applyRun(run)).toEqual({ applied: 1, handoffs: 1 })
    return { anchor, json: JSON.stringify(checkpointRunToJson(run)) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** What one forgery does and where the client's walk must stop (items before it verified). */
interface Forgery {
  readonly name: string
  /** Given the untouched run from epoch 0 and the index of the item it falsifies. */
  readonly tamper: (run: readonly Item[], at: number) => Promise<Tamper>
  /** The code the proxy is dropped with. */
  readonly code: RegExp
  /** Index in the run from epoch 0 of the first item it falsifies. */
  readonly at: (run: readonly Item[]) => number
}

/** The first handoff whose committee differs from the next handoff's (a rotation after it). */
function beforeRotation(run: readonly Item[]): number {
  const keys = (i: number) => run[i]?.committee?.join()
  for (let i = 0; keys(i + 1) !== undefined; i++) if (keys(i) !== keys(i + 1)) return i
  throw new Error('no two successive handoffs bind different committees')
}

describe('a tampering proxy in front of a node', () => {
  let proxy: TamperingProxy | undefined
  /** An honest client's head when the tests began: a client must reach at least it. */
  let honestHeight = 0

  beforeAll(async () => {
    const handoffs = await Promise.all(
      STAKED.map(async (name) => {
        const res = await fetch(`${gw(name)}/chain/checkpoints?from=0`)
        const run = (JSON.parse(await res.text()) as CheckpointRunJson).checkpoints
        return { name, handoffs: run.filter((x) => x.committee !== undefined).length }
      }),
    )
    // The most first, edge nodes before members at equal counts (a proxy before an edge node).
    const ranked = handoffs.sort(
      (a, b) =>
        b.handoffs - a.handoffs ||
        Number(b.name.startsWith('edge')) - Number(a.name.startsWith('edge')),
    )
    PROXIED = ranked[0]!.name
    HONEST = ranked[1]!.name
    if (ranked[1]!.handoffs < 2)
      throw new Error(
        `two nodes serving two handoffs or more are needed: ${JSON.stringify(ranked)}`,
      )
    proxy = await startProxy(gw(PROXIED))
    const ref = new LightSync(fromGenesis(), [honest()])
    await ref.sync()
    honestHeight = ref.client.height
  }, 60_000)
  afterAll(async () => {
    await proxy?.close()
  })

  /** The run the proxied node serves from epoch 0, untouched. */
  async function honestRun(): Promise<readonly Item[]> {
    const res = await fetch(`${gw(PROXIED)}/chain/checkpoints?from=0`)
    return (JSON.parse(await res.text()) as CheckpointRunJson).checkpoints
  }

  const forgeries: Forgery[] = [
    {
      name: "a byte of a handoff's state root flipped",
      tamper: async () =>
        onRuns((items) => items.map((x, i) => (i === 0 ? withRootFlipped(x) : x))),
      code: /^CHECKPOINT_SIGNATURE$/,
      at: () => 0,
    },
    {
      name: "a byte of a handoff's signature flipped",
      tamper: async () =>
        onRuns((items) => items.map((x, i) => (i === 1 ? withSignatureFlipped(x) : x))),
      code: /^CHECKPOINT_(SIGNATURE|MALFORMED)$/,
      at: () => 1,
    },
    {
      name: 'a handoff dropped from the run (a gap)',
      tamper: async () => onRuns((items) => items.filter((_, i) => i !== 1)),
      code: /^CHECKPOINT_(GAP|WRONG_COMMITTEE|SIGNATURE|QUORUM)$/,
      at: () => 1,
    },
    {
      name: "a handoff's committee keys replaced with the next epoch's",
      tamper: async (run, at) => {
        const next = run[at + 1]!.committee!
        return onRuns((items) => items.map((x, i) => (i === at ? { ...x, committee: next } : x)))
      },
      code: /^CHECKPOINT_WRONG_COMMITTEE$/,
      at: beforeRotation,
    },
    {
      name: 'a run of another devnet',
      tamper: async () => {
        const { json } = await otherDevnetRun()
        return (url, body) => (isRun(url) ? json : body)
      },
      code: /^CHECKPOINT_/,
      at: () => 0,
    },
  ]

  test.each(forgeries)(
    '$name: alone it fails with its code, the client keeps what verified; first, it is dropped for the honest node',
    async (f) => {
      const p = proxy!
      const run = await honestRun()
      const at = f.at(run)
      p.tamper = await f.tamper(run, at)
      // The checkpoint the walk must stop at: the last one before the forged item.
      const stop =
        at === 0
          ? net!.genesis.hash
          : checkpointHash(decodeSignedCheckpoint(hexToBytes(run[at - 1]!.checkpoint)).body)

      const alone = fromGenesis()
      const error = await new LightSync(alone, [httpLightSource(p.url, fetch)])
        .sync()
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LightError)
      expect((error as LightError).code).toBe('LIGHT_NO_SOURCE')
      const failures = (error as LightError).details?.failures as { code: string }[]
      expect(failures).toHaveLength(1)
      expect(failures[0]!.code).toMatch(f.code)
      expect(bytesToHex(alone.head.hash)).toBe(bytesToHex(stop))

      const client = fromGenesis()
      const light = new LightSync(client, [httpLightSource(p.url, fetch), honest()])
      await light.sync()
      expect(light.dropped).toEqual([p.url])
      expect(client.height).toBeGreaterThanOrEqual(honestHeight)
      expect(bytesToHex(client.stateRoot)).toBe(await rootAt(BLOCKS, client.height))
    },
    60_000,
  )

  test("a state answer with another entry's value, or of another height: refused; first, the proxy is dropped", async () => {
    const p = proxy!
    const client = fromGenesis()
    await new LightSync(client, [honest()]).sync()
    const before = bytesToHex(client.head.hash)
    const a = net!.layout.accounts[0]!
    // Another account with another balance (the demo accounts' are all alike): the operator's.
    const b = net!.layout.operator
    const reader = new LightSync(client, [honest()])
    const honestEntry = await reader.account(a.key.address)
    expect(honestEntry).toBeDefined()
    expect(await reader.account(b.key.address)).not.toEqual(honestEntry)
    const bKey = bytesToHex(b.key.address)
    const modes: [string, Tamper, string][] = [
      [
        "another account's value",
        async (url, body) => {
          if (!isState(url)) return body
          const other = new URL(url.pathname.replace(/[^/]+$/, bKey) + url.search, url)
          const swapped = (await (await fetch(other)).json()) as { value: string }
          return JSON.stringify({ ...JSON.parse(body), value: swapped.value })
        },
        'LIGHT_PROOF_INVALID',
      ],
      [
        'the entry of an earlier height',
        async (url, body) => {
          if (!isState(url)) return body
          const h = Number(url.searchParams.get('height'))
          const earlier = new URL(`${url.pathname}?height=${h - 1}`, url)
          return (await fetch(earlier)).text()
        },
        'LIGHT_WRONG_ROOT',
      ],
    ]
    for (const [name, tamper, code] of modes) {
      p.tamper = tamper
      const alone = new LightSync(client, [httpLightSource(p.url, fetch)])
      const error = await alone.account(a.key.address).catch((e: unknown) => e)
      expect(error, name).toBeInstanceOf(LightError)
      const failures = (error as LightError).details?.failures as { code: string }[]
      expect({ name, code: failures[0]?.code }).toEqual({ name, code })
      expect(bytesToHex(client.head.hash)).toBe(before)
      const both = new LightSync(client, [httpLightSource(p.url, fetch), honest()])
      expect(await both.account(a.key.address)).toEqual(honestEntry)
      expect(both.dropped).toEqual([p.url])
    }
  }, 60_000)

  test('random mutations of the served runs: the client rejects them or ends on the honest root, never another', async () => {
    const p = proxy!
    const mutation = fc.record({
      kind: fc.constantFrom('checkpoint', 'committee', 'drop', 'duplicate', 'swap', 'text'),
      item: fc.nat(),
      byte: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    })
    type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never
    const mutate =
      (m: Mutation): Tamper =>
      (url, body) => {
        if (!isRun(url)) return body
        if (m.kind === 'text') {
          const bytes = new TextEncoder().encode(body)
          bytes[m.byte % bytes.length]! ^= 1 << m.bit
          return new TextDecoder().decode(bytes)
        }
        const items = [...(JSON.parse(body) as CheckpointRunJson).checkpoints]
        if (items.length === 0) return body
        const i = m.item % items.length
        const x = items[i]!
        if (m.kind === 'drop') items.splice(i, 1)
        else if (m.kind === 'duplicate') items.splice(i, 0, x)
        else if (m.kind === 'swap' && items.length > 1) {
          const j = (i + 1) % items.length
          items[i] = items[j]!
          items[j] = x
        } else if (m.kind === 'committee' && x.committee !== undefined) {
          const k = m.byte % x.committee.length
          items[i] = {
            ...x,
            committee: x.committee.map((key, n) => (n === k ? flipByte(key, m.byte, m.bit) : key)),
          }
        } else items[i] = { ...x, checkpoint: flipByte(x.checkpoint, m.byte, m.bit) }
        return JSON.stringify({ checkpoints: items })
      }
    let rejected = 0
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        p.tamper = mutate(m)
        const alone = fromGenesis()
        const error = await new LightSync(alone, [httpLightSource(p.url, fetch)]).sync().then(
          () => undefined,
          (e: unknown) => e,
        )
        if (error !== undefined) {
          rejected++
          expect(error).toBeInstanceOf(LightError)
          const failures = (error as LightError).details?.failures as { code: string }[]
          expect(failures[0]!.code).toMatch(/^(CHECKPOINT|LIGHT)_/)
        }
        // Wherever it stopped, it is on the honest chain.
        const honestRoot =
          alone.height === 0
            ? bytesToHex(net!.genesis.body.stateRoot)
            : await rootAt(BLOCKS, alone.height)
        expect(bytesToHex(alone.stateRoot)).toBe(honestRoot)
        const client = fromGenesis()
        await new LightSync(client, [httpLightSource(p.url, fetch), honest()]).sync()
        expect(client.height).toBeGreaterThanOrEqual(honestHeight)
        expect(bytesToHex(client.stateRoot)).toBe(await rootAt(BLOCKS, client.height))
      }),
      { seed: 1717, numRuns: 20 },
    )
    // The mutations were forgeries, not no-ops, most of the time.
    expect(rejected).toBeGreaterThanOrEqual(10)
  }, 120_000)
})

describe('later', () => {
  test('the client of the first test syncs again from where it was and moves forward', async () => {
    const light = followed
    expect(light, 'the first test synced a client').toBeDefined()
    const { epoch, height } = light!.client
    const anchorBefore = light!.client.anchor.body.epoch
    await waitFor(
      async () => {
        await light!.sync()
        return light!.client.epoch > epoch
      },
      `a sync past epoch ${epoch}`,
      60_000,
      1000,
    )
    expect(light!.client.height).toBeGreaterThan(height)
    expect(light!.client.anchor.body.epoch).toBeGreaterThan(anchorBefore)
    expect(light!.dropped).toEqual([])
    const root = bytesToHex(light!.client.stateRoot)
    for (const name of ['node-1', 'edge-2']) {
      expect({ name, root: await rootAt(name, light!.client.height) }).toEqual({ name, root })
    }
  }, 90_000)
})
