/**
 * DAs earned by a following node settle too: a devnet of one solo node and one edge node that
 * follows it (`--consensus follow`), a client key registered by a signed transaction, a real
 * `fulmen fetch` from the edge node, and the edge node's claim settler submitting its pool's
 * claims through the leader (forwarding-orderer.ts), until the edge node's served work on chain,
 * read from both nodes' state, is every byte fetched.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  type NodeProcess,
  runFulmen,
  startNode,
  waitFor,
  wsAddressOf,
} from '../../devnet/processes.ts'
import type { Method } from '../../state/model.ts'
import { encodeTransaction, signAccountTransaction } from '../../state/transaction.ts'
import { loadOrCreateClientKey } from '../client-key-file.ts'
import { type DevnetLayout, prepareDevnet } from '../devnet/devnet-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'

// biome-ignore lint/suspicious/noExplicitAny: the answers are JSON the test reads field by field
type Json = any

let dir = ''
let layout: DevnetLayout
let leader: NodeProcess
let edge: NodeProcess

printNodeLogsOnFailure(() => [leader, edge])

async function get(url: string, path: string): Promise<Json> {
  const res = await fetch(`${url}${path}`)
  const body = (await res.json()) as Json
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(body)}`)
  return body
}

/** A transaction of the first demo account, sent to `url` and waited for. */
async function submit(url: string, method: Method): Promise<void> {
  const owner = layout.accounts[0]!
  const head = await get(url, '/chain/head')
  const entry = (await get(url, `/chain/state/accounts/0x${bytesToHex(owner.key.address)}`)).entry
  const tx = signAccountTransaction(
    {
      chainId: head.chainId,
      sender: { kind: 'account', address: owner.key.address },
      nonce: (entry?.nonce ?? 0) + 1,
      method,
    },
    owner.key.secretKey,
  )
  const res = await fetch(`${url}/chain/tx`, {
    method: 'POST',
    body: encodeTransaction(tx) as Uint8Array<ArrayBuffer>,
  })
  const { digest } = (await res.json()) as Json
  expect(res.status).toBe(202)
  const receipt = await waitFor(
    async () => {
      const r = await fetch(`${url}/chain/tx/${digest}`)
      const body = (await r.json()) as Json
      return r.ok && body.status !== 'pending' && body
    },
    'the receipt',
    30_000,
  )
  expect(receipt.status).toBe('ok')
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-follow-settlement-'))
  layout = await prepareDevnet({ dir, nodes: 1, edge: 1, epochMs: 3_600_000 })
  const env = { XDG_DATA_HOME: join(dir, 'xdg') }
  const [first, second] = layout.nodes as [DevnetLayout['nodes'][0], DevnetLayout['nodes'][0]]
  leader = await startNode({
    dataDir: first.dataDir,
    env,
    args: ['--genesis', layout.genesisPath, '--settle-every-ms', '500'],
  })
  edge = await startNode({
    dataDir: second.dataDir,
    env,
    args: [
      '--genesis',
      layout.genesisPath,
      '--consensus',
      'follow',
      '--follow',
      leader.url,
      '--settle-every-ms',
      '500',
    ],
  })
}, 120_000)

afterAll(async () => {
  await edge?.stop()
  await leader?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

test('a following node settles the DAs of a fetch from it, through the node it follows', async () => {
  const edgeKey = bytesToHex(layout.nodes[1]!.identity.nodeKey)
  const payer = `0x${bytesToHex(layout.accounts[0]!.key.address)}`

  // A client key registered to a funded account, sent to the edge node (forwarded).
  const clientKeyPath = join(dir, 'client.key')
  const clientKey = await loadOrCreateClientKey(clientKeyPath)
  await submit(edge.url, { type: 'RegisterClientKey', clientKey: clientKey.publicKey })

  // Content on the edge node, fetched from it over a session that acknowledges each block.
  const bytes = randomBytes(2 * 1024 * 1024)
  writeFileSync(join(dir, 'content.bin'), bytes)
  const put = await fetch(`${edge.url}/admin/content`, { method: 'PUT', body: bytes })
  expect(put.status).toBeLessThan(300)
  const { root } = (await put.json()) as Json
  const before = (await get(leader.url, `/chain/state/accounts/${payer}`)).entry
  const fetched = await runFulmen(
    ['fetch', root, '--node', wsAddressOf(edge), '-o', join(dir, 'copy.bin')],
    { cwd: dir, env: { FULMEN_CLIENT_KEY: clientKeyPath }, timeoutMs: 60_000 },
  )
  expect(fetched.code, fetched.stderr).toBe(0)

  // The edge node's claims settle on the leader's chain, and the edge node executes them too.
  const servedKey = `${edgeKey}${'0'.repeat(16)}00`
  const servedOn = (url: string) =>
    waitFor(
      async () => {
        const served = (await get(url, `/chain/state/served/${servedKey}`)).entry
        return served !== null && BigInt(served.units) === BigInt(bytes.length) && served
      },
      `every byte served on ${url}`,
      60_000,
      250,
    )
  const onLeader = await servedOn(leader.url)
  const onEdge = await servedOn(edge.url)
  expect(onEdge).toEqual(onLeader)
  const after = (await get(leader.url, `/chain/state/accounts/${payer}`)).entry
  expect(BigInt(after.stables)).toBeLessThan(BigInt(before.stables))
  // Nothing went twice: the leader's receipts hold no rejected claim of the edge node's.
  const head = await get(leader.url, '/chain/head')
  let rejected = 0
  for (let h = 1; h <= head.height; h++) {
    const block = await get(leader.url, `/chain/block/${h}`)
    for (const r of block.receipts)
      for (const e of r.events) if (e.type === 'ClaimRejected') rejected++
  }
  expect(rejected).toBe(0)
}, 180_000)
