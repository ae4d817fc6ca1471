/**
 * The IPFS origin: a client of one or more trustless gateways
 * (https://specs.ipfs.tech/http-gateways/trustless-gateway/). It asks for the raw block
 * (`GET <gateway>/ipfs/<cid>?format=raw`, `Accept: application/vnd.ipld.raw`) and verifies the
 * bytes against the CID's multihash (sha2-256 or blake3, 32 bytes) while streaming, so a
 * gateway need not be trusted. It serves `ipfs` pointers and `blake3` pointers (as the CIDv1
 * raw + blake3 of the root).
 *
 * Only CIDv1 `raw` blocks: a `dag-pb` (UnixFS) CID is refused with `ORIGIN_UNAVAILABLE`.
 *
 * Failover: gateways are tried in order, each with its own `timeoutMs`. Any failure before
 * the first byte is handed out (connection refused, status ≠ 200, timeout, a Content-Length
 * above the limit) moves on to the next gateway; once bytes have been handed out, a failure
 * (including `ORIGIN_INTEGRITY` from a lying gateway) ends the fetch, and the consumer, which
 * commits only on completion, keeps nothing.
 */

import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import type { CID } from 'multiformats/cid'
import { BLAKE3_MULTIHASH, RAW_CODEC } from '../b3/content-id.ts'
import { TreeBuilder } from '../b3/tree.ts'
import { equalBytes } from '../core/bytes.ts'
import {
  type BodyVerifier,
  checkLimits,
  type FetchFunction,
  fetchVerified,
  type Origin,
  type OriginFetchOptions,
} from './origin.ts'
import { cidOf, OriginError, type Pointer, SHA2_256_MULTIHASH } from './pointer.ts'

export interface IpfsOriginOptions {
  /** Trustless gateway base URL(s), tried in order, e.g. `http://127.0.0.1:8080`. */
  readonly gateway?: string | readonly string[]
  /** More gateways, tried after `gateway` (either may be given; at least one URL in all). */
  readonly gateways?: readonly string[]
  /** For logs and metrics; `ipfs` by default. */
  readonly name?: string
  /** Extra request headers. */
  readonly headers?: Record<string, string>
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchFunction
}

/** The media type of a single raw block on a trustless gateway. */
export const IPLD_RAW = 'application/vnd.ipld.raw'

/** Verifies a body against a CID's multihash (sha2-256 or blake3, 32 bytes). */
export function multihashVerifier(cid: CID, label: string): BodyVerifier {
  const expected = cid.multihash.digest
  let update: (chunk: Uint8Array) => void
  let digest: () => Uint8Array
  let algorithm: string
  if (cid.multihash.code === SHA2_256_MULTIHASH) {
    const h = sha256.create()
    update = (chunk) => {
      h.update(chunk)
    }
    digest = () => h.digest()
    algorithm = 'sha2-256'
  } else if (cid.multihash.code === BLAKE3_MULTIHASH) {
    const builder = new TreeBuilder({ keepTree: false })
    update = (chunk) => {
      builder.update(chunk)
    }
    digest = () => builder.finalize().root
    algorithm = 'blake3'
  } else {
    throw new OriginError(
      'ORIGIN_BAD_POINTER',
      `${label}: multihash 0x${cid.multihash.code.toString(16)} cannot be verified`,
    )
  }
  return {
    update,
    check() {
      const got = digest()
      if (equalBytes(got, expected)) return
      throw new OriginError(
        'ORIGIN_INTEGRITY',
        `${label}: the block hashes to ${algorithm} ${bytesToHex(got)}, expected ${bytesToHex(expected)}`,
      )
    },
  }
}

function gatewayBase(gateway: string): string {
  let url: URL
  try {
    url = new URL(gateway)
  } catch {
    throw new TypeError(`IPFS gateway ${JSON.stringify(gateway)} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`IPFS gateway ${JSON.stringify(gateway)} is not an http(s) URL`)
  }
  url.search = ''
  url.hash = ''
  return url.href.replace(/\/+$/, '')
}

export function createIpfsOrigin(options: IpfsOriginOptions): Origin {
  const first = options.gateway ?? []
  const list = [...(typeof first === 'string' ? [first] : first), ...(options.gateways ?? [])]
  if (list.length === 0) throw new TypeError('an IPFS origin needs at least one gateway')
  const gateways = list.map(gatewayBase)
  const name = options.name ?? 'ipfs'
  const headers = { ...options.headers, Accept: IPLD_RAW }

  return {
    name,
    accepts(pointer: Pointer): boolean {
      return pointer.kind === 'ipfs' || pointer.kind === 'blake3'
    },
    async *fetch(pointer: Pointer, fetchOptions: OriginFetchOptions): AsyncGenerator<Uint8Array> {
      checkLimits(fetchOptions)
      const cid = cidOf(pointer)
      const text = cid.toString()
      if (cid.code !== RAW_CODEC) {
        throw new OriginError(
          'ORIGIN_UNAVAILABLE',
          `${name}: ${text} is a UnixFS (dag-pb) CID; UnixFS is not supported yet, only CIDv1 raw blocks`,
        )
      }
      const failures: string[] = []
      let last: unknown
      for (const gateway of gateways) {
        fetchOptions.signal?.throwIfAborted()
        const body = fetchVerified(
          {
            ...fetchOptions,
            origin: name,
            url: `${gateway}/ipfs/${text}?format=raw`,
            headers,
            fetch: options.fetch,
          },
          multihashVerifier(cid, `${name}: ${text} from ${new URL(gateway).host}`),
        )
        let first: IteratorResult<Uint8Array>
        try {
          first = await body.next()
        } catch (e) {
          if (fetchOptions.signal?.aborted || !(e instanceof OriginError)) throw e
          failures.push(e.message)
          last = e
          continue
        }
        try {
          if (first.done) return
          yield first.value
          yield* body
          return
        } finally {
          await body.return()
        }
      }
      if (gateways.length === 1) throw last
      const code = last instanceof OriginError ? last.code : 'ORIGIN_FETCH_FAILED'
      throw new OriginError(
        code,
        `${name}: all ${gateways.length} gateways failed for ${text}: ${failures.join('; ')}`,
        { cause: last },
      )
    },
  }
}
