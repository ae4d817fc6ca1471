/**
 * The light client's state machine: from genesis to the head of a signed checkpoint chain;
 * every forged checkpoint refused with its code, leaving the client as of the last good one;
 * state entries believed only with a proof against the head's root. Isomorphic (node and
 * chromium projects).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  type CheckpointBody,
  CheckpointError,
  type CheckpointErrorCode,
  checkpointRunFromJson,
  decodeSignedCheckpoint,
  encodeSignedCheckpoint,
  type ServedCheckpoint,
} from '../checkpoint/index.ts'
import {
  buildCheckpointChain,
  type CheckpointChainFixture,
  fixtureKeys,
  signByCommittee,
} from '../checkpoint/testing/checkpoint-fixture.ts'
import type { StateExecutor } from '../state/executor.ts'
import { tableKeys } from '../state/tables.ts'
import { openTestExecutor, type TestChain, testChain } from '../state/testing/chain-fixture.ts'
import { LightError, type LightErrorCode } from './errors.ts'
import { LightClient } from './light-client.ts'
import { runFrom, type ServedChain, servedChainOf, servedState } from './testing/light-fixture.ts'

let chain: TestChain
let executor: StateExecutor
let other: StateExecutor
let fixture: CheckpointChainFixture
let served: ServedChain
let root: Uint8Array

beforeAll(async () => {
  chain = testChain({ nodeCount: 1 })
  executor = await openTestExecutor(chain)
  other = await openTestExecutor(testChain({ nodeCount: 2 }))
  root = executor.head.stateRoot
  fixture = buildCheckpointChain({
    epochs: 4,
    committeeSize: 4,
    insidePerEpoch: 2,
    stateRootAt: () => root,
    genesisRoot: root,
  })
  // Handoffs into epochs 1..3, then the newest checkpoint inside epoch 3.
  served = servedChainOf(fixture, 3)
})

const fresh = () => LightClient.fromGenesis(fixture.genesis)

function expectCode(f: () => unknown, code: CheckpointErrorCode | LightErrorCode): void {
  let thrown: unknown
  try {
    f()
  } catch (e) {
    thrown = e
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(Error)
  expect(thrown instanceof CheckpointError || thrown instanceof LightError).toBe(true)
  expect((thrown as CheckpointError).code).toBe(code)
}

/** What a client shows of itself, to compare before and after a refusal. */
const snapshot = (c: LightClient) => ({
  anchor: bytesToHex(c.anchor.hash),
  head: bytesToHex(c.head.hash),
  epoch: c.epoch,
  height: c.height,
})

const withBody = (s: ServedCheckpoint, change: Partial<CheckpointBody>): ServedCheckpoint => ({
  ...s,
  checkpoint: { ...s.checkpoint, body: { ...s.checkpoint.body, ...change } },
})

describe('walking the chain', () => {
  test('a client from genesis reaches the served head: every handoff, then the tail', () => {
    const client = fresh()
    expect(client.epoch).toBe(0)
    expect(client.height).toBe(0)
    const result = client.applyRun(runFrom(served, 0))
    expect(result).toEqual({ applied: 4, handoffs: 3 })
    const tail = served.tail?.checkpoint.body as CheckpointBody
    expect(client.anchor.body.epoch).toBe(3)
    expect(client.epoch).toBe(3)
    expect(client.height).toBe(tail.height)
    expect(client.height).toBeGreaterThan(client.anchor.body.height)
    expect(client.stateRoot).toEqual(tail.stateRoot)
    expect(client.verified).toBe(4)
    // Asked again from its anchor, the same tail leaves it where it is.
    expect(client.applyRun(runFrom(served, 3))).toEqual({ applied: 1, handoffs: 0 })
    expect(client.height).toBe(tail.height)
  })

  test('runs of one item at a time reach the same head', () => {
    const client = fresh()
    for (;;) {
      const run = runFrom(served, client.anchor.body.epoch, 1)
      if (client.applyRun(run).handoffs === 0) break
    }
    expect(client.applyRun(runFrom(served, 3))).toEqual({ applied: 1, handoffs: 0 })
    expect(client.height).toBe(served.tail?.checkpoint.body.height)
  })

  test('checkpoints inside the epoch: increasing inside a run; an older one from a later run leaves the head', () => {
    const inside = fixture.served.filter(
      (s) => s.committee === undefined && s.checkpoint.body.epoch === 1,
    )
    expect(inside).toHaveLength(2)
    const [first, second] = inside as [ServedCheckpoint, ServedCheckpoint]
    const handoff = fixture.handoffs[0] as ServedCheckpoint
    const client = fresh()
    client.applyRun([handoff])
    const before = snapshot(client)
    expectCode(() => client.applyRun([second, first]), 'CHECKPOINT_GAP')
    // The first item was good: the head moved to it, the anchor stayed.
    expect(client.height).toBe(second.checkpoint.body.height)
    expect(bytesToHex(client.anchor.hash)).toBe(before.anchor)
    expectCode(() => fresh().applyRun([handoff, first, first]), 'CHECKPOINT_GAP')
    // A source behind another: its older checkpoint verifies, and the head stays.
    expect(client.applyRun([first])).toEqual({ applied: 1, handoffs: 0 })
    expect(client.height).toBe(second.checkpoint.body.height)
  })
})

