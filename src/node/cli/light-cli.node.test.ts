/**
 * `fulmen light sync|verify` as real processes against loopback servers that serve a chain
 * signed from a real genesis file (its nodes' BLS keys sign epoch 0) and a real executor's
 * proofs: the verified head as JSON, failover past a lying node, a forgery or a bad proof with
 * its code and exit 1, and --data keeping the head between runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { genesisAnchor } from '../../checkpoint/genesis-anchor.ts'
import { checkpointRunToJson, type ServedCheckpoint } from '../../checkpoint/index.ts'
import { runFulmen } from '../../devnet/processes.ts'
import {
  chainFromGenesis,
  runFrom,
  type ServedChain,
  servedState,
} from '../../light/testing/light-fixture.ts'
import { type LightHttpServer, serveLightHttp } from '../../light/testing/light-http-server.ts'
import type { StateExecutor } from '../../state/executor.ts'
import { genesisToJson } from '../../state/genesis.ts'
import type { TableName } from '../../state/model.ts'
import { parseTableKey } from '../../state/tables.ts'
import { openTestExecutor, type TestChain, testChain } from '../../state/testing/chain-fixture.ts'

let dir = ''
let chain: TestChain
let executor: StateExecutor
let served: ServedChain & { head: { height: number } }
let honest: LightHttpServer
let liar: LightHttpServer
let flipper: LightHttpServer
let root = ''

const stateRoute =
  (flip: boolean) =>
  async (table: string, keyText: string, height: number): Promise<unknown> => {
    const key = parseTableKey(table as TableName, keyText)
    const answer = await servedState(executor, table as TableName, key, height)
    if (!flip || answer.value === null) return answer
    return {
      ...answer,
      value: `${answer.value.startsWith('a') ? 'b' : 'a'}${answer.value.slice(1)}`,
    }
  }

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-light-cli-'))
  chain = testChain({ nodeCount: 4 })
  writeFileSync(join(dir, 'genesis.json'), genesisToJson(chain.genesis))
  executor = await openTestExecutor(chain)
  const stateRoot = executor.head.stateRoot
  root = bytesToHex(stateRoot)
  served = chainFromGenesis({
    genesis: await genesisAnchor(chain.genesis),
    genesisCommittee: chain.nodes.map((n) => n.bls),
    epochs: 2,
    inside: 2,
    rootAt: () => stateRoot,
  })
  const forged: ServedChain = {
    ...served,
    handoffs: served.handoffs.map((h, i) =>
      i === 1
        ? { ...h, checkpoint: { ...h.checkpoint, body: { ...h.checkpoint.body, height: 201 } } }
        : h,
    ) as ServedCheckpoint[],
  }
  honest = await serveLightHttp({ run: (from) => runFrom(served, from), state: stateRoute(false) })
  liar = await serveLightHttp({ run: (from) => runFrom(forged, from), state: stateRoute(false) })
  flipper = await serveLightHttp({ run: (from) => runFrom(served, from), state: stateRoute(true) })
})

afterAll(async () => {
  await Promise.all([honest, liar, flipper].map((s) => s?.close()))
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

function light(args: readonly string[]) {
  return runFulmen(['light', ...args, '--genesis', join(dir, 'genesis.json')], { cwd: dir })
}

describe('fulmen light', () => {
  test('sync --json prints exactly the verified head', async () => {
    const r = await light(['sync', '--from', honest.url, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({
      epoch: 2,
      height: served.head.height,
      stateRoot: root,
      checkpoints: 3,
    })
  })

  test('a lying node first is passed over; without an honest one: exit 1 and the code', async () => {
    const both = await light(['sync', '--from', liar.url, '--from', honest.url, '--json'])
    expect(both.code).toBe(0)
    expect(JSON.parse(both.stdout)).toMatchObject({ epoch: 2, height: served.head.height })
    const only = await light(['sync', '--from', liar.url])
    expect(only.code).toBe(1)
    expect(only.stdout).toBe('')
    expect(only.stderr).toMatch(/^fulmen: [^\n]*\(LIGHT_NO_SOURCE\)\n$/)
    expect(only.stderr).toMatch(/CHECKPOINT_SIGNATURE/)
  })

  test('verify prints the proven entry; a bad proof exits 1 with LIGHT_PROOF_INVALID', async () => {
    const alice = `0x${bytesToHex(chain.alice.address)}`
    const r = await light(['verify', 'account', alice, '--from', honest.url])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({
      table: 'accounts',
      key: bytesToHex(chain.alice.address),
      epoch: 2,
      height: served.head.height,
      root,
      verified: true,
      entry: { flk: (1000n * 10n ** 18n).toString(), nonce: 0 },
    })
    const absent = await light(['verify', 'accounts', `0x${'ee'.repeat(20)}`, '--from', honest.url])
    expect(JSON.parse(absent.stdout)).toMatchObject({ value: null, entry: null, verified: true })
    const bad = await light(['verify', 'account', alice, '--from', flipper.url])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/LIGHT_PROOF_INVALID/)
    const node = await light([
      'verify',
      'node',
      bytesToHex(chain.nodes[0]!.key),
      '--from',
      honest.url,
    ])
    expect(JSON.parse(node.stdout).entry.staked).toBe((2000n * 10n ** 18n).toString())
  })

  test('--data keeps the verified head: the next run starts from the stored handoff', async () => {
    const data = join(dir, 'light-data')
    const first = await light(['sync', '--from', honest.url, '--data', data, '--json'])
    expect(first.code).toBe(0)
    expect(JSON.parse(first.stdout).checkpoints).toBe(3)
    const asked = honest.requests.length
    const second = await light(['sync', '--from', honest.url, '--data', data, '--json'])
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ epoch: 2, checkpoints: 0 })
    expect(honest.requests.slice(asked)).toEqual(['/chain/checkpoints?from=2'])
  })

  test('--checkpoint starts at a trusted handoff: the walk asks from its epoch, verifies the rest', async () => {
    const item = checkpointRunToJson([served.handoffs[0] as ServedCheckpoint]).checkpoints[0]
    const file = join(dir, 'trusted.json')
    writeFileSync(file, JSON.stringify(item))
    const asked = honest.requests.length
    const r = await light(['sync', '--from', honest.url, '--checkpoint', file, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // The second handoff and the newest checkpoint: the first one was trusted, not walked.
    expect(JSON.parse(r.stdout)).toEqual({
      epoch: 2,
      height: served.head.height,
      stateRoot: root,
      checkpoints: 2,
    })
    expect(honest.requests[asked]).toBe('/chain/checkpoints?from=1')
    // A liar cannot move a client that starts there either.
    const lied = await light(['sync', '--from', liar.url, '--checkpoint', file])
    expect(lied.code).toBe(1)
    // Bytes that are no handoff, and keys that are not the committee it binds: typed, exit 1.
    writeFileSync(file, JSON.stringify({ checkpoint: item?.checkpoint }))
    const noCommittee = await light(['sync', '--from', honest.url, '--checkpoint', file])
    expect(noCommittee.code).toBe(1)
    expect(noCommittee.stderr).toMatch(/CHECKPOINT_MALFORMED/)
    writeFileSync(
      file,
      JSON.stringify({ ...item, committee: [...(item?.committee ?? [])].reverse() }),
    )
    const wrongKeys = await light(['sync', '--from', honest.url, '--checkpoint', file])
    expect(wrongKeys.code).toBe(1)
    expect(wrongKeys.stderr).toMatch(/CHECKPOINT_WRONG_COMMITTEE/)
    // Another chain's handoff.
    const other = chainFromGenesis({
      genesis: {
        ...(await genesisAnchor(chain.genesis)),
        body: { ...(await genesisAnchor(chain.genesis)).body, chainId: 999 },
      },
      genesisCommittee: chain.nodes.map((n) => n.bls),
      epochs: 1,
      rootAt: () => new Uint8Array(32),
    })
    writeFileSync(file, JSON.stringify(checkpointRunToJson(other.handoffs).checkpoints[0]))
    const otherChain = await light(['sync', '--from', honest.url, '--checkpoint', file])
    expect(otherChain.code).toBe(1)
    expect(otherChain.stderr).toMatch(/chain 999.*CHECKPOINT_WRONG_CHAIN/)
  })

  test('usage errors exit 2', async () => {
    for (const args of [['sync'], ['verify', 'account', '--from', honest.url], ['frob']]) {
      const r = await light(args)
      expect(r.code).toBe(2)
    }
    const none = await runFulmen(['light', 'sync', '--from', honest.url], { cwd: dir })
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/missing --genesis/)
  })
})
