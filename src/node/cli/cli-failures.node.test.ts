/**
 * The real `fulmen` CLI where it used to fail badly (issue 12): a fetch that fails right after
 * the last block (crash, `.partial` left), a stalled gateway (5 minutes), an unusable --node
 * address (a hang), busy ports and a data dir in use at `node start`, a mistyped data dir, a
 * range past the end, a gateway URL without its scheme, a node that dies under `add`, and
 * pointers released before their digest was checked. Gateways that misbehave are small
 * `node:http` servers here, sending bodies built with the library's own framing.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { ready } from '../../b3/engine.ts'
import { type HashTree, treeOf } from '../../b3/tree.ts'
import {
  type NodeProcess,
  pseudoRandomBytes,
  runFulmen,
  spawnFulmen,
  startNode,
  toHex,
  waitFor,
  wsAddressOf,
} from '../../devnet/processes.ts'
import { contentBody } from '../../wire/content-body.ts'
import { encodeFrame } from '../../wire/content-frames.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'

/** Four full blocks and a short last one. */
const SIZE = 4 * TREE_BLOCK_LEN + 1000
const content = pseudoRandomBytes(SIZE, 12)
const other = pseudoRandomBytes(SIZE, 13)
let tree: HashTree
let otherTree: HashTree
let dir = ''
const servers: Server[] = []
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })

/** A gateway that answers every request with `respond`. */
async function gateway(respond: (res: ServerResponse) => Promise<void> | void): Promise<string> {
  const server = createServer((_req, res) => {
    void Promise.resolve(respond(res)).catch(() => res.destroy())
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** The framed body of `bytes` (whose tree is `t`), as a node's gateway sends it. */
async function writeBody(res: ServerResponse, t: HashTree, bytes: Uint8Array): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/vnd.fulmen.frames' })
  const read = async (k: number) =>
    bytes.subarray(k * TREE_BLOCK_LEN, Math.min(bytes.length, (k + 1) * TREE_BLOCK_LEN))
  for await (const chunk of contentBody(t, read)) res.write(chunk)
}

/** No file of `name` (nor its `.partial`) in `where`. */
function expectNoOutput(where: string, name: string): void {
  expect(readdirSync(where).filter((f) => f.startsWith(name))).toEqual([])
}

/** One `fulmen: …` line on stderr, no stack, no internal error. */
function expectOneLine(stderr: string): void {
  expect(stderr.trim().split('\n')).toHaveLength(1)
  expect(stderr).toMatch(/^fulmen: /)
  expect(stderr).not.toMatch(/internal error|\n\s+at |ERR_STREAM_DESTROYED/)
}

beforeAll(async () => {
  await ready()
  dir = mkdtempSync(join(tmpdir(), 'fulmen-cli-failures-'))
  tree = treeOf(content)
  otherTree = treeOf(other)
})

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }
  rmSync(dir, { recursive: true, force: true })
})

describe('fulmen fetch --from a gateway that misbehaves', () => {
  test('a frame after the short last block: exit 1, one line, no FILE, no FILE.partial', async () => {
    const url = await gateway(async (res) => {
      await writeBody(res, tree, content)
      res.end(encodeFrame({ kind: 'data', bytes: new Uint8Array(10) }))
    })
    const out = mkdtempSync(join(dir, 'appended-'))
    for (let i = 0; i < 3; i++) {
      const r = await runFulmen(['fetch', toHex(tree.root), '--from', url, '-o', 'F'], {
        env: env(),
        cwd: out,
      })
      expect(r.code, r.stderr).toBe(1)
      expectOneLine(r.stderr)
      expectNoOutput(out, 'F')
    }
  })

  test('a stalled body or head: exit 1 after --stall-timeout, FETCH_STALLED, nothing left', async () => {
    const stallBody = await gateway(async (res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.fulmen.frames' })
      const read = async (k: number) =>
        content.subarray(k * TREE_BLOCK_LEN, (k + 1) * TREE_BLOCK_LEN)
      let n = 0
      for await (const chunk of contentBody(tree, read)) {
        res.write(chunk)
        if (++n === 4) break // the header and a block and a half: then nothing more
      }
    })
    const stallHead = await gateway(() => {})
    const out = mkdtempSync(join(dir, 'stalled-'))
    for (const url of [stallBody, stallHead]) {
      const r = await runFulmen(
        ['fetch', toHex(tree.root), '--from', url, '-o', 'F', '--stall-timeout', '300ms'],
        { env: env(), cwd: out, timeoutMs: 30_000 },
      )
      expect(r.code, r.stderr).toBe(1)
      expectOneLine(r.stderr)
      expect(r.stderr).toContain('sent nothing for 300 ms')
      expect(r.stderr).toContain('FETCH_STALLED')
      expectNoOutput(out, 'F')
    }
    const bad = await runFulmen([
      'fetch',
      toHex(tree.root),
      '--from',
      stallHead,
      '--stall-timeout',
      'soon',
    ])
    expect(bad.code).toBe(2)
  })

  test('an IPFS pointer whose body does not match its CID: nothing reaches stdout or FILE', async () => {
    const cid = CID.create(1, 0x55, await sha256.digest(content)).toString()
    // A consistent body (its own root verifies), of other bytes than the CID names.
    const lying = await gateway(async (res) => {
      await writeBody(res, otherTree, other)
      res.end()
    })
    const honest = await gateway(async (res) => {
      await writeBody(res, tree, content)
      res.end()
    })
    const out = mkdtempSync(join(dir, 'pointer-'))
    const toStdout = await runFulmen(['fetch', `ipfs://${cid}`, '--from', lying, '-o', '-'], {
      env: env(),
      cwd: out,
    })
    expect(toStdout.code, toStdout.stderr).toBe(1)
    expect(toStdout.stdoutBytes.length).toBe(0)
    expectOneLine(toStdout.stderr)
    const toFile = await runFulmen(['fetch', `ipfs://${cid}`, '--from', lying, '-o', 'F'], {
      env: env(),
      cwd: out,
    })
    expect(toFile.code).toBe(1)
    expectNoOutput(out, 'F')
    // The honest gateway: the bytes come out once checked, on stdout as in a file.
    const good = await runFulmen(['fetch', `ipfs://${cid}`, '--from', honest], { env: env() })
    expect(good.code, good.stderr).toBe(0)
    expect(Buffer.compare(good.stdoutBytes, Buffer.from(content))).toBe(0)
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('fulmen-fetch-'))).toEqual([])
  })
})

