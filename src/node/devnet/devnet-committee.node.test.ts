/**
 * A real committee devnet (`--consensus committee`): four committee full nodes ordering with
 * Narwhal + Bullshark and two edge nodes, six `fulmen node start` processes on loopback started
 * by the devnet runner, and signed transfers of the devnet's demo accounts sent to their gateways
 * (`POST /chain/tx`, as `fulmen tx transfer` does). Checked from the outside only, over HTTP:
 *
 * - transactions sent to an edge node (which forwards them to the committee) execute once, and
 *   every node holds the same blocks (hashes) and the same state root at a common height;
 * - SIGKILL of one committee member while transactions flow: the other three keep committing;
 *   the member restarted (same data dir, same command line) catches up to the others' root and
 *   orders again (a transaction sent to it executes);
 * - short epochs while transactions flow to every node: the beacon draws the next committees
 *   (4 of the 6 active nodes), every transaction executes exactly once, every node ends on the
 *   same root.
 *
 * Each sender has one transaction in flight at a time (its nonce follows the last executed
 * one); concurrency comes from several senders. A failing test prints each node's log tail.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { FULMEN_CLI, waitFor } from '../../devnet/processes.ts'
import { encodeTransaction, signAccountTransaction } from '../../state/transaction.ts'
import { ChainClientError, chainClient, GatewayError, type HeadJson } from '../cli/chain-client.ts'
import { type AccountKey, readAccountKeyFile } from '../key-files.ts'
import { type DevnetLayout, prepareDevnet } from './devnet-genesis.ts'
import { NODE_LOG, type RunningDevnet, startDevnet } from './devnet-runner.ts'

const SENDERS = 6
/** Failed tests so far: their devnet directories are kept. */
let failures = 0
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Net {
  readonly dir: string
  readonly layout: DevnetLayout
  readonly running: RunningDevnet
  /** Node name → gateway. */
  readonly gateways: ReadonlyMap<string, string>
  readonly senders: readonly AccountKey[]
  /** Each sender's next nonce (its transactions execute one after another). */
  readonly nonces: number[]
  /** Every digest this test saw executed, with the node it was sent to. */
  readonly sent: Map<string, string>
}

async function startNet(
  prefix: string,
  epochMs: number,
  chainEnv: Record<string, string> = {},
): Promise<Net> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const layout = await prepareDevnet({ dir, nodes: 4, edge: 2, epochMs, demoAccounts: SENDERS })
  const running = await startDevnet({
    layout,
    consensus: 'committee',
    cli: FULMEN_CLI,
    // No data of a real node is touched; the nodes log at info into their node.log.
    env: { XDG_DATA_HOME: join(dir, 'xdg'), NODE_OPTIONS: '', VITEST: '', ...chainEnv },
    timeoutMs: 90_000,
  })
  const gateways = new Map(running.description.nodes.map((n) => [n.name, n.gateway]))
  const senders = await Promise.all(layout.accounts.map((a) => readAccountKeyFile(a.path)))
  return { dir, layout, running, gateways, senders, nonces: senders.map(() => 1), sent: new Map() }
}

/** Stops the nodes; the directory stays when a test failed (its node.log files). */
async function stopNet(net: Net | undefined, failed: boolean): Promise<void> {
  if (net === undefined) return
  await net.running.stop(10_000)
  if (failed) process.stderr.write(`devnet kept for its logs: ${net.dir}\n`)
  else rmSync(net.dir, { recursive: true, force: true })
}

/** After a failed test: the last lines of each node's node.log. */
function printLogsOnFailure(net: () => Net | undefined, lines = 40): void {
  afterEach((ctx) => {
    const n = net()
    if (ctx.task.result?.state !== 'fail' || n === undefined) return
    failures++
    for (const node of n.layout.nodes) {
      let text = ''
      try {
        text = readFileSync(join(node.dataDir, NODE_LOG), 'utf8')
      } catch {}
      const tail = text.trimEnd().split('\n').slice(-lines).join('\n')
      process.stderr.write(`--- ${node.name} ${join(node.dataDir, NODE_LOG)} ---\n${tail}\n`)
    }
  })
}

