/**
 * The checkpoint body: its canonical DAG-CBOR and the checks on its fields, its hash (every
 * field bound), the committee keys hash (member order bound), the genesis checkpoint, which
 * blocks get a checkpoint, and the separation of checkpoint signatures from block attestations.
 */
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { deriveKey } from '../b3/hash.ts'
import {
  BLOCK_ATTESTATION_DST,
  signBlockHash,
  verifyAttestedHash,
  verifyBlockHashSignature,
} from '../consensus/attestation/block-attestation.ts'
import { signerBitfield } from '../consensus/dag/narwhal-messages.ts'
import { executedBlockOf } from '../state/block.ts'
import type { ChainEvent, ExecutedBlock, Receipt } from '../state/model.ts'
import { makeBlsKey } from '../state/transaction.ts'
import {
  CHECKPOINT_DST,
  CHECKPOINT_INTERVAL,
  type CheckpointBody,
  changesEpoch,
  checkpointHash,
  checkpointKindOf,
  committeeKeysHash,
  encodeCheckpointBody,
  genesisCheckpoint,
  signCheckpoint,
} from './checkpoint.ts'
import { verifyCheckpointSignature } from './checkpoint-chain.ts'
import { CheckpointError } from './errors.ts'

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

const bodyArb: fc.Arbitrary<CheckpointBody> = fc.record({
  chainId: uint,
  epoch: uint,
  height: uint,
  stateRoot: hash32,
  previous: hash32,
  nextCommittee: hash32,
})

const body: CheckpointBody = {
  chainId: 7,
  epoch: 3,
  height: 300,
  stateRoot: new Uint8Array(32).fill(1),
  previous: new Uint8Array(32).fill(2),
  nextCommittee: new Uint8Array(32).fill(3),
}

const FIELDS = ['chainId', 'epoch', 'height', 'stateRoot', 'previous', 'nextCommittee'] as const

describe('the checkpoint body', () => {
  test('is encoded as canonical DAG-CBOR of exactly its six fields', () => {
    fc.assert(
      fc.property(bodyArb, (b) => {
        const bytes = encodeCheckpointBody(b)
        expect(bytes).toEqual(new Uint8Array(dagCbor.encode({ ...b })))
        expect(dagCbor.decode(bytes)).toEqual({ ...b })
      }),
      { numRuns: 200 },
    )
    // Extra properties of the object are not encoded (only the six fields are signed).
    const withExtra = { ...body, signers: new Uint8Array([1]) } as CheckpointBody
    expect(encodeCheckpointBody(withExtra)).toEqual(encodeCheckpointBody(body))
    // DAG-CBOR's key order: shorter keys first.
    const keys = Object.keys(dagCbor.decode(encodeCheckpointBody(body)) as object)
    expect(keys).toEqual(['epoch', 'height', 'chainId', 'previous', 'stateRoot', 'nextCommittee'])
  })

  test('refuses numbers that are negative, fractional or unsafe, and hashes of the wrong length', () => {
    for (const name of ['chainId', 'epoch', 'height'] as const) {
      for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity]) {
        expect(() => encodeCheckpointBody({ ...body, [name]: bad })).toThrow(RangeError)
        expect(() => encodeCheckpointBody({ ...body, [name]: bad })).toThrow(name)
        expect(() => checkpointHash({ ...body, [name]: bad })).toThrow(RangeError)
      }
      expect(() =>
        encodeCheckpointBody({ ...body, [name]: '3' } as unknown as CheckpointBody),
      ).toThrow(RangeError)
    }
    for (const name of ['stateRoot', 'previous', 'nextCommittee'] as const) {
      for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33)]) {
        expect(() => encodeCheckpointBody({ ...body, [name]: bad })).toThrow(RangeError)
        expect(() => encodeCheckpointBody({ ...body, [name]: bad })).toThrow(name)
      }
      expect(() =>
        encodeCheckpointBody({ ...body, [name]: Array(32).fill(0) } as unknown as CheckpointBody),
      ).toThrow(RangeError)
    }
    // The limits themselves are accepted.
    expect(() =>
      encodeCheckpointBody({ ...body, chainId: 0, epoch: Number.MAX_SAFE_INTEGER, height: 0 }),
    ).not.toThrow()
  })
})

