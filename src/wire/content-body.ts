/**
 * A proof-carrying content body, both ends: `contentBody` turns a tree and its blocks into
 * frames (servers: the gateway, the CDN service); `readContentBody` turns frames back into
 * verified bytes (clients), checking that the header names the content that was asked for.
 */

import { blockLength } from '../b3/geometry.ts'
import { initialProof, resumeProof } from '../b3/proof.ts'
import type { HashTree } from '../b3/tree.ts'
import {
  type ByteRange,
  blocksOfRange,
  type ContentFrame,
  type VerifyStreamOptions,
  verifyStream,
} from '../b3/verified-stream.ts'
import { equalBytes } from '../core/bytes.ts'
import {
  type ContentHeader,
  decodeFrames,
  encodeFrame,
  FRAME_DATA,
  FRAME_PROOF,
  type WireFrame,
} from './content-frames.ts'
import { WireError } from './errors.ts'
import { FRAME_PREFIX_LEN, framePrefix } from './frame-splitter.ts'

/** Reads block `k` of the content (exactly its bytes: 256 KiB, or less for the last). */
export type ReadBlock = (k: number, signal?: AbortSignal) => Promise<Uint8Array>

/**
 * Bytes a `ReadBlock` may leave free in front of each block, in the same buffer, when it
 * promises so with `headroom: true`: the body then writes the block's PROOF frame and DATA
 * prefix there and yields the block as one chunk (one transport write instead of three; no
 * copy). A proof is at most 1 + 47 × 32 bytes plus its sign bytes.
 */
export const BLOCK_HEADROOM = 2048

export interface ContentBodyOptions {
  readonly range?: ByteRange
  readonly signal?: AbortSignal
  /** Start at this block of the range, with a resume proof (failover from another node). */
  readonly resumeBlock?: number
  /** Awaited before each block is sent: lets a session hold back until it is acknowledged. */
  readonly beforeBlock?: (k: number) => Promise<void> | void
  /** `readBlock` leaves `BLOCK_HEADROOM` free bytes before each block's bytes for the body. */
  readonly headroom?: boolean
}

/**
 * The frames of `range` (default: everything) as byte chunks ready to write. Block data is
 * yielded as is, behind its 5-byte prefix: no copy of the content.
 *
 * `resumeBlock` serves a client that already verified the range's blocks before it (from
 * another node): the same header, then that block with a resume proof, as if the body had
 * been sent from the start.
 */
export async function* contentBody(
  tree: HashTree,
  readBlock: ReadBlock,
  options: ContentBodyOptions = {},
): AsyncGenerator<Uint8Array> {
  const range = options.range ?? { start: 0, end: tree.length }
  const { first, end } = blocksOfRange(tree.length, range)
  const from = options.resumeBlock ?? first
  if (!Number.isSafeInteger(from) || from < first || from >= end) {
    throw new WireError(
      'WIRE_MALFORMED',
      `resume block ${from} is outside the range's blocks ${first}-${end - 1}`,
    )
  }
  yield encodeFrame({ kind: 'header', header: { root: tree.root, length: tree.length, range } })
  for (let k = from; k < end; k++) {
    options.signal?.throwIfAborted()
    await options.beforeBlock?.(k)
    const proof = k === first ? initialProof(tree, k) : resumeProof(tree, k)
    const data = await readBlock(k, options.signal)
    const expected = blockLength(tree.length, k)
    if (data.length !== expected) {
      throw new WireError(
        'WIRE_MALFORMED',
        `block ${k} read as ${data.length} bytes, ${expected} expected`,
      )
    }
    const prefixes = 2 * FRAME_PREFIX_LEN + proof.length
    if (options.headroom === true && data.length > 0 && data.byteOffset >= prefixes) {
      const whole = new Uint8Array(data.buffer, data.byteOffset - prefixes, prefixes + data.length)
      whole.set(framePrefix(FRAME_PROOF, proof.length), 0)
      whole.set(proof, FRAME_PREFIX_LEN)
      whole.set(framePrefix(FRAME_DATA, data.length), FRAME_PREFIX_LEN + proof.length)
      yield whole
      continue
    }
    yield encodeFrame({ kind: 'proof', bytes: proof })
    if (data.length > 0) {
      yield framePrefix(FRAME_DATA, data.length)
      yield data
    }
  }
}

