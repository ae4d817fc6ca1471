/**
 * The pool of delivery-acknowledgement claims (docs/protocol.md), over any `KvStore`: LevelDB
 * on a full node (src/node/das/da-pool.ts), IndexedDB on a tab node
 * (src/browser/node/idb-da-pool.ts). Per session and seq it keeps the latest claim the
 * client's reveals earned, until claims are batched and submitted:
 *
 *   claim!<session: 16 hex>!<seq: 8 hex>     →  claim[230] updatedAt:u64be(ms) remotePeer:utf8
 *   progress!<session: 16 hex>!<seq: 8 hex>  →  JSON ClaimProgress (the settler's, below)
 *
 * Claims are stored as the ledger (ledger.ts) produced them, already verified; the pool only
 * keeps the highest index per key, with one `KvStore.update` per put, so two writers (two
 * tabs on one database) cannot lower a claim.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { equalBytes } from '../core/bytes.ts'
import type { KvStore } from '../kv/kv-store.ts'
import { CLAIM_LEN, type Claim, decodeClaim, encodeClaim } from './claim.ts'
import { decodeCommitment } from './commitment.ts'
import { DaPoolError } from './da-pool-error.ts'

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
  /** Where settling the claim stands: `pending` unless the settler recorded this index. */
  readonly progress: ClaimProgress
}

/**
 * Where the settler has the claim of a (session, seq), at one index (a claim whose index grew
 * since is `pending` again):
 * - `pending`: not on its way (yet);
 * - `proving`: in a batch being proven;
 * - `submitted`: in a transaction (`transaction`), with its batch proof when proven;
 * - `settled`: the chain has settled units up to `index`;
 * - `rejected`: the chain refused it (`reason`); it is not sent again at this index.
 */
export interface ClaimProgress {
  readonly state: 'pending' | 'proving' | 'submitted' | 'settled' | 'rejected'
  readonly index: number
  /** Hex of the batch's digest (its proof's public signal): the batch id. */
  readonly batch?: string
  /** Hex of the batch's 256-byte Groth16 proof. */
  readonly proof?: string
  /** Hex digest of the transaction that carried it. */
  readonly transaction?: string
  readonly reason?: string
  /** ISO time of the change. */
  readonly at: string
}

const PROGRESS_STATES: ReadonlySet<string> = new Set([
  'pending',
  'proving',
  'submitted',
  'settled',
  'rejected',
])

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
  /** Claims by where settling them stands. */
  readonly byState: Readonly<Record<ClaimProgress['state'], number>>
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
  readonly progress: ClaimProgress
}

export interface DaPutMeta {
  readonly remotePeer: string
  /** When the claim was earned (default now): kept by a migration from an older layout. */
  readonly updatedAt?: number
}

