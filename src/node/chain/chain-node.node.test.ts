/**
 * The chain on a real `fulmen node start --genesis` process (solo ordering): the head, a signed
 * transfer through `POST /chain/tx` to its receipt, the entry with a proof that verifies against
 * the served root, the block, the same over `/fulmen/chain/1.0.0`, every kind of bad input
 * answered with its typed error while the node keeps serving, the metrics, and a restart on the
 * same data directory that keeps the height and the root. A node without a genesis answers
 * CHAIN_NOT_ENABLED.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type NodeProcess,
  runFulmen,
  startNode,
  waitFor,
  wsAddressOf,
} from '../../devnet/processes.ts'
import { rawRequest } from '../../devnet/raw-http.ts'
import { TerminationReason } from '../../handshake/termination.ts'
import { type ClientLibp2p, createClientLibp2p } from '../../net/client-libp2p.ts'
import { CHAIN_PROTOCOL } from '../../net/protocols.ts'
import { streamChannel } from '../../net/stream-channel.ts'
import { verifyStateProof } from '../../state/state-proof.ts'
import { decodeTransaction, encodeTransaction } from '../../state/transaction.ts'
import { CodecDecoder } from '../../wire/frame-codec.ts'
import { encodeRawFrame, framePrefix } from '../../wire/frame-splitter.ts'
import {
  ALICE,
  ALICE_SECRET,
  BOB,
  signedAccountTx,
  type WrittenGenesis,
  writeTestGenesis,
} from '../testing/chain-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'
import { metricsOf, metricValue } from '../testing/http.ts'
import { RemoteChainError } from './chain-api.ts'
import {
  type ChainFrame,
  chainCodec,
  encodeChainFrame,
  FRAME_CHAIN_REQUEST,
  FRAME_CHAIN_RESULT,
  MAX_CHAIN_REQUEST_PAYLOAD,
} from './chain-frames.ts'
import { requestChain } from './chain-protocol.ts'

let dir = ''
let dataDir = ''
let genesis: WrittenGenesis
let node: NodeProcess
let plain: NodeProcess | undefined
let client: ClientLibp2p | undefined
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })

printNodeLogsOnFailure(() => [node, plain])

// biome-ignore lint/suspicious/noExplicitAny: the answers are JSON the test reads field by field
type Json = any

interface Head {
  chainId: number
  epoch: number
  height: number
  hash: string
  stateRoot: string
  timestampMs: number
  consensus: string
  committee: string[]
  member?: number
  round?: number
  committedRound?: number
}

async function get(path: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${node.url}${path}`)
  return { status: res.status, body: await res.json(), headers: res.headers }
}

async function post(body: Uint8Array): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${node.url}/chain/tx`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body: body as Uint8Array<ArrayBuffer>,
  })
  return { status: res.status, body: await res.json() }
}

/** The receipt once the transaction left the mempool. */
async function receipt(digest: string): Promise<Json> {
  return waitFor(async () => {
    const answer = await get(`/chain/tx/${digest}`)
    expect(answer.status).toBe(200)
    return answer.body.status === 'pending' ? undefined : answer.body
  }, `the receipt of ${digest}`)
}

function errorOf(answer: { status: number; body: Json }): [number, string] {
  return [answer.status, answer.body?.error?.code]
}

const transfer = (nonce: number, amount: bigint) =>
  signedAccountTx(ALICE_SECRET, nonce, { type: 'Transfer', to: BOB, token: 'USDC', amount })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-chain-node-'))
  dataDir = join(dir, 'node')
  genesis = await writeTestGenesis(dir, dataDir)
  node = await startNode({ dataDir, env: env(), args: ['--genesis', genesis.path] })
}, 60_000)

