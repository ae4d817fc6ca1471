/** The node sessions of a `FulmenClient` (libp2p WebSockets, failover between nodes) as a source. */
import { hexToBytes } from '@noble/hashes/utils.js'
import type { FulmenClient } from '../../client/client.ts'
import { formatPointer } from '../../origin/pointer.ts'
import type { BlockSource } from './block-source.ts'
import type { SourceObserver } from './sw-stats.ts'

/** Total length from `Content-Range: bytes a-b/len`, else `Content-Length`. */
function lengthOf(headers: Headers): number {
  const total = /\/(\d+)$/.exec(headers.get('content-range') ?? '')?.[1]
  return Number(total ?? headers.get('content-length'))
}

/**
 * `client` is asked for on first use: a client that cannot start is this source's failure.
 * The client fails over between nodes inside one fetch; `observer` hears of each node it
 * dropped (a lie caught, a node gone) and of the blocks each node sent.
 */
export function nodeSource(
  client: () => Promise<FulmenClient>,
  observer?: SourceObserver,
  /** True once `c` was replaced (a new route): its fetches being cut is no node's doing. */
  retired: (c: FulmenClient) => boolean = () => false,
): BlockSource {
  return {
    kind: 'node',
    name: 'nodes',
    async open(pointer, range, signal) {
      let current = ''
      const content = formatPointer(pointer)
      let afterFailure = false
      const c = await client()
      const res = await c.fetch(pointer, {
        signal,
        ...(range === undefined ? {} : { range }),
        onProgress: (event) => {
          // A node that refused for load serves nothing: it is not the current one.
          if (event.type === 'busy') return
          current = event.node
          if (event.type === 'failover') {
            // The client closing (a new route) ends its fetches: no node's doing.
            if (event.failure.code === 'FETCH_CLOSED' || retired(c)) return
            observer?.dropped(content, 'node', event.failure)
            afterFailure = true
          } else if (event.type === 'block') {
            // The first block after a failure names who took over (a resume has no header event).
            if (afterFailure) observer?.answered(content, event.node)
            afterFailure = false
            observer?.block(event.node)
          }
        },
      })
      const node = res.headers.get('x-fulmen-node') ?? ''
      current ||= node
      return {
        root: hexToBytes((res.headers.get('etag') ?? '').replaceAll('"', '')),
        length: lengthOf(res.headers),
        node,
        body: res.body ?? new ReadableStream({ start: (c) => c.close() }),
        current: () => current,
      }
    },
  }
}