async function head(gateway: string): Promise<HeadJson> {
  return chainClient(gateway, 5000).head()
}

async function heads(net: Net, names: readonly string[]): Promise<Map<string, HeadJson>> {
  return new Map(
    await Promise.all(names.map(async (n) => [n, await head(net.gateways.get(n)!)] as const)),
  )
}

interface BlockJson {
  hash: string
  header: { height: number; epoch: number; stateRoot: string }
  receipts: { digest?: string; status: string }[]
}

async function block(gateway: string, height: number): Promise<BlockJson> {
  return (await chainClient(gateway, 5000).block(height)) as BlockJson
}

/**
 * Sender `i` transfers 1 base unit to the next sender, through `name`'s gateway, and waits
 * for the receipt there; resolves with the digest once it executed ("ok").
 */
async function transfer(net: Net, i: number, name: string, timeoutMs = 45_000): Promise<string> {
  const client = chainClient(net.gateways.get(name)!, 15_000)
  const from = net.senders[i]!
  const to = net.senders[(i + 1) % net.senders.length]!
  const tx = signAccountTransaction(
    {
      chainId: net.layout.genesis.chainId,
      sender: { kind: 'account', address: from.address },
      nonce: net.nonces[i]!,
      method: { type: 'Transfer', to: to.address, token: 'FLK', amount: 1n },
    },
    from.secretKey,
  )
  const digest = await client.submit(encodeTransaction(tx))
  const started = Date.now()
  for (;;) {
    let status = 'unknown'
    try {
      const r = await client.receipt(digest)
      status = r.status
      if (status !== 'pending') {
        if (status !== 'ok')
          throw new Error(`${digest} sent to ${name} executed as ${status}: ${r.message}`)
        net.nonces[i]! += 1
        net.sent.set(digest, name)
        return digest
      }
    } catch (e) {
      // 404: not known there yet (a follower hears of it with the block). No answer in time:
      // a loaded node, asked again until the bound (the message says which).
      const unknown = e instanceof GatewayError && e.status === 404
      const slow = e instanceof ChainClientError && e.code === 'CLI_GATEWAY_UNREACHABLE'
      if (!unknown && !slow) throw e
      status = (e as Error).message
    }
    if (Date.now() - started > timeoutMs) {
      // What every node says of it: executed elsewhere (this node's answer is stale) or nowhere.
      const elsewhere = await Promise.all(
        [...net.gateways].map(async ([n, g]) => {
          const r = await chainClient(g, 5000)
            .receipt(digest)
            .then(
              (x) => `${x.status}${x.height === undefined ? '' : `@${x.height}`}`,
              (e: Error & { code?: string }) => e.code ?? e.message,
            )
          return `${n} ${r}`
        }),
      )
      throw new Error(
        `sender ${i} nonce ${net.nonces[i]}: ${digest} sent to ${name} still ${status} after ${timeoutMs} ms; receipts: ${elsewhere.join(', ')}; head there ${JSON.stringify(await head(net.gateways.get(name)!).catch((e: Error) => e.message))}`,
      )
    }
    await sleep(150)
  }
}

/**
 * Senders in parallel, each sending one transaction after another to the nodes `targets()`
 * names (in turn), until `stop()` is called; resolves with how many executed. A sender's
 * failure rejects `done` (after the others stop).
 */
