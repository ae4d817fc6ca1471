/**
 * Block attestations: a member's partial signature of an executed block, the aggregate of a
 * quorum of them and its verification against the committee's BLS keys (real BLS12-381 over
 * real block headers from src/state/block.ts). Every refusal names its ConsensusError code.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { blockHash, executedBlockOf } from '../../state/block.ts'
import type { BlockHeader } from '../../state/model.ts'
import { makeBlsKey, proveBlsPossession } from '../../state/transaction.ts'
import { signerBitfield } from '../dag/narwhal-messages.ts'
import { ConsensusError } from '../errors.ts'
import {
  type AggregateSignature,
  aggregateAttestation,
  attestationMessage,
  attestationQuorum,
  attestationSigners,
  BLOCK_ATTESTATION_DST,
  signBlock,
  signBlockHash,
  verifyAttestation,
  verifyAttestedHash,
  verifyBlockHashSignature,
  verifyBlockSignature,
} from './block-attestation.ts'

const bls = bls12_381.shortSignatures

/** A committee of `n` seeded BLS keys (the keys a node registers with its first stake). */
function committee(n: number, salt = 0) {
  return Array.from({ length: n }, (_, i) => makeBlsKey(new Uint8Array(32).fill(i + 1 + salt * 64)))
}

/** A real executed block's header (roots computed by src/state/block.ts). */
function header(height: number, tag = 0): BlockHeader {
  const transactions = [new Uint8Array([height, tag, 1]), new Uint8Array([height, tag, 2])]
  return executedBlockOf(
    {
      chainId: 7,
      height,
      parent: new Uint8Array(32).fill(height - 1),
      timestampMs: 1_700_000_000_000 + height,
      transactions,
    },
    [],
    0,
    new Uint8Array(32).fill(0x40 + tag),
  ).header
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ConsensusError)
    return (e as ConsensusError).code
  }
  return undefined
}

const four = committee(4)
const fourKeys = four.map((k) => k.publicKey)
const block = header(5)

function attest(
  members: readonly number[],
  h: BlockHeader = block,
  keys = four,
  n = keys.length,
): AggregateSignature {
  return aggregateAttestation(
    n,
    new Map(
      members.map((m) => [m, signBlock((keys[m] as { secretKey: Uint8Array }).secretKey, h)]),
    ),
  )
}

describe('the signed message', () => {
  test('the block hash binds height, parent, transactions root and state root', () => {
    const base = blockHash(block)
    for (const changed of [
      { ...block, height: block.height + 1 },
      { ...block, parent: new Uint8Array(32).fill(0xee) },
      { ...block, transactionsRoot: new Uint8Array(32).fill(0xee) },
      { ...block, stateRoot: new Uint8Array(32).fill(0xee) },
      { ...block, receiptsRoot: new Uint8Array(32).fill(0xee) },
      { ...block, epoch: block.epoch + 1 },
      { ...block, chainId: block.chainId + 1 },
    ]) {
      expect(blockHash(changed)).not.toEqual(base)
      // So a member's signature of the block signs each of them.
      expect(
        verifyBlockSignature(
          fourKeys[0] as Uint8Array,
          changed,
          signBlock(four[0]!.secretKey, block),
        ),
      ).toBe(false)
    }
  })

  test('height (8 bytes, big-endian) then the block hash', () => {
    const hash = blockHash(block)
    const message = attestationMessage(2 ** 40 + 3, hash)
    expect(message.length).toBe(40)
    expect([...message.subarray(0, 8)]).toEqual([0, 0, 1, 0, 0, 0, 0, 3])
    expect(message.subarray(8)).toEqual(hash)
    expect(() => attestationMessage(-1, hash)).toThrow(RangeError)
    expect(() => attestationMessage(1, hash.subarray(1))).toThrow(RangeError)
  })

  test('the DST is its own: a signature of the same bytes under another DST does not verify', () => {
    const message = attestationMessage(block.height, blockHash(block))
    const sk = four[0]!.secretKey
    const defaultDst = bls.Signature.toBytes(bls.sign(bls.hash(message), sk))
    expect(verifyBlockSignature(fourKeys[0]!, block, defaultDst)).toBe(false)
    const own = bls.Signature.toBytes(bls.sign(bls.hash(message, BLOCK_ATTESTATION_DST), sk))
    expect(verifyBlockSignature(fourKeys[0]!, block, own)).toBe(true)
    // Nor does a proof of possession pass for a block signature (or the reverse).
    expect(
      verifyBlockHashSignature(fourKeys[0]!, 0, new Uint8Array(32), proveBlsPossession(sk)),
    ).toBe(false)
  })
})

