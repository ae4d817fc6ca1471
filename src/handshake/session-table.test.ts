/**
 * The session table's caps: each refusal is a SessionLimitError (SESSION_RESOURCES_UNAVAILABLE,
 * TERMINATE 0x88) naming the cap reached; at the node's session cap the session idle the longest
 * makes room, and only sessions that all have a stream refuse a new one; the node's stream count
 * follows every way a stream ends (release, delete, closeAll).
 */
import { describe, expect, test } from 'vitest'
import { SessionError } from './errors.ts'
import {
  type SessionLimit,
  SessionLimitError,
  SessionTable,
  type SessionTableOptions,
} from './session-table.ts'
import { TerminationReason } from './termination.ts'

function table(options: Omit<SessionTableOptions<null>, 'createState'> = {}) {
  return new SessionTable<null>({ createState: () => null, ...options })
}

const key = (n: number) => Uint8Array.of(n)
const open = (t: SessionTable<null>, n: number, peer = `p${n}`) =>
  t.open({ clientKey: key(n), remotePeer: peer, service: 0 })
const join = (t: SessionTable<null>, lease: ReturnType<typeof open>) =>
  t.join({
    session: lease.session.id,
    token: lease.session.token,
    remotePeer: lease.session.remotePeer,
  })

function refusal(run: () => unknown): SessionLimit {
  let error: unknown
  try {
    run()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(SessionLimitError)
  expect(error).toBeInstanceOf(SessionError)
  expect((error as SessionError).code).toBe('SESSION_RESOURCES_UNAVAILABLE')
  expect((error as SessionError).reason).toBe(TerminationReason.RESOURCES_UNAVAILABLE)
  return (error as SessionLimitError).limit
}

describe('session table limits', () => {
  test('per client key and per session: refusals name their cap', () => {
    const t = table({ maxSessionsPerClient: 1, maxStreamsPerSession: 2 })
    const first = open(t, 1)
    expect(refusal(() => open(t, 1))).toBe('sessions_per_client')
    join(t, first)
    expect(refusal(() => join(t, first))).toBe('streams_per_session')
    expect(t.streams).toBe(2)
    expect(t.limits).toEqual({ sessionsPerClient: 1, streamsPerSession: 2 })
  })

  test('node sessions: the longest idle session makes room; with none idle, a refusal', () => {
    const t = table({ maxSessions: 2 })
    const a = open(t, 1)
    const b = open(t, 2)
    expect(refusal(() => open(t, 3))).toBe('node_sessions')
    b.release()
    a.release()
    // Both idle now, b first: b goes, a stays.
    const c = open(t, 3)
    expect(t.size).toBe(2)
    expect(t.get(b.session.id)).toBeUndefined()
    expect(t.get(a.session.id)).toBeDefined()
    // a takes a stream again (JOIN): no session is idle, the next one is refused.
    join(t, a)
    expect(refusal(() => open(t, 4))).toBe('node_sessions')
    expect(t.get(c.session.id)).toBeDefined()
  })

  test('node streams: counted over all sessions, refused at the cap, freed however a stream ends', () => {
    const t = table({ maxStreams: 3 })
    const a = open(t, 1)
    const joined = join(t, a)
    const b = open(t, 2)
    expect(t.streams).toBe(3)
    expect(refusal(() => open(t, 3))).toBe('node_streams')
    expect(refusal(() => join(t, b))).toBe('node_streams')
    joined.release()
    joined.release()
    expect(t.streams).toBe(2)
    join(t, b)
    // Deleting a session frees its streams at once (its leases become no-ops).
    expect(t.delete(b.session.id)).toBe(true)
    expect(t.streams).toBe(1)
    b.release()
    expect(t.streams).toBe(1)
    open(t, 4)
    t.closeAll()
    expect(t.streams).toBe(0)
    a.release()
    expect(t.streams).toBe(0)
  })

  test('a retry of a session whose primary dropped counts against the node streams', () => {
    const t = table({ maxStreams: 1 })
    const a = open(t, 1)
    a.release()
    const other = open(t, 2)
    expect(
      refusal(() =>
        t.open({ clientKey: key(1), remotePeer: 'p1', service: 0, retry: a.session.id }),
      ),
    ).toBe('node_streams')
    other.release()
    const retried = t.open({ clientKey: key(1), remotePeer: 'p1', service: 0, retry: a.session.id })
    expect(retried.kind).toBe('retry')
    expect(t.streams).toBe(1)
  })
})
