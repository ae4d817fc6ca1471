/**
 * A verified fetch across nodes: the client's streaming state machine.
 *
 *   attach ──header judged──▶ streaming ──block verified──▶ … ──last block──▶ done
 *      ▲                          │
 *      └── failover ◀── wrong proof / wrong block / ERROR frame / stall / stream ended
 *
 * Bytes reach the caller only after `IncrementalVerifier` accepted their block. When a node
 * fails, it is dropped, the verifier forgets the failed block's proof (`abandonBlock`), and
 * the next node is asked for the same body from the first unverified block (`resumeBlock`):
 * it answers with a resume proof, and no byte before that block is fetched twice.
 *
 * What a header says is judged, not believed:
 *
 * - The root. A BLAKE3 pointer names it: a header naming another is a lie. An IPFS or HTTP
 *   pointer names a digest of the whole content instead, so the root is the node's claim: the
 *   body is verified block by block against it and held (holding-buffer.ts), and nothing is
 *   released until the whole matched the pointer's digest. A mismatch drops that node
 *   (`CLIENT_WRONG_DIGEST`) and the fetch starts over on the next one, under that node's root;
 *   so does a node that names another root while it resumes a held body.
 * - The length. The root commits to it (the tree's shape, the last block's length), but only
 *   the last block proves it: until then it is a claim. A node whose length does not verify is
 *   dropped like any other liar, and the next node's header is judged on its own (`judge`). A
 *   ranged fetch that stops short of the last block proves the length before releasing any
 *   byte by fetching the last block too (`proveLength`), once per root (`VerifiedLengths`).
 */

import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { BLAKE3_MULTIHASH, formatContentId, RAW_CODEC } from '../b3/content-id.ts'
import { blockStart } from '../b3/geometry.ts'
import { type ByteRange, blocksOfRange } from '../b3/verified-stream.ts'
import { IncrementalVerifier } from '../b3/verifier.ts'
import { equalBytes } from '../core/bytes.ts'
import { sleep } from '../handshake/deadline.ts'
import { sriVerifier } from '../origin/http-origin.ts'
import { multihashVerifier } from '../origin/ipfs-origin.ts'
import type { BodyVerifier } from '../origin/origin.ts'
import { cidOf, formatPointer, type Pointer, parseIntegrity } from '../origin/pointer.ts'
import type { CdnFrame, RequestFrame } from '../wire/cdn-frames.ts'
import type { ContentHeader } from '../wire/content-frames.ts'
import { WireError } from '../wire/errors.ts'
import {
  describeError,
  FetchError,
  type NodeFailure,
  NodeFailureError,
  nodeFailure,
} from './errors.ts'
import { HoldingBuffer } from './holding-buffer.ts'
import type { CdnClientStream, NodeSession } from './node-session.ts'
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
    request: CdnFrame,
    signal?: AbortSignal,
  ): Promise<{ session: NodeSession; stream: CdnClientStream }>
  /** `node` failed this fetch (it is moved back in the order for a while). */
  failed(node: N, failure: NodeFailure): void
}

/**
 * Content lengths proven by a verified last block, by root (hex): a client's fetches share
 * them, so a ranged fetch pays for the length check once per root. Bounded: the oldest go.
 */
export class VerifiedLengths {
  private readonly known = new Map<string, number>()
  private readonly max: number

  constructor(max = 4096) {
    this.max = max
  }

  get(root: Uint8Array): number | undefined {
    return this.known.get(formatContentId(root, 'hex'))
  }

  set(root: Uint8Array, length: number): void {
    const key = formatContentId(root, 'hex')
    this.known.delete(key)
    this.known.set(key, length)
    if (this.known.size > this.max) this.known.delete(this.known.keys().next().value!)
  }
}

