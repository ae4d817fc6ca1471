/**
 * `fulmen fetch <id|pointer> -o FILE --from URL | --node MULTIADDR…`: downloads through a
 * node's proof-carrying gateway, or over libp2p sessions with failover between nodes (the
 * client API, signing delivery acknowledgements), verifying every block before writing it, into a temporary file that is renamed
 * into place only when everything checked out. For pointers whose root is not known up front
 * (IPFS CIDs, HTTP URLs with SRI) the blocks are verified against the root the node announces
 * and the whole is then checked against the pointer's own digest.
 */

import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { formatContentId, parseContentId } from '../../../b3/content-id.ts'
import { readySync } from '../../../b3/engine.ts'
import { createClient } from '../../../client/client.ts'
import { sriVerifier } from '../../../origin/http-origin.ts'
import { multihashVerifier } from '../../../origin/ipfs-origin.ts'
import type { BodyVerifier } from '../../../origin/origin.ts'
import { cidOf, type Pointer, parseIntegrity, parsePointer } from '../../../origin/pointer.ts'
import { gatewayPath } from '../../../services/cdn/gateway-path.ts'
import { readContentBody } from '../../../wire/content-body.ts'
import { defaultClientKeyPath, loadOrCreateClientKey } from '../../client-key-file.ts'
import { FRAMES_MEDIA_TYPE } from '../../gateway/http-gateway.ts'
import { type Command, parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'
import { startProgress } from '../progress.ts'

function pointerVerifier(pointer: Pointer): BodyVerifier | undefined {
  if (pointer.kind === 'ipfs') return multihashVerifier(cidOf(pointer), pointer.cid)
  if (pointer.kind === 'http') return sriVerifier(parseIntegrity(pointer.integrity), pointer.url)
  return undefined
}

/**
 * undici's network failures (refused, reset, a body cut short: `TypeError: fetch failed`,
 * `terminated`) as one typed error, so they read as a failure, not as a bug.
 */
function networkFailure(e: unknown, what: string): unknown {
  if (!(e instanceof TypeError)) return e
  const cause = (e as { cause?: unknown }).cause
  const detail = cause instanceof Error && cause.message !== '' ? cause.message : e.message
  return Object.assign(new Error(`${what}: ${detail}`), { code: 'FETCH_NETWORK', cause: e })
}

/** The response body, its network failures typed. */
async function* network(
  source: AsyncIterable<Uint8Array>,
  host: string,
): AsyncGenerator<Uint8Array> {
  try {
    yield* source
  } catch (e) {
    throw networkFailure(e, `the connection to ${host} broke`)
  }
}

function parseRangeFlag(text: string): { start: number; end: number } {
  const m = /^(\d+)-(\d+)$/.exec(text)
  if (m === null || Number(m[2]) < Number(m[1]))
    throw new UsageError(`--range takes START-END (inclusive), got '${text}'`, 'fetch')
  return { start: Number(m[1]), end: Number(m[2]) + 1 }
}

interface FetchSource {
  readonly header: { readonly root: Uint8Array; readonly range: { start: number; end: number } }
  readonly body: ReadableStream<Uint8Array>
  /** Who served it, for the summary line. */
  readonly from: string
  close?: () => Promise<void>
}

async function fromGateway(
  pointer: Pointer,
  from: string,
  range: { start: number; end: number } | undefined,
): Promise<FetchSource> {
  const url = new URL(gatewayPath(pointer), from.replace(/\/+$/, '/'))
  const headers: Record<string, string> = { accept: FRAMES_MEDIA_TYPE }
  if (range !== undefined) headers.range = `bytes=${range.start}-${range.end - 1}`
  const res = await fetch(url, { headers }).catch((e: unknown) => {
    throw networkFailure(e, `cannot reach ${url.host}`)
  })
  if (!res.ok || res.body === null) {
    const body = (await res.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string }
    }
    throw Object.assign(
      new Error(`${url.host} answered ${res.status}: ${body.error?.message ?? res.statusText}`),
      {
        code: body.error?.code ?? 'GATEWAY_ERROR',
      },
    )
  }
  const root = pointer.kind === 'blake3' ? pointer.root : 'from-header'
  const { header, body } = await readContentBody(
    root,
    network(res.body as unknown as AsyncIterable<Uint8Array>, url.host),
    {
      ...(range === undefined ? {} : { range }),
    },
  )
  return { header, body, from: res.headers.get('x-fulmen-node') ?? url.host }
}