function flow(net: Net, targets: () => readonly string[], senders: readonly number[]) {
  let stopping = false
  /** Node name → transactions sent to it and not yet executed. */
  const inFlight = new Map<string, number>()
  let count = 0
  const loops = senders.map(async (i, k) => {
    let turn = k
    while (!stopping) {
      const list = targets()
      const name = list[turn++ % list.length]!
      inFlight.set(name, (inFlight.get(name) ?? 0) + 1)
      try {
        await transfer(net, i, name)
        count++
      } catch (e) {
        // One sender's failure ends the flow: the test reports it, not the others' aftermath.
        stopping = true
        throw e
      } finally {
        inFlight.set(name, inFlight.get(name)! - 1)
      }
    }
  })
  const done = Promise.all(loops).then(() => count)
  done.catch(() => {})
  return {
    get count() {
      return count
    },
    /** Resolves once no transaction sent to `name` is waiting. */
    drained: (name: string) =>
      waitFor(
        () => (inFlight.get(name) ?? 0) === 0,
        `transactions in flight to ${name}`,
        60_000,
        50,
      ),
    async stop() {
      stopping = true
      return done
    },
    done,
  }
}

/**
 * Waits until every node in `names` is at `height` or beyond, then checks they hold the same
 * block there (hash and state root); resolves with that block.
 */
