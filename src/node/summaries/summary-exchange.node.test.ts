/**
 * Content summaries over real node processes (issue 19, "Geographic awareness"): node A holds a
 * content, B and C do not and keep a connection to A. A serves the content once, so its filter
 * holds the root, and pushes its summary to its closest peers; a client that asks B only gets the
 * content from B, which filled it from A over a verified session (B counts a peer fill hit, A the
 * bytes served). A root in nobody's filter fails at B as before, with no peer attempt; a peer
 * whose summary lies (it cannot serve) costs B one failed attempt before B goes on; once that
 * peer is gone its summary is too.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createClient, type FulmenClient } from '../../client/client.ts'
import { FetchError } from '../../client/errors.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  sleep,
  startNode,
  waitFor,
  wsAddressOf,
} from '../../devnet/processes.ts'
import { type ClientLibp2p, createClientLibp2p } from '../../net/client-libp2p.ts'
import { openChannel } from '../../net/protocol-dialer.ts'
import { SUMMARY_PROTOCOL } from '../../net/protocols.ts'
import { PopularContent } from '../../routing/content-summary.ts'
import { encodeSummaryFrame } from '../../wire/summary-frames.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'
import { metricsOf, metricValue } from '../testing/http.ts'

const SIZE = 3 * 2 ** 20 + 4321
const content = pseudoRandomBytes(SIZE, 19)
const second = pseudoRandomBytes(2 ** 20 + 77, 20)
let dir = ''
let hex = ''
let secondHex = ''
let a: NodeProcess
let b: NodeProcess
let c: NodeProcess
const clients: FulmenClient[] = []
let liar: ClientLibp2p | undefined

const SUMMARY_ENV = {
  // A filter of 8 roots shares at its first change; checks every 200 ms.
  FULMEN_SUMMARY_CAPACITY: '8',
  FULMEN_SUMMARY_CHECK_MS: '200',
  FULMEN_SUMMARY_MIN_SHARE_MS: '0',
}

async function clientOf(node: NodeProcess): Promise<FulmenClient> {
  const client = await createClient({ bootstrap: [wsAddressOf(node)], order: 'given' })
  clients.push(client)
  return client
}

async function metric(node: NodeProcess, name: string, labels: Record<string, string> = {}) {
  return metricValue(await metricsOf(node.url), name, labels)
}

const fills = (node: NodeProcess, result: string) =>
  metric(node, 'fulmen_peer_fills_total', { result })

printNodeLogsOnFailure(() => [a, b, c].filter((n) => n !== undefined))

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-summaries-'))
  const env = { XDG_DATA_HOME: join(dir, 'xdg'), ...SUMMARY_ENV }
  writeFileSync(join(dir, 'content.bin'), content)
  const added = await runFulmen(['add', '--data-dir', join(dir, 'a'), join(dir, 'content.bin')], {
    env,
  })
  expect(added.code, added.stderr).toBe(0)
  hex = added.stdout.slice(0, 64)
  writeFileSync(join(dir, 'second.bin'), second)
  const more = await runFulmen(['add', '--data-dir', join(dir, 'a'), join(dir, 'second.bin')], {
    env,
  })
  expect(more.code, more.stderr).toBe(0)
  secondHex = more.stdout.slice(0, 64)
  a = await startNode({ dataDir: join(dir, 'a'), env })
  const dial = { ...env, FULMEN_SUMMARY_DIAL: wsAddressOf(a) }
  ;[b, c] = await Promise.all([
    startNode({ dataDir: join(dir, 'b'), env: dial }),
    startNode({ dataDir: join(dir, 'c'), env: dial }),
  ])
}, 60_000)

afterAll(async () => {
  await Promise.allSettled(clients.map((client) => client.close()))
  await liar?.stop()
  await Promise.allSettled([a, b, c].filter((n) => n !== undefined).map((n) => n.stop()))
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('content summaries between real nodes', () => {
  test('B fills a miss from A, whose summary holds the root, over a verified session', async () => {
    // A serves the content once: its filter takes the root and A pushes it to B and C.
    const direct = await clientOf(a)
    expect((await (await direct.fetch(hex)).arrayBuffer()).byteLength).toBe(SIZE)
    const started = Date.now()
    await waitFor(
      async () => (await metric(b, 'fulmen_summaries_received_total', { result: 'taken' })) >= 1,
      "A's summary at B",
    )
    const reachedMs = Date.now() - started
    expect(
      await metric(c, 'fulmen_summaries_received_total', { result: 'taken' }),
    ).toBeGreaterThanOrEqual(1)
    const servedBefore = await metric(a, 'fulmen_bytes_served_total')

    const viaB = await clientOf(b)
    const fillStarted = Date.now()
    const bytes = new Uint8Array(await (await viaB.fetch(hex)).arrayBuffer())
    const fillMs = Date.now() - fillStarted
    expect(Buffer.compare(bytes, content)).toBe(0)
    expect(await fills(b, 'hit')).toBe(1)
    expect(await fills(b, 'failed')).toBe(0)
    expect(await metric(a, 'fulmen_bytes_served_total')).toBeGreaterThanOrEqual(servedBefore + SIZE)
    expect(await metric(a, 'fulmen_summary_bytes_sent_total')).toBeGreaterThan(0)
    // A second fetch at B is a hit in B's own store.
    expect((await (await viaB.fetch(hex)).arrayBuffer()).byteLength).toBe(SIZE)
    expect(await fills(b, 'hit')).toBe(1)
    console.log(`summary reached B in ${reachedMs} ms; ${SIZE} bytes filled via B in ${fillMs} ms`)

    // More requests for a root already in the filter change nothing: no summary is sent.
    await sleep(600)
    const sent = await metric(a, 'fulmen_summaries_sent_total')
    for (let i = 0; i < 3; i++) await (await direct.fetch(hex)).arrayBuffer()
    await sleep(600) // three checks
    expect(await metric(a, 'fulmen_summaries_sent_total')).toBe(sent)
  })

  test('a root in nobody’s filter fails at B as before, with no peer attempt', async () => {
    const before = (await fills(b, 'hit')) + (await fills(b, 'failed'))
    const viaB = await clientOf(b)
    const missing = pseudoRandomBytes(32, 99)
    const error = await viaB.fetch(Buffer.from(missing).toString('hex')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FetchError)
    expect((error as FetchError).code).toBe('FETCH_NOT_FOUND')
    expect((await fills(b, 'hit')) + (await fills(b, 'failed'))).toBe(before)
  })

  test('a holder that no longer has the root costs one attempt each (false positive)', async () => {
    // A serves the second content once, so its next summary holds it too.
    const taken = await metric(b, 'fulmen_summaries_received_total', { result: 'taken' })
    const direct = await clientOf(a)
    expect((await (await direct.fetch(secondHex)).arrayBuffer()).byteLength).toBe(second.length)
    await waitFor(
      async () => (await metric(b, 'fulmen_summaries_received_total', { result: 'taken' })) > taken,
      "A's next summary at B",
    )
    // A's copy rots on disk: A finds the block wrong when it reads it and deletes the content,
    // so its summary now holds a root it cannot serve.
    const file = openSync(join(dir, 'a', 'store', 'content', secondHex), 'r+')
    writeSync(file, new Uint8Array(16).fill(0xee), 0, 16, 1000)
    closeSync(file)
    const viaB = await clientOf(b)
    const before = { fp: await fills(b, 'false_positive'), failed: await fills(b, 'failed') }
    for (let i = 0; i < 2; i++)
      await expect(viaB.fetch(secondHex)).rejects.toBeInstanceOf(FetchError)
    const after = { fp: await fills(b, 'false_positive'), failed: await fills(b, 'failed') }
    // The first ask may find the rot (failed) or a scrub may have found it first.
    expect(after.fp - before.fp + after.failed - before.failed).toBe(2)
    expect(after.fp - before.fp).toBeGreaterThanOrEqual(1)
    console.log(
      `rotten holder: ${after.failed - before.failed} failed, ${after.fp - before.fp} not there`,
    )
    expect(await fills(b, 'hit')).toBe(1)
  })

  test('a peer whose summary lies costs one attempt; once gone, its summary is too', async () => {
    const claimed = pseudoRandomBytes(32, 123)
    const claimedHex = Buffer.from(claimed).toString('hex')
    const summary = new PopularContent({ capacity: 8 })
    summary.recordRequest(claimed)
    const snapshot = summary.takeSnapshot(Date.now())
    liar = await createClientLibp2p()
    const taken = await metric(b, 'fulmen_summaries_received_total', { result: 'taken' })
    const connection = await liar.dial(multiaddr(wsAddressOf(b)))
    // Bytes that are not a filter: the stream is refused, nothing is kept.
    const garbage = await openChannel(connection, SUMMARY_PROTOCOL)
    await garbage.write(
      encodeSummaryFrame({ kind: 'summary', seq: 1, filter: new Uint8Array(40).fill(9) }),
    )
    await garbage.close().catch(() => {})
    await waitFor(
      async () => (await metric(b, 'fulmen_summaries_received_total', { result: 'refused' })) === 1,
      'a malformed summary refused',
    )
    expect(await metric(b, 'fulmen_summary_peers')).toBe(1)
    const channel = await openChannel(connection, SUMMARY_PROTOCOL)
    await channel.write(
      encodeSummaryFrame({ kind: 'summary', seq: snapshot.seq, filter: snapshot.bytes }),
    )
    await channel.close()
    await waitFor(
      async () => (await metric(b, 'fulmen_summaries_received_total', { result: 'taken' })) > taken,
      "the liar's summary at B",
    )
    const viaB = await clientOf(b)
    const failedBefore = await fills(b, 'failed')
    await expect(viaB.fetch(claimedHex)).rejects.toBeInstanceOf(FetchError)
    expect(await fills(b, 'failed')).toBe(failedBefore + 1)
    // B goes on serving what A filled.
    expect((await (await viaB.fetch(hex)).arrayBuffer()).byteLength).toBe(SIZE)
    // The liar asks B itself: a miss on behalf of a peer whose summary B holds is not passed on
    // to peers (two stale summaries would send it back and forth), so no attempt is made.
    const asPeer = await createClient({ bootstrap: [wsAddressOf(b)], libp2p: liar, order: 'given' })
    clients.push(asPeer)
    const refused = await asPeer.fetch(claimedHex).catch((e: unknown) => e)
    expect((refused as FetchError).code).toBe('FETCH_NOT_FOUND')
    expect(await fills(b, 'failed')).toBe(failedBefore + 1)

    await liar.stop()
    liar = undefined
    await waitFor(
      async () => (await metric(b, 'fulmen_summary_peers')) === 1,
      "the liar's summary dropped",
    )
    const error = await viaB.fetch(claimedHex).catch((e: unknown) => e)
    expect((error as FetchError).code).toBe('FETCH_NOT_FOUND')
    expect(await fills(b, 'failed')).toBe(failedBefore + 1)
    expect(hexToBytes(hex)).toHaveLength(32)
  })
})
