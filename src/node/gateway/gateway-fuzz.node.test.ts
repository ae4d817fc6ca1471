/**
 * The gateway of a real `fulmen node start` process under 100,000 fuzzed requests over raw
 * sockets (src/devnet/http-fuzz.ts: request lines, methods, targets, percent-encodings,
 * versions, headers, bodies, random bytes), in batches: every request gets a well-formed HTTP
 * answer that is never a 500 and, when the gateway wrote it, has the JSON error shape; after
 * each batch the process is alive and `/health` answers 200. The node runs a chain (a test
 * genesis), so `/chain/*` is fuzzed too: heights, digests, tables and keys, and POSTs of signed
 * transactions whole or with a byte changed.
 *
 * The seed is random per run and printed with any failure; FULMEN_FUZZ_SEED=<n> runs that seed
 * again (case `i` of a seed is always the same request). More cases: scripts/fuzz-node.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { seedFrom } from '../../devnet/fuzz-random.ts'
import { type FuzzContent, runHttpFuzz } from '../../devnet/http-fuzz.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
} from '../../devnet/processes.ts'
import { rawRequest } from '../../devnet/raw-http.ts'
import { ALICE_SECRET, BOB, signedAccountTx, writeTestGenesis } from '../testing/chain-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'
import { metricsOf, metricValue } from '../testing/http.ts'

const CASES = 100_000
const BATCH = 10_000
const SEED = seedFrom('FULMEN_FUZZ_SEED')

let dir = ''
let node: NodeProcess
let port = 0
let content: FuzzContent

printNodeLogsOnFailure(() => [node])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-gateway-fuzz-'))
  const env = { XDG_DATA_HOME: join(dir, 'xdg') }
  const dataDir = join(dir, 'node')
  writeFileSync(join(dir, 'content.bin'), pseudoRandomBytes(300_000, 11))
  const added = await runFulmen(['add', '--data-dir', dataDir, join(dir, 'content.bin')], { env })
  expect(added.code, added.stderr).toBe(0)
  const [hex, cid] = added.stdout.split(/\s+/) as [string, string]
  // Alice's transfers with nonces 1..8: the first few admitted, the rest (and repeats) refused.
  const transactions = Array.from({ length: 8 }, (_, i) =>
    signedAccountTx(ALICE_SECRET, i + 1, { type: 'Transfer', to: BOB, token: 'USDC', amount: 1n }),
  )
  content = { hex, cid, transactions }
  const genesis = await writeTestGenesis(dir, dataDir)
  node = await startNode({ dataDir, env, args: ['--genesis', genesis.path] })
  port = Number(new URL(node.url).port)
}, 60_000)

afterAll(async () => {
  await node?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

test(`${CASES} fuzzed requests: well-formed answers, never a 500, the node alive after each batch`, async () => {
  const began = performance.now()
  const statuses: Record<string, number> = {}
  const codes: Record<string, number> = {}
  for (let start = 0; start < CASES; start += BATCH) {
    const result = await runHttpFuzz({ port, seed: SEED, start, cases: BATCH, content })
    for (const [status, n] of Object.entries(result.statuses))
      statuses[status] = (statuses[status] ?? 0) + n
    for (const [code, n] of Object.entries(result.codes)) codes[code] = (codes[code] ?? 0) + n
    const where = `seed ${SEED} (FULMEN_FUZZ_SEED=${SEED}), cases ${start}..${start + BATCH - 1}`
    expect(result.failures, where).toEqual([])
    expect({ exit: node.child.exitCode, signal: node.child.signalCode }, where).toEqual({
      exit: null,
      signal: null,
    })
    const health = await rawRequest(port, 'GET /health HTTP/1.1\r\nhost: x\r\n\r\n')
    expect(health.status, where).toBe(200)
  }
  // Nothing escaped a handler either (the process guard would have counted it).
  expect(metricValue(await metricsOf(node.url), 'fulmen_unexpected_errors_total')).toBe(0)
  // The run reached past the parser: content, errors of the gateway's own, and conditionals.
  for (const status of ['200', '202', '206', '304', '400', '404', '405', '416'])
    expect(statuses[status] ?? 0, `answers ${status}`).toBeGreaterThan(0)
  // And past the chain's routes: its own refusals, the transactions' and the mempool's.
  for (const code of [
    '404 CHAIN_BLOCK_UNKNOWN',
    '400 CHAIN_BAD_REQUEST',
    '400 CHAIN_BAD_KEY',
    '400 TX_MALFORMED',
    '409 MEMPOOL_DUPLICATE',
  ])
    expect(codes[code] ?? 0, `answers ${code}`).toBeGreaterThan(0)
  process.stdout.write(
    `gateway fuzz: ${CASES} requests, seed ${SEED}, ${Math.round(performance.now() - began)} ms, ${JSON.stringify(statuses)}\n`,
  )
}, 300_000)