afterAll(async () => {
  await client?.stop()
  await node?.stop()
  await plain?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('a node started with a genesis', () => {
  test('serves the head of the genesis chain', async () => {
    const { status, body, headers } = await get('/chain/head')
    expect(status).toBe(200)
    expect(headers.get('access-control-allow-origin')).toBe('*')
    const head = body as Head
    expect(head).toMatchObject({ chainId: genesis.genesis.chainId, epoch: 0 })
    expect(head.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(head.stateRoot).toMatch(/^[0-9a-f]{64}$/)
    // How it orders and the epoch's committee from the state; the round fields are a
    // committee node's only.
    expect(head.consensus).toBe('solo')
    expect(head.committee).toEqual(genesis.genesis.committee.map((k) => bytesToHex(k)))
    expect(head).not.toHaveProperty('member')
    expect(head).not.toHaveProperty('round')
    expect(head).not.toHaveProperty('committedRound')
  })

  test('a signed transfer is admitted, executed, and its entry proven against the root', async () => {
    const tx = transfer(1, 25n)
    const admitted = await post(tx)
    expect(admitted.status).toBe(202)
    const digest = admitted.body.digest as string
    expect(digest).toMatch(/^[0-9a-f]{64}$/)
    const done = await receipt(digest)
    expect(done).toMatchObject({ digest, status: 'ok', index: 0 })
    expect(done.height).toBeGreaterThan(0)

    // The block holds the transaction's bytes and its receipt.
    const block = await get(`/chain/block/${done.height}`)
    expect(block.status).toBe(200)
    expect(block.body.transactions).toContain(bytesToHex(tx))
    expect(block.body.receipts[done.index]).toMatchObject({ digest, status: 'ok' })

    const answer = await get(`/chain/state/accounts/0x${bytesToHex(BOB)}`)
    expect(answer.status).toBe(200)
    const state = answer.body
    expect(state).toMatchObject({
      table: 'accounts',
      key: bytesToHex(BOB),
      entry: { stables: '25' },
    })
    const head = (await get('/chain/head')).body as Head
    expect(state.height).toBeLessThanOrEqual(head.height)
    const root = hexToBytes(state.root)
    const value = hexToBytes(state.value)
    const proof = hexToBytes(state.proof)
    expect(verifyStateProof(root, 'accounts', BOB, value, proof)).toBe(true)
    // The proof is for that value under that root only.
    const other = value.slice()
    other[other.length - 1]! ^= 1
    expect(verifyStateProof(root, 'accounts', BOB, other, proof)).toBe(false)
    expect(verifyStateProof(root, 'accounts', ALICE, value, proof)).toBe(false)

    // An account nobody funded: absent, with a proof of its absence.
    const nobody = new Uint8Array(20).fill(0xee)
    const absent = (await get(`/chain/state/accounts/0x${bytesToHex(nobody)}`)).body
    expect(absent).toMatchObject({ value: null, entry: null })
    expect(
      verifyStateProof(
        hexToBytes(absent.root),
        'accounts',
        nobody,
        undefined,
        hexToBytes(absent.proof),
      ),
    ).toBe(true)

    // The same transaction again is refused: executed already.
    expect(errorOf(await post(tx))).toEqual([409, 'MEMPOOL_DUPLICATE'])
  })

  test('bad inputs get typed errors and the node keeps serving', async () => {
    expect(errorOf(await post(new Uint8Array([1, 2, 3, 4])))).toEqual([400, 'TX_MALFORMED'])
    expect(errorOf(await post(new Uint8Array(0)))).toEqual([400, 'TX_MALFORMED'])
    expect(errorOf(await post(new Uint8Array(200 * 1024)))).toEqual([413, 'TX_TOO_LARGE'])

    const good = decodeTransaction(transfer(2, 1n))
    const signature = good.signature.slice()
    signature[5]! ^= 0xff
    const forged = encodeTransaction({ ...good, signature })
    expect(errorOf(await post(forged))).toEqual([400, 'TX_BAD_SIGNATURE'])
    const otherChain = signedAccountTx(
      ALICE_SECRET,
      2,
      { type: 'Transfer', to: BOB, token: 'USDC', amount: 1n },
      genesis.genesis.chainId + 1,
    )
    expect(errorOf(await post(otherChain))).toEqual([400, 'TX_WRONG_CHAIN'])

    expect(errorOf(await get('/chain/state/nosuchtable/0x00'))).toEqual([
      404,
      'CHAIN_UNKNOWN_TABLE',
    ])
    expect(errorOf(await get('/chain/state/accounts/0x1234'))).toEqual([400, 'CHAIN_BAD_KEY'])
    expect(errorOf(await get('/chain/state/accounts/0x'))).toEqual([400, 'CHAIN_BAD_KEY'])
    expect(errorOf(await get('/chain/state/metadata/other'))).toEqual([400, 'CHAIN_BAD_KEY'])
    expect(errorOf(await get('/chain/block/0'))).toEqual([404, 'CHAIN_BLOCK_UNKNOWN'])
    expect(errorOf(await get('/chain/block/999999999'))).toEqual([404, 'CHAIN_BLOCK_UNKNOWN'])
    expect(errorOf(await get('/chain/block/one'))).toEqual([400, 'CHAIN_BAD_REQUEST'])
    expect(errorOf(await get(`/chain/tx/${'ab'.repeat(32)}`))).toEqual([404, 'CHAIN_TX_UNKNOWN'])
    expect(errorOf(await get('/chain/tx/abc'))).toEqual([400, 'CHAIN_BAD_REQUEST'])
    expect(errorOf(await get('/chain/tx/%ZZ'))).toEqual([400, 'BAD_PERCENT_ENCODING'])
    expect(errorOf(await get('/chain/nothing'))).toEqual([404, 'NOT_FOUND'])
    expect(errorOf(await get('/chain/tx'))).toEqual([405, 'METHOD_NOT_ALLOWED'])

    // A body longer than it says it is, over the limit: refused from its Content-Length, and the
    // connection closed rather than drained.
    const port = Number(new URL(node.url).port)
    const big = await rawRequest(
      port,
      `POST /chain/tx HTTP/1.1\r\nhost: x\r\ncontent-length: ${10 * 1024 * 1024}\r\n\r\n${'x'.repeat(1000)}`,
    )
    expect(big.status).toBe(413)
    expect(big.headers.get('connection')).toBe('close')

    // A page may post: the preflight allows it.
    const preflight = await fetch(`${node.url}/chain/tx`, {
      method: 'OPTIONS',
      headers: { origin: 'http://page.example', 'access-control-request-method': 'POST' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST')

    // Still serving, and it still orders: the next transfer goes through.
    expect((await fetch(`${node.url}/health`)).status).toBe(200)
    const next = await post(transfer(2, 5n))
    expect(next.status).toBe(202)
    expect(await receipt(next.body.digest)).toMatchObject({ status: 'ok' })
  })

  test('a body that does not arrive in time is answered 408 and its connection closed', async () => {
    const port = Number(new URL(node.url).port)
    const slow = await rawRequest(
      port,
      'POST /chain/tx HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789',
      { timeoutMs: 30_000 },
    )
    expect(slow.status).toBe(408)
    expect(JSON.parse(slow.body.toString()).error.code).toBe('CHAIN_BODY_TIMEOUT')
    expect(slow.headers.get('connection')).toBe('close')
    expect((await get('/chain/head')).status).toBe(200)
  }, 30_000)

  test('/fulmen/chain/1.0.0 answers the same requests', async () => {
    client = await createClientLibp2p()
    const address = wsAddressOf(node)
    const head = (await requestChain(client, address, { op: 'head' })) as Head
    expect(head).toEqual((await get('/chain/head')).body)
    const state = (await requestChain(client, address, {
      op: 'state',
      table: 'accounts',
      key: `0x${bytesToHex(BOB)}`,
    })) as { root: string; value: string; proof: string; height: number }
    expect(
      verifyStateProof(
        hexToBytes(state.root),
        'accounts',
        BOB,
        hexToBytes(state.value),
        hexToBytes(state.proof),
      ),
    ).toBe(true)
    const block = (await requestChain(client, address, { op: 'block', height: 1 })) as {
      hash: string
    }
    expect(block).toEqual((await get('/chain/block/1')).body)

    const submitted = (await requestChain(client, address, {
      op: 'submit',
      tx: transfer(3, 1n),
    })) as { digest: string }
    expect(submitted.digest).toMatch(/^[0-9a-f]{64}$/)
    const tx = await waitFor(async () => {
      const answer = (await requestChain(client!, address, {
        op: 'tx',
        digest: hexToBytes(submitted.digest),
      })) as { status: string }
      return answer.status === 'pending' ? undefined : answer
    }, 'the receipt over libp2p')
    expect(tx).toMatchObject({ status: 'ok', digest: submitted.digest })

    const refusal = (request: Parameters<typeof requestChain>[2]) =>
      requestChain(client!, address, request).then(
        () => undefined,
        (e: unknown) => (e instanceof RemoteChainError ? [e.status, e.code] : e),
      )
    expect(await refusal({ op: 'submit', tx: new Uint8Array([9]) })).toEqual([400, 'TX_MALFORMED'])
    expect(await refusal({ op: 'block', height: 10 ** 9 })).toEqual([404, 'CHAIN_BLOCK_UNKNOWN'])
    expect(await refusal({ op: 'state', table: 'x', key: 'y' })).toEqual([
      404,
      'CHAIN_UNKNOWN_TABLE',
    ])
    expect(await refusal({ op: 'tx', digest: new Uint8Array(32) })).toEqual([
      404,
      'CHAIN_TX_UNKNOWN',
    ])
  })

  test('/fulmen/chain/1.0.0 ends a stream that is not one request with TERMINATE', async () => {
    client ??= await createClientLibp2p()
    const address = multiaddr(wsAddressOf(node))
    /** Writes `bytes` on a fresh stream, closes our side, returns every frame the node sent. */
    const exchange = async (bytes: Uint8Array): Promise<ChainFrame[]> => {
      const connection = await client!.dial(address)
      const channel = streamChannel(await connection.newStream(CHAIN_PROTOCOL), node.peerId)
      await channel.write(bytes)
      await channel.close()
      const decoder = new CodecDecoder(chainCodec('to-peer'))
      const frames: ChainFrame[] = []
      for await (const chunk of channel.source) frames.push(...decoder.push(chunk))
      return frames
    }
    const kinds = (frames: ChainFrame[]) =>
      frames.map((f) => (f.kind === 'terminate' ? `terminate ${f.reason.toString(16)}` : f.kind))
    const head = encodeChainFrame({ kind: 'request', request: { op: 'head' } })
    const two = new Uint8Array(head.length * 2)
    two.set(head)
    two.set(head, head.length)
    const malformed = TerminationReason.MALFORMED_FRAME.toString(16)
    const tooLarge = TerminationReason.FRAME_TOO_LARGE.toString(16)
    const busy = TerminationReason.RESOURCES_UNAVAILABLE.toString(16)
    // One request per stream: the second is refused after the first is answered.
    expect(kinds(await exchange(two))).toEqual(['result', `terminate ${busy}`])
    // A request that is not CBOR, an unknown op, an answer sent to the node, an oversized prefix.
    expect(
      kinds(await exchange(encodeRawFrame(FRAME_CHAIN_REQUEST, new Uint8Array([0xff, 1])))),
    ).toEqual([`terminate ${malformed}`])
    const unknownOp = encodeRawFrame(
      FRAME_CHAIN_REQUEST,
      new Uint8Array([0xa1, 0x62, 0x6f, 0x70, 0x61, 0x78]),
    )
    expect(kinds(await exchange(unknownOp))).toEqual([`terminate ${malformed}`])
    expect(kinds(await exchange(encodeRawFrame(FRAME_CHAIN_RESULT, new Uint8Array(3))))).toEqual([
      `terminate ${malformed}`,
    ])
    expect(
      kinds(await exchange(framePrefix(FRAME_CHAIN_REQUEST, MAX_CHAIN_REQUEST_PAYLOAD + 1))),
    ).toEqual([`terminate ${tooLarge}`])
    // A stream cut inside a frame.
    expect(kinds(await exchange(head.subarray(0, head.length - 1)))).toEqual([
      `terminate ${malformed}`,
    ])
    // And the next peer is served as before.
    expect(await requestChain(client, wsAddressOf(node), { op: 'head' })).toEqual(
      (await get('/chain/head')).body,
    )
  })

  test('metrics count heights and transactions', async () => {
    const text = await metricsOf(node.url)
    const head = (await get('/chain/head')).body as Head
    expect(metricValue(text, 'fulmen_chain_height')).toBe(head.height)
    expect(metricValue(text, 'fulmen_chain_epoch')).toBe(0)
    expect(
      metricValue(text, 'fulmen_chain_transactions_submitted_total', { result: 'accepted' }),
    ).toBe(3)
    expect(
      metricValue(text, 'fulmen_chain_transactions_submitted_total', { result: 'TX_MALFORMED' }),
    ).toBeGreaterThanOrEqual(3)
    expect(metricValue(text, 'fulmen_chain_transactions_executed_total', { status: 'ok' })).toBe(3)
  })

  test('a restart on the same data directory keeps the height and the root', async () => {
    const before = (await get('/chain/head')).body as Head
    expect(before.height).toBeGreaterThan(0)
    await node.stop()
    node = await startNode({ dataDir, env: env(), args: ['--genesis', genesis.path] })
    const after = (await get('/chain/head')).body as Head
    expect(after).toEqual(before)
    // And it goes on from there: Alice's next nonce is 4.
    const next = await post(transfer(4, 1n))
    expect(next.status).toBe(202)
    const done = await receipt(next.body.digest)
    expect(done).toMatchObject({ status: 'ok', height: before.height + 1 })
  })
})

test('a node without a genesis answers CHAIN_NOT_ENABLED', async () => {
  plain = await startNode({ dataDir: join(dir, 'plain'), env: env() })
  for (const path of [
    '/chain/head',
    '/chain/tx/00',
    '/chain/block/1',
    '/chain/state/accounts/0x00',
  ]) {
    const res = await fetch(`${plain.url}${path}`)
    expect(res.status, path).toBe(404)
    expect(((await res.json()) as Json).error.code, path).toBe('CHAIN_NOT_ENABLED')
  }
  const res = await fetch(`${plain.url}/chain/tx`, { method: 'POST', body: 'x' })
  expect(res.status).toBe(404)
}, 60_000)

test('start-up refusals are one line each: bad flags, follow without a URL, bad or foreign genesis', async () => {
  const start = (dataDir: string, ...args: string[]) =>
    runFulmen(
      [
        'node',
        'start',
        '--data-dir',
        dataDir,
        '--http-port',
        '0',
        '--ws-port',
        '0',
        '--webrtc-port',
        '0',
        ...args,
      ],
      { env: env(), timeoutMs: 60_000 },
    )
  const refusal = async (dataDir: string, ...args: string[]) => {
    const r = await start(dataDir, ...args)
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('fulmen: '))
    expect(lines, r.stderr).toHaveLength(1)
    return { code: r.code, line: lines[0]! }
  }
  const scratch = join(dir, 'refusals')
  expect(await refusal(scratch, '--consensus', 'raft')).toMatchObject({
    code: 2,
    line: expect.stringMatching(/--consensus/),
  })
  expect(await refusal(scratch, '--follow', 'ftp://x')).toMatchObject({ code: 2 })
  expect(await refusal(scratch, '--settle-every-ms', '0')).toMatchObject({ code: 2 })
  expect(await refusal(scratch, '--genesis', genesis.path, '--consensus', 'follow')).toMatchObject({
    code: 1,
    line: expect.stringMatching(/--follow.*\(CONFIG_INVALID\)$/),
  })
  expect(await refusal(scratch, '--genesis', join(dir, 'missing.json'))).toMatchObject({
    code: 1,
    line: expect.stringMatching(/\(STATE_GENESIS_INVALID\)$/),
  })
  // The data dir of the node above holds its chain: another genesis there is refused.
  await node.stop()
  const otherDir = join(dir, 'other-genesis')
  mkdirSync(otherDir)
  const other = await writeTestGenesis(otherDir, dataDir, { chainId: 7 })
  expect(await refusal(dataDir, '--genesis', other.path)).toMatchObject({
    code: 1,
    line: expect.stringMatching(/\(STATE_WRONG_GENESIS\)$/),
  })
}, 120_000)

test('a committee node of a one-node committee: its head names the committee, its index and rounds', async () => {
  const committeeDir = join(dir, 'committee')
  mkdirSync(committeeDir)
  const one = await writeTestGenesis(committeeDir, join(committeeDir, 'node'))
  const member = await startNode({
    dataDir: join(committeeDir, 'node'),
    env: env(),
    args: ['--genesis', one.path, '--consensus', 'committee'],
  })
  try {
    const headOf = async () => (await (await fetch(`${member.url}/chain/head`)).json()) as Head
    const first = await headOf()
    expect(first).toMatchObject({
      chainId: one.genesis.chainId,
      consensus: 'committee',
      committee: [bytesToHex(one.genesis.committee[0]!)],
      member: 0,
    })
    // A transfer commits through the DAG: the committed round moves past 0, the round with it.
    const res = await fetch(`${member.url}/chain/tx`, {
      method: 'POST',
      headers: { 'content-type': 'application/cbor' },
      body: transfer(1, 5n) as Uint8Array<ArrayBuffer>,
    })
    expect(res.status).toBe(202)
    const after = await waitFor(async () => {
      const head = await headOf()
      return head.height > 0 && (head.committedRound ?? 0) > 0 ? head : undefined
    }, 'a committed block on the committee node')
    expect(after.member).toBe(0)
    expect(after.round).toBeGreaterThanOrEqual(after.committedRound!)
    // The libp2p door answers the same fields.
    const libp2p = await createClientLibp2p()
    try {
      const over = (await requestChain(libp2p, wsAddressOf(member), { op: 'head' })) as Head
      expect(over).toMatchObject({ consensus: 'committee', committee: after.committee, member: 0 })
      expect(over.round).toBeGreaterThanOrEqual(after.round!)
    } finally {
      await libp2p.stop()
    }
  } finally {
    await member.stop()
  }
}, 120_000)
