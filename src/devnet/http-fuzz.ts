/**
 * A fuzzer for a node's HTTP gateway over raw sockets (src/node/gateway/gateway-fuzz.node.test.ts,
 * scripts/fuzz-node.ts): request lines, methods, targets (origin- and absolute-form, percent-
 * encodings valid and not, overlong UTF-8, queries), HTTP versions, headers (Range, Accept,
 * If-None-Match, random names and values, control bytes, oversized ones) and bodies, plus some
 * requests of random bytes and some cut short by a reset (in the head, or an import's body). Case `i` of seed `s` is always the same bytes (Prng.forCase).
 *
 * Most cases keep the connection open (keep-alive, many sockets in parallel) so that 100,000
 * of them take seconds; the few that may end a connection without an answer (random bytes,
 * CONNECT, Upgrade) go on a connection of their own, half-closed after the request.
 *
 * Every answer must be a well-formed HTTP/1.1 response (src/devnet/raw-http.ts), never a
 * 500 (client input is never the node's internal error), and an error the gateway wrote must
 * have its JSON shape `{"error":{"code","message"}}`.
 */
import type { Socket } from 'node:net'
import { Prng } from './fuzz-random.ts'
import { connectTo, errorBody, type RawResponse, ResponseReader } from './raw-http.ts'

/** What the fuzzer knows of the node's content, to make some requests that name it. */
export interface FuzzContent {
  readonly hex: string
  readonly cid: string
  /**
   * Encoded, signed transactions the node's chain would admit (a node started with a genesis):
   * some POSTs to /chain/tx carry one, whole or with a byte changed.
   */
  readonly transactions?: readonly Uint8Array[]
}

export interface HttpCase {
  readonly bytes: Buffer
  /** The request is HEAD: its answer has no body whatever its headers say. */
  readonly head: boolean
  /** The server may end the connection without answering (not an HTTP request it can answer). */
  readonly mayClose: boolean
  /**
   * The client gives up: the connection is reset once `bytes` are written (a request cut in its
   * head or its body, an import abandoned half-way). No answer is expected.
   */
  readonly cut?: boolean
}

const FRAMES = 'application/vnd.fulmen.frames'

const METHODS = ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD', 'HEAD', 'OPTIONS', 'PUT', 'POST']
const ODD_METHODS = [
  'DELETE',
  'PATCH',
  'TRACE',
  'PROPFIND',
  'get',
  'G',
  'GETT',
  'M-SEARCH',
  'QUERY',
]

const PATHS = [
  '/services/0/blake3/',
  '/services/0/blake3/',
  '/services/0/blake3/',
  '/services/0/ipfs/',
  '/services/0/ipfs/',
  '/services/0/http',
  '/providers/',
  '/providers/',
  '/health',
  '/status',
  '/metrics',
  '/das',
  '/admin/content',
  '/',
  '/services/0/',
  '/services/1/blake3/',
  '/services/0/blake3',
  '//',
  '/%2e%2e/',
  '/services/0/blake3/../../health',
  '/services%2F0%2Fblake3/',
  '/chain/head',
  '/chain/tx',
  '/chain/tx',
  '/chain/tx/',
  '/chain/block/',
  '/chain/state/accounts/',
  '/chain/state/',
  '/chain/',
]

const ESCAPES = [
  '%41',
  '%2F',
  '%2f',
  '%00',
  '%20',
  '%25',
  '%ZZ',
  '%',
  '%4',
  '%E0%A4%A',
  '%E0%A4%A4',
  '%C0%AF',
  '%C0%80',
  '%ED%A0%80',
  '%F4%90%80%80',
  '%FF',
  '%FE%FF',
  '%EF%BB%BF',
  '%F0%9F%98%80',
  '%u0041',
  '%%',
]

const HOSTS = [
  'gateway',
  '127.0.0.1:4069',
  '[',
  '%',
  'a:99999',
  '[::1]',
  '[::1',
  'a:-1',
  '@',
  'user:pass@h',
  'xn--',
  '%zz',
  'a%20b',
  '',
  '::',
  '1.2.3.4.5',
  '[fe80::1%25eth0]',
]

const VERSIONS = [
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/0.9',
  'HTTP/2.0',
  'HTTP/1.2',
  'HTTP/9.9',
  'HTTX/1.1',
  'http/1.1',
  'HTTP/1.1 ',
  'HTTP/1',
]

