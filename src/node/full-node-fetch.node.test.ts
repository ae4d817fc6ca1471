/**
 * `fulmen fetch` against a real node, directly and through a tampering proxy: every block is
 * verified before it is written, the file appears only whole, and a lying or failing path
 * (a flipped byte in a header, a proof or block data, a body cut short cleanly or by a broken
 * connection, another content's answer) exits 1 with one line naming the failure, leaving
 * neither FILE nor FILE.partial (and an existing FILE untouched).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type NodeProcess, pseudoRandomBytes, runFulmen, startNode } from '../devnet/processes.ts'
import { deadUrl } from '../origin/testing/servers.node.ts'
import { printNodeLogsOnFailure } from './testing/diagnostics.ts'
import { type FrameSpan, frameLayout, request } from './testing/http.ts'
import { startTamperProxy, type Tamper } from './testing/tamper-proxy.ts'

const BLOCK = 262_144
const BIG = 40 * BLOCK + 123

let dir = ''
let node: NodeProcess
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })
const big = pseudoRandomBytes(BIG, 7)
const other = pseudoRandomBytes(2 * BLOCK + 5, 8)
let bigHex = ''
let bigCid = ''
let otherHex = ''
let emptyHex = ''
/** The frames of the whole framed body of `big`. */
let layout: FrameSpan[] = []

/** Offset in the framed body of `big` of the `n`th frame of `kind` (0-based). */
function frame(kind: FrameSpan['kind'], n: number): FrameSpan {
  const f = layout.filter((s) => s.kind === kind)[n]
  if (f === undefined) throw new Error(`no ${kind} frame ${n}`)
  return f
}

let outputs = 0
function outputPath(): string {
  return join(dir, `out-${++outputs}.bin`)
}

async function fetchVia(url: string, args: readonly string[] = [], id = bigHex) {
  return runFulmen(['fetch', id, '--from', url, ...args], { env: env() })
}

/** `fulmen fetch` through a proxy of its own that tampers as told (tests run concurrently). */
async function fetchThrough(tamper: Tamper, args: readonly string[] = []) {
  const proxy = await startTamperProxy(node.url, tamper)
  try {
    return await fetchVia(proxy.url, args)
  } finally {
    await proxy.close()
  }
}

printNodeLogsOnFailure(() => [node])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-fetch-'))
  writeFileSync(join(dir, 'big.bin'), big)
  writeFileSync(join(dir, 'other.bin'), other)
  writeFileSync(join(dir, 'empty.bin'), '')
  const dataDir = join(dir, 'node')
  const added = await runFulmen(
    ['add', '--data-dir', dataDir, ...['big', 'other', 'empty'].map((n) => join(dir, `${n}.bin`))],
    { env: env() },
  )
  expect(added.code).toBe(0)
  const lines = added.stdout.trim().split('\n')
  ;[bigHex, bigCid] = lines[0]!.split(/\s+/) as [string, string]
  otherHex = lines[1]!.slice(0, 64)
  emptyHex = lines[2]!.slice(0, 64)
  node = await startNode({ dataDir, env: env() })
  layout = frameLayout(
    (await request(`${node.url}/services/0/blake3/${bigHex}?format=frames`)).bytes,
  )
}, 60_000)