describe('fulmen fetch: addresses checked up front', () => {
  test.each(['/ip4/127.0.0.1/tcp/4070/ws', 'foo', '127.0.0.1:4070'])(
    '--node %s: a usage error naming it (exit 2), no hang',
    async (address) => {
      const r = await runFulmen(['fetch', toHex(tree.root), '--node', address, '-o', 'F'], {
        env: env(),
        cwd: dir,
        timeoutMs: 20_000,
      })
      expect(r.code, r.stderr).toBe(2)
      expectOneLine(r.stderr)
      expect(r.stderr).toContain(`--node '${address}' is not a node address`)
    },
  )

  test('--from 127.0.0.1:4069: a usage error that suggests http://127.0.0.1:4069', async () => {
    const r = await runFulmen(['fetch', toHex(tree.root), '--from', '127.0.0.1:4069'])
    expect(r.code).toBe(2)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain('try http://127.0.0.1:4069')
  })
})

describe('with a real node', () => {
  let node: NodeProcess | undefined
  let dataDir = ''
  printNodeLogsOnFailure(() => (node === undefined ? [] : [node]))

  beforeAll(async () => {
    dataDir = join(dir, 'node')
    writeFileSync(join(dir, 'content.bin'), content)
    const added = await runFulmen(['add', '--data-dir', dataDir, join(dir, 'content.bin')], {
      env: env(),
    })
    expect(added.code, added.stderr).toBe(0)
    node = await startNode({ dataDir, env: env() })
  })

  afterAll(async () => {
    await node?.stop()
  })

  test('fetch --range past the end: the range is past the end of the content (length N)', async () => {
    for (const range of [`0-${SIZE + 99}`, `${SIZE + 10}-${SIZE + 20}`]) {
      const r = await runFulmen(
        ['fetch', toHex(tree.root), '--from', node!.url, '--range', range, '-o', 'F'],
        { env: env(), cwd: dir },
      )
      expect(r.code, r.stderr).toBe(1)
      expectOneLine(r.stderr)
      expect(r.stderr).toContain(`is past the end of the content (length ${SIZE})`)
      expectNoOutput(dir, 'F')
    }
    // Over a session the node refuses it (416): said the same way, not as a node's failure.
    const r = await runFulmen(
      ['fetch', toHex(tree.root), '--node', wsAddressOf(node!), '--range', `0-${SIZE}`, '-o', 'F'],
      { env: env(), cwd: dir },
    )
    expect(r.code, r.stderr).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain(`is past the end of the content (length ${SIZE})`)
  })

  test('node start on a data dir another node runs on: in use by another node, exit 1', async () => {
    const r = await runFulmen(
      [
        'node',
        'start',
        '--data-dir',
        dataDir,
        '--http-port',
        '0',
        '--ws-port',
        '0',
        '--webrtc-port',
        '0',
      ],
      { env: env(), timeoutMs: 30_000 },
    )
    expect(r.code, r.stderr).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain(`the data dir ${dataDir} is in use by another node`)
  })
})

