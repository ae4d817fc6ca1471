/**
 * The chain commands (`keys`, `tx`, `state`, `chain`) as real `fulmen` processes, where no node
 * is needed: key files (mode 0600, never overwritten, read back to the same address), and bad
 * input refused with one line, a code and the right exit code before anything is sent.
 * Against a real devnet: src/node/devnet/devnet.node.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runFulmen } from '../../devnet/processes.ts'
import { accountAddressOfSecretKey } from '../../state/transaction.ts'
import { readNodeIdentityFile } from '../key-files.ts'

let dir = ''
const TO = '0x00000000000000000000000000000000000000aa'

/** A port nothing listens on: bound by the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function fulmen(args: readonly string[]) {
  return runFulmen(args, { cwd: dir, env: { XDG_DATA_HOME: join(dir, 'xdg') } })
}

function expectOneLine(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(/^fulmen: [^\n]+\n$/)
  expect(stderr).toMatch(pattern)
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-chain-cli-'))
})

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('fulmen keys', () => {
  test('account new writes a 0600 hex secret and prints its address; show reads it back', async () => {
    const r = await fulmen(['keys', 'account', 'new', '--out', 'a.key'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^0x[0-9a-f]{40}\n$/)
    const path = join(dir, 'a.key')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const secret = readFileSync(path, 'utf8').trim()
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    const address = `0x${Buffer.from(accountAddressOfSecretKey(hexToBytes(secret))).toString('hex')}`
    expect(r.stdout.trim()).toBe(address)
    const shown = await fulmen(['keys', 'account', 'show', '--key', 'a.key', '--json'])
    expect(shown.code).toBe(0)
    expect(JSON.parse(shown.stdout)).toEqual({ address, file: 'a.key' })
  })

  test('an existing key file is never overwritten', async () => {
    writeFileSync(join(dir, 'keep.key'), 'precious\n')
    const r = await fulmen(['keys', 'account', 'new', '--out', 'keep.key'])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, /keep\.key: file already exists/)
    expect(readFileSync(join(dir, 'keep.key'), 'utf8')).toBe('precious\n')
  })

  test('node new writes an identity a node loads (0600), printing its key and peer id', async () => {
    const r = await fulmen(['keys', 'node', 'new', '--out', 'identity.key', '--json'])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as { nodeKey: string; peerId: string }
    expect(statSync(join(dir, 'identity.key')).mode & 0o777).toBe(0o600)
    const identity = await readNodeIdentityFile(join(dir, 'identity.key'))
    expect(out.nodeKey).toBe(Buffer.from(identity.nodeKey).toString('hex'))
    expect(out.peerId).toBe(identity.peerId)
    expect(out.peerId).toMatch(/^12D3KooW/)
  })

  test('bls new writes a 0600 secret and prints the 96-byte public key', async () => {
    const r = await fulmen(['keys', 'bls', 'new', '--out', 'bls.key', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).publicKey).toMatch(/^[0-9a-f]{192}$/)
    expect(statSync(join(dir, 'bls.key')).mode & 0o777).toBe(0o600)
  })

  test('a file that is not a key: KEY_FILE_INVALID, exit 1', async () => {
    writeFileSync(join(dir, 'junk.key'), 'not a key\n')
    const r = await fulmen(['keys', 'account', 'show', '--key', 'junk.key'])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, /junk\.key is not an account key.*\(KEY_FILE_INVALID\)/)
  })
})

describe('bad input is refused before anything is sent', () => {
  let gateway = ''
  beforeAll(async () => {
    await fulmen(['keys', 'account', 'new', '--out', 'sender.key'])
    gateway = `http://127.0.0.1:${await closedPort()}`
  })

  test.each([
    ['1.5.5', /--amount: '1\.5\.5' is not an amount/],
    ['-1', /--amount: '-1' is not an amount/],
    ['0.0000000000000000001', /has 19 decimals/],
  ])('amount %s: exit 2, usage', async (amount, pattern) => {
    const r = await fulmen([
      'tx',
      'transfer',
      '--key',
      'sender.key',
      '--from',
      gateway,
      '--to',
      TO,
      `--amount=${amount}`,
    ])
    expect(r.code).toBe(2)
    expectOneLine(r.stderr, pattern)
    expect(r.stderr).toMatch(/see 'fulmen tx --help'/)
  })

  test('a wrong key file: KEY_FILE_INVALID, exit 1', async () => {
    writeFileSync(join(dir, 'wrong.key'), `${'zz'.repeat(32)}\n`)
    const r = await fulmen(['tx', 'transfer', '--key', 'wrong.key', '--from', gateway, '--to', TO])
    // A missing --amount is a usage error first.
    expect(r.code).toBe(2)
    const r2 = await fulmen([
      'tx',
      'transfer',
      '--key',
      'wrong.key',
      '--from',
      gateway,
      '--to',
      TO,
      '--amount',
      '1',
    ])
    expect(r2.code).toBe(1)
    expectOneLine(r2.stderr, /wrong\.key is not an account key.*\(KEY_FILE_INVALID\)/)
  })

  test('a missing key file: exit 1, the path named', async () => {
    const r = await fulmen([
      'tx',
      'transfer',
      '--key',
      'nope.key',
      '--from',
      gateway,
      '--to',
      TO,
      '--amount',
      '1',
    ])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, /nope\.key: no such file or directory/)
  })

  test('an unreachable gateway: CLI_GATEWAY_UNREACHABLE, exit 1 (tx, state, chain)', async () => {
    for (const args of [
      ['tx', 'transfer', '--key', 'sender.key', '--from', gateway, '--to', TO, '--amount', '1'],
      ['state', 'account', TO, '--from', gateway, '--proof'],
      ['chain', 'head', '--from', gateway, '--json'],
    ]) {
      const r = await fulmen(args)
      expect(r.code, args.join(' ')).toBe(1)
      expectOneLine(r.stderr, /cannot reach the gateway .*\(CLI_GATEWAY_UNREACHABLE\)/)
      expect(r.stdout).toBe('')
    }
  })

  test.each([
    [['tx', 'transfer', '--key', 'sender.key', '--to', TO, '--amount', '1'], /missing --from/],
    [['tx', 'transfer', '--key', 'sender.key', '--from', 'x', '--to', TO], /--from: 'x'/],
    [['tx', 'transfer', '--key', 'sender.key', '--from', 'http://h', '--to', '0x12'], /--to:/],
    [['tx', 'fly', '--key', 'sender.key'], /unknown method 'fly'/],
    [['tx', 'stake', '--key', 'sender.key', '--from', 'http://h', '--node', 'xyz'], /--node:/],
    [
      ['tx', 'param', '--key', 'a.key', '--from', 'http://h', '--name', 'x', '--value', '1'],
      /--name: 'x' is not a parameter/,
    ],
    [['state', 'nope', '1', '--from', 'http://h'], /unknown table 'nope'/],
    [['state', 'account', '0x12', '--from', 'http://h'], /an account address is 20 bytes/],
    [['chain', 'block', 'x', '--from', 'http://h'], /'x' is not a block height/],
    [['devnet', 'start'], /missing --dir/],
    [['devnet', 'start', '--dir', 'd', '--nodes', '0'], /--nodes: '0'/],
    [
      ['devnet', 'start', '--dir', 'd', '--consensus', 'raft'],
      /--consensus: 'raft' is not one of solo, committee/,
    ],
  ])('%j: exit 2', async (args, pattern) => {
    const r = await fulmen(args)
    expect(r.code).toBe(2)
    expectOneLine(r.stderr, pattern)
  })
})

describe('gateways that misbehave', () => {
  const servers: Server[] = []
  afterAll(() => {
    for (const s of servers) s.close()
  })

  async function serve(answer: (method: string, path: string) => [number, string]) {
    const server = createHttpServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const [status, body] = answer(req.method ?? 'GET', req.url ?? '/')
        res.writeHead(status, { 'content-type': 'application/json' }).end(body)
      })
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`
  }

  beforeAll(async () => {
    await fulmen(['keys', 'account', 'new', '--out', 'patient.key'])
  })

  test('a transaction that stays pending: CLI_TX_TIMEOUT at --timeout', async () => {
    const digest = 'ab'.repeat(32)
    const gateway = await serve((method, path) => {
      if (path === '/chain/head')
        return [
          200,
          JSON.stringify({
            chainId: 7,
            epoch: 0,
            height: 0,
            hash: '00'.repeat(32),
            stateRoot: '00'.repeat(32),
            timestampMs: 0,
          }),
        ]
      if (path.startsWith('/chain/state/'))
        return [
          200,
          JSON.stringify({ height: 0, root: '00'.repeat(32), value: null, entry: null, proof: '' }),
        ]
      if (method === 'POST' && path === '/chain/tx') return [202, JSON.stringify({ digest })]
      if (path === `/chain/tx/${digest}`)
        return [200, JSON.stringify({ digest, status: 'pending' })]
      return [404, JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no' } })]
    })
    const r = await fulmen([
      'tx',
      'transfer',
      '--key',
      'patient.key',
      '--from',
      gateway,
      '--to',
      TO,
      '--amount',
      '1',
      '--timeout',
      '2500ms',
    ])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/submitted Transfer/)
    expect(r.stderr).toMatch(
      /fulmen: transaction [0-9a-f]{64} still pending after \d+ s.*\(CLI_TX_TIMEOUT\)\n$/,
    )
  })

  test('something that is not a node: CLI_GATEWAY_BAD_ANSWER; a node refusal: its own code', async () => {
    const html = await serve(() => [200, '<html>hello</html>'])
    const r = await fulmen(['chain', 'head', '--from', html])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr, /answered 200 with no JSON.*\(CLI_GATEWAY_BAD_ANSWER\)/)
    const refusing = await serve(() => [
      503,
      JSON.stringify({ error: { code: 'CHAIN_NOT_ENABLED', message: 'this node runs no chain' } }),
    ])
    const r2 = await fulmen(['chain', 'head', '--from', refusing])
    expect(r2.code).toBe(1)
    expectOneLine(r2.stderr, /this node runs no chain \(CHAIN_NOT_ENABLED\)/)
  })
})

describe('chain head prints how the node orders', () => {
  const servers: Server[] = []
  afterAll(() => {
    for (const s of servers) s.close()
  })

  /** A gateway whose /chain/head is `head` (what a node of that kind answers). */
  async function gatewayWithHead(head: Record<string, unknown>): Promise<string> {
    const server = createHttpServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(head))
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`
  }

  const base = {
    chainId: 7,
    epoch: 3,
    height: 120,
    hash: '11'.repeat(32),
    stateRoot: '22'.repeat(32),
    timestampMs: 1_700_000_000_000,
  }
  const keys = ['aa', 'bb', 'cc', 'dd'].map((b) => b.repeat(32))

  test('a committee member: the committee, this node marked, its round and committed round', async () => {
    const head = {
      ...base,
      consensus: 'committee',
      committee: keys,
      member: 2,
      round: 57,
      committedRound: 54,
    }
    const gateway = await gatewayWithHead(head)
    const json = await fulmen(['chain', 'head', '--from', gateway, '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual(head)
    const human = await fulmen(['chain', 'head', '--from', gateway])
    expect(human.code, human.stderr).toBe(0)
    const lines = human.stdout.split('\n')
    expect(lines).toContain('epoch      3')
    expect(lines).toContain('height     120')
    expect(lines).toContain('consensus  committee')
    expect(lines).toContain('committee  4 members')
    expect(lines).toContain(`  2  ${keys[2]}  (this node)`)
    expect(lines).toContain(`  0  ${keys[0]}`)
    expect(lines.filter((l) => l.includes('(this node)'))).toHaveLength(1)
    expect(lines).toContain('member     2')
    expect(lines).toContain('round      57')
    expect(lines).toContain('committed  round 54')
  })

  test('a committee node outside the epoch committee: member -1, no key marked', async () => {
    const head = {
      ...base,
      consensus: 'committee',
      committee: keys,
      member: -1,
      round: 0,
      committedRound: 0,
    }
    const human = await fulmen(['chain', 'head', '--from', await gatewayWithHead(head)])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).not.toMatch(/this node/)
    expect(human.stdout).toMatch(/^member {5}no \(follows the committee\)$/m)
  })

  test('a solo node: consensus and committee, no round; a node from before: the six fields', async () => {
    const solo = { ...base, consensus: 'solo', committee: keys.slice(0, 1) }
    const json = await fulmen(['chain', 'head', '--from', await gatewayWithHead(solo), '--json'])
    expect(JSON.parse(json.stdout)).toEqual(solo)
    const human = await fulmen(['chain', 'head', '--from', await gatewayWithHead(solo)])
    expect(human.stdout).toMatch(/^consensus {2}solo$/m)
    expect(human.stdout).toMatch(/^committee {2}1 member$/m)
    expect(human.stdout).not.toMatch(/^(member|round|committed) /m)
    const old = await fulmen(['chain', 'head', '--from', await gatewayWithHead(base), '--json'])
    expect(old.code, old.stderr).toBe(0)
    expect(JSON.parse(old.stdout)).toEqual(base)
    const oldHuman = await fulmen(['chain', 'head', '--from', await gatewayWithHead(base)])
    expect(oldHuman.code, oldHuman.stderr).toBe(0)
    expect(oldHuman.stdout).not.toMatch(/consensus|committee/)
  })
})