describe('one member', () => {
  const sig = signBlock(four[1]!.secretKey, block)

  test('a 48-byte signature that verifies under its key only, for its block only', () => {
    expect(sig.length).toBe(48)
    expect(verifyBlockSignature(fourKeys[1]!, block, sig)).toBe(true)
    expect(verifyBlockSignature(fourKeys[2]!, block, sig)).toBe(false)
    expect(verifyBlockSignature(fourKeys[1]!, header(5, 1), sig)).toBe(false)
    expect(signBlockHash(four[1]!.secretKey, block.height, blockHash(block))).toEqual(sig)
  })

  test('relabelled to another height, it does not verify', () => {
    expect(verifyBlockHashSignature(fourKeys[1]!, block.height + 1, blockHash(block), sig)).toBe(
      false,
    )
  })

  test('malformed signatures and keys: false, never a throw', () => {
    const infinity = new Uint8Array(48)
    infinity[0] = 0xc0
    const notAPoint = new Uint8Array(48).fill(0xff)
    for (const bad of [
      new Uint8Array(0),
      sig.subarray(1),
      infinity,
      notAPoint,
      new Uint8Array(48),
    ]) {
      expect(verifyBlockSignature(fourKeys[1]!, block, bad)).toBe(false)
    }
    expect(verifyBlockSignature(new Uint8Array(96), block, sig)).toBe(false)
    expect(verifyBlockSignature(fourKeys[1]!.subarray(1), block, sig)).toBe(false)
    expect(verifyBlockSignature(null as unknown as Uint8Array, block, sig)).toBe(false)
  })
})