describe('forgeries are refused with their code, the client as of the last good item', () => {
  const cases: [string, () => ServedCheckpoint[], CheckpointErrorCode][] = [
    [
      'an altered state root (the signature no longer verifies)',
      () => [withBody(served.handoffs[0] as ServedCheckpoint, { stateRoot: new Uint8Array(32) })],
      'CHECKPOINT_SIGNATURE',
    ],
    [
      'a forged aggregate (signed by keys that are not the committee)',
      () => {
        const h = served.handoffs[0] as ServedCheckpoint
        return [{ ...h, checkpoint: signByCommittee(fixtureKeys(4, 99), h.checkpoint.body) }]
      },
      'CHECKPOINT_SIGNATURE',
    ],
    [
      'signers below the quorum',
      () => {
        const h = served.handoffs[0] as ServedCheckpoint
        const committee = fixture.committees[0] as NonNullable<(typeof fixture.committees)[0]>
        return [{ ...h, checkpoint: signByCommittee(committee, h.checkpoint.body, [0, 1]) }]
      },
      'CHECKPOINT_QUORUM',
    ],
    [
      'wrong committee keys with a handoff',
      () => {
        const h = served.handoffs[0] as ServedCheckpoint
        return [{ ...h, committee: fixtureKeys(4, 77).map((k) => k.publicKey) }]
      },
      'CHECKPOINT_WRONG_COMMITTEE',
    ],
    [
      'a handoff without its committee',
      () => [{ checkpoint: (served.handoffs[0] as ServedCheckpoint).checkpoint }],
      'CHECKPOINT_WRONG_COMMITTEE',
    ],
    ['a skipped handoff', () => [served.handoffs[1] as ServedCheckpoint], 'CHECKPOINT_GAP'],
    [
      'a wrong previous hash',
      () => [withBody(served.handoffs[0] as ServedCheckpoint, { previous: new Uint8Array(32) })],
      'CHECKPOINT_GAP',
    ],
    [
      'a checkpoint two epochs on',
      () => [withBody(served.handoffs[0] as ServedCheckpoint, { epoch: 2 })],
      'CHECKPOINT_GAP',
    ],
    [
      'another chain id',
      () => [withBody(served.handoffs[0] as ServedCheckpoint, { chainId: 8 })],
      'CHECKPOINT_WRONG_CHAIN',
    ],
  ]

  test.each(cases)('%s: first in the run, nothing changes', (_, run, code) => {
    const client = fresh()
    const before = snapshot(client)
    expectCode(() => client.applyRun(run()), code)
    expect(snapshot(client)).toEqual(before)
    expect(client.verified).toBe(0)
    // And the honest run still takes it to the head afterwards.
    client.applyRun(runFrom(served, 0))
    expect(client.height).toBe(served.tail?.checkpoint.body.height)
  })

  test('a forged item after good ones: the good ones stay applied', () => {
    const client = fresh()
    const forged = withBody(served.handoffs[1] as ServedCheckpoint, {
      stateRoot: new Uint8Array(32).fill(9),
    })
    expectCode(
      () => client.applyRun([served.handoffs[0] as ServedCheckpoint, forged]),
      'CHECKPOINT_SIGNATURE',
    )
    expect(client.anchor.body.epoch).toBe(1)
    expect(client.verified).toBe(1)
    expect(client.applyRun(runFrom(served, 1)).handoffs).toBe(2)
  })

  test('malformed JSON runs are CHECKPOINT_MALFORMED', () => {
    for (const json of [null, {}, { checkpoints: 'x' }, { checkpoints: [{ checkpoint: 'zz' }] }]) {
      expectCode(() => checkpointRunFromJson(json), 'CHECKPOINT_MALFORMED')
    }
  })

  test('any single-byte mutation of a served handoff or of its committee keys is refused', () => {
    const handoff = served.handoffs[0] as ServedCheckpoint
    const bytes = encodeSignedCheckpoint(handoff.checkpoint)
    const keys = handoff.committee as readonly Uint8Array[]
    fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), (inKeys, at, delta) => {
        const client = fresh()
        let item: ServedCheckpoint
        if (inKeys) {
          const k = at % keys.length
          const key = (keys[k] as Uint8Array).slice()
          const i = Math.floor(at / keys.length) % key.length
          key[i] = ((key[i] as number) + delta) & 0xff
          item = { ...handoff, committee: keys.map((x, j) => (j === k ? key : x)) }
        } else {
          const mutated = bytes.slice()
          const i = at % mutated.length
          mutated[i] = ((mutated[i] as number) + delta) & 0xff
          try {
            item = { ...handoff, checkpoint: decodeSignedCheckpoint(mutated) }
          } catch (e) {
            expect((e as CheckpointError).code).toBe('CHECKPOINT_MALFORMED')
            return
          }
        }
        expect(() => client.applyRun([item])).toThrow(CheckpointError)
        expect(client.verified).toBe(0)
        expect(client.height).toBe(0)
      }),
      { numRuns: 120 },
    )
  })
})

