/**
 * A verified fetch across nodes: the client's streaming state machine.
 *
 *   attach ──header ok──▶ streaming ──block verified──▶ streaming … ──last block──▶ done
 *      ▲                      │
 *      └── failover ◀── wrong proof / wrong block / ERROR frame / stall / stream ended
 *
 * Bytes reach the caller only after `IncrementalVerifier` accepted their block. When a node
 * fails, it is dropped, the verifier forgets the failed block's proof (`abandonBlock`), and
 * the next node is asked for the same body from the first unverified block (`resumeBlock`):
 * it answers with a resume proof, and no byte before that block is fetched twice.
 */

import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { BLAKE3_MULTIHASH, RAW_CODEC } from '../b3/content-id.ts'
import { type ByteRange, blocksOfRange } from '../b3/verified-stream.ts'
import { IncrementalVerifier } from '../b3/verifier.ts'
import type { ClientStream } from '../handshake/client-handshake.ts'
import { sriVerifier } from '../origin/http-origin.ts'
import { multihashVerifier } from '../origin/ipfs-origin.ts'
import type { BodyVerifier } from '../origin/origin.ts'
import { cidOf, formatPointer, type Pointer, parseIntegrity } from '../origin/pointer.ts'
import type { ContentHeader } from '../wire/content-frames.ts'
import { WireError } from '../wire/errors.ts'
import type { SessionFrame } from '../wire/session-frames.ts'
import { FetchError, type NodeFailure, NodeFailureError, nodeFailure } from './errors.ts'
import type { NodeSession } from './node-session.ts'
import type { FetchProgress } from './progress.ts'

/** A node the client can ask. */
export interface NodeRef {
  readonly peer: string
}

/** Where a fetch finds nodes: the client's node set and its sessions. */
export interface NodeSource<N extends NodeRef> {
  /** Nodes to try, best first, leaving out `exclude`. */
  candidates(exclude: ReadonlySet<string>): readonly N[]
  /** A stream of a session with `node`, `request` already sent on it. */
  open(
    node: N,
    request: SessionFrame,
    signal?: AbortSignal,
  ): Promise<{ session: NodeSession; stream: ClientStream }>
  /** `node` failed this fetch (it is moved back in the order for a while). */
  failed(node: N, failure: NodeFailure): void
}

export interface VerifiedFetchOptions {
  readonly range?: ByteRange
  readonly signal?: AbortSignal
  readonly onProgress?: (event: FetchProgress) => void
  /** A node that sends nothing for this long is dropped (default 5 s). */
  readonly stallTimeoutMs?: number
}

export interface VerifiedBody {
  readonly root: Uint8Array
  readonly header: ContentHeader
  /** The bytes this body covers. */
  readonly range: ByteRange
  /** The node that sent the header. */
  readonly node: string
  readonly body: ReadableStream<Uint8Array>
}

interface Attempt {
  readonly node: NodeRef
  readonly session: NodeSession
  readonly stream: ClientStream
}

const DEFAULT_STALL_MS = 5_000

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/** What the pointer itself proves: a BLAKE3 root, or a whole-content check for the end. */
function trustOf(pointer: Pointer): {
  root?: Uint8Array
  whole?: () => BodyVerifier
} {
  if (pointer.kind === 'blake3') return { root: pointer.root }
  if (pointer.kind === 'ipfs') {
    const cid = cidOf(pointer)
    if (cid.code === RAW_CODEC && cid.multihash.code === BLAKE3_MULTIHASH)
      return { root: cid.multihash.digest }
    return { whole: () => multihashVerifier(cid, pointer.cid) }
  }
  return { whole: () => sriVerifier(parseIntegrity(pointer.integrity), pointer.url) }
}

/** The BLAKE3 root `pointer` names, if it names one (IPFS and HTTP pointers name a digest). */
export function pointerRoot(pointer: Pointer): Uint8Array | undefined {
  return trustOf(pointer).root
}

function remoteError(frame: { code: number; message: string }): Error {
  const code = /^([A-Z0-9_]+): /.exec(frame.message)?.[1]
  return Object.assign(
    new WireError('WIRE_REMOTE_ERROR', `node answered ${frame.code}: ${frame.message}`),
    { status: frame.code, remoteCode: code },
  )
}

/**
 * Fetches `pointer` from the nodes of `source`: resolves once a node's header is checked, with
 * a stream of verified bytes that fails over between nodes on its own.
 */