const HEX = '0123456789abcdef'
const TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('')
/** Bytes a target may not carry literally in a request line (the parser decides what it makes of them). */
const ODD_TARGET_CHARS = [
  '"',
  '<',
  '>',
  '\\',
  '^',
  '`',
  '{',
  '|',
  '}',
  '\x7f',
  '\x80',
  '\xff',
  '\t',
]

function chars(rng: Prng, alphabet: string, min: number, max: number): string {
  let out = ''
  for (let n = rng.between(min, max); n > 0; n--) out += alphabet[rng.int(alphabet.length)]
  return out
}

function segment(rng: Prng, content: FuzzContent): string {
  switch (rng.int(11)) {
    case 0:
      return content.hex
    case 1:
      return content.cid
    case 2:
      return rng.chance(0.5) ? content.hex.toUpperCase() : content.hex.slice(0, rng.int(64))
    case 3:
      return chars(rng, HEX, 0, 70)
    case 4:
      return `bafk${chars(rng, 'abcdefghijklmnopqrstuvwxyz234567', 0, 60)}`
    case 5: {
      // Percent soup: valid and invalid escapes among plain characters.
      let out = ''
      for (let n = rng.between(1, 8); n > 0; n--) {
        out += rng.chance(0.6)
          ? rng.pick(ESCAPES)
          : rng.chance(0.5)
            ? `%${chars(rng, `${HEX}ABCDEFG`, 2, 2)}`
            : chars(rng, TOKEN, 1, 4)
      }
      return out
    }
    case 6:
      // A valid id with one escape spliced in.
      return `${content.hex.slice(0, 20)}${rng.pick(ESCAPES)}${content.hex.slice(20)}`
    case 7:
      return chars(rng, PRINTABLE.replace(' ', ''), 0, 40)
    case 8:
      // Heights, epochs, commodities: numbers and what is almost one.
      return rng.pick(['0', '1', '2', '-1', '1e3', '18446744073709551616', String(rng.int(100))])
    case 9:
      // Account addresses and table keys, right and wrong lengths.
      return `${rng.pick(['0x', '', '0X'])}${chars(rng, HEX, 38, 42)}`
    default:
      return rng.pick(ODD_TARGET_CHARS) + chars(rng, TOKEN, 0, 8)
  }
}

function query(rng: Prng, content: FuzzContent): string {
  switch (rng.int(10)) {
    case 0:
      return '?format=frames'
    case 1:
      return `?format=${rng.pick(['raw', 'frames', '', '%ZZ', 'FRAMES'])}&range=${rng.between(0, 400_000)}-${rng.between(0, 400_000)}`
    case 2:
      return `?range=${rng.pick(['0-9', '-5', '5-', '', 'a-b', '99999999999999999999-', '1-0', '%ZZ'])}`
    case 3:
      return '?claims=1'
    case 4:
      return `?url=${rng.pick(['', 'http://127.0.0.1:1/x', 'ftp://x', '%ZZ', 'javascript:1', 'http://[/'])}&integrity=${rng.pick(['', 'sha256-AAAA', `blake3-${content.hex}`, '%ZZ', 'sha512-'])}`
    case 5:
      return `?pin=${rng.pick(['1', '0', '%ZZ'])}`
    case 6:
      return `?${segment(rng, content)}=${segment(rng, content)}`
    case 7:
      return `#${chars(rng, TOKEN, 0, 8)}`
    default:
      return ''
  }
}

function target(rng: Prng, content: FuzzContent): string {
  const r = rng.int(100)
  if (r < 3) return rng.pick(['*', 'health', '', '?', '/?%ZZ', '/\\', '/#'])
  const path = rng.pick(PATHS)
  const withSegment = path.endsWith('/') && rng.chance(0.9) ? path + segment(rng, content) : path
  const pathAndQuery = withSegment + (rng.chance(0.35) ? query(rng, content) : '')
  if (r < 15) {
    // Absolute-form: the host is parsed too.
    return `${rng.pick(['http://', 'https://', 'HTTP://', 'ws://', 'http:/', 'x://'])}${rng.pick(HOSTS)}${pathAndQuery}`
  }
  return pathAndQuery
}