describe('state entries against the head', () => {
  let client: LightClient
  beforeAll(() => {
    client = fresh()
    client.applyRun(runFrom(served, 0))
  })

  test('a proven entry decodes; a proven absence is undefined', async () => {
    const key = chain.alice.address
    const answer = await servedState(executor, 'accounts', key, client.height)
    const entry = client.verifyEntry('accounts', key, answer)
    expect(entry).toEqual(await executor.account(key))
    const nobody = new Uint8Array(20).fill(0xee)
    const absent = await servedState(executor, 'accounts', nobody, client.height)
    expect(absent.value).toBeNull()
    expect(client.verifyEntry('accounts', nobody, absent)).toBeUndefined()
    const committee = await servedState(
      executor,
      'committees',
      tableKeys.committee(0),
      client.height,
    )
    expect(client.verifyEntry('committees', tableKeys.committee(0), committee)?.members).toEqual(
      chain.genesis.committee,
    )
  })

  test('a flipped value, a proof of another root, another height: refused', async () => {
    const key = chain.alice.address
    const answer = await servedState(executor, 'accounts', key, client.height)
    const value = answer.value as string
    const flipped = `${value.slice(0, -2)}${value.endsWith('00') ? '01' : '00'}`
    expectCode(
      () => client.verifyEntry('accounts', key, { ...answer, value: flipped }),
      'LIGHT_PROOF_INVALID',
    )
    expectCode(
      () => client.verifyEntry('accounts', key, { ...answer, value: null }),
      'LIGHT_PROOF_INVALID',
    )
    const elsewhere = await servedState(other, 'accounts', key, client.height)
    expect(elsewhere.root).not.toBe(answer.root)
    expectCode(() => client.verifyEntry('accounts', key, elsewhere), 'LIGHT_WRONG_ROOT')
    // The other root's proof labelled with the head's root does not prove it either.
    expectCode(
      () => client.verifyEntry('accounts', key, { ...elsewhere, root: answer.root }),
      'LIGHT_PROOF_INVALID',
    )
    expectCode(
      () => client.verifyEntry('accounts', key, { ...answer, height: client.height - 1 }),
      'LIGHT_WRONG_ROOT',
    )
    expectCode(
      () => client.verifyEntry('accounts', key, { ...answer, proof: `${answer.proof}00` }),
      'LIGHT_PROOF_INVALID',
    )
  })

  test('answers that are not served entries of the key asked are LIGHT_MALFORMED', async () => {
    const key = chain.alice.address
    const answer = await servedState(executor, 'accounts', key, client.height)
    for (const bad of [
      null,
      'x',
      { ...answer, table: 'nodes' },
      { ...answer, key: bytesToHex(chain.bob.address) },
      { ...answer, root: 'zz' },
      { ...answer, proof: 'ABCD' },
      { ...answer, value: 7 },
      { ...answer, height: '5' },
    ]) {
      expectCode(() => client.verifyEntry('accounts', key, bad), 'LIGHT_MALFORMED')
    }
  })
})
