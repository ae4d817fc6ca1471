/**
 * NarwhalStore over LevelDB in a temporary directory: a committee's records written by a real
 * NarwhalCore survive closing and reopening the database, and NarwhalCore.recover rebuilds the
 * same DAG from them; pruning and the committed round persist too; a value damaged on disk is
 * CONSENSUS_STORE_CORRUPT.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { openLevelKvStore } from '../../kv/level-kv-store.ts'
import { ConsensusError } from '../errors.ts'
import { macSigner, macVerifier } from '../testing/committee-simulator.ts'
import {
  type NarwhalAction,
  NarwhalCore,
  type NarwhalCoreOptions,
  type NarwhalEvent,
  type NarwhalRecord,
} from './narwhal-core.ts'
import { NarwhalStore } from './narwhal-store.ts'

const base = mkdtempSync(join(tmpdir(), 'fulmen-narwhal-store-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))
let dirs = 0
const freshDir = () => join(base, `db-${dirs++}`)

const N = 4
const EPOCH = 2n

function options(member: number): NarwhalCoreOptions {
  return {
    epoch: EPOCH,
    committeeSize: N,
    signer: macSigner(member),
    verifier: macVerifier(N),
    maxHeaderDelayMs: 10,
    gcDepth: 50,
    nowMs: 0,
  }
}

/**
 * Four cores exchanging messages in FIFO order until `rounds` rounds are delivered; member 0's
 * persist actions are returned in order (what it would have written), with its deliveries.
 */
function runCommittee(rounds: number): { records: NarwhalRecord[]; delivered: string[] } {
  const cores = Array.from({ length: N }, (_, m) => new NarwhalCore(options(m)))
  const queue: { to: number; event: NarwhalEvent }[] = []
  const records: NarwhalRecord[] = []
  const delivered: string[] = []
  const act = (from: number, actions: NarwhalAction[]) => {
    for (const a of actions) {
      if (from === 0 && a.kind === 'persist') records.push(a.record)
      if (from === 0 && a.kind === 'deliver') delivered.push(a.vertex.digest)
      if (a.kind === 'broadcast' || a.kind === 'send') {
        const m = a.message
        const event: NarwhalEvent =
          m.type === 'header'
            ? { kind: 'header', header: m.header, from }
            : m.type === 'vote'
              ? { kind: 'vote', vote: m.vote }
              : { kind: 'certificate', certificate: m.certificate, from }
        const targets = a.kind === 'send' ? [a.to] : [0, 1, 2, 3].filter((t) => t !== from)
        for (const to of targets) queue.push({ to, event })
      }
    }
  }
  for (let now = 0; delivered.length < rounds * N && now < 10_000; now += 10) {
    for (let m = 0; m < N; m++) act(m, cores[m]!.handle({ kind: 'tick', nowMs: now }))
    while (queue.length > 0) {
      const { to, event } = queue.shift()!
      act(to, cores[to]!.handle(event))
    }
  }
  return { records, delivered }
}

describe('NarwhalStore over LevelDB', () => {
  test('a member’s records survive a reopen and recover the same DAG', async () => {
    const { records, delivered } = runCommittee(8)
    expect(records.some((r) => r.type === 'vote')).toBe(true)
    expect(records.some((r) => r.type === 'header')).toBe(true)
    const dir = freshDir()
    const kv = await openLevelKvStore({ dir })
    const store = new NarwhalStore(kv, 'narwhal/')
    // In the batches the core emitted them (one event's persists at a time, here a few).
    for (let i = 0; i < records.length; i += 7) await store.append(EPOCH, records.slice(i, i + 7))
    await store.saveCommittedRound(EPOCH, 6)
    await kv.close()

    const reopened = await openLevelKvStore({ dir })
    const again = new NarwhalStore(reopened, 'narwhal/')
    const loaded = await again.load(EPOCH)
    expect(loaded).toHaveLength(records.length)
    expect(await again.loadCommittedRound(EPOCH)).toBe(6)
    const { core, actions } = NarwhalCore.recover(options(0), loaded)
    const redelivered = actions.flatMap((a) => (a.kind === 'deliver' ? [a.vertex.digest] : []))
    expect(new Set(redelivered)).toEqual(new Set(delivered))
    expect(core.round).toBe(
      Math.max(...records.flatMap((r) => (r.type === 'header' ? [r.header.round] : []))),
    )

    // Prune below round 5: exactly rounds 5.. remain, after another reopen too.
    await again.prune(EPOCH, 5)
    await reopened.close()
    const third = await openLevelKvStore({ dir })
    const rounds = (await new NarwhalStore(third, 'narwhal/').load(EPOCH)).map((r) =>
      r.type === 'vote'
        ? r.vote.round
        : r.type === 'header'
          ? r.header.round
          : r.certificate.header.round,
    )
    expect(rounds.length).toBeGreaterThan(0)
    expect(Math.min(...rounds)).toBe(5)
    await third.close()
  })

  test('a value damaged on disk is CONSENSUS_STORE_CORRUPT', async () => {
    const { records } = runCommittee(2)
    const dir = freshDir()
    const kv = await openLevelKvStore({ dir })
    await new NarwhalStore(kv, 'narwhal/').append(EPOCH, records)
    // Overwrite the first certificate's value with another certificate's bytes.
    const entries: { key: Uint8Array; value: Uint8Array }[] = []
    for await (const e of kv.entries()) entries.push(e)
    const [a, b] = entries.slice(-2)
    await kv.put(a!.key, b!.value)
    const error = await new NarwhalStore(kv, 'narwhal/').load(EPOCH).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConsensusError)
    expect((error as ConsensusError).code).toBe('CONSENSUS_STORE_CORRUPT')
    await kv.close()
  })
})
