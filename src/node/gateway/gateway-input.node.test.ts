/**
 * What a full node's gateway makes of request targets it cannot read, sent over a raw socket to
 * a real `fulmen node start` process: paths whose percent-encoding is not UTF-8 and absolute-form
 * targets that are not URLs answer 400 with the gateway's JSON error (a stable code), and the
 * node keeps serving (these requests used to end the process: the target was parsed before the
 * handler's error handling). Also conditional requests: `If-None-Match` with the content's ETag
 * answers 304 on GET and HEAD.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  startNode,
} from '../../devnet/processes.ts'
import { errorBody, type RawResponse, rawRequest } from '../../devnet/raw-http.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'

const SIZE = 300_000
let dir = ''
let node: NodeProcess
let port = 0
let hex = ''
let cid = ''

printNodeLogsOnFailure(() => [node])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-gateway-input-'))
  const env = { XDG_DATA_HOME: join(dir, 'xdg') }
  const dataDir = join(dir, 'node')
  writeFileSync(join(dir, 'content.bin'), pseudoRandomBytes(SIZE, 7))
  const added = await runFulmen(['add', '--data-dir', dataDir, join(dir, 'content.bin')], { env })
  expect(added.code, added.stderr).toBe(0)
  ;[hex, cid] = added.stdout.split(/\s+/) as [string, string]
  node = await startNode({ dataDir, env })
  port = Number(new URL(node.url).port)
}, 60_000)

afterAll(async () => {
  await node?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

function get(target: string, headers: Record<string, string> = {}, method = 'GET') {
  const lines = Object.entries({ host: 'gateway', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`)
  return rawRequest(
    port,
    `${method} ${target} HTTP/1.1\r\n${lines.join('')}connection: close\r\n\r\n`,
    {
      head: method === 'HEAD',
    },
  )
}

async function expectAlive() {
  expect(node.child.exitCode).toBe(null)
  expect(node.child.signalCode).toBe(null)
  const health = await get('/health')
  expect(health.status).toBe(200)
}

function expectError(response: RawResponse, status: number, code: string) {
  expect({ status: response.status, error: errorBody(response)?.code }).toEqual({
    status,
    error: code,
  })
}

describe('request targets the gateway cannot read', () => {
  test.each([
    ['/services/0/blake3/%ZZ', 'BAD_PERCENT_ENCODING'],
    ['/services/0/blake3/%E0%A4%A', 'BAD_PERCENT_ENCODING'],
    ['/services/0/blake3/%C0%AF', 'BAD_PERCENT_ENCODING'],
    ['/services/0/ipfs/%ZZ', 'BAD_PERCENT_ENCODING'],
    ['/services/0/ipfs/%', 'BAD_PERCENT_ENCODING'],
    ['/providers/%ZZ', 'BAD_PERCENT_ENCODING'],
    ['http://[', 'BAD_REQUEST_TARGET'],
    ['http://a:99999/x', 'BAD_REQUEST_TARGET'],
    ['http://%/', 'BAD_REQUEST_TARGET'],
  ])('GET %s → 400 %s, and the node keeps serving', async (target, code) => {
    expectError(await get(target), 400, code)
    const head = await get(target, {}, 'HEAD')
    expect({ status: head.status, type: head.headers.get('content-type') }).toEqual({
      status: 400,
      type: 'application/json',
    })
    await expectAlive()
  })

  test('an absolute-form target that is a URL is served by its path', async () => {
    expect((await get('http://gateway/health')).status).toBe(200)
    expectError(await get('http://gateway/services/0/blake3/%ZZ'), 400, 'BAD_PERCENT_ENCODING')
  })

  test('a well-encoded id that is not one → 400 B3_BAD_CONTENT_ID', async () => {
    expectError(await get('/services/0/blake3/%41%42'), 400, 'B3_BAD_CONTENT_ID')
    expectError(await get('/providers/%41'), 400, 'B3_BAD_CONTENT_ID')
  })
})

describe('a client that ends its side after the request', () => {
  // Node's server cut such an answer after its first write (the fuzzer found it with an Upgrade
  // request: 62 of 300,147 framed bytes); a gateway answers it whole, then closes.
  test.each([
    ['keep-alive', ''],
    ['Connection: close', 'connection: close\r\n'],
    ['Connection: upgrade', 'connection: upgrade\r\nupgrade: x\r\n'],
  ])('%s: the whole body, raw and framed', async (_, headers) => {
    for (const query of ['', '?format=frames']) {
      const response = await rawRequest(
        port,
        `GET /services/0/blake3/${hex}${query} HTTP/1.1\r\nhost: gateway\r\n${headers}\r\n`,
        { halfClose: true },
      )
      expect(response.status).toBe(200)
      expect(response.body.length).toBe(Number(response.headers.get('content-length')))
      if (query === '') expect(response.body.equals(pseudoRandomBytes(SIZE, 7))).toBe(true)
      else expect(response.body.length).toBeGreaterThan(SIZE)
    }
    await expectAlive()
  })
})

describe('If-None-Match', () => {
  const target = () => `/services/0/blake3/${cid}`

  test('the content ETag answers 304 on GET and HEAD; another one gets the content', async () => {
    const full = await get(target())
    expect(full.status).toBe(200)
    expect(full.body.length).toBe(SIZE)
    const etag = full.headers.get('etag')!
    expect(etag).toBe(`"${hex}"`)
    for (const method of ['GET', 'HEAD']) {
      for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const r = await get(target(), { 'if-none-match': value }, method)
        expect({ method, value, status: r.status, body: r.body.length }).toEqual({
          method,
          value,
          status: 304,
          body: 0,
        })
        expect(r.headers.get('etag')).toBe(etag)
        expect(r.headers.get('content-length')).toBe(undefined)
      }
    }
    const other = await get(target(), { 'if-none-match': `"${'0'.repeat(64)}"` })
    expect(other.status).toBe(200)
    expect(other.body.length).toBe(SIZE)
  })

  test('it comes before Range, and applies to the framed body too', async () => {
    const etag = `"${hex}"`
    expect((await get(target(), { 'if-none-match': etag, range: 'bytes=0-9' })).status).toBe(304)
    expect((await get(`${target()}?format=frames`, { 'if-none-match': etag })).status).toBe(304)
    const ranged = await get(target(), { range: 'bytes=0-9' })
    expect({ status: ranged.status, length: ranged.body.length }).toEqual({
      status: 206,
      length: 10,
    })
  })

  test('content the node does not have is still a 404, whatever If-None-Match says', async () => {
    const missing = `/services/0/blake3/${'ab'.repeat(32)}`
    expect((await get(missing, { 'if-none-match': '*' })).status).toBe(404)
  })
})