describe('checkpointHash', () => {
  test('is BLAKE3 derive-key "fulmen 2026 checkpoint" over the canonical body', () => {
    expect(checkpointHash(body)).toEqual(
      deriveKey('fulmen 2026 checkpoint', dagCbor.encode({ ...body })),
    )
    expect(checkpointHash(body)).toHaveLength(32)
  })

  test('changes with every field', () => {
    const other = fc.record({
      field: fc.constantFrom(...FIELDS),
      number: uint,
      bytes: hash32,
    })
    fc.assert(
      fc.property(bodyArb, other, (b, { field, number, bytes }) => {
        const changed = { ...b, [field]: typeof b[field] === 'number' ? number : bytes }
        fc.pre(
          typeof b[field] === 'number'
            ? changed[field] !== b[field]
            : !equal(changed[field] as Uint8Array, b[field] as Uint8Array),
        )
        expect(checkpointHash(changed)).not.toEqual(checkpointHash(b))
        expect(checkpointHash({ ...b })).toEqual(checkpointHash(b))
      }),
      { numRuns: 300 },
    )
  })

  test('swapping two hashes of the body changes it (fields are named, not positional)', () => {
    expect(
      checkpointHash({ ...body, stateRoot: body.previous, previous: body.stateRoot }),
    ).not.toEqual(checkpointHash(body))
    expect(checkpointHash({ ...body, epoch: body.height, height: body.epoch })).not.toEqual(
      checkpointHash(body),
    )
  })
})

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

describe('committeeKeysHash', () => {
  const keys = [1, 2, 3, 4].map((i) => makeBlsKey(new Uint8Array(32).fill(i)).publicKey)

  test('is BLAKE3 derive-key "fulmen 2026 committee keys" over the keys in member order', () => {
    const material = new Uint8Array(4 * 96)
    for (const [i, k] of keys.entries()) material.set(k, i * 96)
    expect(committeeKeysHash(keys)).toEqual(deriveKey('fulmen 2026 committee keys', material))
  })

  test('depends on the order of the members', () => {
    const reversed = [...keys].reverse()
    expect(committeeKeysHash(reversed)).not.toEqual(committeeKeysHash(keys))
    const swapped = [keys[1], keys[0], keys[2], keys[3]] as Uint8Array[]
    expect(committeeKeysHash(swapped)).not.toEqual(committeeKeysHash(keys))
    expect(committeeKeysHash([...keys])).toEqual(committeeKeysHash(keys))
    expect(committeeKeysHash(keys.slice(0, 3))).not.toEqual(committeeKeysHash(keys))
  })

  test('refuses a key that is not 96 bytes', () => {
    expect(() => committeeKeysHash([...keys, new Uint8Array(95)])).toThrow(RangeError)
    expect(() => committeeKeysHash([new Uint8Array(97)])).toThrow(RangeError)
    expect(() => committeeKeysHash([Array(96).fill(1)] as unknown as Uint8Array[])).toThrow(
      RangeError,
    )
  })
})

describe('genesisCheckpoint', () => {
  test('is epoch 0, height 0, no previous handoff, binding the genesis committee', () => {
    const keys = [5, 6, 7].map((i) => makeBlsKey(new Uint8Array(32).fill(i)).publicKey)
    const root = new Uint8Array(32).fill(9)
    const g = genesisCheckpoint(42, root, keys)
    expect(g).toEqual({
      chainId: 42,
      epoch: 0,
      height: 0,
      stateRoot: root,
      previous: new Uint8Array(32),
      nextCommittee: committeeKeysHash(keys),
    })
    expect(genesisCheckpoint(43, root, keys)).not.toEqual(g)
    expect(checkpointHash(genesisCheckpoint(42, root, [...keys].reverse()))).not.toEqual(
      checkpointHash(g),
    )
  })
})

function block(
  height: number,
  events: readonly (readonly ChainEvent[] | undefined)[],
): ExecutedBlock {
  const receipts: Receipt[] = events.map((e, i) => ({
    digest: new Uint8Array(32).fill(i + 1),
    status: 'ok',
    nonceTaken: true,
    ...(e === undefined ? {} : { events: e }),
  }))
  return executedBlockOf(
    {
      chainId: 7,
      height,
      parent: new Uint8Array(32),
      timestampMs: 1_700_000_000_000 + height,
      transactions: receipts.map((_, i) => new Uint8Array([i])),
    },
    receipts,
    0,
    new Uint8Array(32).fill(4),
  )
}