export interface VerifiedFetchOptions {
  readonly range?: ByteRange
  readonly signal?: AbortSignal
  readonly onProgress?: (event: FetchProgress) => void
  /** A node that sends nothing for this long is dropped (default 5 s). */
  readonly stallTimeoutMs?: number
  /**
   * How long the fetch waits while every node refuses it for load (they are asked again with
   * backoff) before it fails with FETCH_ALL_NODES_FAILED (default 60 s).
   */
  readonly busyTimeoutMs?: number
  /**
   * Where the body of an IPFS or HTTP pointer waits for its digest check, one buffer per
   * root tried (default: memory only, 32 MiB at most).
   */
  readonly holding?: () => HoldingBuffer
  /** Lengths proven before (default: none, and none remembered). */
  readonly lengths?: VerifiedLengths
  /**
   * IPFS and HTTP pointers: verify the whole and match the digest, keep nothing (the body is
   * empty). Proves a root for ranges.
   */
  readonly proveOnly?: boolean
}

export interface VerifiedBody {
  readonly root: Uint8Array
  /**
   * The header the body is verified under. Its length is proven for a ranged fetch and for a
   * held (IPFS, HTTP) body; for a streamed whole body it is a claim until the body ends.
   */
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
  readonly stream: CdnClientStream
}

/** What blocks are verified against, as the headers judged so far have it. */
interface Claim {
  /** The pointer's own root, or (IPFS, HTTP) the root a node announced for it. */
  readonly root: Uint8Array
  /** A node's claim until the content's last block verified. */
  length: number
  lengthProven: boolean
  /** The bytes released: the range asked for, or the whole content. */
  range: ByteRange
  /** The blocks holding `range`. */
  span: { first: number; end: number }
  verifier: IncrementalVerifier
  header: ContentHeader
  /** The node whose header set this claim. */
  readonly node: string
}

/** What to do with a header that is not a lie. */
type Verdict =
  /** Nothing verified yet: this header sets the claim. */
  | 'fresh'
  /** It agrees with the claim: resume. */
  | 'continue'
  /** Another root for a held body: start over under this node's root. */
  | 'restart'
  /** Another length while the length is a claim: go on under this node's length. */
  | 'rebuild'

const DEFAULT_STALL_MS = 5_000
const DEFAULT_BUSY_TIMEOUT_MS = 60_000

/** A node's refusal for load (its limits, for now): a reason to wait, not a verdict. */
function isBusy(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'SESSION_RESOURCES_UNAVAILABLE'
}

const EMPTY = new Uint8Array(0)

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

/** A verified block of the span: its index and its bytes inside the range. */
interface VerifiedBlock {
  readonly block: number
  readonly bytes: Uint8Array
}

/**
 * One fetch's blocks, across nodes: attaches to a node whose header holds up, hands out one
 * verified block at a time, fails over on its own.
 */
class BlockPump<N extends NodeRef> {
  private readonly source: NodeSource<N>
  /** The root the pointer names, if it names one. */
  private readonly pinned: Uint8Array | undefined
  private readonly options: VerifiedFetchOptions
  private readonly stage: 'streaming' | 'holding'
  private readonly spelling: string
  private readonly tried = new Set<string>()
  private readonly failures: NodeFailure[] = []
  /** Nodes that refused for load this round: not failed, asked again after a wait. */
  private readonly busy = new Map<string, NodeFailure>()
  private busySince: number | undefined
  private busyWaits = 0
  private readonly scratch = new Uint8Array(TREE_BLOCK_LEN)
  private readonly stallMs: number
  private claim: Claim | undefined
  private attempt: Attempt | undefined
  /** An acknowledgement that failed after its block was handed out: fail over next time. */
  private pending: unknown
  /** Bytes handed out under the current claim. */
  private bytes = 0
  /** Changes whenever the claim is replaced: blocks of an earlier generation are void. */
  generation = 0

