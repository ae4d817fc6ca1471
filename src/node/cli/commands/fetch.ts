/**
 * `fulmen fetch <id|pointer> -o FILE --from URL | --node MULTIADDR…`: downloads through a
 * node's proof-carrying gateway, or over libp2p sessions with failover between nodes (the
 * client API, signing delivery acknowledgements), verifying every block before writing it, into a temporary file that is renamed
 * into place only when everything checked out. For pointers whose root is not known up front
 * (IPFS CIDs, HTTP URLs with SRI) the blocks are verified against the root the node announces
 * and the whole is then checked against the pointer's own digest.
 */

import { createReadStream } from 'node:fs'
import { type FileHandle, mkdtemp, open, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { formatContentId, parseContentId } from '../../../b3/content-id.ts'
import { readySync } from '../../../b3/engine.ts'
import { FetchError } from '../../../client/errors.ts'
import { sriVerifier } from '../../../origin/http-origin.ts'
import { multihashVerifier } from '../../../origin/ipfs-origin.ts'
import type { BodyVerifier } from '../../../origin/origin.ts'
import { cidOf, type Pointer, parseIntegrity, parsePointer } from '../../../origin/pointer.ts'
import { gatewayPath } from '../../../services/cdn/gateway-path.ts'
import { readContentBody } from '../../../wire/content-body.ts'
import { defaultClientKeyPath, loadOrCreateClientKey } from '../../client-key-file.ts'
import { FRAMES_MEDIA_TYPE } from '../../gateway/http-gateway.ts'
import { parseCommandArgs, UsageError } from '../command.ts'
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

/** The CLI's default for `--stall-timeout`: long enough for a slow origin, short for a person. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000

function stalled(host: string, ms: number): Error {
  return Object.assign(new Error(`${host} sent nothing for ${formatMs(ms)}`), {
    code: 'FETCH_STALLED',
  })
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

/**
 * `source`, failing with FETCH_STALLED (and aborting `controller`, which tears the request
 * down) when no chunk comes for `ms`.
 */
async function* stallGuard(
  source: AsyncIterable<Uint8Array>,
  ms: number,
  controller: AbortController,
  host: string,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]()
  try {
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = stalled(host, ms)
          controller.abort(error)
          reject(error)
        }, ms)
      })
      let next: IteratorResult<Uint8Array>
      try {
        next = await Promise.race([it.next(), timeout])
      } finally {
        clearTimeout(timer)
      }
      if (next.done) return
      yield next.value
    }
  } finally {
    await it.return?.()?.catch(() => {})
  }
}

/** `--stall-timeout`: seconds (`30`, `0.5`), or with a unit (`500ms`, `30s`). */
function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim())
  const ms = m === null ? Number.NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : 1000)
  if (!Number.isFinite(ms) || ms < 1 || ms > 2 ** 31 - 1)
    throw new UsageError(
      `${flag} takes a duration such as 30, 30s or 500ms, got '${text}'`,
      'fetch',
    )
  return Math.round(ms)
}

/** `--from`: an http(s) URL; a bare `host:port` gets a hint with the scheme added. */
function parseGatewayUrl(text: string): string {
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {}
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const hint = /^[\w.-]+:\d+(\/.*)?$|^\[[\da-f:.]+\]:\d+/i.test(text)
      ? `; try http://${text}`
      : ', e.g. http://127.0.0.1:4069'
    throw new UsageError(
      `--from takes the gateway's URL with http:// or https://, got '${text}'${hint}`,
      'fetch',
    )
  }
  return text
}

/**
 * `--node`: a multiaddr the client can dial, naming the node with /p2p/<peer id>. Checked
 * before anything starts, so a typo is a usage error, not a wait.
 */