function headerValue(rng: Prng, content: FuzzContent, name: string): string {
  switch (name) {
    case 'range':
      return rng.pick([
        'bytes=0-9',
        'bytes=-5',
        'bytes=5-',
        'bytes=0-0',
        'bytes=99999999999999999999-',
        'bytes=1-0',
        'bytes=0-1,2-3',
        'bytes=',
        'items=0-1',
        `bytes=${rng.between(0, 400_000)}-${rng.between(0, 400_000)}`,
        `bytes=-${rng.between(0, 400_000)}`,
        chars(rng, PRINTABLE, 0, 30),
      ])
    case 'accept':
      return rng.pick([FRAMES, `${FRAMES};q=0`, '*/*', 'text/html', chars(rng, PRINTABLE, 0, 30)])
    case 'if-none-match':
      return rng.pick([
        `"${content.hex}"`,
        `W/"${content.hex}"`,
        '*',
        `"x", "${content.hex}"`,
        '""',
        chars(rng, PRINTABLE, 0, 40),
      ])
    case 'host':
      return rng.pick(HOSTS)
    case 'connection':
      return rng.pick(['close', 'keep-alive', 'Close', 'te', chars(rng, TOKEN, 1, 10)])
    default:
      return chars(rng, PRINTABLE, 0, 60)
  }
}

const HEADER_NAMES = [
  'range',
  'accept',
  'if-none-match',
  'host',
  'connection',
  'origin',
  'user-agent',
  'cookie',
  'accept-encoding',
  'if-range',
  'if-modified-since',
  'x-forwarded-for',
  'access-control-request-method',
]

/** One header line (without its line end), sometimes broken on purpose. */
function headerLine(rng: Prng, content: FuzzContent): string {
  const r = rng.int(100)
  if (r < 70) {
    const name = rng.pick(HEADER_NAMES)
    return `${rng.chance(0.1) ? name.toUpperCase() : name}: ${headerValue(rng, content, name)}`
  }
  if (r < 85) return `${chars(rng, TOKEN, 1, 20)}: ${chars(rng, PRINTABLE, 0, 60)}`
  if (r < 88)
    return `x-obs: ${String.fromCharCode(...rng.bytes(rng.between(1, 20)).map((b) => 0x80 | b))}`
  if (r < 91) return `x-ctl: a${String.fromCharCode(rng.pick([0, 1, 8, 11, 12, 27, 127]))}b`
  if (r < 93) return chars(rng, TOKEN, 1, 20) // no colon
  if (r < 95) return `${chars(rng, TOKEN, 1, 10)} : space-before-colon`
  if (r < 97) return ` folded ${chars(rng, TOKEN, 1, 10)}` // obs-fold
  if (r < 99) return `x-big: ${'a'.repeat(rng.between(1_000, 20_000))}`
  return `: ${chars(rng, TOKEN, 0, 10)}` // empty name
}

/** One request of the fuzz run: case `index` of seed `seed`. */
export function httpCase(seed: number, index: number, content: FuzzContent): HttpCase {
  const rng = Prng.forCase(seed, index)
  const r = rng.int(1000)
  if (r < 15) {
    // Random bytes.
    return {
      bytes: Buffer.concat([Buffer.from(rng.bytes(rng.between(1, 200))), Buffer.from('\r\n\r\n')]),
      head: false,
      mayClose: true,
    }
  }
  if (r < 20) {
    const line = `CONNECT ${rng.pick(['127.0.0.1:1', 'gateway:80', '/health', '['])} HTTP/1.1\r\nhost: gateway\r\n\r\n`
    return { bytes: Buffer.from(line, 'latin1'), head: false, mayClose: true }
  }
  if (r >= 25 && r < 35) {
    // Cut short: an import whose body stops early, or any request cut anywhere.
    const whole =
      r < 30
        ? `PUT /admin/content${rng.chance(0.5) ? '?pin=1' : ''} HTTP/1.1\r\nhost: gateway\r\ncontent-length: ${rng.between(1, 3_000_000)}\r\n\r\n`
        : `GET ${target(rng, content)} HTTP/1.1\r\nhost: gateway\r\n${headerLine(rng, content)}\r\n\r\n`
    const bytes = Buffer.from(whole, 'latin1')
    return {
      bytes:
        r < 30
          ? Buffer.concat([bytes, Buffer.from(rng.bytes(rng.between(0, 70_000)))])
          : bytes.subarray(0, rng.int(bytes.length)),
      head: false,
      mayClose: true,
      cut: true,
    }
  }
  const upgrade = r < 25
  let method = rng.chance(0.04) ? rng.pick(ODD_METHODS) : rng.pick(METHODS)
  if (rng.chance(0.01)) method = chars(rng, TOKEN, 1, 12)
  const version = rng.chance(0.05) ? rng.pick(VERSIONS) : 'HTTP/1.1'
  const eol = rng.chance(0.01) ? '\n' : '\r\n'
  const lines: string[] = []
  if (rng.chance(0.95)) lines.push(`host: ${rng.chance(0.9) ? 'gateway' : rng.pick(HOSTS)}`)
  for (let n = rng.chance(0.5) ? rng.between(0, 5) : 0; n > 0; n--)
    lines.push(headerLine(rng, content))
  if (rng.chance(0.003)) {
    // Many small headers: past the parser's header count or size limits.
    for (let n = rng.between(100, 2500); n > 0; n--) lines.push(`x-${n}: ${n}`)
  }
  if (upgrade) lines.push('connection: upgrade', `upgrade: ${rng.pick(['websocket', 'h2c', 'x'])}`)
  const requestTarget = target(rng, content)
  let body = Buffer.alloc(0)
  if (method === 'PUT' || method === 'POST' || rng.chance(0.01)) {
    body = Buffer.from(rng.bytes(rng.between(0, 600)))
    const transactions = content.transactions ?? []
    if (requestTarget.startsWith('/chain/tx') && transactions.length > 0 && rng.chance(0.6)) {
      // A transaction the chain would admit, or one byte off it (a signature or field broken).
      body = Buffer.from(rng.pick(transactions))
      if (rng.chance(0.5)) body[rng.int(body.length)]! ^= 1 + rng.int(255)
    }
    if (rng.chance(0.8)) {
      lines.push(`content-length: ${body.length}`)
    } else {
      lines.push('transfer-encoding: chunked')
      // In two chunks (a chunk of 0 bytes would end the body early).
      const chunks = [body.subarray(0, body.length >> 1), body.subarray(body.length >> 1)]
      body = Buffer.concat([
        ...chunks
          .filter((chunk) => chunk.length > 0)
          .flatMap((chunk) => [
            Buffer.from(`${chunk.length.toString(16)}\r\n`),
            chunk,
            Buffer.from('\r\n'),
          ]),
        Buffer.from('0\r\n\r\n'),
      ])
    }
  }
  const head = `${method} ${requestTarget} ${version}${eol}${lines.map((l) => l + eol).join('')}${eol}`
  return {
    bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]),
    head: method === 'HEAD',
    mayClose: upgrade,
  }
}

