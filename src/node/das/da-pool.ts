/**
 * The node's pool of delivery-acknowledgement claims (docs/protocol.md): per session and
 * commitment, the latest claim the client's reveals earned, in LevelDB (classic-level) so
 * that it survives restarts until claims are batched and submitted.
 *
 *   claim!<session: 16 hex>!<seq: 8 hex>  →  claim[230] updatedAt:u64be(ms) remotePeer:utf8
 *
 * Claims are stored as the ledger (src/acks/ledger.ts) produced them, already verified; the
 * pool only keeps the highest index per key. LevelDB locks its directory: one process at a
 * time, so while the node runs, others ask it (`GET /das`) instead of opening the pool.
 */
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { ClassicLevel } from 'classic-level'
import { CLAIM_LEN, type Claim, decodeClaim, encodeClaim } from '../../acks/claim.ts'
import { decodeCommitment } from '../../acks/commitment.ts'
import { DaPoolError } from '../../acks/da-pool-error.ts'

/** The pool's directory under a node's data directory. */
export const DA_POOL_DIR = 'das'

const PREFIX = 'claim!'
// The character after '!': the end of the claim keys.
const PREFIX_END = 'claim"'

export { DaPoolError, type DaPoolErrorCode } from '../../acks/da-pool-error.ts'

export interface DaPoolOptions {
  /** The LevelDB directory (created unless read-only). */
  readonly dir: string
  /**
   * For tools while the node is stopped: `put` is refused and a missing pool reads as empty.
   * LevelDB has no true read-only mode: it still takes the lock and may tidy its own log.
   */
  readonly readOnly?: boolean
}

/** A stored claim, decoded for reading (no signature is checked here). */
export interface StoredClaim {
  readonly claim: Claim
  readonly session: bigint
  readonly seq: number
  readonly epoch: bigint
  readonly service: number
  /** Hex of the client's public key. */
  readonly clientKey: string
  /** Hex of the node key the commitment names. */
  readonly nodeKey: string
  readonly index: number
  /** Units acknowledged: the index. */
  readonly units: number
  /** Bytes per unit. */
  readonly unit: number
  /** units · unit. */
  readonly bytes: number
  /** The libp2p peer id the claim came from. */
  readonly remotePeer: string
  /** Milliseconds since the Unix epoch. */
  readonly updatedAt: number
}

export interface DaClientSummary {
  readonly clientKey: string
  readonly epochs: number
  readonly sessions: number
  readonly claims: number
  readonly units: number
  readonly bytes: number
  /** ISO time of the latest claim. */
  readonly updatedAt: string
}

export interface DaEpochSummary {
  /** Decimal: epochs are u64. */
  readonly epoch: string
  readonly clients: number
  readonly sessions: number
  readonly claims: number
  readonly units: number
  readonly bytes: number
}

/** What `GET /das` and `fulmen node das --json` print: JSON as is (no bigint). */
export interface DaSummary {
  readonly totals: {
    readonly claims: number
    readonly sessions: number
    readonly clients: number
    readonly units: number
    readonly bytes: number
  }
  /** Most bytes first. */
  readonly byClient: readonly DaClientSummary[]
  /** Oldest epoch first. */
  readonly byEpoch: readonly DaEpochSummary[]
}

/** A stored claim as JSON (`GET /das?claims=1`): hex for bytes, decimal strings for u64s. */
export interface DaClaimJson {
  readonly session: string
  readonly seq: number
  readonly epoch: string
  readonly service: number
  readonly clientKey: string
  readonly nodeKey: string
  readonly index: number
  readonly units: number
  readonly bytes: number
  readonly remotePeer: string
  readonly updatedAt: string
  readonly commitment: string
  readonly signature: string
  readonly reveal: string
}