function checkNodeAddress(text: string): string {
  const example = '/ip4/127.0.0.1/tcp/4070/ws/p2p/<peer id>'
  let problem: string | undefined
  try {
    const components = multiaddr(text).getComponents()
    const peer = components.findLast((c) => c.name === 'p2p')?.value
    if (peer === undefined) problem = 'it has no /p2p/<peer id>'
    else if (!components.some((c) => c.name === 'tcp' || c.name === 'udp'))
      problem = 'it names no tcp or udp port'
  } catch (e) {
    problem = `it is not a multiaddr (${(e as Error).message})`
  }
  if (problem !== undefined)
    throw new UsageError(
      `--node '${text}' is not a node address: ${problem}; e.g. ${example}`,
      'fetch',
    )
  return text
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
  stallMs: number,
): Promise<FetchSource> {
  const url = new URL(gatewayPath(pointer), from.replace(/\/+$/, '/'))
  const headers: Record<string, string> = { accept: FRAMES_MEDIA_TYPE }
  if (range !== undefined) headers.range = `bytes=${range.start}-${range.end - 1}`
  const controller = new AbortController()
  // The answer's head waits at most the stall timeout too.
  const headTimer = setTimeout(() => controller.abort(stalled(url.host, stallMs)), stallMs)
  const res = await fetch(url, { headers, signal: controller.signal })
    .catch((e: unknown) => {
      if (controller.signal.aborted) throw controller.signal.reason
      throw networkFailure(e, `cannot reach ${url.host}`)
    })
    .finally(() => clearTimeout(headTimer))
  if (res.status === 416 && range !== undefined) {
    await res.body?.cancel().catch(() => {})
    throw pastTheEnd(range, /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1])
  }
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
  // The gateway answers a range running past the end with what there is (as HTTP does).
  const total = /\/(\d+)$/.exec(res.headers.get('x-fulmen-content-range') ?? '')?.[1]
  if (range !== undefined && total !== undefined && range.end > Number(total)) {
    await res.body.cancel().catch(() => {})
    throw pastTheEnd(range, total)
  }
  const root = pointer.kind === 'blake3' ? pointer.root : 'from-header'
  const source = stallGuard(
    network(res.body as unknown as AsyncIterable<Uint8Array>, url.host),
    stallMs,
    controller,
    url.host,
  )
  const { header, body } = await readContentBody(root, source, {
    ...(range === undefined ? {} : { range }),
  })
  return {
    header,
    body,
    from: res.headers.get('x-fulmen-node') ?? url.host,
    close: async () => controller.abort(),
  }
}

function pastTheEnd(range: { start: number; end: number }, length: string | undefined): Error {
  const of = length === undefined ? '' : ` (length ${length})`
  return Object.assign(
    new Error(`the range ${range.start}-${range.end - 1} is past the end of the content${of}`),
    { code: 'FETCH_RANGE_PAST_END' },
  )
}

async function fromSessions(
  pointer: Pointer,
  nodes: readonly string[],
  keyPath: string,
  range: { start: number; end: number } | undefined,
  stallMs: number | undefined,
): Promise<FetchSource> {
  const key = await loadOrCreateClientKey(keyPath)
  // libp2p loads here, not for `fetch --from`, which only speaks HTTP.
  const { createClient } = await import('../../../client/create-client.node.ts')
  // Unless told otherwise, the client's own per-node stall timeout (5 s), then failover.
  const client = await createClient({
    bootstrap: nodes,
    key,
    ...(stallMs === undefined ? {} : { stallTimeoutMs: stallMs }),
  })
  const served = new Set<string>()
  const busy = new Set<string>()
  try {
    const res = await client.fetch(pointer, {
      ...(range === undefined ? {} : { range }),
      onProgress: (event) => {
        if (event.type === 'block') served.add(event.node.slice(-8))
        // A range past the end is no node's failure: said once, at the end.
        if (event.type === 'failover' && event.failure.code !== 'RANGE_NOT_SATISFIABLE') {
          const at = event.resumeBlock === undefined ? '' : ` at block ${event.resumeBlock}`
          const next = nodes.length > 1 ? `; resuming${at} on the next node` : ''
          process.stderr.write(
            `fulmen: node ${event.node} failed (${event.failure.code}: ${event.failure.message})${next}\n`,
          )
        }
        // Refused for load: not a failure, said once per node (the fetch waits or moves on).
        if (event.type === 'busy' && !busy.has(event.node)) {
          busy.add(event.node)
          process.stderr.write(
            `fulmen: node ${event.node} is busy (${event.failure.message}); waiting\n`,
          )
        }
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
    const failures = error instanceof FetchError ? error.failures : []
    if (
      range !== undefined &&
      failures.length > 0 &&
      failures.every((f) => f.code === 'RANGE_NOT_SATISFIABLE')
    )
      throw pastTheEnd(range, / of (\d+) bytes/.exec(failures[0]!.message)?.[1])
    throw error
  }
}

/** Where verified bytes go, and when they become visible. */
interface Sink {
  write(chunk: Uint8Array): Promise<void>
  /** Everything verified (a pointer's digest too): make it visible. */
  commit(): Promise<void>
  /** Something failed: leave nothing behind. */
  discard(): Promise<void>
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let done = 0
  while (done < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done)
    done += bytesWritten
  }
}

/**
 * A regular file: written as FILE.partial, renamed over FILE only once complete and verified.
 * Writes go through a FileHandle, one at a time: a failure leaves no write in flight to error
 * later (ERR_STREAM_DESTROYED) or to recreate the partial file after it was removed.
 */
async function fileSink(target: string): Promise<Sink> {
  const partial = `${target}.partial`
  const handle = await open(partial, 'w')
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await handle.close()
  }
  return {
    write: (chunk) => writeAll(handle, chunk),
    commit: async () => {
      await close()
      await rename(partial, target)
    },
    discard: async () => {
      await close().catch(() => {})
      await rm(partial, { force: true })
    },
  }
}

/** A device or a pipe (`-o /dev/null`): written as is, there is nothing to rename. */
async function deviceSink(target: string): Promise<Sink> {
  const handle = await open(target, 'w')
  return {
    write: (chunk) => writeAll(handle, chunk),
    commit: () => handle.close(),
    discard: () => handle.close().catch(() => {}),
  }
}

function stdoutSink(): Sink {
  return {
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()))
      }),
    commit: async () => {},
    discard: async () => {},
  }
}

