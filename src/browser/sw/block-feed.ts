/**
 * Verified blocks of one content, in order, from a list of sources with failover between
 * them at block granularity: when a source fails (before its first block or mid-way), the
 * next one is asked for the rest from the first block not yet delivered, by root. Opening
 * resolves only once the first block is verified, so a failure of every source is known
 * before a response starts (a 502, not a cut stream).
 */
import type { ByteRange } from '../../b3/geometry.ts'
import { blockLength, blockStart, blocksHolding } from '../../b3/geometry.ts'
import { FetchError, type NodeFailure, nodeFailure } from '../../client/errors.ts'
import { equalBytes } from '../../core/bytes.ts'
import type { Pointer } from '../../origin/pointer.ts'
import type { BlockSource, SourceBody } from './block-source.ts'
import { failureKind } from './failure-kind.ts'
import { SwError } from './sw-errors.ts'

export interface VerifiedBlock {
  readonly index: number
  /** The whole tree block (256 KiB, the last one shorter). */
  readonly bytes: Uint8Array
}

export interface BlockFeed {
  readonly root: Uint8Array
  readonly length: number
  /** The source and node that sent the first block. */
  readonly source: BlockSource['kind']
  readonly node: string
  /** Node or gateway sending now. */
  current(): string
  /** The next block, undefined after block `end − 1`. */
  next(): Promise<VerifiedBlock | undefined>
  cancel(reason?: unknown): void
}

export interface FeedRequest {
  /** First block wanted. */
  readonly first: number
  /** One past the last block wanted (default: to the end). */
  readonly end?: number
  /** Content length, when known (required when `first` > 0). */
  readonly length?: number
}

/** Cuts a stream of verified bytes starting at block `first` into whole blocks. */
async function* blocksOf(
  body: ReadableStream<Uint8Array>,
  first: number,
  length: number,
): AsyncGenerator<VerifiedBlock> {
  const reader = body.getReader()
  let index = first
  let block: Uint8Array | undefined
  let filled = 0
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      let chunk = value
      while (chunk.length > 0) {
        const want = blockLength(length, index)
        if (filled === 0 && chunk.length >= want) {
          // The usual case: one chunk per block, passed on uncopied.
          yield { index: index++, bytes: chunk.subarray(0, want) }
          chunk = chunk.subarray(want)
          continue
        }
        block ??= new Uint8Array(want)
        const n = Math.min(want - filled, chunk.length)
        block.set(chunk.subarray(0, n), filled)
        filled += n
        chunk = chunk.subarray(n)
        if (filled === want) {
          yield { index: index++, bytes: block }
          block = undefined
          filled = 0
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  if (filled !== 0) throw new SwError('SW_UNAVAILABLE', `a body ended inside block ${index}`)
}

/** A node's failure, with the HTTP status it answered when there was one (404: not found). */
type SourceFailure = NodeFailure & { readonly status?: number }

function failuresOf(source: BlockSource, error: unknown): SourceFailure[] {
  if (error instanceof FetchError && error.failures.length > 0) return [...error.failures]
  const status = (error as { status?: unknown })?.status
  return [{ ...nodeFailure(source.name, error), ...(typeof status === 'number' ? { status } : {}) }]
}

/** Every source said it does not hold the content: a 404 for the page, not a 502. */
function allNotFound(failures: readonly SourceFailure[]): boolean {
  return failures.length > 0 && failures.every((f) => failureKind(f.code, f.status) === 'not-found')
}

/** A short account of what failed, for a 502's body. */
export function describeFailures(failures: readonly NodeFailure[]): string {
  return failures.map((f) => `${f.node}: ${f.code} (${f.message})`).join('\n')
}

export async function openBlockFeed(
  sources: readonly BlockSource[],
  pointer: Pointer,
  request: FeedRequest,
  signal: AbortSignal,
): Promise<BlockFeed> {
  if (sources.length === 0)
    throw new SwError('SW_NOT_CONFIGURED', 'no node and no gateway is configured')
  const failures: SourceFailure[] = []
  let i = 0
  let known: { root: Uint8Array; length: number } | undefined
  const abort = new AbortController()
  const opened = AbortSignal.any([signal, abort.signal])

  /** The first working source from block `index` on, with that block read. */
  const attach = async (index: number) => {
    for (; i < sources.length; i++) {
      const source = sources[i]!
      let body: SourceBody | undefined
      try {
        const length = known?.length ?? request.length
        const end = request.end
        let range: ByteRange | undefined
        if (
          length !== undefined &&
          (index > 0 || (end !== undefined && end < blocksHolding(length)))
        )
          range = {
            start: blockStart(index),
            end: Math.min(length, blockStart(end ?? blocksHolding(length))),
          }
        const asked: Pointer = known === undefined ? pointer : { kind: 'blake3', root: known.root }
        body = await source.open(asked, range, opened)
        if (known !== undefined && !equalBytes(body.root, known.root))
          throw new SwError('SW_UNAVAILABLE', `${source.name} answered for another root`)
        if (known !== undefined && body.length !== known.length)
          throw new SwError('SW_UNAVAILABLE', `${source.name} answered another length`)
        known ??= { root: body.root, length: body.length }
        const blocks = blocksOf(body.body, index, body.length)
        const first = await blocks.next()
        return { source, body, blocks, first: first.done ? undefined : first.value }
      } catch (error) {
        body?.body.cancel().catch(() => {})
        if (opened.aborted) throw opened.reason
        failures.push(...failuresOf(source, error))
      }
    }
    throw new SwError(
      allNotFound(failures) ? 'SW_NOT_FOUND' : 'SW_UNAVAILABLE',
      failures.length === 0 ? 'no source answered' : describeFailures(failures),
    )
  }

  let attempt = await attach(request.first)
  const { root, length } = known as unknown as { root: Uint8Array; length: number }
  const end = Math.min(request.end ?? blocksHolding(length), blocksHolding(length))
  let pending: VerifiedBlock | undefined = attempt.first
  let nextIndex = request.first

  return {
    root,
    length,
    source: attempt.source.kind,
    node: attempt.body.node,
    current: () => attempt.body.current(),
    async next() {
      if (nextIndex >= end) {
        attempt.blocks.return(undefined).catch(() => {})
        return undefined
      }
      for (;;) {
        if (pending !== undefined) {
          const block = pending
          pending = undefined
          nextIndex = block.index + 1
          return block
        }
        try {
          const step = await attempt.blocks.next()
          if (step.done)
            throw new SwError('SW_UNAVAILABLE', `the body ended before block ${nextIndex}`)
          pending = step.value
        } catch (error) {
          if (opened.aborted) throw opened.reason
          failures.push(...failuresOf(attempt.source, error))
          i++
          attempt = await attach(nextIndex)
          pending = attempt.first
        }
      }
    },
    cancel(reason) {
      abort.abort(reason ?? new Error('cancelled'))
      attempt.blocks.return(undefined).catch(() => {})
    },
  }
}
