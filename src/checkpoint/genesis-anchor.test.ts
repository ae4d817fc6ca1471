/**
 * The genesis anchor: computed from a genesis file alone, it is the genesis checkpoint of the
 * state every node opens (same root), binding the genesis committee's BLS keys in member order,
 * and the first checkpoint of a chain signed by that committee checks against it.
 */
import { describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { StateExecutor } from '../state/executor.ts'
import type { Genesis } from '../state/model.ts'
import { CHAIN_ID, testChain } from '../state/testing/chain-fixture.ts'
import { checkpointHash, committeeKeysHash, genesisCheckpoint } from './checkpoint.ts'
import { checkNextCheckpoint } from './checkpoint-chain.ts'
import { genesisAnchor } from './genesis-anchor.ts'
import { signByCommittee } from './testing/checkpoint-fixture.ts'

describe('genesisAnchor', () => {
  const chain = testChain({ nodeCount: 4 })
  // The committee in another order than the nodes are listed: member order is the committee's.
  const order = [2, 0, 3, 1]
  const genesis: Genesis = {
    ...chain.genesis,
    committee: order.map((i) => chain.nodes[i]?.key as Uint8Array),
  }
  const blsKeys = order.map((i) => chain.nodes[i]?.bls.publicKey as Uint8Array)

  test("is epoch 0, height 0, the executor's genesis root and the committee keys in member order", async () => {
    const anchor = await genesisAnchor(genesis)
    const executor = await StateExecutor.open(new MemoryKvStore(), genesis)
    expect(executor.head.height).toBe(0)
    expect(anchor.body).toEqual(genesisCheckpoint(CHAIN_ID, executor.head.stateRoot, blsKeys))
    expect(anchor.body.chainId).toBe(CHAIN_ID)
    expect(anchor.body.epoch).toBe(0)
    expect(anchor.body.height).toBe(0)
    expect(anchor.body.stateRoot).toEqual(executor.head.stateRoot)
    expect(anchor.body.previous).toEqual(new Uint8Array(32))
    expect(anchor.committee).toEqual(blsKeys)
    expect(anchor.body.nextCommittee).toEqual(committeeKeysHash(blsKeys))
    expect(anchor.hash).toEqual(checkpointHash(anchor.body))
  })

  test('depends on the genesis file: another committee order or chain id is another anchor', async () => {
    const anchor = await genesisAnchor(genesis)
    const listed = await genesisAnchor(chain.genesis)
    expect(listed.committee).toEqual(chain.nodes.map((n) => n.bls.publicKey))
    expect(listed.body.nextCommittee).not.toEqual(anchor.body.nextCommittee)
    expect(listed.body.stateRoot).not.toEqual(anchor.body.stateRoot) // the committee is state
    const other = await genesisAnchor({ ...genesis, chainId: CHAIN_ID + 1 })
    expect(other.hash).not.toEqual(anchor.hash)
    // The same file gives the same anchor (every client computes it alike).
    expect((await genesisAnchor(genesis)).hash).toEqual(anchor.hash)
  })

  test('checks the first checkpoint signed by the genesis committee', async () => {
    const anchor = await genesisAnchor(genesis)
    const committee = order.map(
      (i) => chain.nodes[i]?.bls as { secretKey: Uint8Array; publicKey: Uint8Array },
    )
    const body = {
      ...anchor.body,
      height: 32,
      stateRoot: new Uint8Array(32).fill(7),
      previous: anchor.hash,
    }
    expect(checkNextCheckpoint(anchor, signByCommittee(committee, body)).kind).toBe('head')
    // Signed by the same keys in the listed order, the bitfield names the wrong members.
    const listed = chain.nodes.map((n) => n.bls)
    expect(() => checkNextCheckpoint(anchor, signByCommittee(listed, body, [0, 1, 2]))).toThrow(
      /does not verify/,
    )
  })
})
