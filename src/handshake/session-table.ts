/**
 * The node's sessions: who holds which session, through how many streams, and what state
 * (acknowledgements) hangs on it. A session lives while it has a stream; after its last stream
 * ends it waits for a retry until its token expires, then is removed.
 *
 * The table is synchronous and does no I/O: the handshake decides, the table counts. Expiry is
 * swept lazily on each call (only sessions without streams can expire), so it needs no timer.
 *
 * Four caps bound what clients can make a node hold (docs/protocol.md, "Sessions"): sessions per
 * client key and streams per session (advertised in CHALLENGE), and, for the whole node,
 * sessions and open streams. A refusal is a `SessionLimitError` (TERMINATE 0x88) naming the cap.
 */

import { equalBytes } from '../core/bytes.ts'
import { TOKEN_LEN } from '../wire/handshake-frames.ts'
import { SessionError } from './errors.ts'

/** Which cap refused a session or stream (the `reason` label of the node's refusal metric). */
export type SessionLimit =
  | 'sessions_per_client'
  | 'streams_per_session'
  | 'node_sessions'
  | 'node_streams'

/** A refusal for load: SESSION_RESOURCES_UNAVAILABLE (TERMINATE 0x88), with the cap reached. */
export class SessionLimitError extends SessionError {
  readonly limit: SessionLimit

  constructor(limit: SessionLimit, message: string) {
    super('SESSION_RESOURCES_UNAVAILABLE', message)
    this.limit = limit
  }
}

export interface SessionInfo {
  /** Random, nonzero, unique in the table. */
  readonly id: bigint
  /** JOIN's proof of holding the session (32 random bytes). */
  readonly token: Uint8Array
  /** The client's public key, authenticated by its HELLO. */
  readonly clientKey: Uint8Array
  /** The libp2p peer that opened the session (or last retried it): JOINs must come from it. */
  readonly remotePeer: string
  readonly service: number
  /** `now()` when the session was opened. */
  readonly createdAt: number
}

export interface Session<S> extends SessionInfo {
  /** The service's per-session state (acknowledgements): kept across a retry. */
  readonly state: S
}

/** How a stream reached its session: opened it, joined it, or replaced its primary stream. */
export type StreamKind = 'primary' | 'join' | 'retry'

/** A stream's place in a session, held until the stream ends. */
export interface StreamLease<S> {
  readonly session: Session<S>
  readonly kind: StreamKind
  /** Milliseconds left before the session's token expires. */
  readonly tokenTtlMs: number
  /** Call once the stream has ended; later calls do nothing. */
  release(): void
}

export interface SessionTableOptions<S> {
  /** Sessions one client key may hold at once, idle ones included (16). */
  readonly maxSessionsPerClient?: number
  /** Streams one session may have open, its primary included (8). */
  readonly maxStreamsPerSession?: number
  /**
   * Sessions the table holds, idle ones included (unlimited). At the cap a new session
   * evicts the session idle the longest; only when every session has a stream is it refused.
   */
  readonly maxSessions?: number
  /** Streams open on all sessions together (unlimited): the bound on what streams hold. */
  readonly maxStreams?: number
  /** How long a token is good for JOIN, and an idle session for a retry (10 min). */
  readonly tokenTtlMs?: number
  /** Clock in milliseconds (Date.now). */
  readonly now?: () => number
  /** Makes the state of a new session. */
  readonly createState: (info: SessionInfo) => S
  /** Called when a session leaves the table (expiry, delete, closeAll). */
  readonly onRemove?: (session: Session<S>) => void
}

export interface OpenRequest {
  readonly clientKey: Uint8Array
  readonly remotePeer: string
  readonly service: number
  /** The session whose primary stream this one replaces (0n or absent: a new session). */
  readonly retry?: bigint
}

