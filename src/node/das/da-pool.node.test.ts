/**
 * The DA pool on LevelDB: what it keeps (the highest index per session and seq), what it
 * reports, that it survives a restart, and how it is read from outside: `GET /das` on the
 * gateway and `fulmen node das` (from the pool on disk, or from a running node).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { CLAIM_LEN, type Claim, encodeClaim, verifyClaim } from '../../acks/claim.ts'
import { SessionAcks } from '../../acks/client-acks.ts'
import { ACK_UNIT, AckLedger } from '../../acks/ledger.ts'
import { type ClientKey, generateClientKey } from '../../crypto/client-key.ts'
import { runFulmen } from '../../devnet/processes.ts'
import type { BlockStore } from '../../store/block-store.ts'
import { formatBytes } from '../cli/progress.ts'
import { createGateway } from '../gateway/http-gateway.ts'
import { createLogger } from '../logger.ts'
import { createMetrics } from '../metrics.ts'
import { RUNTIME_FILE } from '../runtime.ts'
import {
  DA_POOL_DIR,
  type DaClaimJson,
  type DaPool,
  type DaSummary,
  openDaPool,
  type StoredClaim,
} from './da-pool.ts'

const NODE_KEY = new Uint8Array(32).fill(0x4e)
const alice = generateClientKey()
const bob = generateClientKey()

let root = ''
let counter = 0

function freshDir(): string {
  return join(root, `pool-${counter++}`)
}

/**
 * A session played to the end between a client and the node's ledger: the latest claim of
 * each commitment, in order.
 */
function playSession(
  key: ClientKey,
  session: bigint,
  epoch: bigint,
  units: number,
  chainLength = 10,
): Claim[] {
  const options = { session, epoch, service: 0, window: 4 }
  const client = new SessionAcks({
    ...options,
    key,
    nodeKey: NODE_KEY,
    unit: ACK_UNIT,
    chainLength,
  })
  const node = new AckLedger({ ...options, nodeKey: NODE_KEY, clientKey: key.publicKey })
  const claims: Claim[] = []
  const begun = client.begin()
  node.commit(begun.commitment, begun.signature)
  const take = (frames: ReturnType<SessionAcks['flush']>) => {
    for (const f of frames) {
      if (f.kind === 'commit') node.commit(f.commitment, f.signature)
      else claims[f.seq] = node.reveal(f.seq, f.index, f.value)!
    }
  }
  for (let i = 0; i < units; i++) {
    node.delivered()
    take(client.verified())
  }
  take(client.flush())
  return claims
}

/** Alice: two sessions in epoch 7 (one over three commitments), one in epoch 8; Bob: one in 8. */
const sessions = [
  { key: alice, session: 0x11n, epoch: 7n, units: 25 },
  { key: alice, session: 0x12n, epoch: 7n, units: 3 },
  { key: alice, session: 0x13n, epoch: 8n, units: 5 },
  { key: bob, session: 0xfedc_ba98_7654_3210n, epoch: 8n, units: 9 },
]
let claims: { claim: Claim; remotePeer: string }[] = []

const expected: DaSummary = {
  totals: { claims: 6, sessions: 4, clients: 2, units: 42, bytes: 42 * ACK_UNIT },
  byClient: [
    {
      clientKey: Buffer.from(alice.publicKey).toString('hex'),
      epochs: 2,
      sessions: 3,
      claims: 5,
      units: 33,
      bytes: 33 * ACK_UNIT,
      updatedAt: expect.any(String) as unknown as string,
    },
    {
      clientKey: Buffer.from(bob.publicKey).toString('hex'),
      epochs: 1,
      sessions: 1,
      claims: 1,
      units: 9,
      bytes: 9 * ACK_UNIT,
      updatedAt: expect.any(String) as unknown as string,
    },
  ],
  byEpoch: [
    { epoch: '7', clients: 1, sessions: 2, claims: 4, units: 28, bytes: 28 * ACK_UNIT },
    { epoch: '8', clients: 2, sessions: 2, claims: 2, units: 14, bytes: 14 * ACK_UNIT },
  ],
  byState: { pending: 6, proving: 0, submitted: 0, settled: 0, rejected: 0 },
}

async function collect(pool: DaPool): Promise<StoredClaim[]> {
  const out: StoredClaim[] = []
  for await (const s of pool.list()) out.push(s)
  return out
}

/** A pool holding every claim of `sessions`. */
async function filledPool(dir: string): Promise<DaPool> {
  const pool = await openDaPool({ dir })
  for (const { claim, remotePeer } of claims) await pool.put(claim, { remotePeer })
  return pool
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fulmen-das-'))
  claims = sessions.flatMap((s, i) =>
    playSession(s.key, s.session, s.epoch, s.units).map((claim) => ({
      claim,
      remotePeer: `12D3KooWpeer${i}`,
    })),
  )
})