/**
 * Holds the body in a temporary file until `commit` (a pointer's digest is checked only at
 * the end), then copies it to `out`: no byte reaches a pipe or a device before that.
 */
async function heldSink(out: Sink): Promise<Sink> {
  const dir = await mkdtemp(join(tmpdir(), 'fulmen-fetch-'))
  const held = join(dir, 'body')
  const file = await fileSink(held)
  const cleanUp = () => rm(dir, { recursive: true, force: true })
  return {
    write: (chunk) => file.write(chunk),
    commit: async () => {
      try {
        await file.commit()
        for await (const chunk of createReadStream(held)) await out.write(chunk as Uint8Array)
        await out.commit()
      } finally {
        await cleanUp()
      }
    },
    discard: async () => {
      await file.discard().catch(() => {})
      await cleanUp()
      await out.discard()
    },
  }
}

/** Runs `fulmen fetch` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('fetch', args, {
    from: { type: 'string' },
    node: { type: 'string', multiple: true },
    key: { type: 'string' },
    output: { type: 'string', short: 'o' },
    range: { type: 'string' },
    'stall-timeout': { type: 'string' },
  })
  if (positionals.length !== 1)
    throw new UsageError('fetch takes exactly one id or pointer', 'fetch')
  const nodes = (values.node ?? []).map(checkNodeAddress)
  if ((values.from === undefined) === (nodes.length === 0))
    throw new UsageError('give either --from URL (a node gateway) or --node MULTIADDR', 'fetch')
  const from = values.from === undefined ? undefined : parseGatewayUrl(values.from)
  const stallMs =
    values['stall-timeout'] === undefined
      ? undefined
      : parseDuration(values['stall-timeout'], '--stall-timeout')
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
  const target = values.output ?? '-'
  const special =
    !toStdout &&
    (await stat(target).then(
      (s) => !s.isFile(),
      () => false,
    ))
  const source =
    from === undefined
      ? await fromSessions(pointer, nodes, values.key ?? defaultClientKeyPath(), range, stallMs)
      : await fromGateway(pointer, from, range, stallMs ?? DEFAULT_STALL_TIMEOUT_MS)
  const { header, body } = source
  // A pointer names a digest of the whole: checked here at the end, before anything shows.
  const verifier = pointerVerifier(pointer)
  let sink: Sink | undefined
  const total = header.range.end - header.range.start
  const progress = startProgress(target, total)
  let done = 0
  try {
    const out = toStdout ? stdoutSink() : special ? await deviceSink(target) : undefined
    sink =
      out === undefined
        ? await fileSink(target)
        : verifier === undefined
          ? out
          : await heldSink(out)
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      verifier?.update(chunk)
      await sink.write(chunk)
      done += chunk.length
      progress.update(done)
    }
    verifier?.check()
    await sink.commit()
  } catch (error) {
    await sink?.discard().catch(() => {})
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
}