  constructor(
    source: NodeSource<N>,
    pointer: Pointer,
    pinned: Uint8Array | undefined,
    options: VerifiedFetchOptions,
    stage: 'streaming' | 'holding',
  ) {
    this.source = source
    this.pinned = pinned
    this.options = options
    this.stage = stage
    this.spelling = formatPointer(pointer)
    this.stallMs = options.stallTimeoutMs ?? DEFAULT_STALL_MS
  }

  private get signal(): AbortSignal | undefined {
    return this.options.signal
  }

  /** The claim blocks are verified under (after `start`). */
  get current(): Claim {
    if (this.claim === undefined) throw new Error('the fetch has not attached to a node')
    return this.claim
  }

  get isDone(): boolean {
    return this.claim?.verifier.isDone() === true
  }

  start(): Promise<void> {
    return this.attach(undefined)
  }

  /** The next verified block, failing over as needed; undefined once the span is verified. */
  async next(): Promise<VerifiedBlock | undefined> {
    for (;;) {
      const claim = this.current
      if (claim.verifier.isDone()) return undefined
      const attempt = this.attempt!
      try {
        if (this.pending !== undefined) {
          const error = this.pending
          this.pending = undefined
          throw error
        }
        const { block, data } = await this.readBlock(attempt, claim.verifier)
        const base = blockStart(block)
        const from = Math.max(0, claim.range.start - base)
        const to = Math.max(from, Math.min(data.length, claim.range.end - base))
        // `scratch` is reused for the next block: copy out of it; a whole frame is ours.
        const bytes =
          data.buffer === this.scratch.buffer ? data.slice(from, to) : data.subarray(from, to)
        this.bytes += bytes.length
        if (claim.verifier.isDone() && claim.span.end === claim.verifier.blocks) {
          // The content's last block verified under the claimed length: it is proven.
          claim.lengthProven = true
          this.options.lengths?.set(claim.root, claim.length)
        }
        this.options.onProgress?.({
          type: 'block',
          node: attempt.node.peer,
          block,
          verified: block - claim.span.first + 1,
          total: claim.span.end - claim.span.first,
          bytes: this.bytes,
          stage: this.stage,
        })
        // The block is verified whatever happens to its acknowledgement: hand it out, and
        // fail over on the next call if the node's stream broke meanwhile.
        await attempt.session.verified(attempt.stream, 1).catch((error: unknown) => {
          this.pending = error
        })
        return { block, bytes }
      } catch (error) {
        if (this.signal?.aborted) throw this.signal.reason
        if (error instanceof FetchError) throw error
        await this.failover(error)
      }
    }
  }

  /** The span is verified (and, for a held body, its digest matched): ends the stream. */
  async finish(): Promise<void> {
    const attempt = this.attempt!
    const reusable = this.pending === undefined
    if (reusable) await attempt.session.flush(attempt.stream).catch(() => {})
    attempt.session.release(attempt.stream, reusable)
    this.options.onProgress?.({ type: 'done', node: attempt.node.peer, bytes: this.bytes })
  }

  /**
   * The held body matched its root but not the pointer's digest: the node that announced
   * the root is dropped and the fetch starts over, from the next node's root.
   */
  async rejectRoot(error: NodeFailureError): Promise<void> {
    const attempt = this.attempt!
    this.discard(attempt, error)
    this.drop(attempt.node as N, error, undefined)
    this.claim = undefined
    await this.attach(undefined)
  }

  /** The reader went away or the signal fired. */
  abort(reason: unknown): void {
    if (this.attempt !== undefined) this.discard(this.attempt, reason)
  }

  private discard(attempt: Attempt, reason: unknown): void {
    attempt.stream.abort(reason instanceof Error ? reason : new Error(describeError(reason)))
    attempt.session.release(attempt.stream, false)
  }

  private async failover(error: unknown): Promise<void> {
    const attempt = this.attempt!
    this.discard(attempt, error)
    const claim = this.current
    claim.verifier.abandonBlock()
    const resume = claim.verifier.next > claim.span.first ? claim.verifier.next : undefined
    this.drop(attempt.node as N, error, resume)
    await this.attach(resume)
  }

