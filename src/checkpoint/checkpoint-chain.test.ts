/**
 * Checking checkpoints from the last trusted handoff, on synthetic chains signed with real BLS
 * keys (testing/checkpoint-fixture.ts): a walk from genesis accepts every handoff and every
 * checkpoint inside an epoch; each forgery is refused with its CheckpointError code and
 * establishes nothing. Committees are small (4 and 7): BLS costs milliseconds per operation.
 */
import { describe, expect, test } from 'vitest'
import { signerBitfield } from '../consensus/dag/narwhal-messages.ts'
import {
  type CheckpointBody,
  checkpointHash,
  committeeKeysHash,
  type SignedCheckpoint,
} from './checkpoint.ts'
import {
  type CheckpointAnchor,
  type CheckpointStep,
  checkNextCheckpoint,
  trustedAnchor,
} from './checkpoint-chain.ts'
import {
  checkpointRunFromJson,
  checkpointRunToJson,
  type ServedCheckpoint,
} from './checkpoint-codec.ts'
import { CheckpointError, type CheckpointErrorCode } from './errors.ts'
import {
  buildCheckpointChain,
  type CheckpointChainFixture,
  type FixtureKey,
  fixtureKeys,
  signByCommittee,
} from './testing/checkpoint-fixture.ts'

const keysOf = (c: readonly FixtureKey[]) => c.map((k) => k.publicKey)

/** Walks `served` from `anchor`; returns the steps, in order. */
function walk(anchor: CheckpointAnchor, served: readonly ServedCheckpoint[]): CheckpointStep[] {
  const steps: CheckpointStep[] = []
  let at = anchor
  for (const { checkpoint, committee } of served) {
    const step = checkNextCheckpoint(at, checkpoint, committee)
    steps.push(step)
    if (step.kind === 'handoff') at = step.anchor
  }
  return steps
}

/** `f` throws a CheckpointError of `code` (and so returns nothing). */
function refused(code: CheckpointErrorCode, f: () => unknown): void {
  let result: unknown
  let error: unknown
  try {
    result = f()
  } catch (e) {
    error = e
  }
  expect(result).toBeUndefined()
  expect(error).toBeInstanceOf(CheckpointError)
  expect((error as CheckpointError).code).toBe(code)
}

// Built once: 3 epochs of a 4-member committee, 2 checkpoints inside each epoch before its handoff.
const four = buildCheckpointChain({ epochs: 3, committeeSize: 4, insidePerEpoch: 2 })

/** The served checkpoint of `epoch` (the epoch it is inside of) and `index` (2: the handoff). */
function servedAt(chain: CheckpointChainFixture, epoch: number, index: number): ServedCheckpoint {
  return chain.served[epoch * 3 + index] as ServedCheckpoint
}

/** The anchor after the handoff into `epoch` (0: genesis). */
function anchorOf(chain: CheckpointChainFixture, epoch: number): CheckpointAnchor {
  if (epoch === 0) return chain.genesis
  const { checkpoint, committee } = chain.handoffs[epoch - 1] as ServedCheckpoint
  return trustedAnchor(checkpoint.body, committee as readonly Uint8Array[])
}

