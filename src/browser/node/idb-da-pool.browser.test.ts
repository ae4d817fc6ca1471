/**
 * The tab's DA pool in real IndexedDB, fed real claims: a client's SessionAcks acknowledging
 * blocks to a node's AckLedger, as over a session.
 */
import { openDB } from 'idb'
import { describe, expect, test } from 'vitest'
import { type Claim, encodeClaim } from '../../acks/claim.ts'
import { type AckFrame, SessionAcks } from '../../acks/client-acks.ts'
import { ACK_UNIT, AckLedger } from '../../acks/ledger.ts'
import { generateClientKey } from '../../crypto/client-key.ts'
import { openIdbDaPool } from './idb-da-pool.ts'

const NODE_KEY = new Uint8Array(32).map((_, i) => i + 1)
const WINDOW = 4

/** A session of `blocks` acknowledged blocks: every claim the node's ledger yields, in order. */
function session(id: bigint, blocks: number, chainLength = 64): Claim[] {
  const key = generateClientKey()
  const client = new SessionAcks({
    key,
    session: id,
    nodeKey: NODE_KEY,
    epoch: 7n,
    service: 0,
    window: WINDOW,
    unit: ACK_UNIT,
    chainLength,
  })
  const ledger = new AckLedger({
    nodeKey: NODE_KEY,
    session: id,
    epoch: 7n,
    clientKey: key.publicKey,
    service: 0,
    window: WINDOW,
  })
  const claims: Claim[] = []
  const deliver = (frames: AckFrame[]) => {
    for (const f of frames) {
      if (f.kind === 'commit') ledger.commit(f.commitment, f.signature)
      else claims.push(ledger.reveal(f.seq, f.index, f.value)!)
    }
  }
  deliver([client.begin()])
  for (let b = 0; b < blocks; b++) {
    ledger.delivered()
    deliver(client.verified())
  }
  deliver(client.flush())
  return claims
}

const database = () => `da-pool-test-${crypto.randomUUID()}`

describe('IndexedDB DA pool', () => {
  test('keeps the highest claim per session, whatever order the puts come in', async () => {
    const name = database()
    const pool = await openIdbDaPool({ database: name })
    const claims = session(1n, 10)
    expect(claims.length).toBeGreaterThan(2)
    const last = claims.at(-1)!
    await pool.put(last, { remotePeer: 'peer-a' })
    for (const c of claims.slice(0, -1)) await pool.put(c, { remotePeer: 'peer-a' })
    const stored = await pool.list()
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({ session: 1n, seq: 0, units: 10, remotePeer: 'peer-a' })
    expect(stored[0]!.claim.index).toBe(last.index)
    pool.close()

    // It survives a reopen (a reload of the tab).
    const again = await openIdbDaPool({ database: name })
    expect(await again.summary()).toEqual({
      claims: 1,
      sessions: 1,
      clients: 1,
      units: 10,
      bytes: 10 * ACK_UNIT,
    })
    again.close()
  })

  test('sums claims over sessions and commitments', async () => {
    const pool = await openIdbDaPool({ database: database() })
    // Session 2 rolls over to a second commitment (chain of 8 units for 12 blocks).
    for (const c of [...session(2n, 12, 8), ...session(3n, 5)]) {
      await pool.put(c, { remotePeer: 'peer-b' })
    }
    const stored = await pool.list()
    expect(stored.map((s) => [s.session, s.seq, s.units])).toEqual([
      [2n, 0, 8],
      [2n, 1, 4],
      [3n, 0, 5],
    ])
    expect(await pool.summary()).toEqual({
      claims: 3,
      sessions: 2,
      clients: 2,
      units: 17,
      bytes: 17 * ACK_UNIT,
    })
    pool.close()
  })

  test('a claim for another commitment under the same session and seq is refused', async () => {
    const pool = await openIdbDaPool({ database: database() })
    await pool.put(session(4n, 3).at(-1)!, { remotePeer: 'p' })
    const forged = session(4n, 5).at(-1)!
    await expect(pool.put(forged, { remotePeer: 'p' })).rejects.toMatchObject({
      code: 'DAS_CONFLICT',
    })
    expect((await pool.list())[0]!.units).toBe(3)
    pool.close()
    await expect(pool.list()).rejects.toMatchObject({ code: 'DAS_CLOSED' })
  })

  test('claims kept in the old layout (object store "claims") move into the shared pool', async () => {
    const name = database()
    const claims = session(5n, 6)
    const last = claims.at(-1)!
    const old = await openDB(name, 1, {
      upgrade(d) {
        d.createObjectStore('claims')
      },
    })
    await old.put(
      'claims',
      { claim: encodeClaim(last), remotePeer: 'peer-old', updatedAt: 1_700_000_000_000 },
      `${5n.toString(16).padStart(16, '0')}!${(0).toString(16).padStart(8, '0')}`,
    )
    old.close()
    const pool = await openIdbDaPool({ database: name })
    const stored = await pool.list()
    expect(stored).toHaveLength(1)
    expect(stored[0]).toMatchObject({
      session: 5n,
      seq: 0,
      units: 6,
      remotePeer: 'peer-old',
      updatedAt: 1_700_000_000_000,
    })
    // Still the highest-claim rule, across the move.
    await pool.put(claims[0]!, { remotePeer: 'peer-new' })
    expect((await pool.list())[0]!.units).toBe(6)
    pool.close()
    const raw = await openDB(name)
    expect(await raw.count('claims')).toBe(0)
    raw.close()
    const again = await openIdbDaPool({ database: name })
    expect((await again.summary()).claims).toBe(1)
    again.close()
  })

  test('two pools on one database (two tabs) cannot lower a claim', async () => {
    const name = database()
    const [a, b] = [
      await openIdbDaPool({ database: name }),
      await openIdbDaPool({ database: name }),
    ]
    const claims = session(6n, 12)
    // Every claim of the session through both pools at once, in scrambled order.
    await Promise.all(
      claims.flatMap((c, i) => [
        a.put(c, { remotePeer: 'a' }),
        b.put(claims[claims.length - 1 - i]!, { remotePeer: 'b' }),
      ]),
    )
    const stored = await a.list()
    expect(stored).toHaveLength(1)
    expect(stored[0]!.units).toBe(12)
    a.close()
    b.close()
  })
})
