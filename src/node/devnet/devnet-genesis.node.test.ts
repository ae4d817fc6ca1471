/**
 * A devnet's keys and genesis on disk: what `fulmen devnet start` and `npm start` write before a
 * node runs. The genesis parses and names the keys written; every key file is 0600; a second
 * run reads the same keys and genesis back; a directory made for other nodes is refused.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { StateExecutor } from '../../state/executor.ts'
import { genesisHash, parseGenesis } from '../../state/genesis.ts'
import { readNodeIdentityFile } from '../key-files.ts'
import { DevnetError, prepareDevnet } from './devnet-genesis.ts'

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
})