describe('a walk from genesis', () => {
  test('accepts every handoff and every checkpoint inside an epoch (n = 4)', () => {
    const steps = walk(four.genesis, four.served)
    expect(steps.map((s) => s.kind)).toEqual([
      ...['head', 'head', 'handoff'],
      ...['head', 'head', 'handoff'],
      ...['head', 'head', 'handoff'],
    ])
    // Each handoff becomes the anchor: its body, hash and the next committee's keys.
    const handoffs = steps.filter((s) => s.kind === 'handoff')
    handoffs.forEach((s, i) => {
      const served = four.handoffs[i] as ServedCheckpoint
      expect(s.anchor.body).toEqual(served.checkpoint.body)
      expect(s.anchor.hash).toEqual(checkpointHash(served.checkpoint.body))
      expect(s.anchor.committee).toEqual(keysOf(four.committees[i + 1] as FixtureKey[]))
      expect(s.anchor.body.epoch).toBe(i + 1)
    })
    for (const s of steps) {
      if (s.kind === 'head') expect(s.hash).toEqual(checkpointHash(s.body))
    }
    // The handoffs alone are the walk of a client that wants only the latest committee.
    expect(walk(four.genesis, four.handoffs).map((s) => s.kind)).toEqual([
      'handoff',
      'handoff',
      'handoff',
    ])
  })

  test('accepts the same run after it travelled as JSON', () => {
    const run = checkpointRunFromJson(JSON.parse(JSON.stringify(checkpointRunToJson(four.served))))
    expect(walk(four.genesis, run)).toHaveLength(9)
  })

  test('accepts committees of 7 drawn from a pool (keys repeat across epochs)', () => {
    const seven = buildCheckpointChain({
      epochs: 2,
      committeeSize: 7,
      poolSize: 10,
      insidePerEpoch: 1,
      chainId: 11,
    })
    // Distinct members within an epoch, shared ones across epochs.
    const hex = (k: FixtureKey) => k.publicKey.join()
    const [e0, e1] = seven.committees.map((c) => new Set(c.map(hex))) as Set<string>[]
    expect(e0?.size).toBe(7)
    expect(e1?.size).toBe(7)
    expect([...(e0 as Set<string>)].some((k) => e1?.has(k))).toBe(true)
    const steps = walk(seven.genesis, seven.served)
    expect(steps.map((s) => s.kind)).toEqual(['head', 'handoff', 'head', 'handoff'])
  })

  test('a checkpoint inside an epoch is checked from its handoff, whatever came before it', () => {
    // The latest inside checkpoint of epoch 2, straight from the anchor of epoch 2.
    const anchor = anchorOf(four, 2)
    const latest = servedAt(four, 2, 1)
    expect(checkNextCheckpoint(anchor, latest.checkpoint).kind).toBe('head')
    // A head does not move the anchor: the earlier inside checkpoint still checks after it.
    expect(checkNextCheckpoint(anchor, servedAt(four, 2, 0).checkpoint).kind).toBe('head')
  })
})

