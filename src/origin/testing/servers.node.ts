/**
 * Test support for origins: local `node:http` servers on 127.0.0.1 (port 0) acting as HTTP
 * origins and as a fake IPFS trustless gateway, with every request recorded.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { BLAKE3_MULTIHASH, RAW_CODEC } from '../../b3/content-id.ts'
import { hash } from '../../b3/hash.ts'
import { type Handler, sleep, startServer, type TestServer } from '../../devnet/http-server.ts'
import { DAG_PB_CODEC, SHA2_256_MULTIHASH } from '../pointer.ts'

// The recording server is the devnet's (its origin runs on it too); re-exported for the tests.
export {
  type Handler,
  type RecordedRequest,
  sleep,
  startServer,
  type TestServer,
} from '../../devnet/http-server.ts'

/** A URL on which nothing listens (a server opened, then closed). */
export async function deadUrl(): Promise<string> {
  const server = await startServer(() => {})
  await server.close()
  return server.url
}

/** Answers 200 with `body` (with Content-Length). */
export function serveBytes(body: Uint8Array, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...headers })
    res.end(body)
  }
}

export interface HugeBodyOutcome {
  /** The whole body was written. */
  readonly finished: boolean
  /** Bytes handed to the socket before it closed. */
  readonly sent: number
}

/**
 * A body of `total` bytes written 64 KiB at a time as the client reads (with or without a
 * Content-Length). `outcome` settles when the response is over: finished, or cut off.
 */
export function hugeBody(total: number, withLength: boolean) {
  let settle!: (o: HugeBodyOutcome) => void
  const outcome = new Promise<HugeBodyOutcome>((resolve) => {
    settle = resolve
  })
  const chunk = new Uint8Array(64 * 1024).fill(7)
  const handler: Handler = (_req, res) => {
    res.writeHead(200, withLength ? { 'content-length': String(total) } : {})
    let sent = 0
    let closed = false
    res.on('close', () => {
      closed = true
      settle({ finished: res.writableFinished, sent })
    })
    const pump = (): void => {
      while (!closed && sent < total) {
        const n = Math.min(chunk.length, total - sent)
        sent += n
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump)
          return
        }
      }
      if (!closed) res.end()
    }
    pump()
  }
  return { handler, outcome }
}

/** CIDv1 raw + sha2-256 of `bytes` (base32). */
export function sha256Cid(bytes: Uint8Array, codec = RAW_CODEC): string {
  return CID.createV1(codec, createDigest(SHA2_256_MULTIHASH, sha256(bytes))).toString()
}

/** CIDv1 raw + blake3 of `bytes` (base32). */
export function blake3Cid(bytes: Uint8Array): string {
  return CID.createV1(RAW_CODEC, createDigest(BLAKE3_MULTIHASH, hash(bytes))).toString()
}

/** CIDv1 dag-pb + sha2-256 (what UnixFS files are named by). */
export function dagPbCid(bytes: Uint8Array): string {
  return sha256Cid(bytes, DAG_PB_CODEC)
}

export interface FakeGateway extends TestServer {
  /** Blocks by CID string. */
  readonly blocks: Map<string, Uint8Array>
}

/**
 * A fake trustless gateway: `GET /ipfs/<cid>?format=raw` with `Accept:
 * application/vnd.ipld.raw` answers the block; unknown CIDs 404; anything else 400. `lie`
 * answers other bytes than the block.
 */
export async function startGateway(options: { lie?: boolean; delayMs?: number } = {}) {
  const blocks = new Map<string, Uint8Array>()
  const server = await startServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway')
    const match = /^\/ipfs\/([^/]+)$/.exec(url.pathname)
    if (
      req.method !== 'GET' ||
      match === null ||
      url.searchParams.get('format') !== 'raw' ||
      req.headers.accept !== 'application/vnd.ipld.raw'
    ) {
      res.writeHead(400).end('bad request')
      return
    }
    if (options.delayMs) await sleep(options.delayMs)
    const block = blocks.get(match[1]!)
    if (block === undefined) {
      res.writeHead(404).end('not found')
      return
    }
    const body = options.lie ? block.map((b) => b ^ 0xff) : block
    res.writeHead(200, {
      'content-type': 'application/vnd.ipld.raw',
      'x-content-type-options': 'nosniff',
    })
    res.end(body)
  })
  return { ...server, blocks } satisfies FakeGateway
}
