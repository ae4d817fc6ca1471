/**
 * The CDN service (service 0), node side, on one stream of a session: answers REQUEST frames
 * in order with proof-carrying content bodies, takes the client's COMMIT and REVEAL frames as
 * they come (they arrive while a body is being sent), and holds a body back whenever the
 * session is `ackWindow` blocks ahead of its acknowledgements (docs/protocol.md).
 */

import type { Claim } from '../../acks/claim.ts'
import { AckError } from '../../acks/errors.ts'
import type { AckLedger } from '../../acks/ledger.ts'
import { blockCount, blockLength, blockStart } from '../../b3/geometry.ts'
import type { HashTree } from '../../b3/tree.ts'
import type { Logger } from '../../core/logger.ts'
import { SessionError } from '../../handshake/errors.ts'
import type { NodeStream } from '../../handshake/node-handshake.ts'
import { TerminationReason } from '../../handshake/termination.ts'
import type { Resolver } from '../../origin/resolver.ts'
import type { BlockStore } from '../../store/block-store.ts'
import type { CdnFrame, RequestFrame } from '../../wire/cdn-frames.ts'
import { BLOCK_HEADROOM, contentBody } from '../../wire/content-body.ts'
import { encodeFrame } from '../../wire/content-frames.ts'
import { toFailure } from '../failure-status.ts'

/** Where the node keeps the latest claim of each session (LevelDB in a full node). */
export interface ClaimSink {
  put(claim: Claim, meta: { readonly remotePeer: string }): Promise<void>
}

export interface CdnServerOptions {
  readonly resolver: Resolver
  readonly store: Pick<BlockStore, 'getBlock' | 'readInto'>
  readonly claims: ClaimSink
  /** How long a body waits for the client's acknowledgement before the session ends. */
  readonly ackTimeoutMs: number
  readonly logger?: Logger
  /** Called with the size of every chunk written (metrics). */
  readonly onSent?: (bytes: number) => void
}

/** Per-session state of the CDN service: the acknowledgement ledger. */
export interface CdnSessionState {
  readonly ledger: AckLedger
}

/** A stream of the CDN service. */
export type CdnStream = NodeStream<CdnSessionState, CdnFrame>

type Request = RequestFrame

/** Serves one stream until the client closes it, the session ends, or `signal` aborts. */
export function serveCdnStream(
  stream: CdnStream,
  options: CdnServerOptions,
  signal: AbortSignal,
): Promise<void> {
  return serveRequests(
    stream,
    {
      claims: options.claims,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      answer: (request, stop) => serveRequest(stream, request, options, stop),
    },
    signal,
  )
}

/**
 * Answers one REQUEST. Resolves `true` when the stream must end after it (a test double that
 * truncates); rejecting ends the stream with TERMINATE.
 */
export type AnswerRequest = (request: Request, signal: AbortSignal) => Promise<boolean | undefined>

export interface ServeRequestsOptions {
  readonly claims: ClaimSink
  readonly logger?: Logger
  readonly answer: AnswerRequest
}

/**
 * The loop of a session stream: a reader task takes COMMIT and REVEAL frames the moment they
 * come (they arrive while a body is being sent) and queues REQUESTs, which `answer` serves in
 * order. `serveCdnStream` answers with content bodies; the lying node of the tests, with
 * tampered copies of another node's.
 */
export async function serveRequests(
  stream: CdnStream,
  options: ServeRequestsOptions,
  signal: AbortSignal,
): Promise<void> {
  const { ledger } = stream.session.state
  const remotePeer = stream.session.remotePeer
  const requests: Request[] = []
  let readerDone = false
  let wake: (() => void) | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  const controller = new AbortController()
  const stop = AbortSignal.any([signal, controller.signal])
  let claimWrites: Promise<void> = Promise.resolve()
  let bodyOpen = false

  const fail = async (error: unknown) => {
    if (controller.signal.aborted) return
    controller.abort(error)
    notify()
    const reason =
      error instanceof AckError
        ? TerminationReason.INVALID_ACK
        : error instanceof SessionError && error.reason !== undefined
          ? error.reason
          : signal.aborted
            ? TerminationReason.SHUTDOWN
            : TerminationReason.MALFORMED_FRAME
    options.logger?.warn(
      { peer: remotePeer, session: stream.session.id.toString(16), err: error },
      'cdn stream ended',
    )
    await stream.terminate(reason, (error as Error).message ?? 'error').catch(() => {})
  }

  const reader = (async () => {
    try {
      for (;;) {
        const next = await stream.frames.next()
        if (next.done) break
        const frame = next.value
        switch (frame.kind) {
          case 'request':
            requests.push(frame)
            notify()
            break
          case 'commit':
            ledger.commit(frame.commitment, frame.signature)
            break
          case 'reveal': {
            const claim = ledger.reveal(frame.seq, frame.index, frame.value)
            // A stale reveal (overtaken on another stream of the session) adds nothing.
            if (claim === undefined) break
            // Writes are chained: the pool keeps the highest index, in order.
            claimWrites = claimWrites
              .then(() => options.claims.put(claim, { remotePeer }))
              .catch((error: unknown) =>
                options.logger?.warn({ err: error }, 'could not store a delivery claim'),
              )
            break
          }
          default:
            throw new SessionError(
              'SESSION_MALFORMED_FRAME',
              `a ${frame.kind} frame has no place on a CDN stream`,
              TerminationReason.MALFORMED_FRAME,
            )
        }
      }
    } catch (error) {
      await fail(error)
    } finally {
      readerDone = true
      notify()
    }
  })()

  try {
    for (;;) {
      const request = requests.shift()
      if (request === undefined) {
        if (readerDone || stop.aborted) break
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        continue
      }
      bodyOpen = true
      const last = await options.answer(request, stop)
      bodyOpen = false
      if (last === true) break
    }
  } catch (error) {
    await fail(error)
  } finally {
    // The client gave up on a body half-way: its unacknowledged blocks are written off, and
    // forgiven out of the session's budget only (docs/protocol.md, "Delivery acknowledgements").
    if (bodyOpen) ledger.writeOff()
    await reader
    await claimWrites
    stream.release()
    if (!controller.signal.aborted) await stream.close().catch(() => {})
  }
}