async function fromSessions(
  pointer: Pointer,
  nodes: readonly string[],
  keyPath: string,
  range: { start: number; end: number } | undefined,
): Promise<FetchSource> {
  const key = await loadOrCreateClientKey(keyPath)
  const client = await createClient({ bootstrap: nodes, key })
  const served = new Set<string>()
  try {
    const res = await client.fetch(pointer, {
      ...(range === undefined ? {} : { range }),
      onProgress: (event) => {
        if (event.type === 'block') served.add(event.node.slice(-8))
        if (event.type === 'failover')
          process.stderr.write(
            `fulmen: node ${event.node} failed (${event.failure.code}: ${event.failure.message}); resuming${event.resumeBlock === undefined ? '' : ` at block ${event.resumeBlock}`} on the next node\n`,
          )
      },
    })
    const length = Number(res.headers.get('content-length'))
    const start = range?.start ?? 0
    // The client names the root it verified against (for pointers: the one the nodes announced).
    const root = parseContentId(res.headers.get('x-content-id')!)
    return {
      header: {
        root,
        range: { start, end: start + length },
      },
      body: res.body!,
      get from() {
        return [...served].map((p) => `…${p}`).join(', ')
      },
      close: () => client.close(),
    }
  } catch (error) {
    await client.close()
    throw error
  }
}

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'Download content through a node, verifying every block',
  help: `Usage: fulmen fetch <id|pointer> (--from URL | --node MULTIADDR...) [-o FILE] [--range START-END]

Fetches a content id (hex, blake3:<hex>, bafkr4... CID), an IPFS CID, or an HTTP(S)
URL with #integrity=sha256-... from the node whose HTTP gateway is at URL, or over
libp2p sessions from the nodes given with --node: the nearest first, and when a node
lies, stalls or disconnects the fetch resumes on the next one from the first
unverified block. Sessions sign delivery acknowledgements with the client key.
Every 256 KiB block is verified against the root before it is written; FILE appears
only once all of it is verified (written to FILE.partial first). Without -o, or with
-o -, verified bytes go to standard output.

Options:
  --from URL           The node's HTTP gateway, e.g. http://127.0.0.1:4069
  --node MULTIADDR     A node's libp2p address with /p2p/<id> (repeat for failover)
  --key FILE           Client key for sessions (default ~/.fulmen/client.key, or
                       $FULMEN_CLIENT_KEY); created when missing
  -o, --output FILE    Where to write (default: standard output)
  --range START-END    Only these bytes (inclusive), still verified block by block
  -h, --help           Show this help`,

  async run(args) {
    const { values, positionals } = parseCommandArgs('fetch', args, {
      from: { type: 'string' },
      node: { type: 'string', multiple: true },
      key: { type: 'string' },
      output: { type: 'string', short: 'o' },
      range: { type: 'string' },
    })
    if (positionals.length !== 1)
      throw new UsageError('fetch takes exactly one id or pointer', 'fetch')
    const nodes = values.node ?? []
    if ((values.from === undefined) === (nodes.length === 0))
      throw new UsageError('give either --from URL (a node gateway) or --node MULTIADDR', 'fetch')
    readySync()
    const pointer = parsePointer(positionals[0]!)
    const range = values.range === undefined ? undefined : parseRangeFlag(values.range)
    if (range !== undefined && pointer.kind !== 'blake3') {
      throw new UsageError(
        '--range needs a content id: a pointer is checked against its digest as a whole',
        'fetch',
      )
    }
    const toStdout = values.output === undefined || values.output === '-'
    if (toStdout && pointer.kind !== 'blake3') {
      throw new UsageError(
        'a pointer is checked as a whole before it is released: give -o FILE',
        'fetch',
      )
    }
    const source =
      nodes.length > 0
        ? await fromSessions(pointer, nodes, values.key ?? defaultClientKeyPath(), range)
        : await fromGateway(pointer, values.from!, range)
    const { header, body } = source
    const target = values.output ?? '-'
    // A device or a pipe (`-o /dev/null`) is written as is: no partial file to rename over it.
    const special =
      !toStdout &&
      (await stat(target).then(
        (s) => !s.isFile(),
        () => false,
      ))
    const partial = special ? target : `${target}.partial`
    const out = toStdout ? process.stdout : createWriteStream(partial)
    // The session client checks a pointer's digest itself, before the last block.
    const verifier = nodes.length > 0 ? undefined : pointerVerifier(pointer)
    const total = header.range.end - header.range.start
    const progress = startProgress(target, total)
    let done = 0
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        verifier?.update(chunk)
        if (!out.write(chunk)) await once(out, 'drain')
        done += chunk.length
        progress.update(done)
      }
      verifier?.check()
      if (!toStdout) {
        out.end()
        await once(out, 'finish')
        if (!special) await rename(partial, target)
      }
    } catch (error) {
      if (!toStdout) {
        out.destroy()
        if (!special) await rm(partial, { force: true })
      }
      throw error
    } finally {
      progress.stop()
      await source.close?.()
    }
    if (!toStdout) {
      await write(
        `${formatContentId(header.root, 'hex')}  ${target}  (${done} bytes verified, from ${source.from})\n`,
      )
    }
    return 0
  },
}
