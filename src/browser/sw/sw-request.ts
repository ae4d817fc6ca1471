/**
 * What a request under the service worker's prefix asks for:
 *
 *   <prefix><64 hex | blake3:<hex> | bafkr4… | any IPFS CID>   content by id or CID
 *   <prefix>ipfs/<cid>                                         the same, spelled as a path
 *   <prefix>http?url=<url>&integrity=<sri>                     an HTTP(S) URL pinned by SRI
 *
 * (`#integrity=` cannot be used: fragments never reach a service worker.) `?type=<mime>` sets
 * the response's Content-Type (otherwise it is sniffed); the `Range` header picks bytes.
 * Anything malformed is a `SwError('SW_BAD_REQUEST')`, and nothing else is ever thrown.
 */
import { formatPointer, type Pointer, parsePointer } from '../../origin/pointer.ts'
import { SwError } from './sw-errors.ts'
import { parseRangeHeader, type RangeSpec } from './sw-range.ts'

export interface SwRequest {
  /** HEAD: the headers a GET would have, no body (and no body fetched). */
  readonly method: 'GET' | 'HEAD'
  /** The `If-None-Match` header: a matching ETag (the root) is answered 304. */
  readonly ifNoneMatch: string | undefined
  readonly pointer: Pointer
  /** The pointer's canonical spelling (`formatPointer`): the cache maps it to a root. */
  readonly spelling: string
  /** Content-Type the page asked for with `?type=`, if any. */
  readonly type: string | undefined
  readonly range: RangeSpec
}

const TOKEN = "[a-z0-9!#$&^_.+'*`|~-]+"
const MIME = new RegExp(
  `^${TOKEN}/${TOKEN}(\\s*;\\s*${TOKEN}=(${TOKEN}|"[^"\\\\\\x00-\\x1f\\x7f]*"))*$`,
  'i',
)
const MAX_TYPE_LEN = 256

/** True when `url` is a request the worker answers: same origin, path under `prefix`. */
export function isUnderPrefix(url: URL, origin: string, prefix: string): boolean {
  return url.origin === origin && url.pathname.startsWith(prefix) && url.pathname !== prefix
}

function bad(message: string, cause?: unknown): SwError {
  return new SwError('SW_BAD_REQUEST', message, cause === undefined ? undefined : { cause })
}

function pointerOf(rest: string, query: URLSearchParams): Pointer {
  if (rest === 'http') {
    const url = query.get('url')
    const integrity = query.get('integrity')
    if (url === null || integrity === null)
      throw bad('an http pointer needs ?url=<url>&integrity=<sri>')
    return parsePointer(`${url.split('#')[0]}#integrity=${encodeURIComponent(integrity)}`)
  }
  if (rest.startsWith('ipfs/')) return parsePointer(`/${rest}`)
  const pointer = parsePointer(rest)
  // A path cannot carry an http pointer's integrity: only the explicit `http?` form can.
  if (pointer.kind === 'http') throw bad('spell an http pointer as http?url=…&integrity=…')
  return pointer
}

/** What else of the request matters: its method and its `If-None-Match`. */
export interface SwRequestConditions {
  readonly method?: string
  readonly ifNoneMatch?: string | null
}

/**
 * True when an `If-None-Match` value names `root`'s ETag (`"<hex>"`, weak or not) or is `*`:
 * the content behind an id never changes, so the page's copy is current.
 */
export function etagMatches(ifNoneMatch: string | undefined, root: string): boolean {
  if (ifNoneMatch === undefined) return false
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === `"${root}"`)
}

/** Reads the request for `url` under `prefix` (a path such as `/fulmen/`), with its `Range`. */
export function parseSwRequest(
  url: URL,
  prefix: string,
  rangeHeader: string | null,
  conditions: SwRequestConditions = {},
): SwRequest {
  const method = (conditions.method ?? 'GET').toUpperCase()
  if (method !== 'GET' && method !== 'HEAD') throw bad(`${method}: only GET and HEAD are served`)
  if (!url.pathname.startsWith(prefix)) throw bad(`${url.pathname} is not under ${prefix}`)
  let rest: string
  try {
    rest = decodeURIComponent(url.pathname.slice(prefix.length))
  } catch (error) {
    throw bad('malformed percent-encoding in the path', error)
  }
  if (rest === '') throw bad('no content id after the prefix')
  let pointer: Pointer
  let spelling: string
  try {
    pointer = pointerOf(rest, url.searchParams)
    spelling = formatPointer(pointer)
  } catch (error) {
    if (error instanceof SwError) throw error
    throw bad((error as Error).message, error)
  }
  const type = url.searchParams.get('type') ?? undefined
  if (type !== undefined && (type.length > MAX_TYPE_LEN || !MIME.test(type)))
    throw bad(`?type= is not a media type: ${JSON.stringify(type.slice(0, 64))}`)
  return {
    method,
    ifNoneMatch: conditions.ifNoneMatch ?? undefined,
    pointer,
    spelling,
    type,
    range: parseRangeHeader(rangeHeader),
  }
}