afterAll(async () => {
  await node?.stop().catch(() => {})
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe.concurrent('fulmen fetch from a node', () => {
  test('verifies and writes the file, then says so on stdout', async () => {
    const out = outputPath()
    const r = await fetchVia(node.url, ['-o', out])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(Buffer.compare(readFileSync(out), big)).toBe(0)
    expect(existsSync(`${out}.partial`)).toBe(false)
    expect(r.stdout).toBe(`${bigHex}  ${out}  (${BIG} bytes verified, from ${node.peerId})\n`)
  })

  test('by CID, empty content, and to stdout', async () => {
    const out = outputPath()
    expect((await fetchVia(node.url, ['-o', out], bigCid)).code).toBe(0)
    expect(Buffer.compare(readFileSync(out), big)).toBe(0)
    const empty = outputPath()
    const e = await fetchVia(node.url, ['-o', empty], emptyHex)
    expect(e.code).toBe(0)
    expect(readFileSync(empty).length).toBe(0)
    const toStdout = await fetchVia(node.url, [], otherHex)
    expect(toStdout.code).toBe(0)
    expect(Buffer.compare(toStdout.stdoutBytes, other)).toBe(0)
  })

  test.each([
    [0, 0],
    [BLOCK - 1, BLOCK],
    [BLOCK, 3 * BLOCK - 1],
    [39 * BLOCK + 1, BIG - 1],
  ])('--range %i-%i: just those bytes, verified', async (first, last) => {
    const out = outputPath()
    const r = await fetchVia(node.url, ['--range', `${first}-${last}`, '-o', out])
    expect(r.code).toBe(0)
    expect(Buffer.compare(readFileSync(out), big.subarray(first, last + 1))).toBe(0)
  })

  test('through a faithful proxy it works the same', async () => {
    const out = outputPath()
    const r = await fetchThrough({ kind: 'none' }, ['-o', out])
    expect(r.code).toBe(0)
    expect(Buffer.compare(readFileSync(out), big)).toBe(0)
  })

  test('unknown content: exit 1 with the node’s reason', async () => {
    const out = outputPath()
    const r = await fetchVia(node.url, ['-o', out], 'ab'.repeat(32))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^fulmen: .*answered 404: .*\(ORIGIN_NOT_FOUND\)\n$/)
    expect(existsSync(out)).toBe(false)
  })

  test('no node at the address: exit 1, one line', async () => {
    const out = outputPath()
    const r = await fetchVia(await deadUrl(), ['-o', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^fulmen: cannot reach 127\.0\.0\.1:\d+: .*\(FETCH_NETWORK\)\n$/)
    expect(existsSync(out)).toBe(false)
  })
})

describe.concurrent('fulmen fetch through a tampering proxy', () => {
  const cases: [string, () => Tamper, RegExp][] = [
    [
      'a flipped byte in block 0',
      () => ({ kind: 'flip', at: frame('data', 0).payload + 1000 }),
      /B3_BLOCK_MISMATCH/,
    ],
    [
      'a flipped byte in block 30',
      () => ({ kind: 'flip', at: frame('data', 30).payload + 77 }),
      /B3_BLOCK_MISMATCH/,
    ],
    [
      'a flipped last byte',
      () => ({ kind: 'flip', at: layout.at(-1)!.payload + 122 }),
      /B3_BLOCK_MISMATCH/,
    ],
    [
      'a flipped byte in a proof',
      () => ({ kind: 'flip', at: frame('proof', 12).payload + 3 }),
      /\(B3_[A-Z_]+\)/,
    ],
    [
      'a flipped byte in the header’s root',
      () => ({ kind: 'flip', at: 5 + 1 + 4 }),
      /WIRE_WRONG_CONTENT/,
    ],
    [
      'a flipped frame kind',
      () => ({ kind: 'flip', at: frame('data', 3).offset }),
      /\((B3|WIRE)_[A-Z_]+\)/,
    ],
    [
      'a body cut inside a frame',
      () => ({ kind: 'truncate', at: frame('data', 5).payload + 100 }),
      /WIRE_TRUNCATED/,
    ],
    [
      'a body cut between blocks',
      () => ({ kind: 'truncate', at: frame('data', 5).payload + BLOCK }),
      /B3_TRUNCATED/,
    ],
    ['a body cut after its header', () => ({ kind: 'truncate', at: 5 + 57 }), /B3_TRUNCATED/],
    [
      'a connection cut mid-body',
      () => ({ kind: 'truncate', at: frame('data', 7).payload + 10, keepLength: true }),
      /FETCH_NETWORK/,
    ],
    [
      'another content’s answer',
      () => ({ kind: 'substitute', path: `/services/0/blake3/${otherHex}?format=frames` }),
      /WIRE_WRONG_CONTENT/,
    ],
  ]

  test.each(cases)('%s: exit 1, no file, no partial file', async (_, tamper, code) => {
    const out = outputPath()
    const r = await fetchThrough(tamper(), ['-o', out])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^fulmen: [^\n]+\n$/)
    expect(r.stderr).toMatch(code)
    expect(existsSync(out)).toBe(false)
    expect(existsSync(`${out}.partial`)).toBe(false)
  })

  test('an existing FILE is left as it was', async () => {
    const out = outputPath()
    writeFileSync(out, 'the old file')
    const r = await fetchThrough({ kind: 'flip', at: frame('data', 20).payload }, ['-o', out])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/B3_BLOCK_MISMATCH/)
    expect(readFileSync(out, 'utf8')).toBe('the old file')
    expect(existsSync(`${out}.partial`)).toBe(false)
  })

  test('a range through a lying proxy fails too', async () => {
    // The range's body has its own layout: flip a byte well inside its first block's data.
    const out = outputPath()
    const r = await fetchThrough({ kind: 'flip', at: 2000 }, [
      '--range',
      `${10 * BLOCK}-${12 * BLOCK}`,
      '-o',
      out,
    ])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/B3_BLOCK_MISMATCH/)
    expect(existsSync(out)).toBe(false)
  })

  test('to stdout, nothing unverified is written: the output stops before the bad block', async () => {
    const r = await fetchThrough({ kind: 'flip', at: frame('data', 3).payload + 5 })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/B3_BLOCK_MISMATCH/)
    expect(r.stdoutBytes.length).toBeLessThanOrEqual(3 * BLOCK)
    expect(Buffer.compare(r.stdoutBytes, big.subarray(0, r.stdoutBytes.length))).toBe(0)
  })
})