describe('checkpointKindOf', () => {
  const epochChanged: ChainEvent = { type: 'EpochChanged', epoch: 1 }
  const other: ChainEvent = { type: 'ClaimRejected', index: 0, reason: 'late' }

  test('a block whose receipt carries EpochChanged is a handoff, at any height', () => {
    for (const height of [1, 31, 32, 33, 64, 1001]) {
      const b = block(height, [undefined, [other, epochChanged]])
      expect(changesEpoch(b)).toBe(true)
      expect(checkpointKindOf(b)).toBe('handoff')
    }
  })

  test('other blocks: interval at multiples of CHECKPOINT_INTERVAL, else none', () => {
    expect(CHECKPOINT_INTERVAL).toBe(32)
    for (const height of [32, 64, 320, 32 * 1000]) {
      expect(checkpointKindOf(block(height, [[other], undefined]))).toBe('interval')
      expect(checkpointKindOf(block(height, []))).toBe('interval')
    }
    for (const height of [1, 31, 33, 63, 65, 100]) {
      expect(changesEpoch(block(height, [[other]]))).toBe(false)
      expect(checkpointKindOf(block(height, [[other], undefined]))).toBeUndefined()
      expect(checkpointKindOf(block(height, []))).toBeUndefined()
    }
    // Another interval, as the argument says.
    expect(checkpointKindOf(block(10, []), 5)).toBe('interval')
    expect(checkpointKindOf(block(12, []), 5)).toBeUndefined()
  })
})

describe('checkpoint signatures', () => {
  const key = makeBlsKey(new Uint8Array(32).fill(0x21))
  const hash = checkpointHash(body)

  test('are not block attestations of the same height and hash, and the reverse', () => {
    const checkpointSig = signCheckpoint(key.secretKey, body)
    const blockSig = signBlockHash(key.secretKey, body.height, hash)
    expect(checkpointSig).toHaveLength(48)
    expect(checkpointSig).not.toEqual(blockSig)
    expect(signBlockHash(key.secretKey, body.height, hash, CHECKPOINT_DST)).toEqual(checkpointSig)
    expect(CHECKPOINT_DST).not.toBe(BLOCK_ATTESTATION_DST)

    // A block attestation check refuses the checkpoint signature...
    expect(verifyBlockHashSignature(key.publicKey, body.height, hash, blockSig)).toBe(true)
    expect(verifyBlockHashSignature(key.publicKey, body.height, hash, checkpointSig)).toBe(false)

    // ...and a checkpoint check refuses the block signature (a committee of one: quorum 1).
    const committee = [key.publicKey]
    const signers = signerBitfield([0])
    expect(() =>
      verifyCheckpointSignature(
        body.height,
        hash,
        { signers, signature: checkpointSig },
        committee,
      ),
    ).not.toThrow()
    let error: unknown
    try {
      verifyCheckpointSignature(body.height, hash, { signers, signature: blockSig }, committee)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CheckpointError)
    expect((error as CheckpointError).code).toBe('CHECKPOINT_SIGNATURE')
    // Under the block tag, the checkpoint's aggregate is refused as well.
    expect(() =>
      verifyAttestedHash(body.height, hash, { signers, signature: checkpointSig }, committee),
    ).toThrow(/does not verify/)
  })

  test('bind the height and the whole body', () => {
    const sig = signCheckpoint(key.secretKey, body)
    const committee = [key.publicKey]
    const signers = signerBitfield([0])
    const code = (height: number, h: Uint8Array) => {
      try {
        verifyCheckpointSignature(height, h, { signers, signature: sig }, committee)
      } catch (e) {
        return (e as CheckpointError).code
      }
      return undefined
    }
    expect(code(body.height, hash)).toBeUndefined()
    expect(code(body.height + 1, hash)).toBe('CHECKPOINT_SIGNATURE')
    expect(code(body.height, checkpointHash({ ...body, epoch: 4 }))).toBe('CHECKPOINT_SIGNATURE')
  })
})