afterAll(() => {
  if (root !== '') rmSync(root, { recursive: true, force: true })
})

describe('the DA pool', () => {
  test('keeps every claim, lists them decoded by session and seq, and sums them up', async () => {
    const pool = await filledPool(freshDir())
    try {
      const listed = await collect(pool)
      expect(listed.map((s) => [s.session, s.seq, s.index])).toEqual([
        [0x11n, 0, 10],
        [0x11n, 1, 10],
        [0x11n, 2, 5],
        [0x12n, 0, 3],
        [0x13n, 0, 5],
        [0xfedc_ba98_7654_3210n, 0, 9],
      ])
      const first = listed[0]!
      expect(first).toMatchObject({
        epoch: 7n,
        service: 0,
        clientKey: Buffer.from(alice.publicKey).toString('hex'),
        nodeKey: Buffer.from(NODE_KEY).toString('hex'),
        units: 10,
        unit: ACK_UNIT,
        bytes: 10 * ACK_UNIT,
        remotePeer: '12D3KooWpeer0',
      })
      expect(Math.abs(first.updatedAt - Date.now())).toBeLessThan(3_600_000)
      for (const s of listed) expect(verifyClaim(s.claim).session).toBe(s.session)
      expect(await pool.summary()).toEqual(expected)
    } finally {
      await pool.close()
    }
  })

  test('keeps the settler’s progress per claim, for the index it was recorded at', async () => {
    const dir = freshDir()
    let pool = await filledPool(dir)
    try {
      const at = new Date().toISOString()
      await pool.setProgress(0x11n, 0, {
        state: 'submitted',
        index: 10,
        batch: 'ab'.repeat(32),
        proof: 'cd'.repeat(256),
        transaction: 'ef'.repeat(32),
        at,
      })
      await pool.setProgress(0x12n, 0, { state: 'settled', index: 3, at })
      // Recorded at index 4 of 5: the claim grew since, so it waits again.
      await pool.setProgress(0x13n, 0, { state: 'settled', index: 4, at })
      await pool.close()
      pool = await openDaPool({ dir })
      const listed = await collect(pool)
      expect(listed.map((c) => c.progress.state)).toEqual([
        'submitted',
        'pending',
        'pending',
        'settled',
        'pending',
        'pending',
      ])
      expect(listed[0]?.progress).toEqual({
        state: 'submitted',
        index: 10,
        batch: 'ab'.repeat(32),
        proof: 'cd'.repeat(256),
        transaction: 'ef'.repeat(32),
        at,
      })
      expect(listed[4]?.progress).toMatchObject({ state: 'pending', index: 5 })
      expect((await pool.summary()).byState).toEqual({
        pending: 4,
        proving: 0,
        submitted: 1,
        settled: 1,
        rejected: 0,
      })
      // A record this version cannot read counts as pending, it does not break the listing.
      await pool.setProgress(0x11n, 1, { state: 'lost' } as never)
      expect((await collect(pool))[1]?.progress.state).toBe('pending')
    } finally {
      await pool.close()
    }
    const readOnly = await openDaPool({ dir, readOnly: true })
    try {
      await expect(
        readOnly.setProgress(0x11n, 0, { state: 'settled', index: 10, at: '' }),
      ).rejects.toMatchObject({ code: 'DAS_READ_ONLY' })
    } finally {
      await readOnly.close()
    }
  })

  test('keeps the highest index per session and seq, whatever order the puts come in', async () => {
    const [claim] = playSession(alice, 0x21n, 7n, 3)
    const lower = playSession(alice, 0x21n, 7n, 3)
    const pool = await openDaPool({ dir: freshDir() })
    try {
      const at = (index: number): Claim => ({ ...claim!, index })
      // Not verifiable (the reveal belongs to index 3), but the pool does not verify.
      await Promise.all([
        pool.put(at(3), { remotePeer: 'a' }),
        pool.put(at(2), { remotePeer: 'b' }),
      ])
      await pool.put(at(1), { remotePeer: 'c' })
      await pool.put(claim!, { remotePeer: 'd' })
      let listed = await collect(pool)
      expect(listed.map((s) => [s.index, s.remotePeer])).toEqual([[3, 'a']])
      // Another commitment under the same session and seq: refused, the stored one stays.
      await expect(pool.put(lower[0]!, { remotePeer: 'e' })).rejects.toMatchObject({
        code: 'DAS_CONFLICT',
      })
      listed = await collect(pool)
      expect(listed.map((s) => [s.index, s.remotePeer])).toEqual([[3, 'a']])
    } finally {
      await pool.close()
    }
    await expect(pool.put(claim!, { remotePeer: 'f' })).rejects.toMatchObject({
      code: 'DAS_CLOSED',
    })
  })

  test('survives a restart', async () => {
    const dir = freshDir()
    await (await filledPool(dir)).close()
    const again = await openDaPool({ dir })
    try {
      expect(await again.summary()).toEqual(expected)
      // And still refuses to go backwards.
      await again.put({ ...claims[0]!.claim, index: 1 }, { remotePeer: 'x' })
      expect((await collect(again))[0]!.index).toBe(10)
    } finally {
      await again.close()
    }
  })

  test('read-only: a missing pool is empty, writes are refused, a pool in use is locked', async () => {
    const missing = await openDaPool({ dir: freshDir(), readOnly: true })
    expect((await missing.summary()).totals).toEqual({
      claims: 0,
      sessions: 0,
      clients: 0,
      units: 0,
      bytes: 0,
    })
    await expect(missing.put(claims[0]!.claim, { remotePeer: 'x' })).rejects.toMatchObject({
      code: 'DAS_READ_ONLY',
    })
    await missing.close()

    const dir = freshDir()
    const writer = await filledPool(dir)
    try {
      await expect(openDaPool({ dir, readOnly: true })).rejects.toMatchObject({
        code: 'DAS_LOCKED',
      })
    } finally {
      await writer.close()
    }
    const reader = await openDaPool({ dir, readOnly: true })
    try {
      expect(await reader.summary()).toEqual(expected)
      await expect(reader.put(claims[0]!.claim, { remotePeer: 'x' })).rejects.toMatchObject({
        code: 'DAS_READ_ONLY',
      })
    } finally {
      await reader.close()
    }
  })
})

