/**
 * `fulmen devnet start --nodes 1 --edge 1` as a real process (two real nodes: one ordering
 * blocks, one following it), then the chain commands against it as real processes: a deposit
 * by the bridge key, a transfer sent through the edge node, the balance read back with a proof
 * checked here too, the head, reverts with their codes, a lying gateway whose proof fails, and
 * a clean stop on SIGINT. Each node listens where the genesis says (its libp2p address on the
 * port DIR/ports.json fixed); a restart with one of those ports held names it, and once it is
 * free the devnet comes back on the same ports.
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer as createTcpServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hexToBytes } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { exited, runFulmen, spawnFulmen, waitFor } from '../../devnet/processes.ts'
import { parseGenesis } from '../../state/genesis.ts'
import { verifyStateProof } from '../../state/state-proof.ts'
import { parseTableKey } from '../../state/tables.ts'

interface DevnetJson {
  genesis: string
  consensus: string
  nodes: {
    name: string
    role: string
    consensus: string
    gateway: string
    multiaddr: string
    dataDir: string
    peerId: string
    blsKey: string
  }[]
  accounts: Record<string, { key: string; address: string }>
}

let dir = ''
let devnet: ChildProcess | undefined
let devnetStderr = ''
let d: DevnetJson
let leader = ''
let edge = ''
let sender = ''
const servers: Server[] = []

function fulmen(args: readonly string[]) {
  return runFulmen(args, { cwd: dir, timeoutMs: 90_000 })
}

function json<T>(text: string): T {
  return JSON.parse(text) as T
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-devnet-'))
  devnet = spawnFulmen(['devnet', 'start', '--nodes', '1', '--edge', '1', '--dir', dir], {
    cwd: dir,
  })
  devnet.stdin!.end()
  devnet.stderr!.setEncoding('utf8').on('data', (s: string) => {
    devnetStderr += s
  })
  devnet.stdout!.resume()
  const path = join(dir, 'devnet.json')
  await waitFor(
    () => {
      if (devnet!.exitCode !== null) throw new Error(`the devnet exited:\n${devnetStderr}`)
      return existsSync(path)
    },
    'devnet.json',
    150_000,
    200,
  )
  d = json<DevnetJson>(readFileSync(path, 'utf8'))
  leader = d.nodes.find((n) => n.role === 'committee')!.gateway
  edge = d.nodes.find((n) => n.role === 'edge')!.gateway
  const made = await fulmen(['keys', 'account', 'new', '--out', 'sender.key'])
  sender = made.stdout.trim()
}, 180_000)

afterAll(async () => {
  for (const s of servers) s.close()
  if (devnet !== undefined && devnet.exitCode === null) {
    devnet.kill('SIGKILL')
    await exited(devnet)
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('fulmen devnet start --nodes 1 --edge 1', () => {
  test('devnet.json names the genesis and each node once all answer /chain/head', async () => {
    expect(d.genesis).toBe(join(dir, 'genesis.json'))
    const genesis = parseGenesis(readFileSync(d.genesis, 'utf8'))
    expect(d.nodes.map((n) => [n.name, n.role])).toEqual([
      ['node-1', 'committee'],
      ['edge-1', 'edge'],
    ])
    for (const n of d.nodes) {
      expect(n.gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(n.multiaddr).toMatch(/\/tcp\/\d+\/ws\/p2p\/12D3KooW/)
      expect(n.dataDir).toBe(join(dir, n.name))
      expect(existsSync(join(n.dataDir, 'identity.key'))).toBe(true)
      const head = json<{ chainId: number }>(await (await fetch(`${n.gateway}/chain/head`)).text())
      expect(head.chainId).toBe(genesis.chainId)
    }
    expect(genesis.committee).toHaveLength(1)
    expect(genesis.nodes).toHaveLength(2)
    // Each node listens where its genesis entry says, on the port ports.json fixed.
    const ports = json<{ nodes: Record<string, { http: number; ws: number }> }>(
      readFileSync(join(dir, 'ports.json'), 'utf8'),
    )
    expect(d.consensus).toBe('solo')
    d.nodes.forEach((n, i) => {
      expect(n.multiaddr).toBe(`/ip4/127.0.0.1/tcp/${ports.nodes[n.name]!.ws}/ws/p2p/${n.peerId}`)
      expect(genesis.nodes[i]!.addresses).toEqual([n.multiaddr])
      expect(n.gateway).toBe(`http://127.0.0.1:${ports.nodes[n.name]!.http}`)
      expect(n.blsKey).toBe(Buffer.from(genesis.nodes[i]!.blsKey).toString('hex'))
    })
    expect(d.nodes.map((n) => n.consensus)).toEqual(['solo', 'follow'])
    expect(`0x${Buffer.from(genesis.bridge).toString('hex')}`).toBe(d.accounts.bridge!.address)
  })

  test('deposit (bridge key), transfer through the edge node, balance with a proof that checks', async () => {
    const deposit = await fulmen([
      'tx',
      'deposit',
      '--key',
      d.accounts.bridge!.key,
      '--from',
      leader,
      '--to',
      sender,
      '--amount',
      '5',
      '--json',
    ])
    expect(deposit.stderr).toMatch(/submitted Deposit/)
    expect(deposit.code).toBe(0)
    expect(json<{ status: string }>(deposit.stdout).status).toBe('ok')

    const to = d.accounts['account-1']!.address
    const transfer = await fulmen([
      'tx',
      'transfer',
      '--key',
      'sender.key',
      '--from',
      edge,
      '--to',
      to,
      '--amount',
      '1.5',
      '--json',
    ])
    expect(transfer.code, transfer.stderr).toBe(0)
    const receipt = json<{ status: string; height: number }>(transfer.stdout)
    expect(receipt.status).toBe('ok')

    // The edge node re-executes the leader's blocks: read it once it has the transfer's block.
    const answer = await waitFor(
      async () => {
        const r = await fulmen(['state', 'account', sender, '--from', edge, '--proof', '--json'])
        expect(r.code, r.stderr).toBe(0)
        const a = json<{
          height: number
          root: string
          value: string
          proof: string
          verified: boolean
          entry: { flk: string; stables: string; nonce: number } | null
        }>(r.stdout)
        return a.height >= receipt.height ? a : undefined
      },
      'the edge node at the transfer',
      30_000,
      500,
    )
    expect(answer.verified).toBe(true)
    expect(answer.entry).toEqual({ flk: '3500000000000000000', stables: '0', nonce: 1 })
    // Checked here too, from the printed proof and root alone.
    const key = parseTableKey('accounts', sender)
    const value = hexToBytes(answer.value)
    expect(
      verifyStateProof(hexToBytes(answer.root), 'accounts', key, value, hexToBytes(answer.proof)),
    ).toBe(true)
    const changed = value.slice()
    changed[changed.length - 1]! ^= 1
    expect(
      verifyStateProof(hexToBytes(answer.root), 'accounts', key, changed, hexToBytes(answer.proof)),
    ).toBe(false)

    const human = await fulmen(['state', 'account', to, '--from', leader, '--proof'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^ {2}flk {6}10001\.5$/m)
    expect(human.stdout).toMatch(/checked: present under root [0-9a-f]{64}/)
  })

  test('an absent account: entry null, its absence proven', async () => {
    const nobody = '0x00000000000000000000000000000000000000b0'
    const r = await fulmen(['state', 'accounts', nobody, '--from', leader, '--proof', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const a = json<{ entry: unknown; value: unknown; verified: boolean }>(r.stdout)
    expect(a.entry).toBeNull()
    expect(a.value).toBeNull()
    expect(a.verified).toBe(true)
  })

  test('fulmen chain head --json', async () => {
    const r = await fulmen(['chain', 'head', '--from', leader, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const head = json<Record<string, unknown>>(r.stdout)
    expect(Object.keys(head).sort()).toEqual(
      [
        'chainId',
        'epoch',
        'hash',
        'height',
        'stateRoot',
        'timestampMs',
        'consensus',
        'committee',
      ].sort(),
    )
    expect(head.height).toBeGreaterThanOrEqual(2)
    expect(head.stateRoot).toMatch(/^[0-9a-f]{64}$/)
    const block = await fulmen(['chain', 'block', '1', '--from', leader, '--json'])
    expect(block.code).toBe(0)
    expect(json<{ header: { height: number } }>(block.stdout).header.height).toBe(1)
    const missing = await fulmen(['chain', 'block', '999999', '--from', leader])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/\(CHAIN_BLOCK_UNKNOWN\)\n$/)
  })

  test('reverts exit 1 with their code: more than the balance, a deposit not from the bridge', async () => {
    const tooMuch = await fulmen([
      'tx',
      'transfer',
      '--key',
      'sender.key',
      '--from',
      leader,
      '--to',
      sender,
      '--amount',
      '1000',
      '--json',
    ])
    expect(tooMuch.code).toBe(1)
    expect(json<{ status: string }>(tooMuch.stdout).status).toBe('TX_INSUFFICIENT_BALANCE')
    expect(tooMuch.stderr).toMatch(/reverted: .*\(TX_INSUFFICIENT_BALANCE\)\n$/)
    const notBridge = await fulmen([
      'tx',
      'deposit',
      '--key',
      'sender.key',
      '--from',
      leader,
      '--to',
      sender,
      '--amount',
      '1',
    ])
    expect(notBridge.code).toBe(1)
    expect(notBridge.stderr).toMatch(/\(TX_WRONG_SIGNER\)\n$/)
  })

  test('a gateway whose proof does not check: exit 1, STATE_PROOF_MISMATCH, nothing printed', async () => {
    // Forwards to the leader, then raises the balance in the value it answers.
    const server = createServer((req, res) => {
      void (async () => {
        const upstream = await fetch(`${leader}${req.url}`)
        const body = json<Record<string, unknown>>(await upstream.text())
        if (typeof body.value === 'string') {
          const v = hexToBytes(body.value)
          v[v.length - 3]! ^= 0x40
          body.value = Buffer.from(v).toString('hex')
        }
        res.writeHead(upstream.status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      })().catch(() => res.destroy())
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const liar = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const to = d.accounts['account-1']!.address
    const checked = await fulmen(['state', 'account', to, '--from', liar, '--proof', '--json'])
    expect(checked.code).toBe(1)
    expect(checked.stdout).toBe('')
    expect(checked.stderr).toMatch(
      /^fulmen: the proof for accounts\/0x[0-9a-f]{40} does not check against root [0-9a-f]{64} .*\(STATE_PROOF_MISMATCH\)\n$/,
    )
  })

  test('stake registers a new node (BLS proof of possession), stake-lock, unstake; withdraw too early reverts', async () => {
    const owner = d.accounts['account-2']!.key
    const made = await fulmen(['keys', 'node', 'new', '--out', 'new-node.key', '--json'])
    const node = json<{ nodeKey: string; peerId: string }>(made.stdout)
    await fulmen(['keys', 'bls', 'new', '--out', 'new-node.bls'])
    const send = (args: string[]) =>
      fulmen(['tx', ...args, '--key', owner, '--from', leader, '--json'])
    const stake = await send([
      'stake',
      '--node',
      node.peerId,
      '--amount',
      '1500',
      '--bls-key',
      'new-node.bls',
      '--address',
      '/ip4/127.0.0.1/tcp/1/ws',
    ])
    expect(stake.code, stake.stderr + stake.stdout).toBe(0)
    const lock = await send(['stake-lock', '--node', node.nodeKey, '--epochs', '3'])
    expect(lock.code, lock.stderr + lock.stdout).toBe(0)
    const again = await send([
      'stake',
      '--node',
      node.peerId,
      '--amount',
      '1',
      '--bls-key',
      'new-node.bls',
    ])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/\(TX_NODE_EXISTS\)\n$/)
    const entry = await fulmen([
      'state',
      'node',
      node.peerId,
      '--from',
      leader,
      '--proof',
      '--json',
    ])
    expect(entry.code, entry.stderr).toBe(0)
    const n = json<{ entry: Record<string, unknown>; verified: boolean }>(entry.stdout)
    expect(n.verified).toBe(true)
    expect(n.entry).toMatchObject({
      owner: d.accounts['account-2']!.address,
      staked: '1500000000000000000000',
      addresses: ['/ip4/127.0.0.1/tcp/1/ws'],
    })
    const unstake = await send(['unstake', '--node', node.nodeKey, '--amount', '1'])
    expect(unstake.code).toBe(1)
    expect(unstake.stderr).toMatch(/\(TX_STAKE_LOCKED\)\n$/)
    const withdraw = await send(['withdraw', '--node', node.nodeKey])
    expect(withdraw.code).toBe(1)
    expect(withdraw.stderr).toMatch(/reverted.*\(TX_[A-Z_]+\)\n$/)
  })

  test('register-client-key binds the client key file to the sending account', async () => {
    const { loadOrCreateClientKey } = await import('../client-key-file.ts')
    const client = await loadOrCreateClientKey(join(dir, 'client.key'))
    const r = await fulmen([
      'tx',
      'register-client-key',
      '--client-key',
      'client.key',
      '--key',
      d.accounts['account-3']!.key,
      '--from',
      edge,
      '--json',
    ])
    expect(r.code, r.stderr + r.stdout).toBe(0)
    const hex = Buffer.from(client.publicKey).toString('hex')
    const entry = await fulmen(['state', 'client-key', hex, '--from', leader, '--proof', '--json'])
    expect(entry.code, entry.stderr).toBe(0)
    expect(json<{ entry: unknown }>(entry.stdout).entry).toEqual({
      account: d.accounts['account-3']!.address,
    })
  })

  test('opt-out is signed by the node identity (its nonce read from its node entry)', async () => {
    const node = d.nodes.find((n) => n.role === 'edge')!
    const r = await fulmen([
      'tx',
      'opt-out',
      '--key',
      join(node.dataDir, 'identity.key'),
      '--from',
      leader,
      '--json',
    ])
    expect(r.code, r.stderr + r.stdout).toBe(0)
    const peerId = /\/p2p\/(\w+)$/.exec(node.multiaddr)![1]!
    const entry = await fulmen(['state', 'node', peerId, '--from', leader, '--json'])
    expect(json<{ entry: { participation: string } }>(entry.stdout).entry.participation).toBe(
      'optedOut',
    )
    // An account key where a node identity is needed: refused before anything is sent.
    const wrong = await fulmen(['tx', 'opt-in', '--key', 'sender.key', '--from', leader])
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/sender\.key is not a node identity.*\(KEY_FILE_INVALID\)\n$/)
  })

  test('two transactions with --no-wait and --nonce, then their receipts', async () => {
    const account = d.accounts['account-1']!
    const state = await fulmen(['state', 'account', account.address, '--from', leader, '--json'])
    const nonce = json<{ entry: { nonce: number } }>(state.stdout).entry.nonce
    const digests: string[] = []
    for (const n of [nonce + 1, nonce + 2]) {
      const r = await fulmen([
        'tx',
        'transfer',
        '--key',
        account.key,
        '--from',
        leader,
        '--to',
        sender,
        '--amount',
        '0.25',
        '--token',
        'USDC',
        '--nonce',
        String(n),
        '--no-wait',
      ])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/)
      digests.push(r.stdout.trim())
    }
    for (const digest of digests) {
      const r = await fulmen(['tx', 'receipt', digest, '--from', leader, '--wait', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(json<{ status: string }>(r.stdout).status).toBe('ok')
    }
    const after = await fulmen(['state', 'account', sender, '--from', leader, '--json'])
    expect(json<{ entry: { stables: string } }>(after.stdout).entry.stables).toBe(
      '500000000000000000',
    )
  })

  test('SIGINT stops the nodes and the devnet exits 0', async () => {
    devnet!.kill('SIGINT')
    const { code } = await exited(devnet!)
    expect(code, devnetStderr).toBe(0)
    for (const n of d.nodes) {
      await expect(fetch(`${n.gateway}/chain/head`)).rejects.toThrow()
    }
    const log = readFileSync(join(dir, 'node-1', 'node.log'), 'utf8')
    expect(log).toMatch(/"msg":"stopped"/)
  })

  test('a restart with a fixed port held by another process names it; once free, the same ports', async () => {
    const ports = json<{ nodes: Record<string, { http: number; ws: number }> }>(
      readFileSync(join(dir, 'ports.json'), 'utf8'),
    )
    const held = createTcpServer()
    const port = ports.nodes['edge-1']!.ws
    await new Promise<void>((resolve) => held.listen(port, '127.0.0.1', resolve))
    try {
      const refused = await fulmen(['devnet', 'start', '--nodes', '1', '--edge', '1', '--dir', dir])
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toContain('DEVNET_PORT_IN_USE')
      expect(refused.stderr).toContain(
        `port ${port} on 127.0.0.1 (edge-1 libp2p WebSockets) is in use by another process`,
      )
    } finally {
      await new Promise((resolve) => held.close(resolve))
    }
    devnetStderr = ''
    devnet = spawnFulmen(['devnet', 'start', '--nodes', '1', '--edge', '1', '--dir', dir], {
      cwd: dir,
    })
    devnet.stdin!.end()
    devnet.stderr!.setEncoding('utf8').on('data', (s: string) => {
      devnetStderr += s
    })
    devnet.stdout!.resume()
    const path = join(dir, 'devnet.json')
    const again = await waitFor(
      () => {
        if (devnet!.exitCode !== null) throw new Error(`the devnet exited:\n${devnetStderr}`)
        return existsSync(path) ? json<DevnetJson>(readFileSync(path, 'utf8')) : undefined
      },
      'devnet.json after the restart',
      150_000,
      200,
    )
    expect(again.nodes.map((n) => [n.gateway, n.multiaddr])).toEqual(
      d.nodes.map((n) => [n.gateway, n.multiaddr]),
    )
    devnet.kill('SIGINT')
    expect((await exited(devnet)).code, devnetStderr).toBe(0)
  }, 180_000)
})
