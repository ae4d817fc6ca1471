/**
 * A node's proof-carrying HTTP gateway as a source, for when no libp2p session can be had:
 * `GET <gateway>/services/0/blake3/<hex>?format=frames&range=a-b` (and the ipfs/http pointer
 * routes), read with `readContentBody`, so every block is verified here against the root.
 * Format and range go in the query, not in headers: a cross-origin request stays simple (no
 * CORS preflight).
 */
import { gatewayPath } from '../../services/cdn/gateway-path.ts'
import { readContentBody } from '../../wire/content-body.ts'
import type { BlockSource } from './block-source.ts'

/** A gateway's failure, typed like a node's (`code` from its JSON error body when it sent one). */
export class GatewayError extends Error {
  override readonly name = 'GatewayError'
  readonly code: string
  readonly status: number | undefined

  constructor(code: string, message: string, status?: number) {
    super(message)
    this.code = code
    this.status = status
  }
}

export function gatewaySource(gateway: string): BlockSource {
  const base = gateway.replace(/\/+$/, '')
  return {
    kind: 'gateway',
    name: base,
    async open(pointer, range, signal) {
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
    },
  }
}