  private drop(node: N, error: unknown, resumeBlock: number | undefined): void {
    const failure = nodeFailure(node.peer, error)
    const status = (error as { status?: unknown }).status
    const remoteCode = (error as { remoteCode?: unknown }).remoteCode
    const record =
      typeof remoteCode === 'string'
        ? { ...failure, code: remoteCode, ...(typeof status === 'number' ? { status } : {}) }
        : failure
    this.failures.push(record)
    this.source.failed(node, record)
    this.options.onProgress?.({ type: 'failover', node: node.peer, failure: record, resumeBlock })
  }

  private exhausted(): FetchError {
    const { failures } = this
    const notFound =
      failures.length > 0 && failures.every((f) => (f as { status?: number }).status === 404)
    return new FetchError(
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

  private request(resumeBlock: number | undefined, range = this.options.range): RequestFrame {
    return {
      kind: 'request',
      pointer: this.spelling,
      ...(range === undefined ? {} : { range }),
      ...(resumeBlock === undefined ? {} : { resumeBlock }),
    }
  }

  /** Sends `request` to `node`; resolves with the stream once its header arrived. */
  private async ask(
    node: N,
    request: RequestFrame,
  ): Promise<{ attempt: Attempt; header: ContentHeader }> {
    const opened = await this.source.open(node, request, this.signal)
    const attempt: Attempt = { node, session: opened.session, stream: opened.stream }
    try {
      const frame = await this.nextFrame(attempt)
      if (frame === undefined)
        throw new NodeFailureError('CLIENT_TRUNCATED', 'the stream ended before a header')
      if (frame.kind === 'error') throw remoteError(frame)
      if (frame.kind !== 'header')
        throw new WireError('WIRE_MALFORMED', `the body starts with a ${frame.kind} frame`)
      const want = request.range ?? { start: 0, end: frame.header.length }
      const { range } = frame.header
      if (range.start !== want.start || range.end !== want.end)
        throw new WireError(
          'WIRE_WRONG_CONTENT',
          `the body covers ${range.start}-${range.end}, ${want.start}-${want.end} was asked for`,
        )
      return { attempt, header: frame.header }
    } catch (error) {
      this.discard(attempt, error)
      throw error
    }
  }

  /** Finds a node whose header holds up, and makes its stream the current one. */
  private async attach(resume: number | undefined): Promise<void> {
    for (;;) {
      this.signal?.throwIfAborted()
      const node = this.source.candidates(new Set([...this.tried, ...this.busy.keys()]))[0]
      if (node === undefined) {
        if (this.busy.size === 0) throw this.exhausted()
        await this.waitForBusy()
        continue
      }
      this.tried.add(node.peer)
      let attempt: Attempt | undefined
      try {
        const asked = await this.ask(node, this.request(resume))
        attempt = asked.attempt
        const verdict = this.judge(asked.header, resume)
        if (verdict === 'fresh') this.adopt(asked.header, node)
        else if (verdict === 'restart' || verdict === 'rebuild') {
          // Either way the node's answer does not fit the verifier: ask it again (on a fresh
          // session if this one has nothing to pay for what the node sent meanwhile).
          attempt.session.retireIfUnpaid()
          this.discard(attempt, new Error('asked again'))
          attempt = undefined
          if (verdict === 'restart') {
            const again = await this.ask(node, this.request(undefined))
            attempt = again.attempt
            this.judge(again.header, undefined)
            this.adopt(again.header, node)
          } else {
            // Blocks verified so far are authentic whatever length was claimed for them:
            // each hashed up to the root, and the root commits to every block's position
            // (BLAKE3's chunk counters), so no other content and no other shape leads there
            // short of a collision. So the verification goes on from the first unverified
            // block under this node's length. Its resume proof belongs to a tree of another
            // shape than the verifier's, so the rest is asked for as a range, which comes with
            // an initial proof for that block: one more request on the same session and up to
            // 47 hashes, instead of fetching again what is verified (a clean restart).
            const length = asked.header.length
            const rest = { start: blockStart(resume!), end: length }
            const again = await this.ask(node, this.request(undefined, rest))
            attempt = again.attempt
            if (!equalBytes(again.header.root, asked.header.root) || again.header.length !== length)
              throw new WireError('WIRE_WRONG_CONTENT', 'the node changed its header')
            this.rebuild(again.header, resume!)
          }
        }
        await this.proveLength(node)
        this.attempt = attempt
        return
      } catch (error) {
        if (attempt !== undefined) this.discard(attempt, error)
        if (this.signal?.aborted) throw this.signal.reason
        if (isBusy(error)) this.refusedForLoad(node, error)
        else this.drop(node, error, resume)
      }
    }
  }

  /** `node` is busy: another node is asked, or it is asked again after a wait. */
  private refusedForLoad(node: N, error: unknown): void {
    const failure = nodeFailure(node.peer, error)
    this.tried.delete(node.peer)
    this.busy.set(node.peer, failure)
    this.busySince ??= Date.now()
    this.options.onProgress?.({ type: 'busy', node: node.peer, failure })
  }

  /**
   * Every node left refused for load: wait (backoff with jitter, up to 1 s) and ask them again,
   * until `busyTimeoutMs` has passed since the first refusal.
   */
  private async waitForBusy(): Promise<void> {
    const limit = this.options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS
    if (Date.now() - this.busySince! >= limit) {
      this.failures.push(...this.busy.values())
      this.busy.clear()
      throw this.exhausted()
    }
    const ceiling = Math.min(1000, 25 * 2 ** this.busyWaits++)
    await sleep(ceiling / 2 + Math.random() * (ceiling / 2), this.signal)
    this.busy.clear()
  }

  /** Throws if `header` lies; otherwise says how it fits the claim (see `Verdict`). */
  private judge(header: ContentHeader, resume: number | undefined): Verdict {
    if (this.pinned !== undefined && !equalBytes(header.root, this.pinned))
      throw new WireError('WIRE_WRONG_CONTENT', 'the header names another root')
    const proven = this.options.lengths?.get(header.root)
    if (proven !== undefined && proven !== header.length)
      throw new NodeFailureError(
        'CLIENT_WRONG_LENGTH',
        `the header gives ${header.length} bytes, ${proven} are proven for this root`,
      )
    const claim = this.claim
    if (resume === undefined || claim === undefined) return 'fresh'
    // Only a held body's root can differ here: a pinned one was checked above.
    if (!equalBytes(header.root, claim.root)) return 'restart'
    if (header.length === claim.length) return 'continue'
    if (claim.lengthProven)
      throw new NodeFailureError(
        'CLIENT_WRONG_LENGTH',
        `the header gives ${header.length} bytes, ${claim.length} are proven`,
      )
    if (blockStart(resume) >= header.length)
      throw new NodeFailureError(
        'CLIENT_WRONG_LENGTH',
        `the header gives ${header.length} bytes, ${blockStart(resume)} are verified`,
      )
    return 'rebuild'
  }

  /** A new claim from `header`: nothing verified before counts for it. */
  private adopt(header: ContentHeader, node: N): void {
    const length = header.length
    const range = this.options.range ?? { start: 0, end: length }
    const span = blocksOfRange(length, range)
    const verifier = new IncrementalVerifier(header.root, {
      length,
      start: span.first,
      end: span.end,
    })
    this.claim = {
      root: header.root.slice(),
      length,
      lengthProven: this.options.lengths?.get(header.root) === length,
      range,
      span,
      verifier,
      header,
      node: node.peer,
    }
    this.generation++
    this.bytes = 0
    this.options.onProgress?.({ type: 'header', node: node.peer, length, range })
  }

  /** The claimed length changes to `header`'s, from block `resume` on (whole fetches only). */
  private rebuild(header: ContentHeader, resume: number): void {
    const claim = this.current
    const length = header.length
    const range = { start: 0, end: length }
    claim.length = length
    claim.range = range
    claim.span = blocksOfRange(length, range)
    claim.header = { ...header, range }
    claim.verifier = new IncrementalVerifier(claim.root, {
      length,
      start: resume,
      end: claim.span.end,
    })
    this.options.onProgress?.({ type: 'header', node: claim.node, length, range })
  }

  /**
   * A range that stops short of the content's last block never proves the length it is
   * served under (a length off by one gives the same tree): before any byte of it is
   * released, the node's last block is fetched and verified under that length, on another
   * stream of the same session. Costs one block (at most 256 KiB) and a round trip, once per
   * root per client; a length that does not verify drops the node (`CLIENT_WRONG_LENGTH`).
   */
  private async proveLength(node: N): Promise<void> {
    const claim = this.current
    if (this.options.range === undefined || claim.lengthProven) return
    const last = { start: Math.max(0, claim.length - 1), end: claim.length }
    const span = blocksOfRange(claim.length, last)
    let check: Attempt | undefined
    try {
      const asked = await this.ask(node, this.request(undefined, last))
      check = asked.attempt
      if (!equalBytes(asked.header.root, claim.root) || asked.header.length !== claim.length)
        throw new WireError('WIRE_WRONG_CONTENT', 'the node changed its header')
      const verifier = new IncrementalVerifier(claim.root, {
        length: claim.length,
        start: span.first,
        end: span.end,
      })
      await this.readBlock(check, verifier)
      await check.session.verified(check.stream, 1)
      await check.session.flush(check.stream)
      check.session.release(check.stream, true)
    } catch (error) {
      if (check !== undefined) this.discard(check, error)
      if (this.signal?.aborted) throw this.signal.reason
      const code = (error as { code?: unknown }).code
      // A transport failure says nothing about the length: keep its own code.
      if (
        typeof code === 'string' &&
        (code.startsWith('B3_') ||
          code.startsWith('WIRE_') ||
          code === 'CLIENT_PROTOCOL' ||
          code === 'CLIENT_TRUNCATED')
      )
        throw new NodeFailureError(
          'CLIENT_WRONG_LENGTH',
          `the last block does not verify under the length ${claim.length}: ${describeError(error)}`,
        )
      throw error
    }
    claim.lengthProven = true
    this.options.lengths?.set(claim.root, claim.length)
  }

  /** Reads frames of `attempt` until `verifier` accepted one more block. */
  private async readBlock(
    attempt: Attempt,
    verifier: IncrementalVerifier,
  ): Promise<{ block: number; data: Uint8Array }> {
    let filled = 0
    for (;;) {
      const frame = await this.nextFrame(attempt)
      if (frame === undefined)
        throw new NodeFailureError(
          'CLIENT_TRUNCATED',
          `the stream ended before block ${verifier.next}`,
        )
      if (frame.kind === 'proof') {
        verifier.feedProof(frame.bytes)
        if (verifier.blockLength(verifier.next) === 0)
          return { block: verifier.feedBlock(EMPTY), data: EMPTY }
      } else if (frame.kind === 'data') {
        const want = verifier.blockLength(verifier.next)
        if (filled + frame.bytes.length > want)
          throw new NodeFailureError(
            'CLIENT_PROTOCOL',
            `block ${verifier.next} overflows its ${want} bytes`,
          )
        if (filled === 0 && frame.bytes.length === want)
          return { block: verifier.feedBlock(frame.bytes), data: frame.bytes }
        this.scratch.set(frame.bytes, filled)
        filled += frame.bytes.length
        if (filled === want) {
          const data = this.scratch.subarray(0, want)
          return { block: verifier.feedBlock(data), data }
        }
      } else if (frame.kind === 'error') {
        throw remoteError(frame)
      } else {
        throw new WireError('WIRE_MALFORMED', `a ${frame.kind} frame inside a body`)
      }
    }
  }

  /** The next frame of `attempt`, or a stall error after `stallMs` of silence. */
  private async nextFrame(attempt: Attempt): Promise<CdnFrame | undefined> {
    const { signal, stallMs } = this
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
}

/**
 * Fetches `pointer` from the nodes of `source`. For a BLAKE3 root: resolves once a node's
 * header is judged, with a stream of verified bytes that fails over between nodes on its own.
 * For an IPFS or HTTP pointer: resolves once the whole body is verified against a node's root
 * and matched the pointer's digest, with the held body.
 */
export async function verifiedFetch<N extends NodeRef>(
  source: NodeSource<N>,
  pointer: Pointer,
  options: VerifiedFetchOptions = {},
): Promise<VerifiedBody> {
  const trust = trustOf(pointer)
  if (trust.whole === undefined)
    return streamed(new BlockPump(source, pointer, trust.root, options, 'streaming'), options)
  if (options.range !== undefined)
    throw new FetchError(
      'FETCH_BAD_REQUEST',
      'a range of an IPFS or HTTP pointer needs its root proven first: fetch the whole once',
    )
  return held(new BlockPump(source, pointer, undefined, options, 'holding'), trust.whole, options)
}

/** A body whose root is proven: each block goes to the reader as soon as it verified. */
async function streamed<N extends NodeRef>(
  pump: BlockPump<N>,
  options: VerifiedFetchOptions,
): Promise<VerifiedBody> {
  const { signal } = options
  await pump.start()
  const { root, header, range, node } = pump.current
  let finished = false
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const block = await pump.next()
        if (block !== undefined && block.bytes.length > 0) controller.enqueue(block.bytes)
        if (block === undefined || pump.isDone) {
          finished = true
          await pump.finish()
          controller.close()
        }
      },
      cancel(reason) {
        if (finished) return
        finished = true
        pump.abort(reason ?? new Error('cancelled'))
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
      pump.abort(signal.reason)
    },
    { once: true },
  )
  return { root, header, range, node, body }
}

/**
 * A body whose root is only a node's claim: every block is verified against that root and
 * held; the body is released only once the whole matched the pointer's digest. A mismatch
 * drops the node and starts over on the next one.
 */
async function held<N extends NodeRef>(
  pump: BlockPump<N>,
  makeWhole: () => BodyVerifier,
  options: VerifiedFetchOptions,
): Promise<VerifiedBody> {
  const hold = options.holding ?? (() => new HoldingBuffer())
  let buffer: HoldingBuffer | undefined
  try {
    await pump.start()
    let generation = pump.generation
    buffer = hold()
    let whole = makeWhole()
    for (;;) {
      const block = await pump.next()
      if (pump.generation !== generation) {
        // Another node's root: what was held under the old one is void.
        await buffer.discard()
        buffer = hold()
        whole = makeWhole()
        generation = pump.generation
      }
      if (block === undefined) {
        try {
          whole.check()
          break
        } catch (error) {
          await pump.rejectRoot(
            new NodeFailureError(
              'CLIENT_WRONG_DIGEST',
              `the content under the root it announced is not the pointer's: ${describeError(error)}`,
            ),
          )
          continue
        }
      }
      whole.update(block.bytes)
      if (options.proveOnly !== true) await buffer.append(block.bytes)
    }
  } catch (error) {
    await buffer?.discard()
    pump.abort(error)
    if (options.signal?.aborted) throw options.signal.reason
    throw error
  }
  await pump.finish()
  const { root, header, range, node } = pump.current
  return { root, header, range, node, body: buffer.release() }
}