describe('the DA pool on disk', () => {
  test('its LevelDB layout is the one before KvStore: claim!<session>!<seq> → claim, time, peer', async () => {
    const dir = freshDir()
    await (await filledPool(dir)).close()
    const raw = new ClassicLevel<string, Uint8Array>(dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    })
    try {
      const keys = await raw.keys().all()
      expect(keys).toEqual([
        'claim!0000000000000011!00000000',
        'claim!0000000000000011!00000001',
        'claim!0000000000000011!00000002',
        'claim!0000000000000012!00000000',
        'claim!0000000000000013!00000000',
        'claim!fedcba9876543210!00000000',
      ])
      const value = (await raw.get(keys[5]!))!
      const last = claims.at(-1)!
      expect(Buffer.from(value.subarray(0, CLAIM_LEN))).toEqual(
        Buffer.from(encodeClaim(last.claim)),
      )
      const at = Number(new DataView(value.buffer, value.byteOffset).getBigUint64(CLAIM_LEN))
      expect(Math.abs(at - Date.now())).toBeLessThan(3_600_000)
      expect(new TextDecoder().decode(value.subarray(CLAIM_LEN + 8))).toBe(last.remotePeer)
      // A record written as the older code wrote it reads back through the pool.
      await raw.del(keys[5]!)
      const old = new Uint8Array(value.length)
      old.set(value)
      new DataView(old.buffer).setBigUint64(CLAIM_LEN, 1_700_000_000_000n)
      await raw.put(keys[5]!, old)
    } finally {
      await raw.close()
    }
    const pool = await openDaPool({ dir, readOnly: true })
    try {
      const listed = await collect(pool)
      expect(listed.at(-1)).toMatchObject({
        session: 0xfedc_ba98_7654_3210n,
        index: 9,
        remotePeer: '12D3KooWpeer3',
        updatedAt: 1_700_000_000_000,
      })
    } finally {
      await pool.close()
    }
  })
})

