/**
 * Test support for talking to a node's gateway: whole responses as bytes, Prometheus text
 * parsing, a verified read of a framed body, and where each frame of a framed body lies (so a
 * tampering proxy can be aimed at a header, a proof or block data).
 */
import { connect, type Socket } from 'node:net'
import { readContentBody } from '../../wire/content-body.ts'

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly bytes: Uint8Array
  /** The body as JSON (throws if it is not). */
  json<T = unknown>(): T
}

/** `fetch`, the body read to the end. */
export async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init)
  const bytes = new Uint8Array(await res.arrayBuffer())
  return {
    status: res.status,
    headers: res.headers,
    bytes,
    json: <T>() => JSON.parse(new TextDecoder().decode(bytes)) as T,
  }
}

/** Every chunk of a stream, concatenated. */
export async function collect(
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const c of source as AsyncIterable<Uint8Array>) chunks.push(c)
  return Buffer.concat(chunks)
}

/** Verified bytes of a framed body for `root` (and `range`), through `readContentBody`. */
export async function readFramed(
  root: Uint8Array,
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Uint8Array,
  range?: { start: number; end: number },
): Promise<Uint8Array> {
  const source = body instanceof Uint8Array ? [body] : (body as AsyncIterable<Uint8Array>)
  const read = await readContentBody(root, source as AsyncIterable<Uint8Array>, {
    ...(range === undefined ? {} : { range }),
  })
  return collect(read.body)
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')
}

/**
 * The value of sample `name{labels}` in Prometheus text (labels matched as a subset, the
 * matching samples summed); 0 when absent.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}) {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = m[2] ?? ''
    if (Object.entries(labels).every(([k, v]) => have.includes(labelText({ [k]: v })))) {
      sum += Number(m[3])
    }
  }
  return sum
}

/** `GET <url>/metrics`, as text. */
export async function metricsOf(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`)
  return res.text()
}

export interface FrameSpan {
  readonly kind: 'header' | 'proof' | 'data' | 'error'
  /** Offset of the frame's 5-byte prefix in the body. */
  readonly offset: number
  /** Offset of its payload, and its length. */
  readonly payload: number
  readonly length: number
}

const KINDS = ['header', 'proof', 'data', 'error'] as const

/** Where each frame of a whole framed body lies. */
export function frameLayout(body: Uint8Array): FrameSpan[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const spans: FrameSpan[] = []
  for (let off = 0; off + 5 <= body.length; ) {
    const kind = KINDS[body[off]! - 1]
    if (kind === undefined) throw new Error(`no frame at ${off}`)
    const length = view.getUint32(off + 1)
    spans.push({ kind, offset: off, payload: off + 5, length })
    off += 5 + length
  }
  return spans
}

/**
 * Opens a connection and sends a request's head without its final empty line: the server
 * counts the connection as busy (not idle), so it survives the start of a graceful shutdown.
 * `finish()` sends the empty line and resolves with everything the server answered.
 */
export async function halfSentRequest(
  url: string,
  path: string,
): Promise<{ finish(): Promise<string>; socket: Socket }> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let answer = ''
  socket.setEncoding('utf8').on('data', (d: string) => {
    answer += d
  })
  socket.on('error', () => {})
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n`)
  return {
    socket,
    async finish() {
      socket.write('\r\n')
      await ended
      return answer
    },
  }
}