export async function verifiedFetch<N extends NodeRef>(
  source: NodeSource<N>,
  pointer: Pointer,
  options: VerifiedFetchOptions = {},
): Promise<VerifiedBody> {
  const { signal, onProgress } = options
  const stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_MS
  const spelling = formatPointer(pointer)
  const trust = trustOf(pointer)
  const tried = new Set<string>()
  const failures: NodeFailure[] = []
  let expected: { root: Uint8Array; length: number; range: ByteRange } | undefined

  /** The next frame of `attempt`, or a stall error after `stallMs` of silence. */
  const nextFrame = async (attempt: Attempt): Promise<SessionFrame | undefined> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let onAbort: (() => void) | undefined
    try {
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new NodeFailureError('CLIENT_STALLED', `no data for ${stallMs} ms`)),
          stallMs,
        )
        onAbort = () => reject(signal?.reason)
        signal?.addEventListener('abort', onAbort, { once: true })
      })
      const next = await Promise.race([attempt.stream.frames.next(), stalled])
      return next.done ? undefined : next.value
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
    }
  }

  const drop = (node: N, error: unknown, resumeBlock: number | undefined) => {
    const failure = nodeFailure(node.peer, error)
    const status = (error as { status?: unknown }).status
    const remoteCode = (error as { remoteCode?: unknown }).remoteCode
    const record =
      typeof remoteCode === 'string'
        ? { ...failure, code: remoteCode, ...(typeof status === 'number' ? { status } : {}) }
        : failure
    failures.push(record)
    source.failed(node, record)
    onProgress?.({ type: 'failover', node: node.peer, failure: record, resumeBlock })
  }

  /** Finds a node that answers the request with the right header. */
  const attach = async (
    resumeBlock: number | undefined,
  ): Promise<Attempt & { header: ContentHeader }> => {
    for (;;) {
      signal?.throwIfAborted()
      const node = source.candidates(tried)[0]
      if (node === undefined) {
        const notFound =
          failures.length > 0 && failures.every((f) => (f as { status?: number }).status === 404)
        throw new FetchError(
          failures.length === 0
            ? 'FETCH_NO_NODES'
            : notFound
              ? 'FETCH_NOT_FOUND'
              : 'FETCH_ALL_NODES_FAILED',
          failures.length === 0
            ? 'no node to fetch from'
            : `every node failed: ${failures.map((f) => `${f.node.slice(-8)} ${f.code}`).join(', ')}`,
          failures,
        )
      }
      tried.add(node.peer)
      let attempt: Attempt | undefined
      try {
        const request: SessionFrame = {
          kind: 'request',
          pointer: spelling,
          ...(options.range === undefined ? {} : { range: options.range }),
          ...(resumeBlock === undefined ? {} : { resumeBlock }),
        }
        const opened = await source.open(node, request, signal)
        attempt = { node, session: opened.session, stream: opened.stream }
        const frame = await nextFrame(attempt)
        if (frame === undefined)
          throw new NodeFailureError('CLIENT_TRUNCATED', 'the stream ended before a header')
        if (frame.kind === 'error') throw remoteError(frame)
        if (frame.kind !== 'header')
          throw new WireError('WIRE_MALFORMED', `the body starts with a ${frame.kind} frame`)
        checkHeader(frame.header)
        return { ...attempt, header: frame.header }
      } catch (error) {
        if (signal?.aborted) {
          attempt?.stream.abort(signal.reason as Error)
          throw signal.reason
        }
        attempt?.stream.abort(error as Error)
        drop(node, error, resumeBlock)
      }
    }
  }

  const checkHeader = (header: ContentHeader) => {
    const root = expected?.root ?? trust.root
    if (root !== undefined && !equalBytes(header.root, root))
      throw new WireError('WIRE_WRONG_CONTENT', 'the header names another root')
    if (expected !== undefined && header.length !== expected.length)
      throw new WireError('WIRE_WRONG_CONTENT', 'the header gives another length')
    const want = options.range ?? { start: 0, end: header.length }
    if (header.range.start !== want.start || header.range.end !== want.end)
      throw new WireError(
        'WIRE_WRONG_CONTENT',
        `the body covers ${header.range.start}-${header.range.end}, ${want.start}-${want.end} was asked for`,
      )
  }

  const first = await attach(undefined)
  const { header } = first
  const node = first.node.peer
  let attempt: Attempt = first
  const root = trust.root ?? header.root
  const range = header.range
  expected = { root, length: header.length, range }
  onProgress?.({
    type: 'header',
    node,
    length: header.length,
    range,
  })
  const span = blocksOfRange(header.length, range)
  const verifier = new IncrementalVerifier(root, {
    length: header.length,
    start: span.first,
    end: span.end,
  })
  const whole = range.start === 0 && range.end === header.length ? trust.whole?.() : undefined
  const block = new Uint8Array(TREE_BLOCK_LEN)
  let filled = 0
  let released = 0
  let finished = false

  const failover = async (error: unknown) => {
    attempt.stream.abort(error instanceof Error ? error : new Error(String(error)))
    attempt.session.release(attempt.stream, false)
    verifier.abandonBlock()
    filled = 0
    const resume = verifier.next > span.first ? verifier.next : undefined
    drop(attempt.node as N, error, resume)
    attempt = await attach(resume)
  }

  /** Verifies the completed block `data`, releases its bytes in range. */
  const release = async (
    data: Uint8Array,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ) => {
    const k = verifier.feedBlock(data)
    const base = k * TREE_BLOCK_LEN
    const from = Math.max(0, range.start - base)
    const to = Math.min(data.length, range.end - base)
    // `block` is reused for the next block: copy out of it; anything else is ours to hand on.
    const out =
      data.buffer === block.buffer
        ? data.slice(from, Math.max(from, to))
        : data.subarray(from, Math.max(from, to))
    whole?.update(out)
    if (verifier.isDone()) {
      // An IPFS or HTTP pointer is checked as a whole before its last bytes go out.
      try {
        whole?.check()
      } catch (error) {
        throw new FetchError('FETCH_INTEGRITY', (error as Error).message)
      }
    }
    released += out.length
    if (out.length > 0) controller.enqueue(out)
    onProgress?.({
      type: 'block',
      node: attempt.node.peer,
      block: k,
      verified: k - span.first + 1,
      total: span.end - span.first,
      bytes: released,
    })
    await attempt.session.verified(attempt.stream, 1)
  }

  const finish = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    finished = true
    await attempt.session.flush(attempt.stream).catch(() => {})
    attempt.session.release(attempt.stream, true)
    onProgress?.({ type: 'done', node: attempt.node.peer, bytes: released })
    controller.close()
  }

  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const before = verifier.next
        while (!verifier.isDone() && verifier.next === before) {
          try {
            const frame = await nextFrame(attempt)
            if (frame === undefined)
              throw new NodeFailureError(
                'CLIENT_TRUNCATED',
                `the stream ended before block ${verifier.next}`,
              )
            if (frame.kind === 'proof') {
              verifier.feedProof(frame.bytes)
              if (verifier.blockLength(verifier.next) === 0)
                await release(new Uint8Array(0), controller)
            } else if (frame.kind === 'data') {
              const want = verifier.blockLength(verifier.next)
              if (filled + frame.bytes.length > want)
                throw new NodeFailureError(
                  'CLIENT_PROTOCOL',
                  `block ${verifier.next} overflows its ${want} bytes`,
                )
              if (filled === 0 && frame.bytes.length === want) {
                await release(frame.bytes, controller)
              } else {
                block.set(frame.bytes, filled)
                filled += frame.bytes.length
                if (filled === want) {
                  filled = 0
                  await release(block.subarray(0, want), controller)
                }
              }
            } else if (frame.kind === 'error') {
              throw remoteError(frame)
            } else {
              throw new WireError('WIRE_MALFORMED', `a ${frame.kind} frame inside a body`)
            }
          } catch (error) {
            if (signal?.aborted) throw signal.reason
            if (error instanceof FetchError) throw error
            await failover(error)
          }
        }
        if (verifier.isDone() && !finished) await finish(controller)
      },
      cancel(reason) {
        if (finished) return
        finished = true
        attempt.stream.abort(reason instanceof Error ? reason : new Error('cancelled'))
        attempt.session.release(attempt.stream, false)
      },
    },
    // One block of look-ahead: the next block is fetched while the reader takes this one.
    { highWaterMark: 1 },
  )
  signal?.addEventListener(
    'abort',
    () => {
      if (finished) return
      finished = true
      attempt.stream.abort(signal.reason as Error)
      attempt.session.release(attempt.stream, false)
    },
    { once: true },
  )
  return { root, header, range, node, body }
}
