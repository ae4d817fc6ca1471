/** The node sessions of a `FulmenClient` (libp2p WebSockets, failover between nodes) as a source. */
import { hexToBytes } from '@noble/hashes/utils.js'
import type { FulmenClient } from '../../client/client.ts'
import type { BlockSource } from './block-source.ts'

/** Total length from `Content-Range: bytes a-b/len`, else `Content-Length`. */
function lengthOf(headers: Headers): number {
  const total = /\/(\d+)$/.exec(headers.get('content-range') ?? '')?.[1]
  return Number(total ?? headers.get('content-length'))
}

/** `client` is asked for on first use: a client that cannot start is this source's failure. */
export function nodeSource(client: () => Promise<FulmenClient>): BlockSource {
  return {
    kind: 'node',
    name: 'nodes',
    async open(pointer, range, signal) {
      let current = ''
      const res = await (await client()).fetch(pointer, {
        signal,
        ...(range === undefined ? {} : { range }),
        onProgress: (event) => {
          current = event.node
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