test('node start on a data dir whose store another process holds: in use (lock held), exit 1', async () => {
  const dataDir = join(dir, 'locked')
  mkdirSync(dataDir)
  // `fulmen add -` with no node running opens the store itself, and holds it while it reads.
  const add = spawnFulmen(['add', '--data-dir', dataDir, '-'], { env: env() })
  add.stdin!.on('error', () => {})
  add.stdin!.write(pseudoRandomBytes(1 << 20, 7))
  const tmp = join(dataDir, 'store', 'tmp')
  await waitFor(
    () => (existsSync(tmp) && readdirSync(tmp).length > 0 ? true : undefined),
    'the import to open the store',
    30_000,
  )
  const r = await runFulmen(
    [
      'node',
      'start',
      '--data-dir',
      dataDir,
      '--http-port',
      '0',
      '--ws-port',
      '0',
      '--webrtc-port',
      '0',
    ],
    { env: env(), timeoutMs: 30_000 },
  )
  add.stdin!.end()
  await new Promise((resolve) => add.once('close', resolve))
  expect(r.code, r.stderr).toBe(1)
  expect(r.stderr).toContain(
    `the data dir ${dataDir} is in use by another node or fulmen process (lock held)`,
  )
  expect(r.stderr).not.toMatch(/LEVEL_DATABASE_NOT_OPEN|\n\s+at /)
})

describe('fulmen node start on busy ports', () => {
  const busy: { close(): void }[] = []
  afterAll(() => {
    for (const b of busy) b.close()
  })

  /** Holds a port (tcp or udp) in another process, as another program would. */
  async function holdPort(proto: 'tcp' | 'udp'): Promise<number> {
    const code =
      proto === 'tcp'
        ? "const s=require('net').createServer().listen(0,'127.0.0.1',()=>console.log(s.address().port))"
        : "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>console.log(s.address().port))"
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
    busy.push({ close: () => child.kill('SIGKILL') })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    return waitFor(() => (/^\d+\n/.test(out) ? Number(out.trim()) : undefined), 'a held port')
  }

  test.each([
    { name: 'http', proto: 'tcp', flag: '--http-port' },
    { name: 'ws', proto: 'tcp', flag: '--ws-port' },
    { name: 'webrtc', proto: 'udp', flag: '--webrtc-port' },
  ] as const)(
    '$name port taken: one line naming it, exit 1, nothing on stdout',
    async ({ name, proto, flag }) => {
      const port = await holdPort(proto)
      const ports: Record<string, string> = {
        '--http-port': '0',
        '--ws-port': '0',
        '--webrtc-port': '0',
        [flag]: String(port),
      }
      const dataDir = mkdtempSync(join(dir, `busy-${name}-`))
      const r = await runFulmen(
        ['node', 'start', '--data-dir', dataDir, ...Object.entries(ports).flat()],
        {
          env: env(),
          timeoutMs: 30_000,
        },
      )
      expect(r.code, r.stderr).toBe(1)
      expectOneLine(r.stderr)
      expect(r.stderr).toContain(`${name} port ${port}`)
      expect(r.stderr).toContain('is in use')
      expect(r.stdout).toBe('')
    },
  )

  test('--http-port abc is a usage error: exit 2', async () => {
    const r = await runFulmen(['node', 'start', '--data-dir', dir, '--http-port', 'abc'])
    expect(r.code).toBe(2)
    expectOneLine(r.stderr)
  })
})

describe('data dirs that do not exist', () => {
  test('add --data-dir <typo> is refused (exit 1) and creates nothing; --init creates it', async () => {
    const file = join(dir, 'small.bin')
    writeFileSync(file, 'hello')
    const typo = join(dir, 'nod-data')
    // FULMEN_INIT=0: test support lets `add` create data dirs by default.
    const r = await runFulmen(['add', '--data-dir', typo, file], {
      env: { ...env(), FULMEN_INIT: '0' },
    })
    expect(r.code, r.stderr).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain(`no node data dir at ${typo}`)
    expect(r.stderr).toContain('--init')
    expect(existsSync(typo)).toBe(false)
    const init = await runFulmen(['add', '--init', '--data-dir', typo, file], {
      env: { ...env(), FULMEN_INIT: '0' },
    })
    expect(init.code, init.stderr).toBe(0)
    expect(existsSync(join(typo, 'store'))).toBe(true)
  })

  test('node das on a missing directory: exit 1 with a clear message', async () => {
    const missing = join(dir, 'no-such-node')
    const r = await runFulmen(['node', 'das', '--data-dir', missing], { env: env() })
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain(`no node data dir at ${missing}`)
  })
})

test('fulmen add against a node that dies mid-import: the node could not be reached, exit 1', async () => {
  const dataDir = join(dir, 'dying')
  mkdirSync(dataDir)
  const node = await startNode({ dataDir, env: env() })
  const add = spawnFulmen(['add', '--data-dir', dataDir, '-'], { env: env() })
  let stderr = ''
  add.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  add.stdin!.on('error', () => {})
  const exit = new Promise<number | null>((resolve) => add.once('close', (code) => resolve(code)))
  add.stdin!.write(pseudoRandomBytes(1 << 20, 5))
  // The import is under way once the node's store holds part of it.
  const tmp = join(dataDir, 'store', 'tmp')
  await waitFor(
    () => (existsSync(tmp) && readdirSync(tmp).length > 0 ? true : undefined),
    'the import to reach the store',
    30_000,
  )
  node.child.kill('SIGKILL')
  await node.exit
  add.stdin!.end(pseudoRandomBytes(1 << 20, 6))
  expect(await exit).toBe(1)
  expectOneLine(stderr)
  expect(stderr).toContain('could not be reached or went away')
})