async function sameBlockAt(net: Net, names: readonly string[], height: number): Promise<BlockJson> {
  let behind = ''
  await waitFor(
    async () => {
      const hs = await heads(net, names)
      behind = [...hs]
        .filter(([, h]) => h.height < height)
        .map(([n, h]) => `${n} at ${h.height}`)
        .join(', ')
      return behind === ''
    },
    `every node at height ${height} (${names.join(', ')})`,
    60_000,
    200,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; behind: ${behind}`)
  })
  const blocks = await Promise.all(names.map((n) => block(net.gateways.get(n)!, height)))
  for (const [k, b] of blocks.entries()) {
    expect(b.header.height, names[k]).toBe(height)
    expect({ node: names[k], hash: b.hash, root: b.header.stateRoot }).toEqual({
      node: names[k],
      hash: blocks[0]!.hash,
      root: blocks[0]!.header.stateRoot,
    })
  }
  return blocks[0]!
}

/** The highest height every node in `names` has reached now. */
async function commonHeight(net: Net, names: readonly string[]): Promise<number> {
  return Math.min(...[...(await heads(net, names)).values()].map((h) => h.height))
}

/**
 * Every digest `net.sent` holds executed exactly once in blocks 1…`height` of `name`, at the
 * height its receipt names; and each node answers the same receipt for it.
 */
async function executedOnce(net: Net, names: readonly string[], height: number): Promise<void> {
  const gateway = net.gateways.get(names[0]!)!
  const seen = new Map<string, number[]>()
  for (let h = 1; h <= height; h++) {
    const b = await block(gateway, h)
    for (const r of b.receipts) {
      if (r.digest === undefined) continue
      seen.set(r.digest, [...(seen.get(r.digest) ?? []), h])
    }
  }
  for (const [digest, to] of net.sent) {
    expect({ digest, to, heights: seen.get(digest)?.length }).toEqual({ digest, to, heights: 1 })
  }
  for (const name of names) {
    const client = chainClient(net.gateways.get(name)!, 5000)
    for (const digest of net.sent.keys()) {
      const r = await client.receipt(digest)
      expect({ name, digest, status: r.status, height: r.height }).toEqual({
        name,
        digest,
        status: 'ok',
        height: seen.get(digest)![0],
      })
    }
  }
}

/** Hex node keys of epoch `epoch`'s committee as `name` reads it from its state. */
async function committeeOf(net: Net, name: string, epoch: number): Promise<string[] | undefined> {
  const answer = await chainClient(net.gateways.get(name)!, 5000).state('committees', String(epoch))
  const entry = answer.entry as { members: (string | Uint8Array)[] } | null
  if (entry === null) return undefined
  return entry.members.map((m) => (typeof m === 'string' ? m.replace(/^0x/, '') : bytesToHex(m)))
}

const ALL = ['node-1', 'node-2', 'node-3', 'node-4', 'edge-1', 'edge-2']
const GC_DEPTH = 20

describe('a committee devnet (4 committee + 2 edge, long epochs)', () => {
  let net: Net | undefined
  printLogsOnFailure(() => net)

  beforeAll(async () => {
    // A short DAG window (20 rounds kept below the last commit): the killed node is down for
    // longer than the others keep, so it comes back by following, then rejoins the DAG.
    net = await startNet('fulmen-devnet-committee-', 600_000, { FULMEN_GC_DEPTH: String(GC_DEPTH) })
  }, 120_000)

  afterAll(async () => {
    await stopNet(net, failures > 0)
  }, 60_000)

  test('transactions sent to an edge node execute once, with the same blocks and root on all six', async () => {
    const n = net!
    // Two senders through each edge node, several transactions each.
    const edges = ['edge-1', 'edge-2']
    await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        for (let k = 0; k < 3; k++) await transfer(n, i, edges[i % 2]!)
      }),
    )
    expect(n.sent.size).toBe(12)
    const height = Math.max(...[...(await heads(n, ALL)).values()].map((h) => h.height))
    await sameBlockAt(n, ALL, height)
    await executedOnce(n, ALL, height)
  }, 90_000)

  test('kill -9 of a committee node: the others commit on; restarted, it follows by blocks, rejoins the DAG and orders again', async () => {
    const n = net!
    const victim = 'node-2'
    let up = ALL
    const f = flow(n, () => up, [0, 1, 2, 3])
    await waitFor(() => f.count >= 6, 'six transactions before the kill', 60_000, 100)
    const roundAtKill = (await head(n.gateways.get(victim)!)).round ?? 0
    // Nothing of ours waits on the victim when it dies (a client would resend what it lost).
    up = ALL.filter((x) => x !== victim)
    await f.drained(victim)
    const exit = await n.running.kill(victim)
    expect(exit.signal).toBe('SIGKILL')
    const others = up
    const atKill = await commonHeight(n, others)
    const countAtKill = f.count
    // Commits continue on the three others (and the edge nodes follow them).
    await waitFor(
      () => f.count >= countAtKill + 8,
      `eight transactions after the kill of ${victim} (at ${f.count - countAtKill})`,
      60_000,
      100,
    )
    expect(await commonHeight(n, others)).toBeGreaterThan(atKill)
    // Down longer than the others keep their DAG: well past 2 × GC_DEPTH rounds.
    const othersRound = async () =>
      Math.min(...[...(await heads(n, ['node-1', 'node-3'])).values()].map((h) => h.round ?? 0))
    await waitFor(
      async () => (await othersRound()) > roundAtKill + 3 * GC_DEPTH,
      `the others ${3 * GC_DEPTH} rounds past ${victim}'s ${roundAtKill}`,
      60_000,
      200,
    )
    const roundAtRestart = await othersRound()

    await n.running.restartNode(victim)
    // It catches up: the block at the others' head, same hash and root.
    const target = await commonHeight(n, others)
    await sameBlockAt(n, ALL, target)
    // And orders again: a transaction sent to it executes (and on every node).
    up = ALL
    const countAtRestart = f.count
    await transfer(n, 4, victim)
    await transfer(n, 5, victim)
    await waitFor(
      () => f.count >= countAtRestart + 6,
      'transactions after the restart',
      60_000,
      100,
    )
    // Back in the DAG, proposing past where the others were when it restarted (a member outside
    // its DAG says round 0), having said how it came back.
    await waitFor(
      async () => ((await head(n.gateways.get(victim)!)).round ?? 0) > roundAtRestart,
      `${victim} proposes again past round ${roundAtRestart}`,
      60_000,
      200,
    )
    const dataDir = n.layout.nodes.find((x) => x.name === victim)!.dataDir
    const log = readFileSync(join(dataDir, NODE_LOG), 'utf8')
    expect(log).toMatch(/too far behind the committee to catch up in its DAG/)
    expect(log).toMatch(/rejoins the DAG at the committed round its peers gave/)
    await f.stop()
    const height = Math.max(...[...(await heads(n, ALL)).values()].map((h) => h.height))
    await sameBlockAt(n, ALL, height)
    await executedOnce(n, ALL, height)
  }, 240_000)
})

