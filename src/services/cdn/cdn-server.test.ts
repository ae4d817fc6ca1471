/**
 * The CDN service driven for real: the node's handshake and `serveCdnStream` on one end of an
 * in-memory channel pair, the client's handshake, a verifier and `SessionAcks` on the other.
 * Content comes from a memory store through the resolver; claims land in a recording sink.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { beforeAll, describe, expect, test } from 'vitest'
import { type Claim, verifyClaim } from '../../acks/claim.ts'
import { SessionAcks } from '../../acks/client-acks.ts'
import { decodeCommitment } from '../../acks/commitment.ts'
import { AckLedger } from '../../acks/ledger.ts'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { ready } from '../../b3/engine.ts'
import { initialProof, resumeProof } from '../../b3/proof.ts'
import { blockOf, seededContent } from '../../b3/testing/content.ts'
import type { HashTree } from '../../b3/tree.ts'
import { blocksOfRange } from '../../b3/verified-stream.ts'
import { IncrementalVerifier } from '../../b3/verifier.ts'
import { generateClientKey } from '../../crypto/client-key.ts'
import { type ClientStream, openSession } from '../../handshake/client-handshake.ts'
import { SessionError } from '../../handshake/errors.ts'
import { acceptSession } from '../../handshake/node-handshake.ts'
import { SessionTable } from '../../handshake/session-table.ts'
import { TerminationReason } from '../../handshake/termination.ts'
import { createResolver } from '../../origin/resolver.ts'
import { MemoryBlockStore } from '../../store/memory-block-store.ts'
import {
  CDN_CODEC,
  type CdnFrame,
  decodeCdnGreeting,
  encodeCdnGreeting,
} from '../../wire/cdn-frames.ts'
import type { ContentHeader } from '../../wire/content-frames.ts'
import type { SessionFrame } from '../../wire/session-frames.ts'
import { concat } from '../../wire/testing/bytes.ts'
import { channelPair } from '../../wire/testing/channel-pair.ts'
import { CDN_SERVICE } from '../service-ids.ts'
import { type CdnSessionState, type ClaimSink, serveCdnStream } from './cdn-server.ts'

const WINDOW = 4
const EPOCH = 7n
/** The node's Ed25519 public key, as commitments name it (any 32 bytes do for the ledger). */
const NODE_KEY = new Uint8Array(32).map((_, i) => 0xa0 + i)
/** The node's peer id in binary form: HELLO signatures name it. */
const NODE_PEER_ID = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...NODE_KEY])
const CLIENT_PEER = 'client-peer'

const key = generateClientKey()
const store = new MemoryBlockStore()
const resolver = createResolver({
  store,
  origins: [],
  limits: { maxBytes: 64 * 1024 * 1024, timeoutMs: 1000 },
})

/** 20 full blocks and a partial one. */
const content = seededContent(20 * TREE_BLOCK_LEN + 12_345, 0xc0ffee)
const small = seededContent(2 * TREE_BLOCK_LEN + 77, 0xbeef)
let tree: HashTree
let smallTree: HashTree

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

const pointerOf = (t: HashTree) => `blake3:${bytesToHex(t.root)}`

beforeAll(async () => {
  await ready()
  tree = await store.put(once(content))
  smallTree = await store.put(once(small))
  expect(tree.blocks).toBe(21)
})

interface Options {
  readonly ackTimeoutMs?: number
  readonly chainLength?: number
  /** Send the first COMMIT as soon as the session is open (default true). */
  readonly commit?: boolean
}

