/**
 * One client process of the many-clients load test (src/node/many-clients.node.test.ts): a
 * `createClient` with the given node as its only bootstrap, `--fetches` fetches at once
 * (`Promise.allSettled`) over the given roots in turn, each body checked against its BLAKE3
 * root here as well. Prints one JSON line (`ManyFetchesResult`) on stdout and exits 0, whatever
 * the fetches did: the test judges the result.
 *
 *   node many-fetches-client.ts --bootstrap <multiaddr> --roots <hex,hex,…> --fetches 16 [--offset N]
 *
 * Waits for a line on stdin before it fetches (when `--wait-stdin` is given), so the test can
 * start every process first and let them all fetch at the same moment. Fetches still unsettled
 * after `--report-after-ms` (default 120 s) are described on stderr (each one's last progress
 * event, and the client's view of its nodes), once: a load test that hangs says where.
 */
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { bytesToHex } from '@noble/hashes/utils.js'
import { hash } from '../../b3/hash.ts'
import { createClient } from '../../client/create-client.node.ts'

export interface ManyFetchesResult {
  readonly pid: number
  /** Fetches whose body arrived whole and hashed to its root. */
  readonly ok: number
  readonly fetches: number
  readonly bytes: number
  /** Each fetch that did not: its root, and the error's code and message (or `BODY_MISMATCH`). */
  readonly failed: readonly { root: string; code: string; message: string }[]
  /** From the first fetch to the last settled, milliseconds (reported, never asserted). */
  readonly ms: number
  /** Whether `client.close()` finished within CLOSE_WAIT_MS (the process exits either way). */
  readonly closed: boolean
}

/** How long `client.close()` may take before the process exits without it. */
const CLOSE_WAIT_MS = 20_000

const { values } = parseArgs({
  options: {
    bootstrap: { type: 'string' },
    roots: { type: 'string' },
    fetches: { type: 'string', default: '16' },
    offset: { type: 'string', default: '0' },
    'wait-stdin': { type: 'boolean', default: false },
    'report-after-ms': { type: 'string', default: '120000' },
    'stall-ms': { type: 'string' },
    'handshake-ms': { type: 'string' },
  },
})
if (values.bootstrap === undefined || values.roots === undefined) {
  process.stderr.write(
    'usage: many-fetches-client.ts --bootstrap ADDR --roots HEX,… [--fetches N]\n',
  )
  process.exit(2)
}
const roots = values.roots.split(',')
const fetches = Number(values.fetches)
const offset = Number(values.offset)

/** Each fetch's last progress event (or where it stands), for the stuck report. */
const lastEvent: string[] = []

async function fetchOne(
  client: Awaited<ReturnType<typeof createClient>>,
  root: string,
  index: number,
) {
  lastEvent[index] = 'asked'
  const response = await client.fetch(root, {
    onProgress: (e) => {
      lastEvent[index] = e.type === 'block' ? `block ${e.block}` : e.type
    },
  })
  lastEvent[index] = 'response'
  const body = new Uint8Array(await response.arrayBuffer())
  if (bytesToHex(hash(body)) !== root) {
    throw Object.assign(new Error(`${body.length} bytes that do not hash to ${root}`), {
      code: 'BODY_MISMATCH',
    })
  }
  return body.length
}

const stall = values['stall-ms'] === undefined ? {} : { stallTimeoutMs: Number(values['stall-ms']) }
const handshake =
  values['handshake-ms'] === undefined ? {} : { handshakeTimeoutMs: Number(values['handshake-ms']) }
const client = await createClient({ bootstrap: [values.bootstrap], ...stall, ...handshake })
if (values['wait-stdin']) {
  process.stdout.write('ready\n')
  await once(process.stdin, 'data')
  process.stdin.pause()
}
const started = performance.now()
const wanted = Array.from({ length: fetches }, (_, i) => roots[(i + offset) % roots.length]!)
const pending = new Set(wanted.map((_, i) => i))
const report = setTimeout(() => {
  const stuck = [...pending].map((i) => ({ fetch: i, root: wanted[i], last: lastEvent[i] }))
  const nodes = client.nodes()
  process.stderr.write(
    `${JSON.stringify({ stuck, nodes }, (_, v) => (typeof v === 'bigint' ? String(v) : v))}\n`,
  )
}, Number(values['report-after-ms']))
report.unref()
const settled = await Promise.allSettled(
  wanted.map((root, i) => fetchOne(client, root, i).finally(() => pending.delete(i))),
)
clearTimeout(report)
const ms = Math.round(performance.now() - started)
const failed: { root: string; code: string; message: string }[] = []
let bytes = 0
settled.forEach((s, i) => {
  if (s.status === 'fulfilled') bytes += s.value
  else {
    const e = s.reason as { code?: unknown; message?: unknown; failures?: unknown }
    const detail = Array.isArray(e.failures)
      ? ` [${e.failures.map((f: { code: string }) => f.code).join(', ')}]`
      : ''
    failed.push({
      root: wanted[i]!,
      code: typeof e.code === 'string' ? e.code : 'UNKNOWN',
      message: `${String(e.message)}${detail}`,
    })
  }
})
// A close that hangs is reported, not waited for: the fetches are what this process measures.
const closed = await Promise.race([
  client.close().then(() => true),
  new Promise<false>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS, false)),
])
const result: ManyFetchesResult = {
  pid: process.pid,
  ok: fetches - failed.length,
  fetches,
  bytes,
  failed,
  ms,
  closed,
}
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0)
