/**
 * A trusted checkpoint as a light client's start: the anchor it gives is the handoff's, a client
 * started there reaches the same head as one from genesis by walking only what follows, and
 * anything but one served handoff with the keys it binds is refused with its code; opened over
 * a store, the configured root wins over a head stored from another.
 */
import { describe, expect, test } from 'vitest'
import { checkpointRunToJson, type ServedCheckpoint } from '../checkpoint/checkpoint-codec.ts'
import { CheckpointError } from '../checkpoint/errors.ts'
import { genesisAnchor } from '../checkpoint/genesis-anchor.ts'
import { buildCheckpointChain } from '../checkpoint/testing/checkpoint-fixture.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { testChain } from '../state/testing/chain-fixture.ts'
import { LightClient } from './light-client.ts'
import { saveLightHead } from './light-head-store.ts'
import { chainFromGenesis } from './testing/light-fixture.ts'
import { openTrustedLightClient, trustedCheckpointAnchor } from './trusted-checkpoint.ts'

const chain = buildCheckpointChain({ epochs: 5, committeeSize: 4, poolSize: 7, insidePerEpoch: 1 })
const handoffAt = (i: number) => chain.handoffs[i] as ServedCheckpoint
const itemOf = (served: ServedCheckpoint) => checkpointRunToJson([served]).checkpoints[0]!

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError)
    return (e as CheckpointError).code
  }
  return undefined
}

describe('trustedCheckpointAnchor', () => {
  test('a client started at a trusted handoff reaches the head genesis reaches', () => {
    const fromGenesis = LightClient.fromGenesis(chain.genesis)
    fromGenesis.applyRun(chain.served)
    const trusted = handoffAt(2)
    const anchor = trustedCheckpointAnchor(JSON.stringify(itemOf(trusted)))
    expect(anchor.body).toEqual(trusted.checkpoint.body)
    expect(anchor.committee).toEqual(trusted.committee)
    // Object or text: the same anchor.
    expect(trustedCheckpointAnchor(itemOf(trusted) as never)).toEqual(anchor)
    const later = LightClient.fromGenesis(anchor)
    const at = chain.served.indexOf(trusted)
    later.applyRun(chain.served.slice(at + 1))
    expect(later.state.head).toEqual(fromGenesis.state.head)
    expect(later.state.anchor.hash).toEqual(fromGenesis.state.anchor.hash)
  })

  test('anything else: CHECKPOINT_MALFORMED or CHECKPOINT_WRONG_COMMITTEE', () => {
    const item = itemOf(handoffAt(1))
    const inside = chain.served.find((s) => s.committee === undefined) as ServedCheckpoint
    const keys = item.committee ?? []
    expect(codeOf(() => trustedCheckpointAnchor('{not json'))).toBe('CHECKPOINT_MALFORMED')
    expect(codeOf(() => trustedCheckpointAnchor('null'))).toBe('CHECKPOINT_MALFORMED')
    expect(codeOf(() => trustedCheckpointAnchor('[]'))).toBe('CHECKPOINT_MALFORMED')
    // A checkpoint inside an epoch binds no committee to walk on with.
    expect(codeOf(() => trustedCheckpointAnchor(JSON.stringify(itemOf(inside))))).toBe(
      'CHECKPOINT_MALFORMED',
    )
    expect(
      codeOf(() =>
        trustedCheckpointAnchor(JSON.stringify({ ...item, checkpoint: `${item.checkpoint}00` })),
      ),
    ).toBe('CHECKPOINT_MALFORMED')
    expect(
      codeOf(() =>
        trustedCheckpointAnchor(JSON.stringify({ ...item, committee: [...keys].reverse() })),
      ),
    ).toBe('CHECKPOINT_WRONG_COMMITTEE')
    expect(
      codeOf(() => trustedCheckpointAnchor(JSON.stringify({ ...item, committee: keys.slice(1) }))),
    ).toBe('CHECKPOINT_WRONG_COMMITTEE')
  })
})

describe('openTrustedLightClient', () => {
  test('starts at the trusted handoff, sets aside a head stored from another root, refuses another chain', async () => {
    const real = testChain({ nodeCount: 4 })
    const genesis = await genesisAnchor(real.genesis)
    const served = chainFromGenesis({
      genesis,
      genesisCommittee: real.nodes.map((n) => n.bls),
      epochs: 3,
      rootAt: () => new Uint8Array(32).fill(7),
    })
    const store = new MemoryKvStore()
    // A head stored by a client from genesis.
    const fromGenesis = await openTrustedLightClient(store, real.genesis)
    fromGenesis.applyRun(served.handoffs)
    await saveLightHead(store, fromGenesis)
    expect((await openTrustedLightClient(store, real.genesis)).state.head).toEqual(
      fromGenesis.state.head,
    )
    // Configured with a trusted handoff now: the root is that handoff, the stored head set aside.
    const trusted = served.handoffs[1] as ServedCheckpoint
    const item = itemOf(trusted)
    const client = await openTrustedLightClient(store, real.genesis, item as never)
    expect(client.state.anchor.body).toEqual(trusted.checkpoint.body)
    expect(client.state.head.body).toEqual(trusted.checkpoint.body)
    client.applyRun(served.handoffs.slice(2))
    expect(client.state.head).toEqual(fromGenesis.state.head)
    // Another chain's genesis with this checkpoint: CHECKPOINT_WRONG_CHAIN.
    const other = { ...real.genesis, chainId: real.genesis.chainId + 1 }
    await expect(
      openTrustedLightClient(new MemoryKvStore(), other, JSON.stringify(item)),
    ).rejects.toMatchObject({ code: 'CHECKPOINT_WRONG_CHAIN' })
  })
})