/** A node serving one stream, and the client at the other end with its acknowledgements. */
async function connect(options: Options = {}) {
  const [clientEnd, nodeEnd] = channelPair({ peers: ['node-peer', CLIENT_PEER] })
  const claims: Claim[] = []
  const sink: ClaimSink = {
    put: async (claim, meta) => {
      expect(meta.remotePeer).toBe(CLIENT_PEER)
      claims.push(claim)
    },
  }
  const table = new SessionTable<CdnSessionState>({
    createState: (info) => ({
      ledger: new AckLedger({
        nodeKey: NODE_KEY,
        session: info.id,
        epoch: EPOCH,
        clientKey: info.clientKey,
        service: info.service,
        window: WINDOW,
      }),
    }),
  })
  const accepted = acceptSession(nodeEnd, {
    table,
    nodePeerId: NODE_PEER_ID,
    services: new Map([[CDN_SERVICE, CDN_CODEC['to-node']]]),
    greeting: () => encodeCdnGreeting({ ackWindow: WINDOW, unit: TREE_BLOCK_LEN }),
    epoch: EPOCH,
    timeoutMs: 2000,
  })
  accepted.catch(() => {})
  const client = await openSession(clientEnd, {
    key,
    service: CDN_SERVICE,
    codec: CDN_CODEC['to-client'],
    nodePeerId: NODE_PEER_ID,
    timeoutMs: 2000,
  })
  const nodeStream = await accepted
  const shutdown = new AbortController()
  const served = serveCdnStream(
    nodeStream,
    { resolver, store, claims: sink, ackTimeoutMs: options.ackTimeoutMs ?? 10_000 },
    shutdown.signal,
  )
  const greeting = decodeCdnGreeting(client.greeting)
  expect(greeting.ackWindow).toBe(WINDOW)
  expect(client.challenge.epoch).toBe(EPOCH)
  const acks = new SessionAcks({
    key,
    session: client.session,
    nodeKey: NODE_KEY,
    epoch: client.challenge.epoch,
    service: CDN_SERVICE,
    window: greeting.ackWindow,
    unit: greeting.unit,
    // Reveal only when the window is full: the tests below count on the node being held back.
    cadence: greeting.ackWindow,
    ...(options.chainLength === undefined ? {} : { chainLength: options.chainLength }),
  })
  /** Every REVEAL the client sent, in order. */
  const reveals: { seq: number; index: number }[] = []
  const sendAcks = async (frames: readonly CdnFrame[]) => {
    for (const f of frames) {
      if (f.kind === 'reveal') reveals.push({ seq: f.seq, index: f.index })
      await client.send(f)
    }
  }
  if (options.commit !== false) await sendAcks([acks.begin()])
  const ledger = table.get(client.session)!.state.ledger
  return { client, acks, claims, reveals, sendAcks, ledger, served, shutdown }
}

type Conn = Awaited<ReturnType<typeof connect>>

async function nextFrame(client: ClientStream<CdnFrame>): Promise<SessionFrame> {
  const r = await client.frames.next()
  if (r.done) throw new Error('the stream ended where a frame was due')
  return r.value
}

async function expectHeader(client: ClientStream<CdnFrame>): Promise<ContentHeader> {
  const f = await nextFrame(client)
  if (f.kind !== 'header') throw new Error(`${f.kind} frame where a header was due`)
  return f.header
}

interface Body {
  readonly header: ContentHeader
  /** The proof of every block received, in order. */
  readonly proofs: Uint8Array[]
  /** The blocks received, verified, in order. */
  readonly blocks: Uint8Array[]
}

/**
 * Reads one content body: the header, then a proof and a block at a time into `verifier`
 * (made from the header unless given: a verifier that already took blocks from elsewhere),
 * acknowledging every window (the client library reveals every half window) and at the end.
 */
async function receiveBody(
  conn: Conn,
  verifier?: (header: ContentHeader) => IncrementalVerifier,
): Promise<Body> {
  const header = await expectHeader(conn.client)
  const { first, end } = blocksOfRange(header.length, header.range)
  const v =
    verifier?.(header) ??
    new IncrementalVerifier(header.root, { length: header.length, start: first, end })
  const proofs: Uint8Array[] = []
  const blocks: Uint8Array[] = []
  while (!v.isDone()) {
    const proof = await nextFrame(conn.client)
    if (proof.kind !== 'proof') throw new Error(`${proof.kind} frame where a proof was due`)
    v.feedProof(proof.bytes)
    proofs.push(proof.bytes)
    const data = await nextFrame(conn.client)
    if (data.kind !== 'data') throw new Error(`${data.kind} frame where data was due`)
    v.feedBlock(data.bytes)
    blocks.push(data.bytes)
    await conn.sendAcks(conn.acks.verified(1))
  }
  await conn.sendAcks(conn.acks.flush())
  return { header, proofs, blocks }
}

/** Every frame up to the node's TERMINATE, and the error it ended the client's stream with. */
async function framesUntilEnd(
  client: ClientStream<CdnFrame>,
): Promise<{ frames: SessionFrame[]; error: unknown }> {
  const frames: CdnFrame[] = []
  try {
    for await (const f of client.frames) frames.push(f)
  } catch (error) {
    return { frames, error }
  }
  return { frames, error: undefined }
}

