/**
 * `--consensus follow` on real processes: a solo leader and a node that follows it. The follower
 * forwards what it is sent, re-executes the leader's blocks to the same heads and roots, and
 * serves entries with proofs of its own. A second follower reads the leader through a proxy
 * that lies about block hashes: it stops following with one clear error line and keeps serving
 * what it had verified. A node given several gateways moves to the next, and says so, when
 * the one it follows is killed (kill -9), or answers but stays behind while another advances.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type NodeProcess, startNode, waitFor } from '../../devnet/processes.ts'
import { verifyStateProof } from '../../state/state-proof.ts'
import {
  ALICE_SECRET,
  BOB,
  signedAccountTx,
  type WrittenGenesis,
  writeTestGenesis,
} from '../testing/chain-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'

// biome-ignore lint/suspicious/noExplicitAny: the answers are JSON the test reads field by field
type Json = any

let dir = ''
let genesis: WrittenGenesis
let leader: NodeProcess
let follower: NodeProcess
let fooled: NodeProcess | undefined
let stranger: NodeProcess | undefined
let liar: Server | undefined
let relay: NodeProcess | undefined
let edge: NodeProcess | undefined
let stuckEdge: NodeProcess | undefined
let frozen: Server | undefined
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })

printNodeLogsOnFailure(() => [leader, follower, fooled, stranger, relay, edge, stuckEdge])

async function get(url: string, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${url}${path}`)
  return { status: res.status, body: await res.json() }
}

const transfer = (nonce: number, amount: bigint) =>
  signedAccountTx(ALICE_SECRET, nonce, { type: 'Transfer', to: BOB, token: 'USDC', amount })

async function submit(url: string, tx: Uint8Array): Promise<string> {
  const res = await fetch(`${url}/chain/tx`, {
    method: 'POST',
    body: tx as Uint8Array<ArrayBuffer>,
  })
  const body = (await res.json()) as Json
  expect(res.status, JSON.stringify(body)).toBe(202)
  return body.digest
}

function followArgs(url: string): string[] {
  return ['--genesis', genesis.path, '--consensus', 'follow', '--follow', url]
}

/** A gateway in front of `upstream` that serves every block with a hash of its own invention. */
async function startLyingProxy(upstream: string): Promise<string> {
  liar = createServer((req, res) => {
    void (async () => {
      const answer = await fetch(`${upstream}${req.url}`)
      let text = await answer.text()
      if (req.url?.startsWith('/chain/block/') && answer.ok) {
        const block = JSON.parse(text) as Json
        block.hash = 'ff'.repeat(32)
        text = JSON.stringify(block)
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(text)
    })().catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => liar!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(liar.address() as AddressInfo).port}`
}

/**
 * A gateway in front of `upstream` that answers everything but whose head stays where it was
 * at its first answer: a node that is up but cut off from the chain.
 */
async function startFrozenProxy(upstream: string): Promise<string> {
  let head: string | undefined
  frozen = createServer((req, res) => {
    void (async () => {
      const answer = await fetch(`${upstream}${req.url}`)
      let text = await answer.text()
      if (req.url === '/chain/head' && answer.ok) {
        head ??= text
        text = head
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(text)
    })().catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => frozen!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(frozen.address() as AddressInfo).port}`
}

/** Resolves once `node` serves the head of `reference` at `height` or above, equal to it. */
async function sameHeadAt(node: NodeProcess, reference: NodeProcess, height: number, what: string) {
  const want = await waitFor(async () => {
    const h = (await get(reference.url, '/chain/head')).body
    return h.height >= height ? h : undefined
  }, `${what}: the reference at ${height}`)
  const got = await waitFor(async () => {
    const h = (await get(node.url, '/chain/head')).body
    return h.height >= want.height ? h : undefined
  }, `${what}: the node at ${want.height}`)
  const again = (await get(reference.url, `/chain/block/${want.height}`)).body
  expect((await get(node.url, `/chain/block/${want.height}`)).body.hash).toBe(again.hash)
  return got
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-chain-follow-'))
  const leaderDir = join(dir, 'leader')
  genesis = await writeTestGenesis(dir, leaderDir)
  leader = await startNode({ dataDir: leaderDir, env: env(), args: ['--genesis', genesis.path] })
  follower = await startNode({
    dataDir: join(dir, 'follower'),
    env: env(),
    args: followArgs(leader.url),
  })
}, 60_000)

afterAll(async () => {
  await stuckEdge?.stop()
  await edge?.stop()
  await relay?.stop()
  await new Promise((resolve) =>
    frozen === undefined ? resolve(undefined) : frozen.close(resolve),
  )
  await stranger?.stop()
  await fooled?.stop()
  await follower?.stop()
  await leader?.stop()
  await new Promise((resolve) => (liar === undefined ? resolve(undefined) : liar.close(resolve)))
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

test('a follower forwards transactions and re-executes the leader to the same head', async () => {
  // Sent to the follower, ordered by the leader.
  const digest = await submit(follower.url, transfer(1, 40n))
  const onLeader = await waitFor(async () => {
    const r = await get(leader.url, `/chain/tx/${digest}`)
    return r.body.status === 'ok' ? r.body : undefined
  }, 'the receipt on the leader')
  // The follower reaches the same block and serves the same receipt from its own state.
  const onFollower = await waitFor(async () => {
    const r = await get(follower.url, `/chain/tx/${digest}`)
    return r.status === 200 && r.body.status !== 'pending' ? r.body : undefined
  }, 'the receipt on the follower')
  expect(onFollower).toEqual(onLeader)
  await submit(leader.url, transfer(2, 2n))
  const leaderHead = await waitFor(async () => {
    const h = (await get(leader.url, '/chain/head')).body
    return h.height >= onLeader.height + 1 ? h : undefined
  }, 'the second block on the leader')
  const followerHead = await waitFor(async () => {
    const h = (await get(follower.url, '/chain/head')).body
    return h.height === leaderHead.height ? h : undefined
  }, 'the follower at the leader height')
  // The same chain head; each says how it orders (`consensus`: follow here, solo there).
  expect({ ...followerHead, consensus: undefined }).toEqual({ ...leaderHead, consensus: undefined })
  expect([followerHead.consensus, leaderHead.consensus]).toEqual(['follow', 'solo'])

  const entry = (await get(follower.url, `/chain/state/accounts/0x${bytesToHex(BOB)}`)).body
  expect(entry).toMatchObject({ entry: { stables: '42' }, root: leaderHead.stateRoot })
  expect(
    verifyStateProof(
      hexToBytes(entry.root),
      'accounts',
      BOB,
      hexToBytes(entry.value),
      hexToBytes(entry.proof),
    ),
  ).toBe(true)
  // Refusals come back from the leader with their codes.
  const refused = await fetch(`${follower.url}/chain/tx`, { method: 'POST', body: 'junk' })
  expect(refused.status).toBe(400)
  expect(((await refused.json()) as Json).error.code).toBe('TX_MALFORMED')
})

test('a follower fed a block whose hash it cannot reproduce stops following, and says so', async () => {
  const lying = await startLyingProxy(leader.url)
  fooled = await startNode({ dataDir: join(dir, 'fooled'), env: env(), args: followArgs(lying) })
  const line = await fooled.waitForLog(/^stopped following/, 20_000)
  expect(line.msg).toMatch(
    /block 1 re-executed to header [0-9a-f]{64}, the followed node serves f{64}/,
  )
  expect(line.level).toBeGreaterThanOrEqual(50)
  // Still up, serving what it executed itself; nothing past the block it could not match.
  const head = await get(fooled.url, '/chain/head')
  expect(head.status).toBe(200)
  expect(head.body.height).toBe(1)
  expect((await fetch(`${fooled.url}/health`)).status).toBe(200)
})

test('a node of another chain does not follow this one', async () => {
  const otherDir = join(dir, 'other')
  mkdirSync(otherDir)
  const strangerDir = join(dir, 'stranger')
  const other = await writeTestGenesis(otherDir, strangerDir, { chainId: 99 })
  stranger = await startNode({
    dataDir: strangerDir,
    env: env(),
    args: ['--genesis', other.path, '--consensus', 'follow', '--follow', leader.url],
  })
  const line = await stranger.waitForLog(/^stopped following/, 20_000)
  expect(line.msg).toBe(
    `stopped following: the followed node runs chain ${genesis.genesis.chainId}, this genesis is chain 99`,
  )
  expect((await get(stranger.url, '/chain/head')).body).toMatchObject({ chainId: 99, height: 0 })
})

test('a node following several gateways moves to the next when the one it follows is killed (kill -9)', async () => {
  // edge follows relay (itself a follower of the leader) first, then the leader.
  relay = await startNode({ dataDir: join(dir, 'relay'), env: env(), args: followArgs(leader.url) })
  edge = await startNode({
    dataDir: join(dir, 'edge'),
    env: env(),
    args: followArgs(`${relay.url},${leader.url}`),
  })
  const start = await edge.waitForLog('following')
  expect(start).toMatchObject({ follow: relay.url, gateways: [relay.url, leader.url] })
  const before = (await get(leader.url, '/chain/head')).body.height
  await submit(edge.url, transfer(await nextNonce(), 1n))
  await sameHeadAt(edge, leader, before + 1, 'through the relay')
  expect(edge.logs().some((l) => /^following .* instead of/.test(l.msg))).toBe(false)

  relay.child.kill('SIGKILL')
  await relay.exit
  // Sent to the edge while the relay is gone: forwarded to the leader, the next gateway.
  const digest = await submit(edge.url, transfer(await nextNonce(), 1n))
  const moved = await edge.waitForLog(/^following .* instead of/, 30_000)
  expect(moved.msg).toMatch(
    new RegExp(
      `^following ${leader.url} instead of ${relay.url}: it failed: the followed node ${relay.url} did not answer`,
    ),
  )
  expect(moved.level).toBe(40)
  const receipt = await waitFor(async () => {
    const r = await get(leader.url, `/chain/tx/${digest}`)
    return r.body.status === 'ok' ? r.body : undefined
  }, 'the receipt on the leader')
  await sameHeadAt(edge, leader, receipt.height, 'after the kill')
  expect(edge.logs().some((l) => /^stopped following/.test(l.msg))).toBe(false)
}, 120_000)

test('a node following several gateways leaves one that answers but stays behind while another advances', async () => {
  const stuck = await startFrozenProxy(leader.url)
  stuckEdge = await startNode({
    dataDir: join(dir, 'stuck-edge'),
    env: env(),
    args: followArgs(`${stuck},${leader.url}`),
  })
  await stuckEdge.waitForLog('following')
  const frozenAt = (await get(stuck, '/chain/head')).body.height
  // The leader advances; the frozen gateway does not.
  await submit(leader.url, transfer(await nextNonce(), 1n))
  // The stall window is 10 s by default.
  const moved = await stuckEdge.waitForLog(/^following .* instead of/, 40_000)
  expect(moved.msg).toMatch(
    new RegExp(
      `^following ${leader.url} instead of ${stuck}: it has stayed at height ${frozenAt} for 10000 ms and ${leader.url} is at \\d+$`,
    ),
  )
  await sameHeadAt(stuckEdge, leader, frozenAt + 1, 'past the frozen head')
}, 120_000)

/** ALICE's next nonce: the first test sent 1 and 2, each later one takes the next. */
let aliceNonce = 2
async function nextNonce(): Promise<number> {
  aliceNonce += 1
  return aliceNonce
}