describe('aggregates', () => {
  test('quorum n − f: 2f + 1 when n = 3f + 1, more than 2n/3 always', () => {
    const sizes = [1, 2, 3, 4, 5, 6, 7, 10, 100]
    expect(sizes.map(attestationQuorum)).toEqual([1, 2, 3, 3, 4, 5, 5, 7, 67])
    for (let n = 1; n <= 200; n++) {
      const q = attestationQuorum(n)
      const f = Math.floor((n - 1) / 3)
      expect(3 * q).toBeGreaterThan(2 * n)
      expect(3 * (q - 1)).toBeLessThanOrEqual(2 * n)
      // Two quorums share at least f + 1 members, so at least one honest one.
      expect(2 * q - n).toBeGreaterThanOrEqual(f + 1)
    }
  })

  test('3 of 4 verifies; so do 4 of 4', () => {
    const three = attest([0, 1, 3])
    expect(three.signature.length).toBe(48)
    expect(three.signers).toEqual(signerBitfield([0, 1, 3]))
    expect(codeOf(() => verifyAttestation(block, three, fourKeys))).toBeUndefined()
    expect(codeOf(() => verifyAttestation(block, attest([0, 1, 2, 3]), fourKeys))).toBeUndefined()
    expect(
      codeOf(() =>
        verifyAttestation(
          block,
          { ...three, height: block.height, blockHash: blockHash(block) },
          fourKeys,
        ),
      ),
    ).toBeUndefined()
  })

  test('2 of 4: ATTESTATION_QUORUM; 3 of 5: ATTESTATION_QUORUM (5 needs 4)', () => {
    expect(codeOf(() => verifyAttestation(block, attest([0, 2]), fourKeys))).toBe(
      'ATTESTATION_QUORUM',
    )
    const five = committee(5, 1)
    const fiveKeys = five.map((k) => k.publicKey)
    expect(codeOf(() => verifyAttestation(block, attest([0, 2, 4], block, five), fiveKeys))).toBe(
      'ATTESTATION_QUORUM',
    )
    expect(
      codeOf(() => verifyAttestation(block, attest([0, 1, 2, 4], block, five), fiveKeys)),
    ).toBeUndefined()
  })

  test('a forged partial (another key in member 2’s place): ATTESTATION_INVALID', () => {
    const intruder = makeBlsKey(new Uint8Array(32).fill(0x99))
    const partials = new Map([
      [0, signBlock(four[0]!.secretKey, block)],
      [1, signBlock(four[1]!.secretKey, block)],
      [2, signBlock(intruder.secretKey, block)],
    ])
    const forged = aggregateAttestation(4, partials)
    expect(codeOf(() => verifyAttestation(block, forged, fourKeys))).toBe('ATTESTATION_INVALID')
  })

  test('a wrong committee key set: ATTESTATION_INVALID', () => {
    const other = committee(4, 2).map((k) => k.publicKey)
    expect(codeOf(() => verifyAttestation(block, attest([0, 1, 2]), other))).toBe(
      'ATTESTATION_INVALID',
    )
    // One key of the four swapped is enough.
    const swapped = [fourKeys[0]!, other[1]!, fourKeys[2]!, fourKeys[3]!]
    expect(codeOf(() => verifyAttestation(block, attest([0, 1, 2]), swapped))).toBe(
      'ATTESTATION_INVALID',
    )
  })

  test('flipped bitfield bits: ATTESTATION_INVALID (or QUORUM when too few are left)', () => {
    const three = attest([0, 1, 2])
    // Member 2's bit moved to member 3: as many signers, the wrong ones.
    expect(
      codeOf(() =>
        verifyAttestation(block, { ...three, signers: signerBitfield([0, 1, 3]) }, fourKeys),
      ),
    ).toBe('ATTESTATION_INVALID')
    // A bit added: member 3 claimed, never signed.
    expect(
      codeOf(() =>
        verifyAttestation(block, { ...three, signers: signerBitfield([0, 1, 2, 3]) }, fourKeys),
      ),
    ).toBe('ATTESTATION_INVALID')
    // A bit removed from four signers.
    const all = attest([0, 1, 2, 3])
    expect(
      codeOf(() =>
        verifyAttestation(block, { ...all, signers: signerBitfield([0, 1, 3]) }, fourKeys),
      ),
    ).toBe('ATTESTATION_INVALID')
    expect(
      codeOf(() =>
        verifyAttestation(block, { ...three, signers: signerBitfield([0, 1]) }, fourKeys),
      ),
    ).toBe('ATTESTATION_QUORUM')
  })

  test('a bit at n or beyond, a trailing zero byte, an empty bitfield: ATTESTATION_MALFORMED', () => {
    const three = attest([0, 1, 2])
    for (const signers of [
      signerBitfield([0, 1, 2, 4]),
      new Uint8Array([0b0111_0000 | 0b0111]),
      signerBitfield([0, 1, 2, 8]),
      new Uint8Array([0b0111, 0]),
      new Uint8Array(0),
    ]) {
      expect(codeOf(() => verifyAttestation(block, { ...three, signers }, fourKeys))).toBe(
        'ATTESTATION_MALFORMED',
      )
    }
    expect(attestationSigners(signerBitfield([3, 7, 8]), 9)).toEqual([3, 7, 8])
    expect(codeOf(() => attestationSigners(signerBitfield([3, 7, 9]), 9))).toBe(
      'ATTESTATION_MALFORMED',
    )
  })

  test('a signature of another block: ATTESTATION_INVALID; an attestation naming another: WRONG_BLOCK', () => {
    const other = header(5, 1)
    const forOther = attest([0, 1, 2], other)
    expect(codeOf(() => verifyAttestation(block, forOther, fourKeys))).toBe('ATTESTATION_INVALID')
    const next = header(6)
    expect(codeOf(() => verifyAttestation(next, attest([0, 1, 2]), fourKeys))).toBe(
      'ATTESTATION_INVALID',
    )
    const three = attest([0, 1, 2])
    expect(codeOf(() => verifyAttestation(block, { ...three, height: 6 }, fourKeys))).toBe(
      'ATTESTATION_WRONG_BLOCK',
    )
    expect(
      codeOf(() => verifyAttestation(block, { ...three, blockHash: blockHash(other) }, fourKeys)),
    ).toBe('ATTESTATION_WRONG_BLOCK')
  })

  test('signatures that are not points, or the point at infinity: MALFORMED or INVALID', () => {
    const three = attest([0, 1, 2])
    expect(
      codeOf(() =>
        verifyAttestation(block, { ...three, signature: new Uint8Array(48).fill(0xff) }, fourKeys),
      ),
    ).toBe('ATTESTATION_MALFORMED')
    expect(
      codeOf(() =>
        verifyAttestation(block, { ...three, signature: three.signature.subarray(1) }, fourKeys),
      ),
    ).toBe('ATTESTATION_MALFORMED')
    const infinity = new Uint8Array(48)
    infinity[0] = 0xc0
    expect(
      codeOf(() => verifyAttestation(block, { ...three, signature: infinity }, fourKeys)),
    ).toBe('ATTESTATION_INVALID')
    // A committee key that is not a G2 point, among the signers.
    const broken = [fourKeys[0]!, new Uint8Array(96).fill(0xff), fourKeys[2]!, fourKeys[3]!]
    expect(codeOf(() => verifyAttestation(block, three, broken))).toBe('ATTESTATION_MALFORMED')
  })

  test('aggregateAttestation refuses members outside the committee and bad signature bytes', () => {
    const sig = signBlock(four[0]!.secretKey, block)
    expect(codeOf(() => aggregateAttestation(4, new Map()))).toBe('ATTESTATION_MALFORMED')
    expect(codeOf(() => aggregateAttestation(4, new Map([[4, sig]])))).toBe('ATTESTATION_MALFORMED')
    expect(codeOf(() => aggregateAttestation(4, new Map([[-1, sig]])))).toBe(
      'ATTESTATION_MALFORMED',
    )
    expect(codeOf(() => aggregateAttestation(4, new Map([[0, sig.subarray(2)]])))).toBe(
      'ATTESTATION_MALFORMED',
    )
    expect(
      codeOf(() => aggregateAttestation(4, new Map([[0, new Uint8Array(48).fill(0xff)]]))),
    ).toBe('ATTESTATION_MALFORMED')
  })

  test('cached key sums: each signer set checked against its own sum, in any order', () => {
    const keys = [...fourKeys]
    const sets = [
      [0, 1, 2],
      [1, 2, 3],
      [0, 2, 3],
      [0, 1, 3],
    ]
    for (const members of [...sets, ...sets.reverse()]) {
      const attestation = attest(members)
      expect(codeOf(() => verifyAttestation(block, attestation, keys))).toBeUndefined()
      // Labelled with another set whose sum is cached already: refused.
      for (const other of sets.filter((o) => o !== members)) {
        const relabelled = { ...attestation, signers: signerBitfield(other) }
        expect(codeOf(() => verifyAttestation(block, relabelled, keys))).toBe('ATTESTATION_INVALID')
      }
    }
  })

  test('property: any n − f or more of n ≤ 7 verify at any height; fewer are QUORUM', () => {
    const seven = committee(7, 3)
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.nat(),
        (n, height, pick) => {
          const keys = seven.slice(0, n)
          const members = Array.from({ length: n }, (_, i) => i).filter((i) => (pick >> i) & 1)
          if (members.length === 0) return
          const h = { ...block, height }
          const attestation = attest(members, h, keys)
          const code = codeOf(() =>
            verifyAttestedHash(
              height,
              blockHash(h),
              attestation,
              keys.map((k) => k.publicKey),
            ),
          )
          expect(code).toBe(
            members.length >= attestationQuorum(n) ? undefined : 'ATTESTATION_QUORUM',
          )
        },
      ),
      { numRuns: 15 },
    )
  })
})