export interface DaPool {
  readonly readOnly: boolean
  /**
   * Keeps `claim` unless the pool holds one for the same session and seq with an index at
   * least as high (reveals only grow, but may be persisted out of order).
   */
  put(claim: Claim, meta: DaPutMeta): Promise<void>
  /** Every stored claim, by session then seq. */
  list(): AsyncIterable<StoredClaim>
  summary(): Promise<DaSummary>
  /** Records where settling the claim of (session, seq) stands (the settler's). */
  setProgress(session: bigint, seq: number, progress: ClaimProgress): Promise<void>
  close(): Promise<void>
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()
const PREFIX = utf8.encode('claim!')
const PROGRESS_PREFIX = utf8.encode('progress!')

function sessionSeq(session: bigint, seq: number): string {
  return `${session.toString(16).padStart(16, '0')}!${seq.toString(16).padStart(8, '0')}`
}

/** The key of a session's seq: readable, and sorted by session then seq. */
export function claimKey(session: bigint, seq: number): Uint8Array {
  return utf8.encode(`claim!${sessionSeq(session, seq)}`)
}

function progressKey(session: bigint, seq: number): Uint8Array {
  return utf8.encode(`progress!${sessionSeq(session, seq)}`)
}

/** A stored progress record, or undefined for one this version cannot read (it is redone). */
function decodeProgress(value: Uint8Array): ClaimProgress | undefined {
  try {
    const p = JSON.parse(fromUtf8.decode(value)) as ClaimProgress
    if (!PROGRESS_STATES.has(p?.state) || !Number.isSafeInteger(p.index)) return undefined
    return p
  } catch {
    return undefined
  }
}

function pendingAt(index: number, updatedAt: number): ClaimProgress {
  return { state: 'pending', index, at: new Date(updatedAt).toISOString() }
}

function encodeValue(claim: Claim, remotePeer: string, updatedAt: number): Uint8Array {
  const peer = utf8.encode(remotePeer)
  const out = new Uint8Array(CLAIM_LEN + 8 + peer.length)
  out.set(encodeClaim(claim), 0)
  new DataView(out.buffer).setBigUint64(CLAIM_LEN, BigInt(updatedAt))
  out.set(peer, CLAIM_LEN + 8)
  return out
}

function decodeValue(key: Uint8Array, value: Uint8Array, progress?: ClaimProgress): StoredClaim {
  if (value.length < CLAIM_LEN + 8) {
    throw new DaPoolError('DAS_CORRUPT', `claim ${fromUtf8.decode(key)} is not a stored claim`)
  }
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
    // A record for a lower index is history: the claim grew since, and waits again.
    progress:
      progress?.index === claim.index
        ? progress
        : pendingAt(claim.index, Number(view.getBigUint64(CLAIM_LEN))),
  }
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
    progress: s.progress,
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
  const byState = { pending: 0, proving: 0, submitted: 0, settled: 0, rejected: 0 }
  for await (const s of claims) {
    byState[s.progress.state]++
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
    byState,
  }
}

const closedError = () => new DaPoolError('DAS_CLOSED', 'the DA pool is closed')
const readOnlyError = () => new DaPoolError('DAS_READ_ONLY', 'the DA pool is read-only')

/** A DA pool over `kv`, which it owns: closing the pool closes the store. */
export function createDaPool(kv: KvStore, options: { readonly readOnly?: boolean } = {}): DaPool {
  const readOnly = options.readOnly ?? false
  let closed = false
  const pool: DaPool = {
    readOnly,

    async put(claim, meta) {
      if (closed) throw closedError()
      if (readOnly) throw readOnlyError()
      const value = encodeValue(claim, meta.remotePeer, meta.updatedAt ?? Date.now())
      const c = decodeCommitment(claim.commitment)
      const key = claimKey(c.session, c.seq)
      await kv.update(key, (stored) => {
        if (stored === undefined) return value
        const previous = decodeValue(key, stored).claim
        if (!equalBytes(previous.commitment, claim.commitment)) {
          throw new DaPoolError(
            'DAS_CONFLICT',
            `session ${c.session.toString(16)} seq ${c.seq} already holds another commitment`,
          )
        }
        return previous.index >= claim.index ? undefined : value
      })
    },

    async *list() {
      if (closed) throw closedError()
      const progress = new Map<string, ClaimProgress>()
      for await (const { key, value } of kv.entries({ prefix: PROGRESS_PREFIX })) {
        const p = decodeProgress(value)
        if (p !== undefined) progress.set(fromUtf8.decode(key.subarray(PROGRESS_PREFIX.length)), p)
      }
      for await (const { key, value } of kv.entries({ prefix: PREFIX })) {
        yield decodeValue(key, value, progress.get(fromUtf8.decode(key.subarray(PREFIX.length))))
      }
    },

    summary: () => summarize(pool.list()),

    async setProgress(session, seq, progress) {
      if (closed) throw closedError()
      if (readOnly) throw readOnlyError()
      await kv.put(progressKey(session, seq), utf8.encode(JSON.stringify(progress)))
    },

    async close() {
      if (closed) return
      closed = true
      await kv.close()
    },
  }
  return pool
}

/** A read-only pool that holds nothing (a pool that was never created). */
export function emptyDaPool(): DaPool {
  return {
    readOnly: true,
    put: () => Promise.reject(readOnlyError()),
    async *list() {},
    summary: () => summarize((async function* () {})()),
    setProgress: () => Promise.reject(readOnlyError()),
    close: async () => {},
  }
}