describe('forgeries', () => {
  const genesis = four.genesis
  const c0 = four.committees[0] as FixtureKey[]
  const c1 = four.committees[1] as FixtureKey[]
  const handoff1 = four.handoffs[0] as ServedCheckpoint
  const inside0 = servedAt(four, 0, 0).checkpoint
  const anchor1 = anchorOf(four, 1)

  /** `body` changed by `edit`, signed properly by `committee` (only the edit is wrong). */
  const resigned = (
    body: CheckpointBody,
    edit: Partial<CheckpointBody>,
    committee: readonly FixtureKey[] = c0,
  ): SignedCheckpoint => signByCommittee(committee, { ...body, ...edit })

  test('of another chain: CHECKPOINT_WRONG_CHAIN', () => {
    refused('CHECKPOINT_WRONG_CHAIN', () =>
      checkNextCheckpoint(genesis, resigned(inside0.body, { chainId: 8 })),
    )
    refused('CHECKPOINT_WRONG_CHAIN', () =>
      checkNextCheckpoint(
        genesis,
        resigned(handoff1.checkpoint.body, { chainId: 6 }),
        handoff1.committee,
      ),
    )
  })

  test('not following the anchor: CHECKPOINT_GAP', () => {
    // Another previous hash.
    refused('CHECKPOINT_GAP', () =>
      checkNextCheckpoint(
        genesis,
        resigned(inside0.body, { previous: new Uint8Array(32).fill(9) }),
      ),
    )
    // A skipped handoff: the handoff into epoch 2 straight after genesis.
    const handoff2 = four.handoffs[1] as ServedCheckpoint
    refused('CHECKPOINT_GAP', () =>
      checkNextCheckpoint(genesis, handoff2.checkpoint, handoff2.committee),
    )
    // The same, re-signed by genesis's committee and following genesis, but two epochs on.
    refused('CHECKPOINT_GAP', () =>
      checkNextCheckpoint(
        genesis,
        resigned(handoff1.checkpoint.body, { epoch: 2 }),
        handoff1.committee,
      ),
    )
    // An epoch behind the anchor.
    refused('CHECKPOINT_GAP', () =>
      checkNextCheckpoint(
        anchor1,
        resigned(inside0.body, { epoch: 0, height: 150, previous: anchor1.hash }, c1),
      ),
    )
    // A height not above the anchor's (equal, below).
    for (const height of [anchor1.body.height, anchor1.body.height - 1]) {
      refused('CHECKPOINT_GAP', () =>
        checkNextCheckpoint(
          anchor1,
          resigned(servedAt(four, 1, 0).checkpoint.body, { height }, c1),
        ),
      )
    }
    // A replayed checkpoint of the epoch before the anchor.
    refused('CHECKPOINT_GAP', () => checkNextCheckpoint(anchor1, inside0))
  })

  test('the wrong committee: CHECKPOINT_WRONG_COMMITTEE', () => {
    const { checkpoint } = handoff1
    // A handoff with other keys than it binds, in another order, or none.
    refused('CHECKPOINT_WRONG_COMMITTEE', () =>
      checkNextCheckpoint(genesis, checkpoint, keysOf(c0)),
    )
    refused('CHECKPOINT_WRONG_COMMITTEE', () =>
      checkNextCheckpoint(genesis, checkpoint, [...keysOf(c1)].reverse()),
    )
    refused('CHECKPOINT_WRONG_COMMITTEE', () =>
      checkNextCheckpoint(genesis, checkpoint, keysOf(c1).slice(1)),
    )
    refused('CHECKPOINT_WRONG_COMMITTEE', () => checkNextCheckpoint(genesis, checkpoint))
    // A checkpoint inside epoch 0 naming another committee than epoch 0's.
    refused('CHECKPOINT_WRONG_COMMITTEE', () =>
      checkNextCheckpoint(
        genesis,
        resigned(inside0.body, { nextCommittee: committeeKeysHash(keysOf(c1)) }),
      ),
    )
  })

  test('too few signers: CHECKPOINT_QUORUM (3 of 4, 5 of 7 needed)', () => {
    refused('CHECKPOINT_QUORUM', () =>
      checkNextCheckpoint(genesis, signByCommittee(c0, inside0.body, [0, 1])),
    )
    refused('CHECKPOINT_QUORUM', () =>
      checkNextCheckpoint(genesis, signByCommittee(c0, inside0.body, [3])),
    )
    // The quorum itself is enough, with any members.
    expect(checkNextCheckpoint(genesis, signByCommittee(c0, inside0.body, [1, 2, 3])).kind).toBe(
      'head',
    )
    expect(checkNextCheckpoint(genesis, signByCommittee(c0, inside0.body, [0, 1, 2, 3])).kind).toBe(
      'head',
    )

    const seven = buildCheckpointChain({ epochs: 1, committeeSize: 7, insidePerEpoch: 1 })
    const s0 = seven.committees[0] as FixtureKey[]
    const body = (seven.served[0] as ServedCheckpoint).checkpoint.body
    refused('CHECKPOINT_QUORUM', () =>
      checkNextCheckpoint(seven.genesis, signByCommittee(s0, body, [0, 2, 4, 6])),
    )
    expect(
      checkNextCheckpoint(seven.genesis, signByCommittee(s0, body, [0, 2, 3, 4, 6])).kind,
    ).toBe('head')
  })

  test('a signature that does not verify: CHECKPOINT_SIGNATURE', () => {
    // A valid aggregate, of another body.
    const other = servedAt(four, 0, 1).checkpoint
    refused('CHECKPOINT_SIGNATURE', () =>
      checkNextCheckpoint(genesis, { ...inside0, signature: other.signature }),
    )
    // The same body signed by keys that are not the committee's (same signer bits).
    const strangers = fixtureKeys(4, 999)
    refused('CHECKPOINT_SIGNATURE', () =>
      checkNextCheckpoint(genesis, signByCommittee(strangers, inside0.body)),
    )
    // The body altered after signing: another state root, height or epoch.
    refused('CHECKPOINT_SIGNATURE', () =>
      checkNextCheckpoint(genesis, {
        ...inside0,
        body: { ...inside0.body, stateRoot: new Uint8Array(32).fill(0xee) },
      }),
    )
    refused('CHECKPOINT_SIGNATURE', () =>
      checkNextCheckpoint(genesis, {
        ...inside0,
        body: { ...inside0.body, height: inside0.body.height + 1 },
      }),
    )
    // Signers claimed that did not sign: the bitfield names 0, 1, 3, the aggregate is of 0, 1, 2.
    refused('CHECKPOINT_SIGNATURE', () =>
      checkNextCheckpoint(genesis, { ...inside0, signers: signerBitfield([0, 1, 3]) }),
    )
  })

  test("signed by the next committee instead of the anchor's: refused", () => {
    // The handoff into epoch 1 signed by epoch 1's committee (the one it hands over to).
    refused('CHECKPOINT_SIGNATURE', () =>
      checkNextCheckpoint(
        genesis,
        signByCommittee(c1, handoff1.checkpoint.body),
        handoff1.committee,
      ),
    )
    // A checkpoint inside epoch 1 signed by epoch 2's committee.
    const c2 = four.committees[2] as FixtureKey[]
    refused('CHECKPOINT_SIGNATURE', () =>
      checkNextCheckpoint(anchor1, signByCommittee(c2, servedAt(four, 1, 0).checkpoint.body)),
    )
  })

  test('a bitfield or signature that is not one: CHECKPOINT_MALFORMED', () => {
    // A bit past the committee (member 4 of 4), with a quorum of real signers before it.
    refused('CHECKPOINT_MALFORMED', () =>
      checkNextCheckpoint(genesis, { ...inside0, signers: signerBitfield([0, 1, 2, 4]) }),
    )
    refused('CHECKPOINT_MALFORMED', () =>
      checkNextCheckpoint(genesis, { ...inside0, signers: signerBitfield([0, 1, 2, 8]) }),
    )
    refused('CHECKPOINT_MALFORMED', () =>
      checkNextCheckpoint(genesis, { ...inside0, signers: new Uint8Array([0x07, 0]) }),
    )
    refused('CHECKPOINT_MALFORMED', () =>
      checkNextCheckpoint(genesis, { ...inside0, signers: new Uint8Array(0) }),
    )
    // 48 bytes that are not a G1 point.
    refused('CHECKPOINT_MALFORMED', () =>
      checkNextCheckpoint(genesis, { ...inside0, signature: new Uint8Array(48).fill(0xff) }),
    )
  })

  test('an anchor whose committee key is not a curve point: CHECKPOINT_MALFORMED', () => {
    // A trusted body binding a committee with one 96-byte key that is no G2 point.
    const keys = [...keysOf(c0).slice(0, 3), new Uint8Array(96)]
    const body = { ...genesis.body, nextCommittee: committeeKeysHash(keys) }
    const anchor = trustedAnchor(body, keys)
    const inside = signByCommittee(
      c0,
      {
        ...inside0.body,
        previous: anchor.hash,
        nextCommittee: body.nextCommittee,
      },
      [0, 1, 3],
    )
    refused('CHECKPOINT_MALFORMED', () => checkNextCheckpoint(anchor, inside))
  })
})

describe('trustedAnchor', () => {
  test('refuses keys that are not the ones the body binds', () => {
    const { body, committee } = four.genesis
    expect(trustedAnchor(body, committee).hash).toEqual(checkpointHash(body))
    refused('CHECKPOINT_WRONG_COMMITTEE', () =>
      trustedAnchor(body, keysOf(four.committees[1] as FixtureKey[])),
    )
    refused('CHECKPOINT_WRONG_COMMITTEE', () => trustedAnchor(body, [...committee].reverse()))
    refused('CHECKPOINT_WRONG_COMMITTEE', () => trustedAnchor(body, committee.slice(0, 3)))
    refused('CHECKPOINT_WRONG_COMMITTEE', () => trustedAnchor(body, []))
  })
})