export interface JoinRequest {
  readonly session: bigint
  readonly token: Uint8Array
  readonly remotePeer: string
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Entry<S> {
  readonly session: Mutable<Session<S>>
  readonly keyHex: string
  streams: number
  primaryAlive: boolean
  expiresAt: number
  removed: boolean
}

export class SessionTable<S> {
  private readonly maxSessionsPerClient: number
  private readonly maxStreamsPerSession: number
  private readonly maxSessions: number
  private readonly maxStreams: number
  private readonly tokenTtlMs: number
  private readonly now: () => number
  private readonly createState: (info: SessionInfo) => S
  private readonly onRemove: ((session: Session<S>) => void) | undefined
  private readonly byId = new Map<bigint, Entry<S>>()
  private readonly byClient = new Map<string, Set<Entry<S>>>()
  /** Sessions without a stream: the only ones that can expire. In the order they became idle. */
  private readonly idle = new Set<Entry<S>>()
  /** Streams open on all sessions. */
  private streamCount = 0

  constructor(options: SessionTableOptions<S>) {
    this.maxSessionsPerClient = options.maxSessionsPerClient ?? 16
    this.maxStreamsPerSession = options.maxStreamsPerSession ?? 8
    this.maxSessions = options.maxSessions ?? Number.POSITIVE_INFINITY
    this.maxStreams = options.maxStreams ?? Number.POSITIVE_INFINITY
    this.tokenTtlMs = options.tokenTtlMs ?? 600_000
    this.now = options.now ?? Date.now
    this.createState = options.createState
    this.onRemove = options.onRemove
  }

  /** What one client may hold: the node advertises it in CHALLENGE (docs/protocol.md). */
  get limits(): { readonly sessionsPerClient: number; readonly streamsPerSession: number } {
    return {
      sessionsPerClient: this.maxSessionsPerClient,
      streamsPerSession: this.maxStreamsPerSession,
    }
  }

  /** Sessions in the table. */
  get size(): number {
    this.sweep()
    return this.byId.size
  }

  /** Streams open on all sessions. */
  get streams(): number {
    return this.streamCount
  }

  /**
   * A new session for an authenticated client key, or, with `retry`, the existing session
   * whose primary stream dropped (same key and service; it keeps its state and token, whose
   * TTL restarts). Throws SessionError: INVALID_HANDSHAKE (no such session for this key),
   * CONNECTION_IN_USE (its primary is alive), RESOURCES_UNAVAILABLE (a cap: SessionLimitError).
   */
  open(request: OpenRequest): StreamLease<S> {
    this.sweep()
    const retry = request.retry ?? 0n
    return retry === 0n ? this.create(request) : this.reattach(retry, request)
  }

  /**
   * Another stream on a session. Throws SessionError: INVALID_TOKEN (unknown session, wrong or
   * expired token, another peer than the opener), RESOURCES_UNAVAILABLE (a stream cap:
   * SessionLimitError).
   */
  join(request: JoinRequest): StreamLease<S> {
    this.sweep()
    const entry = this.byId.get(request.session)
    const tokenOk = entry !== undefined && equalBytes(entry.session.token, request.token)
    if (
      entry === undefined ||
      !tokenOk ||
      entry.session.remotePeer !== request.remotePeer ||
      this.now() >= entry.expiresAt
    ) {
      // One message for every case: the peer learns nothing about which check failed.
      throw new SessionError('SESSION_INVALID_TOKEN', 'unknown, expired or foreign session token')
    }
    this.admit(entry)
    return this.lease(entry, 'join')
  }

  get(id: bigint): Session<S> | undefined {
    this.sweep()
    return this.byId.get(id)?.session
  }

  sessionsOf(clientKey: Uint8Array): Session<S>[] {
    this.sweep()
    return [...(this.byClient.get(hex(clientKey)) ?? [])].map((e) => e.session)
  }

  /** Removes a session at once (its streams' leases become no-ops). */
  delete(id: bigint): boolean {
    const entry = this.byId.get(id)
    if (entry === undefined) return false
    this.remove(entry)
    return true
  }

  /** Removes every session (the node is stopping). */
  closeAll(): void {
    for (const entry of [...this.byId.values()]) this.remove(entry)
  }

