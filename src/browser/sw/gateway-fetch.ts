/**
 * A node's proof-carrying HTTP gateway as a source, for when no libp2p session can be had:
 * `GET <gateway>/services/0/blake3/<hex>?format=frames&range=a-b` (and the ipfs/http pointer
 * routes), read with `readContentBody`, so every block is verified here against the root.
 * Format and range go in the query, not in headers: a cross-origin request stays simple (no
 * CORS preflight).
 */
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { blockIndexOf } from '../../b3/geometry.ts'
import { nodeFailure } from '../../client/errors.ts'
import { FulmenError } from '../../core/errors.ts'
import { formatPointer } from '../../origin/pointer.ts'
import { gatewayPath } from '../../services/cdn/gateway-path.ts'
import { readContentBody } from '../../wire/content-body.ts'
import type { BlockSource } from './block-source.ts'
import type { SourceObserver } from './sw-stats.ts'

/** A gateway's failure, typed like a node's (`code` from its JSON error body when it sent one). */
export class GatewayError extends FulmenError {
  override readonly name = 'GatewayError'
  readonly status: number | undefined

  constructor(code: string, message: string, status?: number) {
    super(code, message)
    this.status = status
  }
}

/**
 * Passes `body` on, telling `observer` of each whole block (the body starts on a block
 * boundary) and of a failure mid-way (a wrong block: the gateway lied).
 */
function observed(
  body: ReadableStream<Uint8Array>,
  observer: SourceObserver,
  content: string,
  who: string,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  let bytes = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await reader.read()
          if (done) {
            if (bytes % TREE_BLOCK_LEN !== 0) observer.block(who)
            controller.close()
            return
          }
          const before = blockIndexOf(bytes)
          bytes += value.byteLength
          for (let b = before; b < blockIndexOf(bytes); b++) observer.block(who)
          controller.enqueue(value)
        } catch (error) {
          if (!signal.aborted) observer.dropped(content, 'gateway', nodeFailure(who, error))
          throw error
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  )
}

export function gatewaySource(gateway: string, observer?: SourceObserver): BlockSource {
  const base = gateway.replace(/\/+$/, '')
  const open: BlockSource['open'] = async (pointer, range, signal) => {
    const url = new URL(base + gatewayPath(pointer))
    url.searchParams.set('format', 'frames')
    if (range !== undefined && range.end > range.start)
      url.searchParams.set('range', `${range.start}-${range.end - 1}`)
    let res: Response
    try {
      res = await fetch(url, { signal, cache: 'no-store', credentials: 'omit' })
    } catch (error) {
      if (signal.aborted) throw signal.reason
      throw new GatewayError('GATEWAY_UNREACHABLE', `${base}: ${(error as Error).message}`)
    }
    if (!res.ok || res.body === null) {
      const body = (await res.json().catch(() => ({}))) as {
        error?: { code?: string; message?: string }
      }
      throw new GatewayError(
        body.error?.code ?? 'GATEWAY_ERROR',
        `${base} answered ${res.status}: ${body.error?.message ?? res.statusText}`,
        res.status,
      )
    }
    const root = pointer.kind === 'blake3' ? pointer.root : 'from-header'
    const { header, body } = await readContentBody(
      root,
      res.body as unknown as AsyncIterable<Uint8Array>,
      { signal, ...(range === undefined ? {} : { range }) },
    )
    return { root: header.root, length: header.length, node: base, body, current: () => base }
  }
  return {
    kind: 'gateway',
    name: base,
    async open(pointer, range, signal) {
      if (observer === undefined) return open(pointer, range, signal)
      const content = formatPointer(pointer)
      try {
        const opened = await open(pointer, range, signal)
        observer.answered(content, base)
        return { ...opened, body: observed(opened.body, observer, content, base, signal) }
      } catch (error) {
        if (!signal.aborted) {
          const status = (error as { status?: unknown }).status
          observer.dropped(content, 'gateway', {
            ...nodeFailure(base, error),
            ...(typeof status === 'number' ? { status } : {}),
          })
        }
        throw error
      }
    },
  }
}