/** One REQUEST: a content body, or one ERROR frame when the content cannot be had. */
async function serveRequest(
  stream: CdnStream,
  request: Request,
  options: CdnServerOptions,
  signal: AbortSignal,
): Promise<undefined> {
  const { ledger } = stream.session.state
  let tree: HashTree
  let body: AsyncGenerator<Uint8Array>
  try {
    tree = await options.resolver.resolve(request.pointer, {
      signal,
      requester: stream.session.remotePeer,
    })
    const range = request.range ?? { start: 0, end: tree.length }
    if (range.end > tree.length) {
      throw Object.assign(new Error(`range ${range.start}-${range.end} of ${tree.length} bytes`), {
        code: 'RANGE_NOT_SATISFIABLE',
        length: tree.length,
      })
    }
    body = contentBody(tree, readAhead(options.store, tree), {
      range,
      headroom: options.store.readInto !== undefined,
      signal,
      ...(request.resumeBlock === undefined ? {} : { resumeBlock: request.resumeBlock }),
      beforeBlock: async () => {
        // Again after each wake: a reveal wakes every stream of the session waiting for room,
        // and the room may be one block.
        while (!ledger.canSend()) {
          const room = await ledger.whenCanSend(signal, options.ackTimeoutMs)
          if (!room) {
            throw new SessionError(
              'SESSION_TIMEOUT',
              `no acknowledgement for ${options.ackTimeoutMs} ms`,
              TerminationReason.TIMEOUT,
            )
          }
        }
        ledger.delivered(1)
      },
    })
  } catch (error) {
    if (signal.aborted) throw error
    await sendError(stream, error, options)
    return
  }
  try {
    for await (const chunk of body) {
      options.onSent?.(chunk.length)
      await stream.send(chunk)
    }
  } catch (error) {
    // Session-level failures (no acknowledgement, abort) end the stream; content failures
    // (a store read error half-way) end only this body.
    if (error instanceof SessionError || signal.aborted) throw error
    await sendError(stream, error, options)
  }
}

async function sendError(
  stream: CdnStream,
  error: unknown,
  options: CdnServerOptions,
): Promise<void> {
  const failure = toFailure(error)
  options.logger?.debug({ code: failure.code, err: error }, 'cdn request failed')
  await stream.send(
    encodeFrame({
      kind: 'error',
      code: failure.status,
      message: `${failure.code}: ${failure.message}`,
    }),
  )
}

/**
 * Reads blocks of `tree` one ahead of the sender, so the disk works while the network does.
 * With `readInto`, each block is read behind `BLOCK_HEADROOM` free bytes, where the body
 * puts its frames: one write per block.
 */
function readAhead(store: Pick<BlockStore, 'getBlock' | 'readInto'>, tree: HashTree) {
  const last = blockCount(tree.length) - 1
  const readInto = store.readInto?.bind(store)
  const read = (k: number, signal?: AbortSignal): Promise<Uint8Array> => {
    const size = blockLength(tree.length, k)
    if (readInto === undefined || size === 0) return store.getBlock(tree.root, k, signal)
    const block = new Uint8Array(BLOCK_HEADROOM + size).subarray(BLOCK_HEADROOM)
    return readInto(tree.root, blockStart(k), block, signal).then(() => block)
  }
  let ahead: { k: number; block: Promise<Uint8Array> } | undefined
  return (k: number, signal?: AbortSignal): Promise<Uint8Array> => {
    const block = ahead?.k === k ? ahead.block : read(k, signal)
    ahead = undefined
    if (k < last) {
      const next = read(k + 1, signal)
      next.catch(() => {}) // seen when (if) it is asked for
      ahead = { k: k + 1, block: next }
    }
    return block
  }
}