/** Closes the client's side and waits for the node to finish the stream. */
async function finish(conn: Conn): Promise<void> {
  await conn.client.close()
  await conn.served
  expect((await conn.client.frames.next()).done).toBe(true)
}

function seqOf(claim: Claim): number {
  return decodeCommitment(claim.commitment).seq
}

describe('serveCdnStream', () => {
  test('serves whole content, verified, and keeps a claim per reveal', async () => {
    const conn = await connect()
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree) })
    const body = await receiveBody(conn)
    expect(body.header).toEqual({
      root: tree.root,
      length: content.length,
      range: { start: 0, end: content.length },
    })
    expect(body.blocks).toHaveLength(21)
    expect(body.proofs[0]).toEqual(initialProof(tree, 0))
    expect(concat(body.blocks)).toEqual(content)
    await finish(conn)

    // A reveal every 4 blocks, and one at the end of the response.
    expect(conn.reveals).toEqual([4, 8, 12, 16, 20, 21].map((index) => ({ seq: 0, index })))
    expect(conn.claims.map((c) => [seqOf(c), c.index])).toEqual(
      conn.reveals.map((r) => [r.seq, r.index]),
    )
    const last = conn.claims.at(-1)!
    const commitment = verifyClaim(last)
    expect(commitment.session).toBe(conn.client.session)
    expect(commitment.clientKey).toEqual(key.publicKey)
    expect(conn.ledger.deliveredUnits).toBe(21)
    expect(conn.ledger.acknowledgedUnits).toBe(21)
  })

  test('a client whose chains run out commits again mid-body; claims follow each commitment', async () => {
    const conn = await connect({ chainLength: 6 })
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree) })
    const body = await receiveBody(conn)
    expect(concat(body.blocks)).toEqual(content)
    await finish(conn)
    expect(conn.acks.commitments).toBe(4)
    expect(conn.reveals).toEqual([
      { seq: 0, index: 4 },
      { seq: 0, index: 6 },
      { seq: 1, index: 2 },
      { seq: 1, index: 6 },
      { seq: 2, index: 4 },
      { seq: 2, index: 6 },
      { seq: 3, index: 2 },
      { seq: 3, index: 3 },
    ])
    expect(conn.claims.map((c) => ({ seq: seqOf(c), index: c.index }))).toEqual(conn.reveals)
    for (const claim of conn.claims) expect(verifyClaim(claim).chainLength).toBe(6)
  })

  test('serves a range: its blocks only, from an initial proof of its first block', async () => {
    const conn = await connect()
    const range = { start: 3 * TREE_BLOCK_LEN + 100, end: 9 * TREE_BLOCK_LEN + 5 }
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree), range })
    const body = await receiveBody(conn)
    expect(body.header).toEqual({ root: tree.root, length: content.length, range })
    expect(body.blocks).toHaveLength(7) // blocks 3..9
    expect(body.proofs[0]).toEqual(initialProof(tree, 3))
    for (let i = 1; i < 7; i++) expect(body.proofs[i]).toEqual(resumeProof(tree, 3 + i))
    const bytes = concat(body.blocks)
    expect(bytes).toEqual(content.subarray(3 * TREE_BLOCK_LEN, 10 * TREE_BLOCK_LEN))
    await finish(conn)
    expect(conn.ledger.deliveredUnits).toBe(7)
    expect(conn.claims.at(-1)!.index).toBe(7)
  })

  test('resumeBlock: same header, a resume proof first, no block before it', async () => {
    const conn = await connect()
    const k = 7
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree), resumeBlock: k })
    // The client verified blocks 0..k-1 from another node.
    const body = await receiveBody(conn, (header) => {
      const v = new IncrementalVerifier(header.root, { length: header.length })
      for (let j = 0; j < k; j++) {
        v.feedProof(j === 0 ? initialProof(tree, 0) : resumeProof(tree, j))
        v.feedBlock(blockOf(content, j))
      }
      return v
    })
    expect(body.header).toEqual({
      root: tree.root,
      length: content.length,
      range: { start: 0, end: content.length },
    })
    expect(body.proofs[0]).toEqual(resumeProof(tree, k))
    expect(body.blocks).toHaveLength(21 - k)
    expect(body.blocks[0]).toEqual(blockOf(content, k))
    expect(concat(body.blocks)).toEqual(content.subarray(k * TREE_BLOCK_LEN))

    // In a range: resuming at its first block is an initial proof; later, a resume proof.
    const range = { start: 2 * TREE_BLOCK_LEN + 10, end: 12 * TREE_BLOCK_LEN + 3 }
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree), range, resumeBlock: 2 })
    const atFirst = await receiveBody(conn)
    expect(atFirst.header.range).toEqual(range)
    expect(atFirst.proofs[0]).toEqual(initialProof(tree, 2))
    expect(atFirst.blocks).toHaveLength(11)

    await conn.client.send({ kind: 'request', pointer: pointerOf(tree), range, resumeBlock: 5 })
    const later = await receiveBody(conn, (header) => {
      const v = new IncrementalVerifier(header.root, { length: header.length, start: 2, end: 13 })
      for (let j = 2; j < 5; j++) {
        v.feedProof(j === 2 ? initialProof(tree, 2) : resumeProof(tree, j))
        v.feedBlock(blockOf(content, j))
      }
      return v
    })
    expect(later.header).toEqual(atFirst.header)
    expect(later.proofs[0]).toEqual(resumeProof(tree, 5))
    expect(later.blocks).toHaveLength(8)
    expect(concat(later.blocks)).toEqual(content.subarray(5 * TREE_BLOCK_LEN, 13 * TREE_BLOCK_LEN))
    await finish(conn)
    expect(conn.ledger.deliveredUnits).toBe(21 - k + 11 + 8)
    expect(conn.ledger.acknowledgedUnits).toBe(21 - k + 11 + 8)
  })

  test('unknown content is one ERROR frame (404), and the stream serves the next request', async () => {
    const conn = await connect()
    const unknown = `blake3:${'ab'.repeat(32)}`
    await conn.client.send({ kind: 'request', pointer: unknown })
    const error = await nextFrame(conn.client)
    expect(error).toMatchObject({ kind: 'error', code: 404 })
    expect((error as { message: string }).message).toMatch(/^ORIGIN_NOT_FOUND: /)

    // A range past the end of the content: 416, the stream goes on.
    await conn.client.send({
      kind: 'request',
      pointer: pointerOf(smallTree),
      range: { start: 0, end: small.length + 1 },
    })
    expect(await nextFrame(conn.client)).toMatchObject({ kind: 'error', code: 416 })

    // A resumeBlock outside the range's blocks: an ERROR frame, no block, the stream goes on.
    await conn.client.send({ kind: 'request', pointer: pointerOf(smallTree), resumeBlock: 3 })
    expect(await nextFrame(conn.client)).toMatchObject({ kind: 'error', code: 400 })
    expect(conn.ledger.deliveredUnits).toBe(0)

    // The next frame after each ERROR is the next response's header.
    await conn.client.send({ kind: 'request', pointer: pointerOf(smallTree) })
    const body = await receiveBody(conn)
    expect(body.header.root).toEqual(smallTree.root)
    expect(concat(body.blocks)).toEqual(small)
    await finish(conn)
    expect(conn.ledger.deliveredUnits).toBe(3)
  })

  test('a client that never reveals gets exactly one window of blocks, then TERMINATE timeout', async () => {
    const conn = await connect({ ackTimeoutMs: 200 })
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree) })
    const { frames, error } = await framesUntilEnd(conn.client)
    // Header, then a proof and its data per block: 4 blocks, no 5th proof.
    expect(frames.map((f) => f.kind)).toEqual([
      'header',
      ...Array.from({ length: WINDOW }, () => ['proof', 'data']).flat(),
    ])
    expect(frames.filter((f) => f.kind === 'proof')).toHaveLength(WINDOW)
    expect(error).toBeInstanceOf(SessionError)
    expect(error).toMatchObject({
      code: 'SESSION_TIMEOUT',
      reason: TerminationReason.TIMEOUT,
      remote: true,
    })
    await conn.served
    expect(conn.ledger.deliveredUnits).toBe(WINDOW)
    expect(conn.claims).toEqual([])
  })

  test('a node held back by the window resumes sending when the client reveals', async () => {
    const conn = await connect()
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree) })
    const header = await expectHeader(conn.client)
    const v = new IncrementalVerifier(header.root, { length: header.length })
    const blocks: Uint8Array[] = []
    const readBlock = async () => {
      const proof = await nextFrame(conn.client)
      const data = await nextFrame(conn.client)
      if (proof.kind !== 'proof' || data.kind !== 'data') throw new Error('proof and data due')
      v.feedProof(proof.bytes)
      v.feedBlock(data.bytes)
      blocks.push(data.bytes)
      return conn.acks.verified(1)
    }
    let held: CdnFrame[] = []
    for (let i = 0; i < WINDOW; i++) held = [...held, ...(await readBlock())]
    // The reveal is due now; the client keeps it, and the node stays at one window.
    expect(held).toEqual([expect.objectContaining({ kind: 'reveal', seq: 0, index: WINDOW })])
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(conn.ledger.deliveredUnits).toBe(WINDOW)
    expect(conn.ledger.canSend()).toBe(false)
    await conn.sendAcks(held)
    while (!v.isDone()) await conn.sendAcks(await readBlock())
    await conn.sendAcks(conn.acks.flush())
    expect(concat(blocks)).toEqual(content)
    await finish(conn)
    expect(conn.claims.map((c) => c.index)).toEqual([4, 8, 12, 16, 20, 21])
  })

  test('a forged COMMIT ends the stream with TERMINATE invalid acknowledgement (0x83)', async () => {
    const conn = await connect({ commit: false })
    const commit = conn.acks.begin()
    const forged = commit.commitment.slice()
    forged[forged.length - 1]! ^= 0x01 // a bit of the anchor: the signature no longer fits
    await conn.client.send({ kind: 'commit', commitment: forged, signature: commit.signature })
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree) })
    const { error } = await framesUntilEnd(conn.client)
    expect(error).toBeInstanceOf(SessionError)
    expect(error).toMatchObject({
      code: 'SESSION_INVALID_ACK',
      reason: TerminationReason.INVALID_ACK,
      remote: true,
    })
    await conn.served
    expect(conn.ledger.commitments).toBe(0)
    expect(conn.claims).toEqual([])
  })

  test('a REVEAL that does not chain ends the stream with 0x83', async () => {
    const conn = await connect()
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree) })
    await expectHeader(conn.client)
    let due: CdnFrame[] = []
    for (let i = 0; i < WINDOW; i++) {
      await nextFrame(conn.client)
      await nextFrame(conn.client)
      due = conn.acks.verified(1)
    }
    const reveal = due[0]
    if (reveal?.kind !== 'reveal') throw new Error('a reveal is due after one window')
    const value = reveal.value.slice()
    value[0]! ^= 0x80
    await conn.client.send({ ...reveal, value })
    const { error } = await framesUntilEnd(conn.client)
    expect(error).toBeInstanceOf(SessionError)
    expect(error).toMatchObject({
      code: 'SESSION_INVALID_ACK',
      reason: TerminationReason.INVALID_ACK,
      remote: true,
    })
    await conn.served
    expect(conn.claims).toEqual([])
  })

  test('a stale REVEAL (overtaken on another stream) is dropped: the body goes on', async () => {
    const conn = await connect()
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree) })
    // Reveals sent twice, as if each also travelled on a slower stream of the session.
    const sendAcks = conn.sendAcks
    const twice = async (frames: readonly CdnFrame[]) => {
      await sendAcks(frames)
      for (const f of frames) if (f.kind === 'reveal') await conn.client.send(f)
    }
    const body = await receiveBody({ ...conn, sendAcks: twice })
    expect(concat(body.blocks)).toEqual(content)
    await finish(conn)
    const units = Math.ceil(content.length / TREE_BLOCK_LEN)
    expect(conn.ledger.acknowledgedUnits).toBe(units)
    expect(conn.ledger.staleReveals).toBe(conn.reveals.length)
    expect(conn.claims.map((c) => c.index)).toEqual(conn.reveals.map((r) => r.index))
  })

  test('two REQUESTs pipelined on one stream are answered in order', async () => {
    const conn = await connect()
    const range = { start: 5 * TREE_BLOCK_LEN, end: 6 * TREE_BLOCK_LEN + 1 }
    await conn.client.send({ kind: 'request', pointer: pointerOf(smallTree) })
    await conn.client.send({ kind: 'request', pointer: pointerOf(tree), range })
    const first = await receiveBody(conn)
    expect(first.header.root).toEqual(smallTree.root)
    expect(concat(first.blocks)).toEqual(small)
    const second = await receiveBody(conn)
    expect(second.header).toEqual({ root: tree.root, length: content.length, range })
    expect(concat(second.blocks)).toEqual(content.subarray(5 * TREE_BLOCK_LEN, 7 * TREE_BLOCK_LEN))
    await finish(conn)
    expect(conn.ledger.deliveredUnits).toBe(3 + 2)
    expect(conn.claims.at(-1)!.index).toBe(5)
  })
})