export interface DaPool {
  readonly readOnly: boolean
  /**
   * Keeps `claim` unless the pool holds one for the same session and seq with an index at
   * least as high (reveals only grow, but may be persisted out of order).
   */
  put(claim: Claim, meta: { readonly remotePeer: string }): Promise<void>
  /** Every stored claim, by session then seq. */
  list(): AsyncIterable<StoredClaim>
  summary(): Promise<DaSummary>
  close(): Promise<void>
}

function keyOf(session: bigint, seq: number): string {
  return `${PREFIX}${session.toString(16).padStart(16, '0')}!${seq.toString(16).padStart(8, '0')}`
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

function encodeValue(claim: Claim, remotePeer: string, updatedAt: number): Uint8Array {
  const peer = utf8.encode(remotePeer)
  const out = new Uint8Array(CLAIM_LEN + 8 + peer.length)
  out.set(encodeClaim(claim), 0)
  new DataView(out.buffer).setBigUint64(CLAIM_LEN, BigInt(updatedAt))
  out.set(peer, CLAIM_LEN + 8)
  return out
}

function decodeValue(value: Uint8Array): StoredClaim {
  const claim = decodeClaim(value.subarray(0, CLAIM_LEN))
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  const c = decodeCommitment(claim.commitment)
  return {
    claim,
    session: c.session,
    seq: c.seq,
    epoch: c.epoch,
    service: c.service,
    clientKey: bytesToHex(c.clientKey),
    nodeKey: bytesToHex(c.nodeKey),
    index: claim.index,
    units: claim.index,
    unit: c.unit,
    bytes: claim.index * c.unit,
    remotePeer: fromUtf8.decode(value.subarray(CLAIM_LEN + 8)),
    updatedAt: Number(view.getBigUint64(CLAIM_LEN)),
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** A stored claim as JSON. */
export function claimJson(s: StoredClaim): DaClaimJson {
  return {
    session: s.session.toString(16).padStart(16, '0'),
    seq: s.seq,
    epoch: s.epoch.toString(),
    service: s.service,
    clientKey: s.clientKey,
    nodeKey: s.nodeKey,
    index: s.index,
    units: s.units,
    bytes: s.bytes,
    remotePeer: s.remotePeer,
    updatedAt: new Date(s.updatedAt).toISOString(),
    commitment: bytesToHex(s.claim.commitment),
    signature: bytesToHex(s.claim.signature),
    reveal: bytesToHex(s.claim.reveal),
  }
}

/** Totals per client and per epoch. */
export async function summarize(claims: AsyncIterable<StoredClaim>): Promise<DaSummary> {
  interface Tally {
    claims: number
    units: number
    bytes: number
    sessions: Set<string>
    keys: Set<string>
    updatedAt: number
  }
  const tally = (): Tally => ({
    claims: 0,
    units: 0,
    bytes: 0,
    sessions: new Set(),
    keys: new Set(),
    updatedAt: 0,
  })
  const add = (t: Tally, s: StoredClaim, key: string) => {
    t.claims++
    t.units += s.units
    t.bytes += s.bytes
    t.sessions.add(s.session.toString(16))
    t.keys.add(key)
    t.updatedAt = Math.max(t.updatedAt, s.updatedAt)
  }
  const total = tally()
  const clients = new Map<string, Tally>()
  const epochs = new Map<bigint, Tally>()
  for await (const s of claims) {
    add(total, s, s.clientKey)
    if (!clients.has(s.clientKey)) clients.set(s.clientKey, tally())
    add(clients.get(s.clientKey)!, s, s.epoch.toString())
    if (!epochs.has(s.epoch)) epochs.set(s.epoch, tally())
    add(epochs.get(s.epoch)!, s, s.clientKey)
  }
  return {
    totals: {
      claims: total.claims,
      sessions: total.sessions.size,
      clients: total.keys.size,
      units: total.units,
      bytes: total.bytes,
    },
    byClient: [...clients]
      .map(([clientKey, t]) => ({
        clientKey,
        epochs: t.keys.size,
        sessions: t.sessions.size,
        claims: t.claims,
        units: t.units,
        bytes: t.bytes,
        updatedAt: new Date(t.updatedAt).toISOString(),
      }))
      .sort((a, b) => b.bytes - a.bytes || a.clientKey.localeCompare(b.clientKey)),
    byEpoch: [...epochs]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([epoch, t]) => ({
        epoch: epoch.toString(),
        clients: t.keys.size,
        sessions: t.sessions.size,
        claims: t.claims,
        units: t.units,
        bytes: t.bytes,
      })),
  }
}

function isLocked(e: unknown): boolean {
  // classic-level wraps LevelDB's lock failure: LEVEL_DATABASE_NOT_OPEN caused by LEVEL_LOCKED.
  for (let x = e; typeof x === 'object' && x !== null; x = (x as { cause?: unknown }).cause) {
    if ((x as { code?: unknown }).code === 'LEVEL_LOCKED') return true
  }
  return false
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** A read-only pool that was never created: empty. */
function emptyPool(): DaPool {
  return {
    readOnly: true,
    put: () => Promise.reject(new DaPoolError('DAS_READ_ONLY', 'the DA pool is read-only')),
    async *list() {},
    summary: () => summarize((async function* () {})()),
    close: async () => {},
  }
}

export async function openDaPool(options: DaPoolOptions): Promise<DaPool> {
  const dir = resolve(options.dir)
  const readOnly = options.readOnly ?? false
  // LevelDB's own marker file: without it there is no pool, and a reader must not create one.
  if (readOnly && !(await exists(join(dir, 'CURRENT')))) return emptyPool()
  const db = new ClassicLevel<string, Uint8Array>(dir, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
    createIfMissing: !readOnly,
  })
  try {
    await db.open()
  } catch (e) {
    if (isLocked(e)) {
      throw new DaPoolError('DAS_LOCKED', `the DA pool ${dir} is in use (is the node running?)`)
    }
    throw e
  }
  return new LevelDaPool(db, readOnly)
}

class LevelDaPool implements DaPool {
  readonly readOnly: boolean
  private readonly db: ClassicLevel<string, Uint8Array>
  /** Puts run one after another: each reads the stored index before it writes. */
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(db: ClassicLevel<string, Uint8Array>, readOnly: boolean) {
    this.db = db
    this.readOnly = readOnly
  }

  put(claim: Claim, meta: { readonly remotePeer: string }): Promise<void> {
    if (this.closed) return Promise.reject(new DaPoolError('DAS_CLOSED', 'the DA pool is closed'))
    if (this.readOnly) {
      return Promise.reject(new DaPoolError('DAS_READ_ONLY', 'the DA pool is read-only'))
    }
    const value = encodeValue(claim, meta.remotePeer, Date.now())
    const c = decodeCommitment(claim.commitment)
    const key = keyOf(c.session, c.seq)
    const run = this.queue.then(async () => {
      const stored = await this.db.get(key)
      if (stored !== undefined) {
        const previous = decodeClaim(stored.subarray(0, CLAIM_LEN))
        if (!sameBytes(previous.commitment, claim.commitment)) {
          throw new DaPoolError(
            'DAS_CONFLICT',
            `session ${c.session.toString(16)} seq ${c.seq} already holds another commitment`,
          )
        }
        if (previous.index >= claim.index) return
      }
      // Not synced: a process crash loses nothing (LevelDB's log is written first), an OS
      // crash at most the last moments' claims, each superseded by the next reveal anyway.
      await this.db.put(key, value)
    })
    this.queue = run.catch(() => {})
    return run
  }

  async *list(): AsyncGenerator<StoredClaim> {
    if (this.closed) throw new DaPoolError('DAS_CLOSED', 'the DA pool is closed')
    for await (const value of this.db.values({ gte: PREFIX, lt: PREFIX_END })) {
      yield decodeValue(value)
    }
  }

  summary(): Promise<DaSummary> {
    return summarize(this.list())
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.queue
    await this.db.close()
  }
}