/** Exact byte length of `contentBody(tree, …, { range })`: lets servers send Content-Length. */
export function contentBodyLength(
  tree: HashTree,
  range: ByteRange = { start: 0, end: tree.length },
): number {
  const { first, end } = blocksOfRange(tree.length, range)
  let n = encodeFrame({
    kind: 'header',
    header: { root: tree.root, length: tree.length, range },
  }).length
  for (let k = first; k < end; k++) {
    const proof = k === first ? initialProof(tree, k) : resumeProof(tree, k)
    const data = blockLength(tree.length, k)
    n += 5 + proof.length + (data > 0 ? 5 + data : 0)
  }
  return n
}

export interface ReadContentBodyOptions extends Omit<VerifyStreamOptions, 'length' | 'range'> {
  /** The range asked for; the header must say the same. Default: the whole content. */
  readonly range?: ByteRange
  readonly maxPayload?: number
}

/**
 * Reads a content body for `root`: resolves once the header is in and checked, with a stream
 * of verified bytes. Errors in the body (a lying sender, a truncated stream, an ERROR frame)
 * error that stream; no unverified byte is ever enqueued.
 *
 * `root: 'from-header'` verifies the body against the root the sender announces: for pointers
 * whose root is not known in advance (an IPFS CID, an HTTP URL with SRI). The bytes are then
 * consistent with that root, and the caller must check them against the pointer itself.
 */
export async function readContentBody(
  root: Uint8Array | 'from-header',
  source: AsyncIterable<Uint8Array>,
  options: ReadContentBodyOptions = {},
): Promise<{ header: ContentHeader; body: ReadableStream<Uint8Array> }> {
  const frames = decodeFrames(source, { maxPayload: options.maxPayload })
  const first = await frames.next()
  if (first.done) throw new WireError('WIRE_TRUNCATED', 'body ended before its header')
  const frame: WireFrame = first.value
  if (frame.kind === 'error') {
    await frames.return(undefined)
    throw new WireError('WIRE_REMOTE_ERROR', `sender failed (${frame.code}): ${frame.message}`)
  }
  if (frame.kind !== 'header') {
    await frames.return(undefined)
    throw new WireError('WIRE_MALFORMED', `body starts with a ${frame.kind} frame, not a header`)
  }
  const { header } = frame
  const trusted = root === 'from-header' ? header.root : root
  if (!equalBytes(header.root, trusted)) {
    await frames.return(undefined)
    throw new WireError(
      'WIRE_WRONG_CONTENT',
      'the header names another root than the one asked for',
    )
  }
  const range = options.range ?? { start: 0, end: header.length }
  if (header.range.start !== range.start || header.range.end !== range.end) {
    await frames.return(undefined)
    throw new WireError(
      'WIRE_WRONG_CONTENT',
      `the body covers ${header.range.start}-${header.range.end}, ${range.start}-${range.end} was asked for`,
    )
  }

  async function* contentFrames(): AsyncGenerator<ContentFrame> {
    for await (const f of { [Symbol.asyncIterator]: () => frames }) {
      if (f.kind === 'proof' || f.kind === 'data') yield f
      else if (f.kind === 'error')
        throw new WireError('WIRE_REMOTE_ERROR', `sender failed (${f.code}): ${f.message}`)
      else throw new WireError('WIRE_MALFORMED', 'a second header inside the body')
    }
  }

  const body = verifyStream(trusted, contentFrames(), {
    length: header.length,
    range,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onBlock === undefined ? {} : { onBlock: options.onBlock }),
  })
  return { header, body }
}