export interface HttpFuzzFailure {
  readonly index: number
  readonly problem: string
  /** The request, as JSON-escaped latin1 (first 300 characters). */
  readonly request: string
}

export interface HttpFuzzResult {
  readonly cases: number
  readonly ms: number
  /** Answers by status code; `closed` counts connections ended without one (allowed cases only). */
  readonly statuses: Record<string, number>
  /**
   * Error answers by the gateway's code (`400 BAD_PERCENT_ENCODING`), or `400 -` for those
   * without a JSON body (Node's parser refusing the request before the gateway saw it, HEAD).
   */
  readonly codes: Record<string, number>
  readonly connections: number
  readonly failures: readonly HttpFuzzFailure[]
}

export interface HttpFuzzOptions {
  readonly port: number
  readonly seed: number
  readonly cases: number
  readonly content: FuzzContent
  /** Cases first, from `start` (default 0). */
  readonly start?: number
  /** Connections used at once (default 16). */
  readonly parallel?: number

  /** How long one answer may take (default 15 s). */
  readonly timeoutMs?: number
  /** Failures kept (default 20); the run goes on to the end. */
  readonly maxFailures?: number
}

/** A keep-alive connection: requests written, answers read in order. */
class Connection {
  private readonly reader = new ResponseReader()
  private waiting:
    | { head: boolean; resolve: (r: RawResponse | undefined) => void; reject: (e: unknown) => void }
    | undefined
  ended = false
  readonly socket: Socket
  /** The case answered last on this connection and its status, for failure reports. */
  previous = 'none'

  constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk)
      this.settle()
    })
    socket.on('close', () => {
      this.ended = true
      this.settle()
    })
    socket.on('error', () => {}) // 'close' follows
  }

  /** Writes `bytes` (and ends our side if `half`). */
  send(bytes: Buffer, half: boolean): void {
    if (half) this.socket.end(bytes)
    else this.socket.write(bytes)
  }

  /** The next answer, or undefined if the connection closed first. */
  receive(head: boolean, timeoutMs: number) {
    return new Promise<RawResponse | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined
        reject(new Error(`no answer in ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiting = {
        head,
        resolve: (r) => {
          clearTimeout(timer)
          resolve(r)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      this.settle()
    })
  }

  /** Bytes the server sent beyond the answers asked for. */
  get extra(): number {
    return this.reader.pending
  }

  private settle() {
    const w = this.waiting
    if (w === undefined) return
    try {
      const response = this.reader.next(w.head, this.ended)
      if (response === undefined && !this.ended) return
      this.waiting = undefined
      w.resolve(response)
    } catch (error) {
      this.waiting = undefined
      w.reject(error)
    }
  }
}

/** What is wrong with `response` to `c`, or undefined. */
function problemOf(c: HttpCase, response: RawResponse): string | undefined {
  if (response.status === 500) return 'answered 500 (client input is never an internal error)'
  const json = (response.headers.get('content-type') ?? '').includes('json')
  if (response.status >= 400 && json && !c.head) {
    const error = errorBody(response)
    if (error === undefined) return `a ${response.status} without the JSON error shape`
    if (!/^[A-Z][A-Z0-9_]*$/.test(error.code)) return `error code ${JSON.stringify(error.code)}`
  }
  return undefined
}

/** Runs `cases` cases against 127.0.0.1:`port`; never throws for what the server does. */
export async function runHttpFuzz(options: HttpFuzzOptions): Promise<HttpFuzzResult> {
  const { port, seed, content } = options
  const start = options.start ?? 0
  const end = start + options.cases
  const timeoutMs = options.timeoutMs ?? 15_000
  const maxFailures = options.maxFailures ?? 20
  const statuses: Record<string, number> = {}
  const codes: Record<string, number> = {}
  const failures: HttpFuzzFailure[] = []
  let connections = 0
  let nextIndex = start
  const began = performance.now()

  const fail = (index: number, c: HttpCase, problem: string) => {
    if (failures.length < maxFailures) {
      failures.push({
        index,
        problem,
        request: JSON.stringify(c.bytes.toString('latin1').slice(0, 300)),
      })
    }
  }
  const count = (key: string, response?: RawResponse) => {
    statuses[key] = (statuses[key] ?? 0) + 1
    if (response !== undefined && response.status >= 400) {
      const code = `${response.status} ${errorBody(response)?.code ?? '-'}`
      codes[code] = (codes[code] ?? 0) + 1
    }
  }
  const open = async () => {
    connections++
    return new Connection(await connectTo(port))
  }

  /** Checks and counts the answer to case `index`; whether it ends the connection. */
  const judge = (
    index: number,
    c: HttpCase,
    conn: Connection,
    response: RawResponse | undefined,
  ) => {
    if (response === undefined) {
      count('closed')
      if (!c.mayClose)
        fail(index, c, `the connection closed without an answer (after ${conn.previous})`)
      return true
    }
    count(String(response.status), response)
    conn.previous = `case ${index}: ${response.status} ${JSON.stringify([...response.headers])}`
    const problem = problemOf(c, response)
    if (problem !== undefined) fail(index, c, problem)
    return conn.ended || /close/i.test(response.headers.get('connection') ?? '')
  }

  /** A case that may end its connection, on one of its own. */
  const runAlone = async (index: number, c: HttpCase) => {
    const conn = await open()
    try {
      if (c.cut) {
        await new Promise<void>((resolve) => conn.socket.write(c.bytes, () => resolve()))
        await new Promise((resolve) => setTimeout(resolve, 1))
        conn.socket.resetAndDestroy()
        count('cut')
        return
      }
      conn.send(c.bytes, true)
      judge(index, c, conn, await conn.receive(c.head, timeoutMs))
    } catch (error) {
      fail(index, c, `no well-formed answer: ${(error as Error).message}`)
    } finally {
      conn.socket.destroy()
    }
  }

  // One request at a time per connection, not pipelined: Node's server destroys a connection
  // whose pipelined input turns malformed, with the answers to the valid requests before it.
  const worker = async () => {
    let connection: Connection | undefined
    while (nextIndex < end) {
      const index = nextIndex++
      const c = httpCase(seed, index, content)
      if (c.mayClose) {
        await runAlone(index, c)
        continue
      }
      connection ??= await open()
      const conn = connection
      let closes: boolean
      try {
        conn.send(c.bytes, false)
        closes = judge(index, c, conn, await conn.receive(c.head, timeoutMs))
      } catch (error) {
        fail(index, c, `no well-formed answer: ${(error as Error).message}`)
        closes = true
      }
      if (!closes && conn.extra > 0) {
        fail(index, c, `${conn.extra} bytes after the answer`)
        closes = true
      }
      if (closes) {
        conn.socket.destroy()
        connection = undefined
      }
    }
    connection?.socket.destroy()
  }

  await Promise.all(Array.from({ length: options.parallel ?? 16 }, worker))
  return {
    cases: options.cases,
    ms: Math.round(performance.now() - began),
    statuses,
    codes,
    connections,
    failures,
  }
}