describe('a committee devnet with short epochs', () => {
  let net: Net | undefined
  printLogsOnFailure(() => net)

  beforeAll(async () => {
    // Epoch 0 ends 10 s after the genesis: its change comes while the transactions flow (the
    // six processes take a few seconds to start), then every ~10 s plus the beacon's phases.
    net = await startNet('fulmen-devnet-epochs-', 10_000)
  }, 120_000)

  afterAll(async () => {
    await stopNet(net, failures > 0)
  }, 60_000)

  test('epoch changes draw new committees while transactions flow to every node; each executes once, all on one root', async () => {
    const n = net!
    const nodeKeys = new Map(n.layout.nodes.map((x) => [bytesToHex(x.identity.nodeKey), x.name]))
    const first = (await committeeOf(n, 'node-1', 0))!
    expect(first.map((k) => nodeKeys.get(k)).sort()).toEqual([
      'node-1',
      'node-2',
      'node-3',
      'node-4',
    ])
    const f = flow(n, () => ALL, [0, 1, 2, 3, 4, 5])
    const startEpoch = (await head(n.gateways.get('node-1')!)).epoch
    // An epoch change on every node while the senders go on (one after they started, and one
    // that rotated the committee); failures of a sender surface.
    const epochs = new Map<number, string[]>()
    let rotated: number | undefined
    await Promise.race([
      f.done.then((c) => {
        throw new Error(`the senders stopped after ${c} transactions`)
      }),
      waitFor(
        async () => {
          const hs = await heads(n, ALL)
          const low = Math.min(...[...hs.values()].map((h) => h.epoch))
          for (let e = 1; e <= low; e++) {
            if (epochs.has(e)) continue
            const c = await committeeOf(n, 'edge-1', e)
            if (c === undefined) continue
            epochs.set(e, c)
            if (rotated === undefined && [...c].sort().join() !== [...first].sort().join())
              rotated = e
          }
          // A change seen under load, and (unless the beacon kept drawing the first
          // committee, 1 in 15 a draw) one that rotated it.
          return low >= startEpoch + 1 && (rotated !== undefined || low >= 4) && low
        },
        'an epoch change under load that rotates the committee, on all six nodes',
        150_000,
        500,
      ),
    ])
    const countAtChange = f.count
    // Transactions still execute after the changes, on every node's gateway.
    await waitFor(
      () => f.count >= countAtChange + 6,
      `six transactions after the epoch changes (at ${f.count - countAtChange})`,
      60_000,
      100,
    )
    const total = await f.stop()
    expect(total).toBe(n.sent.size)
    for (const [e, c] of epochs) {
      const names = c.map((k) => nodeKeys.get(k))
      expect({ epoch: e, size: new Set(names).size }).toEqual({ epoch: e, size: 4 })
      for (const name of names) expect(ALL, `epoch ${e} member ${name}`).toContain(name)
    }
    // With 6 active nodes and committees of 4, some epoch drew an edge node in.
    expect(rotated, `committees: ${JSON.stringify([...epochs])}`).toBeDefined()
    const rotatedIn = epochs.get(rotated!)!.map((k) => nodeKeys.get(k)!)
    expect(rotatedIn.some((x) => x.startsWith('edge-'))).toBe(true)
    // A node that followed and now orders (or the reverse) still answers an unknown digest
    // with CHAIN_TX_UNKNOWN (a rotated-in edge node answered 500 "the follower is stopping").
    const unknown = bytesToHex(randomBytes(32))
    for (const name of ALL) {
      const answer = await chainClient(n.gateways.get(name)!, 5000)
        .receipt(unknown)
        .then(
          () => 'answered',
          (e: Error & { code?: string; status?: number }) => `${e.status} ${e.code}`,
        )
      expect({ name, answer }).toEqual({ name, answer: '404 CHAIN_TX_UNKNOWN' })
    }
    const height = Math.max(...[...(await heads(n, ALL)).values()].map((h) => h.height))
    const b = await sameBlockAt(n, ALL, height)
    expect(b.header.epoch).toBeGreaterThanOrEqual(1)
    await executedOnce(n, ALL, height)
  }, 240_000)
})
