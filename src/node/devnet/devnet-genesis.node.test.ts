/**
 * A devnet's keys and genesis on disk: what `fulmen devnet start` and `npm start` write before a
 * node runs. The genesis parses and names the keys written; every key file is 0600; a second
 * run reads the same keys and genesis back; a directory made for other nodes is refused.
 * Each genesis node names its libp2p address on the ports the directory fixed; a restart
 * reuses them, and a port held by another process is named.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { StateExecutor } from '../../state/executor.ts'
import { genesisHash, parseGenesis } from '../../state/genesis.ts'
import { KeyFileError, loadBlsSecretKey, readNodeIdentityFile } from '../key-files.ts'
import { checkPortFree, DevnetError, prepareDevnet } from './devnet-genesis.ts'
import { devnetGateway, devnetNodePlan } from './devnet-runner.ts'

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fulmen-devnet-genesis-'))
  dirs.push(dir)
  return dir
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('prepareDevnet', () => {
  test('writes 0600 keys and a genesis that names them; the executor opens it', async () => {
    const dir = tempDir()
    const layout = await prepareDevnet({ dir, nodes: 2, edge: 1, epochMs: 30_000, now: () => 1000 })
    const genesis = parseGenesis(readFileSync(join(dir, 'genesis.json'), 'utf8'))
    expect(genesisHash(genesis)).toEqual(genesisHash(layout.genesis))
    expect(genesis.timestampMs).toBe(1000)
    expect(genesis.params.epochTimeMs).toBe(30_000n)
    expect(genesis.params.committeeSize).toBe(2n)
    expect(layout.nodes.map((n) => [n.name, n.role])).toEqual([
      ['node-1', 'committee'],
      ['node-2', 'committee'],
      ['edge-1', 'edge'],
    ])
    // Every node is staked; the committee nodes are the first committee.
    expect(genesis.nodes.map((n) => bytesToHex(n.key))).toEqual(
      layout.nodes.map((n) => bytesToHex(n.identity.nodeKey)),
    )
    expect(genesis.committee.map(bytesToHex)).toEqual(
      layout.nodes.slice(0, 2).map((n) => bytesToHex(n.identity.nodeKey)),
    )
    for (const n of genesis.nodes) expect(n.stake).toBe(genesis.params.minimumNodeStake)
    expect(genesis.bridge).toEqual(layout.bridge.key.address)
    expect(genesis.governance).toEqual(layout.governance.key.address)
    for (const a of layout.accounts) {
      expect(
        genesis.accounts.some((g) => bytesToHex(g.address) === bytesToHex(a.key.address)),
      ).toBe(true)
    }
    const files = [
      layout.bridge.path,
      layout.governance.path,
      layout.operator.path,
      ...layout.accounts.map((a) => a.path),
      ...layout.nodes.flatMap((n) => [join(n.dataDir, 'identity.key'), join(n.dataDir, 'bls.key')]),
    ]
    for (const f of files) expect(statSync(f).mode & 0o777, f).toBe(0o600)
    // The identity a node will load is the key the genesis stakes.
    const identity = await readNodeIdentityFile(join(dir, 'node-1', 'identity.key'))
    expect(identity.nodeKey).toEqual(genesis.nodes[0]!.key)
    const executor = await StateExecutor.open(new MemoryKvStore(), genesis)
    expect((await executor.committee(0))?.members.map(bytesToHex)).toEqual(
      genesis.committee.map(bytesToHex),
    )
  })

  test('a second run reads the same keys and genesis back', async () => {
    const dir = tempDir()
    const first = await prepareDevnet({ dir, nodes: 1, edge: 1 })
    const text = readFileSync(join(dir, 'genesis.json'), 'utf8')
    const second = await prepareDevnet({ dir, nodes: 1, edge: 1, epochMs: 5000 })
    expect(readFileSync(join(dir, 'genesis.json'), 'utf8')).toBe(text)
    expect(genesisHash(second.genesis)).toEqual(genesisHash(first.genesis))
    expect(second.nodes.map((n) => n.identity.peerId)).toEqual(
      first.nodes.map((n) => n.identity.peerId),
    )
    expect(second.bridge.key.address).toEqual(first.bridge.key.address)
  })

  test('a directory made for other nodes: DEVNET_MISMATCH', async () => {
    const dir = tempDir()
    await prepareDevnet({ dir, nodes: 1 })
    const error = await prepareDevnet({ dir, nodes: 1, edge: 1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DevnetError)
    expect((error as DevnetError).code).toBe('DEVNET_MISMATCH')
    const none = await prepareDevnet({ dir: tempDir(), nodes: 0 }).catch((e: unknown) => e)
    expect((none as DevnetError).code).toBe('DEVNET_MISMATCH')
  })

  test('node names as the caller chooses (npm start: node-1..3)', async () => {
    const dir = tempDir()
    const layout = await prepareDevnet({
      dir,
      nodes: 1,
      edge: 2,
      nodeName: (role, i) => (role === 'committee' ? 'node-1' : `node-${i + 2}`),
    })
    expect(layout.nodes.map((n) => n.dataDir)).toEqual(
      ['node-1', 'node-2', 'node-3'].map((n) => join(dir, n)),
    )
  })

  test('genesis addresses: each node on its own free loopback port, /p2p/<peer id>; a restart reuses them', async () => {
    const dir = tempDir()
    const layout = await prepareDevnet({ dir, nodes: 4, edge: 2 })
    const ports = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8'))
    expect(ports.host).toBe('127.0.0.1')
    expect(layout.ports).toEqual(ports.nodes)
    expect(layout.addressed).toBe(true)
    const all = layout.nodes.flatMap((n) => [layout.ports[n.name]!.http, layout.ports[n.name]!.ws])
    expect(new Set(all).size).toBe(12)
    for (const p of all) expect(p).toBeGreaterThan(0)
    layout.genesis.nodes.forEach((g, i) => {
      const n = layout.nodes[i]!
      expect(bytesToHex(g.key)).toBe(bytesToHex(n.identity.nodeKey))
      expect(g.addresses).toEqual([
        `/ip4/127.0.0.1/tcp/${layout.ports[n.name]!.ws}/ws/p2p/${n.identity.peerId}`,
      ])
      expect(n.multiaddr).toBe(g.addresses[0])
    })
    const again = await prepareDevnet({ dir, nodes: 4, edge: 2 })
    expect(again.ports).toEqual(layout.ports)
    expect(genesisHash(again.genesis)).toEqual(genesisHash(layout.genesis))
    // ports.json lost: the genesis keeps the libp2p ports, only gateways are drawn anew.
    unlinkSync(join(dir, 'ports.json'))
    const redrawn = await prepareDevnet({ dir, nodes: 4, edge: 2 })
    expect(redrawn.nodes.map((n) => redrawn.ports[n.name]!.ws)).toEqual(
      layout.nodes.map((n) => layout.ports[n.name]!.ws),
    )
    // ports.json that moves a node away from its genesis address: refused, naming both.
    const moved = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8'))
    moved.nodes['node-2'].ws += 1
    writeFileSync(join(dir, 'ports.json'), JSON.stringify(moved))
    const error = await prepareDevnet({ dir, nodes: 4, edge: 2 }).catch((e: unknown) => e)
    expect((error as DevnetError).code).toBe('DEVNET_MISMATCH')
    expect((error as DevnetError).message).toMatch(
      /places node-2 at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws/,
    )
    // Another host than the directory was made for: refused.
    writeFileSync(join(dir, 'ports.json'), JSON.stringify(ports))
    const host = await prepareDevnet({ dir, nodes: 4, edge: 2, host: '127.0.0.2' }).catch(
      (e: unknown) => e,
    )
    expect((host as DevnetError).message).toMatch(
      /made for nodes on 127\.0\.0\.1, not 127\.0\.0\.2/,
    )
  })

  test('a genesis from before addresses: no addresses, and it says so', async () => {
    const dir = tempDir()
    const layout = await prepareDevnet({ dir, nodes: 1, edge: 1 })
    const text = readFileSync(join(dir, 'genesis.json'), 'utf8')
    const old = JSON.parse(text)
    for (const n of old.nodes) n.addresses = []
    writeFileSync(join(dir, 'genesis.json'), JSON.stringify(old))
    unlinkSync(join(dir, 'ports.json'))
    const again = await prepareDevnet({ dir, nodes: 1, edge: 1 })
    expect(again.addressed).toBe(false)
    expect(again.nodes.map((n) => n.identity.peerId)).toEqual(
      layout.nodes.map((n) => n.identity.peerId),
    )
  })

  test('a port held by another process: DEVNET_PORT_IN_USE naming it', async () => {
    const held = createServer()
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve))
    const port = (held.address() as { port: number }).port
    try {
      const error = await checkPortFree('127.0.0.1', port, 'node-2 gateway').catch(
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(DevnetError)
      expect((error as DevnetError).code).toBe('DEVNET_PORT_IN_USE')
      expect((error as DevnetError).message).toBe(
        `port ${port} on 127.0.0.1 (node-2 gateway) is in use by another process: stop it, or start a devnet in another --dir`,
      )
    } finally {
      await new Promise((resolve) => held.close(resolve))
    }
    await expect(checkPortFree('127.0.0.1', port, 'node-2 gateway')).resolves.toBeUndefined()
  })

  test('node plans: solo orders on node-1, the others follow every other committee gateway; committee runs all with their bls.key and the ring of the others', async () => {
    const dir = tempDir()
    const layout = await prepareDevnet({ dir, nodes: 3, edge: 1 })
    const gw = (name: string) => devnetGateway(layout, name)
    expect(gw('node-1')).toBe(`http://127.0.0.1:${layout.ports['node-1']!.http}`)
    const solo = devnetNodePlan(layout)
    expect(solo.map((p) => [p.node.name, p.httpPort, p.wsPort])).toEqual(
      layout.nodes.map((n) => [n.name, layout.ports[n.name]!.http, layout.ports[n.name]!.ws]),
    )
    expect(solo.map((p) => p.env)).toEqual([
      { FULMEN_GENESIS: layout.genesisPath, FULMEN_CONSENSUS: 'solo' },
      {
        FULMEN_GENESIS: layout.genesisPath,
        FULMEN_CONSENSUS: 'follow',
        FULMEN_FOLLOW: `${gw('node-1')},${gw('node-3')}`,
      },
      {
        FULMEN_GENESIS: layout.genesisPath,
        FULMEN_CONSENSUS: 'follow',
        FULMEN_FOLLOW: `${gw('node-1')},${gw('node-2')}`,
      },
      {
        FULMEN_GENESIS: layout.genesisPath,
        FULMEN_CONSENSUS: 'follow',
        FULMEN_FOLLOW: ['node-1', 'node-2', 'node-3'].map(gw).join(','),
      },
    ])
    const committee = devnetNodePlan(layout, 'committee')
    expect(committee.map((p) => p.env)).toEqual(
      layout.nodes.map((n, i) => ({
        FULMEN_GENESIS: layout.genesisPath,
        FULMEN_CONSENSUS: 'committee',
        FULMEN_BLS_KEY: join(n.dataDir, 'bls.key'),
        // What a node outside the epoch's committee follows: every other node from the next
        // one around the ring (two outsiders never list each other first).
        FULMEN_FOLLOW: [...layout.nodes.slice(i + 1), ...layout.nodes.slice(0, i)]
          .map((x) => gw(x.name))
          .join(','),
      })),
    )
    // The key each committee-mode node is pointed at is the one its genesis entry names.
    for (const [i, p] of committee.entries()) {
      const key = await loadBlsSecretKey(p.env.FULMEN_BLS_KEY!)
      expect(bytesToHex(key.publicKey)).toBe(bytesToHex(layout.genesis.nodes[i]!.blsKey))
    }
    const missing = await loadBlsSecretKey(join(dir, 'nowhere', 'bls.key')).catch((e) => e)
    expect(missing).toBeInstanceOf(KeyFileError)
    expect(missing.code).toBe('KEY_FILE_MISSING')
    expect(missing.message).toMatch(/nowhere\/bls\.key: no BLS secret key.*--bls-key/)
    writeFileSync(join(dir, 'junk.key'), 'not a key\n')
    const junk = await loadBlsSecretKey(join(dir, 'junk.key')).catch((e) => e)
    expect(junk.code).toBe('KEY_FILE_INVALID')
  })
})

describe('unstaked devnet nodes', () => {
  test('have keys and ports but no genesis entry; they follow the staked nodes, which never follow them', async () => {
    const dir = tempDir()
    const layout = await prepareDevnet({ dir, nodes: 2, edge: 1, unstaked: 2, now: () => 1000 })
    expect(layout.nodes.map((n) => [n.name, n.role])).toEqual([
      ['node-1', 'committee'],
      ['node-2', 'committee'],
      ['edge-1', 'edge'],
      ['unstaked-1', 'unstaked'],
      ['unstaked-2', 'unstaked'],
    ])
    const inGenesis = layout.genesis.nodes.map((n) => bytesToHex(n.key))
    expect(inGenesis).toEqual(layout.nodes.slice(0, 3).map((n) => bytesToHex(n.identity.nodeKey)))
    // Own ports, distinct from every other node's.
    const all = layout.nodes.flatMap((n) => [layout.ports[n.name]!.http, layout.ports[n.name]!.ws])
    expect(new Set(all).size).toBe(10)
    const gw = (name: string) => devnetGateway(layout, name)
    const plan = devnetNodePlan(layout, 'committee')
    const follow = (name: string) =>
      plan.find((p) => p.node.name === name)!.env.FULMEN_FOLLOW!.split(',')
    for (const name of ['node-1', 'node-2', 'edge-1']) {
      expect(follow(name).some((g) => g === gw('unstaked-1') || g === gw('unstaked-2'))).toBe(false)
    }
    expect(follow('unstaked-1')).toEqual(['node-1', 'node-2', 'edge-1'].map(gw))
    expect(follow('unstaked-2')).toEqual(['node-2', 'edge-1', 'node-1'].map(gw))
    expect(plan.find((p) => p.node.name === 'unstaked-1')!.env.FULMEN_CONSENSUS).toBe('committee')
    const solo = devnetNodePlan(layout, 'solo').find((p) => p.node.name === 'unstaked-1')!
    expect(solo.env.FULMEN_CONSENSUS).toBe('follow')
    // Run again: the same keys, ports and genesis. A devnet made without them takes them on.
    const again = await prepareDevnet({ dir, nodes: 2, edge: 1, unstaked: 2 })
    expect(again.ports).toEqual(layout.ports)
    expect(genesisHash(again.genesis)).toEqual(genesisHash(layout.genesis))
    const plain = tempDir()
    const before = await prepareDevnet({ dir: plain, nodes: 1, edge: 1 })
    const after = await prepareDevnet({ dir: plain, nodes: 1, edge: 1, unstaked: 1 })
    expect(genesisHash(after.genesis)).toEqual(genesisHash(before.genesis))
    expect(after.ports['node-1']).toEqual(before.ports['node-1'])
    const added = after.ports['unstaked-1']!
    expect(Object.values(before.ports).flatMap((p) => [p.http, p.ws])).not.toContain(added.http)
    const file = JSON.parse(readFileSync(join(plain, 'ports.json'), 'utf8'))
    expect(file.nodes['unstaked-1']).toEqual(added)
  })
})