  private create(request: OpenRequest): StreamLease<S> {
    const keyHex = hex(request.clientKey)
    const held = this.byClient.get(keyHex)?.size ?? 0
    if (held >= this.maxSessionsPerClient) {
      throw new SessionLimitError(
        'sessions_per_client',
        `client key already holds ${held} sessions (limit ${this.maxSessionsPerClient})`,
      )
    }
    this.admitNodeStream()
    this.makeRoom()
    const now = this.now()
    const info: SessionInfo = {
      id: this.freshId(),
      token: randomBytes(TOKEN_LEN),
      clientKey: request.clientKey.slice(),
      remotePeer: request.remotePeer,
      service: request.service,
      createdAt: now,
    }
    const entry: Entry<S> = {
      session: { ...info, state: this.createState(info) },
      keyHex,
      streams: 1,
      primaryAlive: true,
      expiresAt: now + this.tokenTtlMs,
      removed: false,
    }
    this.byId.set(info.id, entry)
    this.streamCount++
    let set = this.byClient.get(keyHex)
    if (set === undefined) {
      set = new Set()
      this.byClient.set(keyHex, set)
    }
    set.add(entry)
    return this.lease(entry, 'primary')
  }

  private reattach(id: bigint, request: OpenRequest): StreamLease<S> {
    const entry = this.byId.get(id)
    if (
      entry === undefined ||
      entry.keyHex !== hex(request.clientKey) ||
      entry.session.service !== request.service
    ) {
      throw new SessionError(
        'SESSION_INVALID_HANDSHAKE',
        `no session ${id} of this client key and service to retry`,
      )
    }
    if (entry.primaryAlive) {
      throw new SessionError(
        'SESSION_CONNECTION_IN_USE',
        `session ${id} still has its primary stream`,
      )
    }
    this.admit(entry)
    entry.primaryAlive = true
    entry.expiresAt = this.now() + this.tokenTtlMs
    // The client may come back over a new connection: its JOINs now come from there.
    entry.session.remotePeer = request.remotePeer
    return this.lease(entry, 'retry')
  }

  /** Counts one more stream on `entry`, or throws at a cap. */
  private admit(entry: Entry<S>): void {
    if (entry.streams >= this.maxStreamsPerSession) {
      throw new SessionLimitError(
        'streams_per_session',
        `session already has ${entry.streams} streams (limit ${this.maxStreamsPerSession})`,
      )
    }
    this.admitNodeStream()
    entry.streams++
    this.streamCount++
    this.idle.delete(entry)
  }

  /** Throws when the node's streams are all taken. */
  private admitNodeStream(): void {
    if (this.streamCount >= this.maxStreams) {
      throw new SessionLimitError(
        'node_streams',
        `this node has ${this.streamCount} streams open (limit ${this.maxStreams})`,
      )
    }
  }

  /**
   * Room for one more session: at the cap, the session idle the longest goes (a retry of it
   * fails and its client opens a new one); with none idle, the new session is refused.
   */
  private makeRoom(): void {
    if (this.byId.size < this.maxSessions) return
    const oldest = this.idle.values().next()
    if (oldest.done) {
      throw new SessionLimitError(
        'node_sessions',
        `this node serves ${this.byId.size} sessions (limit ${this.maxSessions})`,
      )
    }
    this.remove(oldest.value)
  }

  private lease(entry: Entry<S>, kind: StreamKind): StreamLease<S> {
    let released = false
    return {
      session: entry.session,
      kind,
      tokenTtlMs: Math.max(0, entry.expiresAt - this.now()),
      release: () => {
        if (released) return
        released = true
        if (entry.removed) return
        entry.streams--
        this.streamCount--
        if (kind !== 'join') entry.primaryAlive = false
        if (entry.streams === 0) {
          this.idle.add(entry)
          this.sweep()
        }
      },
    }
  }

  private sweep(): void {
    if (this.idle.size === 0) return
    const now = this.now()
    for (const entry of this.idle) if (now >= entry.expiresAt) this.remove(entry)
  }

  private remove(entry: Entry<S>): void {
    if (entry.removed) return
    entry.removed = true
    // Its streams' leases are no-ops from now: they stop counting here.
    this.streamCount -= entry.streams
    this.idle.delete(entry)
    this.byId.delete(entry.session.id)
    const set = this.byClient.get(entry.keyHex)
    set?.delete(entry)
    if (set?.size === 0) this.byClient.delete(entry.keyHex)
    this.onRemove?.(entry.session)
  }

  private freshId(): bigint {
    for (;;) {
      const b = randomBytes(8)
      const id = new DataView(b.buffer).getBigUint64(0)
      if (id !== 0n && !this.byId.has(id)) return id
    }
  }
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n))
}

function hex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}