describe('reading the pool from outside', () => {
  test('fulmen node das reads the pool of a stopped node', async () => {
    const dataDir = freshDir()
    await (await filledPool(join(dataDir, DA_POOL_DIR))).close()
    const json = await runFulmen(['node', 'das', '--data-dir', dataDir, '--json'])
    expect(json.stderr).toBe('')
    expect(json.code).toBe(0)
    const listing = JSON.parse(json.stdout)
    expect(listing).toEqual({ ...expected, claims: expect.any(Array) })
    expect(listing.claims.map((c: DaClaimJson) => [c.session, c.seq, c.progress.state])).toEqual([
      ['0000000000000011', 0, 'pending'],
      ['0000000000000011', 1, 'pending'],
      ['0000000000000011', 2, 'pending'],
      ['0000000000000012', 0, 'pending'],
      ['0000000000000013', 0, 'pending'],
      ['fedcba9876543210', 0, 'pending'],
    ])

    const human = await runFulmen(['node', 'das', '--data-dir', dataDir])
    expect(human.stderr).toBe('')
    expect(human.code).toBe(0)
    const aliceHex = Buffer.from(alice.publicKey).toString('hex')
    expect(human.stdout).toContain(`${aliceHex.slice(0, 8)}…${aliceHex.slice(-8)}`)
    expect(human.stdout).toContain(formatBytes(33 * ACK_UNIT)) // Alice's 33 blocks
    expect(human.stdout).toMatch(/total: 2 clients, 4 sessions, 6 claims, 42 units, 10\.5 MiB/)
    expect(human.stdout).toMatch(/^ +7 +1 +2 +4 +28 +7\.0 MiB$/m)
    expect(human.stdout).toContain(
      'settling: 6 pending, 0 proving, 0 submitted, 0 settled, 0 rejected',
    )
  })

  test('fulmen node das on a data dir without a pool says there is nothing', async () => {
    const dir = freshDir()
    mkdirSync(dir, { recursive: true })
    const r = await runFulmen(['node', 'das', '--data-dir', dir])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^no delivery acknowledgements/)
    const u = await runFulmen(['node', 'das', 'extra'])
    expect(u.code).toBe(2)
  })

  test('GET /das serves the summary (and claims on request); fulmen node das asks a running node', async () => {
    const dataDir = freshDir()
    const pool = await filledPool(join(dataDir, DA_POOL_DIR))
    const gatewayOptions = {
      store: {} as BlockStore,
      resolver: { resolve: () => Promise.reject(new Error('no content here')) },
      metrics: createMetrics(),
      logger: createLogger('silent'),
      nodeId: '12D3KooWtest',
      status: async () => ({}),
    }
    const gateway = createGateway({ ...gatewayOptions, das: pool })
    const without = createGateway(gatewayOptions)
    try {
      const { port } = await gateway.listen(0, '127.0.0.1')
      const url = `http://127.0.0.1:${port}`
      const res = await fetch(`${url}/das`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(await res.json()).toEqual(expected)

      const withClaims = (await (await fetch(`${url}/das?claims=1`)).json()) as DaSummary & {
        claims: Record<string, unknown>[]
      }
      expect(withClaims.totals).toEqual(expected.totals)
      expect(withClaims.claims).toHaveLength(6)
      expect(withClaims.claims[5]).toMatchObject({
        session: 'fedcba9876543210',
        seq: 0,
        epoch: '8',
        service: 0,
        clientKey: Buffer.from(bob.publicKey).toString('hex'),
        index: 9,
        units: 9,
        bytes: 9 * ACK_UNIT,
        remotePeer: '12D3KooWpeer3',
      })
      const c = withClaims.claims[5]!
      expect(c.commitment).toMatch(/^[0-9a-f]{260}$/)
      expect(c.signature).toMatch(/^[0-9a-f]{128}$/)
      expect(c.reveal).toMatch(/^[0-9a-f]{64}$/)
      expect(new Date(c.updatedAt as string).toISOString()).toBe(c.updatedAt)

      const other = await without.listen(0, '127.0.0.1')
      const missing = await fetch(`http://127.0.0.1:${other.port}/das`)
      expect(missing.status).toBe(404)
      await missing.body?.cancel()

      // A running node is found through its runtime file; the pool itself stays locked.
      writeFileSync(
        join(dataDir, RUNTIME_FILE),
        JSON.stringify({ pid: process.pid, peerId: '12D3KooWtest', http: url, multiaddrs: [] }),
      )
      // A batch proven and submitted: the listing says so, with its id, proof and transaction.
      const batch = {
        batch: 'b1'.repeat(32),
        proof: 'aa'.repeat(256),
        transaction: '7e'.repeat(32),
      }
      const at = new Date().toISOString()
      await pool.setProgress(0x11n, 0, { state: 'submitted', index: 10, ...batch, at })
      await pool.setProgress(0x11n, 1, { state: 'submitted', index: 10, ...batch, at })
      const r = await runFulmen(['node', 'das', '--data-dir', dataDir, '--json'])
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const listing = JSON.parse(r.stdout)
      expect(listing.byState).toEqual({ ...expected.byState, pending: 4, submitted: 2 })
      expect(listing.claims[1].progress).toEqual({ state: 'submitted', index: 10, ...batch, at })
      const human = await runFulmen(['node', 'das', '--data-dir', dataDir])
      expect(human.stdout).toContain(`(node ${url})`)
      expect(human.stdout).toMatch(/^ +b1b1b1b1…b1b1b1b1 +2 +submitted +7e7e7e7e…7e7e7e7e$/m)
    } finally {
      await gateway.close(0)
      await without.close(0)
      await pool.close()
    }
  })
})
