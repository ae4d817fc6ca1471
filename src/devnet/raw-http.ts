/**
 * HTTP/1.1 over a raw socket, for tests that must send what `fetch` refuses to (a request line
 * that is not a URL, a bad percent-encoding, a header of random bytes) and check that what comes
 * back is a well-formed response. `ResponseReader` parses responses off a byte stream in order
 * (keep-alive), strictly: a status line, header lines, and a body framed as the headers say.
 */
import { connect, type Socket } from 'node:net'

export interface RawResponse {
  readonly status: number
  /** Header names lowercased; repeated headers joined with ', '. */
  readonly headers: ReadonlyMap<string, string>
  readonly body: Buffer
}

/** The bytes on the socket are not an HTTP/1.1 response. */
export class MalformedResponse extends Error {
  readonly code = 'MALFORMED_RESPONSE'
}

const STATUS_LINE = /^HTTP\/1\.[01] ([1-5]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*$/
const HEADERS_END = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')
/** More than any answer of the gateway's to a small request: a reader that got this much is lost. */
const MAX_HEAD = 64 * 1024

/** Responses off one connection's bytes, in order. */
export class ResponseReader {
  private buffer: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
  }

  /** Bytes received and not yet part of a response. */
  get pending(): number {
    return this.buffer.length
  }

  /**
   * The next whole final response (1xx interim answers are skipped), or undefined if more bytes
   * are needed. `head`: the request was HEAD (no body whatever the headers say). `ended`: the
   * connection is closed, so a body without a length ends here. Throws MalformedResponse.
   */
  next(head: boolean, ended: boolean): RawResponse | undefined {
    for (;;) {
      const end = this.buffer.indexOf(HEADERS_END)
      if (end < 0) {
        if (this.buffer.length > MAX_HEAD) throw new MalformedResponse('no end of headers')
        if (ended && this.buffer.length > 0)
          throw new MalformedResponse(`closed mid-head: ${JSON.stringify(this.text(200))}`)
        return undefined
      }
      const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n')
      const status = STATUS_LINE.exec(lines[0]!)
      if (status === null)
        throw new MalformedResponse(`bad status line ${JSON.stringify(lines[0])}`)
      const headers = new Map<string, string>()
      for (const line of lines.slice(1)) {
        const h = HEADER_LINE.exec(line)
        if (h === null) throw new MalformedResponse(`bad header line ${JSON.stringify(line)}`)
        const name = h[1]!.toLowerCase()
        const before = headers.get(name)
        headers.set(name, before === undefined ? h[2]! : `${before}, ${h[2]!}`)
      }
      const code = Number(status[1])
      const rest = this.buffer.subarray(end + HEADERS_END.length)
      if (code < 200) {
        this.buffer = rest
        continue
      }
      const body = this.body(code, headers, rest, head, ended)
      if (body === undefined) return undefined
      this.buffer = rest.subarray(body.consumed)
      return { status: code, headers, body: body.bytes }
    }
  }

  private body(
    status: number,
    headers: ReadonlyMap<string, string>,
    rest: Buffer,
    head: boolean,
    ended: boolean,
  ): { bytes: Buffer; consumed: number } | undefined {
    if (head || status === 204 || status === 304) return { bytes: Buffer.alloc(0), consumed: 0 }
    const te = headers.get('transfer-encoding')
    if (te !== undefined) {
      if (te.toLowerCase() !== 'chunked') throw new MalformedResponse(`transfer-encoding ${te}`)
      return chunked(rest, ended)
    }
    const cl = headers.get('content-length')
    if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) throw new MalformedResponse(`content-length ${cl}`)
      const n = Number(cl)
      if (rest.length < n) {
        if (ended) throw new MalformedResponse(`closed after ${rest.length} of ${n} body bytes`)
        return undefined
      }
      return { bytes: Buffer.from(rest.subarray(0, n)), consumed: n }
    }
    // No length: the body runs to the end of the connection.
    if (!ended) return undefined
    return { bytes: Buffer.from(rest), consumed: rest.length }
  }

  private text(n: number): string {
    return this.buffer.subarray(0, n).toString('latin1')
  }
}

function chunked(rest: Buffer, ended: boolean): { bytes: Buffer; consumed: number } | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = rest.indexOf(CRLF, at)
    if (eol < 0) {
      if (ended) throw new MalformedResponse('closed mid chunk size')
      return undefined
    }
    const size = /^([0-9a-fA-F]+)(;.*)?$/.exec(rest.subarray(at, eol).toString('latin1'))
    if (size === null) throw new MalformedResponse('bad chunk size line')
    const n = Number.parseInt(size[1]!, 16)
    at = eol + 2
    if (n === 0) {
      // Trailers, then an empty line.
      for (;;) {
        const t = rest.indexOf(CRLF, at)
        if (t < 0) {
          if (ended) throw new MalformedResponse('closed in trailers')
          return undefined
        }
        const empty = t === at
        at = t + 2
        if (empty) return { bytes: Buffer.concat(parts), consumed: at }
      }
    }
    if (rest.length < at + n + 2) {
      if (ended) throw new MalformedResponse('closed mid chunk')
      return undefined
    }
    parts.push(rest.subarray(at, at + n))
    if (!rest.subarray(at + n, at + n + 2).equals(CRLF))
      throw new MalformedResponse('chunk not followed by CRLF')
    at += n + 2
  }
}

/** A connection to 127.0.0.1:`port`, resolved once connected. */
export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

/**
 * Sends `request` (whole bytes) on a new connection (ending our side after it if `halfClose`)
 * and reads the one response; rejects with
 * MalformedResponse if the answer is not HTTP, or if the connection closes without one.
 */
export async function rawRequest(
  port: number,
  request: string | Uint8Array,
  options: { head?: boolean; timeoutMs?: number; halfClose?: boolean } = {},
): Promise<RawResponse> {
  const socket = await connectTo(port)
  const reader = new ResponseReader()
  try {
    return await new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer in ${options.timeoutMs ?? 10_000} ms`)),
        options.timeoutMs ?? 10_000,
      )
      const settle = (ended: boolean) => {
        try {
          const response = reader.next(options.head ?? false, ended)
          if (response !== undefined) {
            clearTimeout(timer)
            resolve(response)
          } else if (ended) {
            clearTimeout(timer)
            reject(new MalformedResponse('the connection closed without an answer'))
          }
        } catch (error) {
          clearTimeout(timer)
          reject(error)
        }
      }
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk)
        settle(false)
      })
      socket.on('close', () => settle(true))
      socket.on('error', () => {}) // 'close' follows
      if (options.halfClose === true) socket.end(request)
      else socket.write(request)
    })
  } finally {
    socket.destroy()
  }
}

/** The gateway's error body, `{"error":{"code","message"}}`, or undefined if it is not one. */
export function errorBody(response: RawResponse): { code: string; message: string } | undefined {
  if (!(response.headers.get('content-type') ?? '').startsWith('application/json')) return undefined
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as {
      error?: { code?: unknown; message?: unknown }
    }
    const { code, message } = parsed.error ?? {}
    return typeof code === 'string' && typeof message === 'string' ? { code, message } : undefined
  } catch {
    return undefined
  }
}
