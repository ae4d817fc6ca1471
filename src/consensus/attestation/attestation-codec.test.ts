/**
 * The attestation codec: fast-check round trips to the same bytes; random and mutated bytes
 * decode to a value whose encoding is those bytes, or throw ATTESTATION_MALFORMED, nothing else;
 * named refusals (unknown field, trailing zero signer byte, lengths, non-canonical bytes).
 */
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { blockHash, executedBlockOf } from '../../state/block.ts'
import { makeBlsKey } from '../../state/transaction.ts'
import { signerBitfield } from '../dag/narwhal-messages.ts'
import { ConsensusError } from '../errors.ts'
import { decodeAttestation, encodeAttestation, MAX_ATTESTATION_BYTES } from './attestation-codec.ts'
import {
  aggregateAttestation,
  type BlockAttestation,
  signBlock,
  verifyAttestation,
} from './block-attestation.ts'

const attestationArb: fc.Arbitrary<BlockAttestation> = fc.record({
  height: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  blockHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  signers: fc
    .uniqueArray(fc.integer({ min: 0, max: 1023 }), { minLength: 1, maxLength: 40 })
    .map(signerBitfield),
  signature: fc.uint8Array({ minLength: 48, maxLength: 48 }),
})

function valueOrMalformed(bytes: Uint8Array): void {
  try {
    const value = decodeAttestation(bytes)
    // Accepted bytes are the one encoding of what they decode to.
    expect(encodeAttestation(value)).toEqual(bytes)
  } catch (e) {
    expect(e).toBeInstanceOf(ConsensusError)
    expect((e as ConsensusError).code).toBe('ATTESTATION_MALFORMED')
  }
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    return (e as ConsensusError).code
  }
  return undefined
}

describe('the attestation codec', () => {
  test('round-trips to the same bytes', () => {
    fc.assert(
      fc.property(attestationArb, (attestation) => {
        const bytes = encodeAttestation(attestation)
        expect(bytes.length).toBeLessThanOrEqual(MAX_ATTESTATION_BYTES)
        expect(decodeAttestation(bytes)).toEqual(attestation)
        expect(encodeAttestation(decodeAttestation(bytes))).toEqual(bytes)
      }),
      { numRuns: 300 },
    )
  })

  test('the largest attestation (1,024 signers, the largest height) fits MAX_ATTESTATION_BYTES', () => {
    const bytes = encodeAttestation({
      height: Number.MAX_SAFE_INTEGER,
      blockHash: new Uint8Array(32),
      signers: signerBitfield([1023]),
      signature: new Uint8Array(48),
    })
    expect(bytes.length).toBe(259) // docs/protocol.md, "Block attestations"
    expect(bytes.length).toBeLessThanOrEqual(MAX_ATTESTATION_BYTES)
    expect(decodeAttestation(bytes).signers.length).toBe(128)
  })

  test('random bytes: a value or ATTESTATION_MALFORMED', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), valueOrMalformed), {
      numRuns: 1000,
    })
  })

  test('mutated encodings: a value or ATTESTATION_MALFORMED', () => {
    fc.assert(
      fc.property(
        attestationArb,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat({ max: 2 }),
        (attestation, at, byte, how) => {
          const bytes = encodeAttestation(attestation)
          const i = at % bytes.length
          let mutated: Uint8Array
          if (how === 0) {
            mutated = bytes.slice()
            mutated[i] = byte
          } else if (how === 1) {
            mutated = bytes.slice(0, i)
          } else {
            mutated = new Uint8Array([...bytes.slice(0, i), byte, ...bytes.slice(i)])
          }
          valueOrMalformed(mutated)
        },
      ),
      { numRuns: 1000 },
    )
  })

  test('refuses an unknown field, a missing one, wrong lengths, a trailing zero signer byte', () => {
    const valid = {
      height: 9,
      blockHash: new Uint8Array(32).fill(3),
      signers: signerBitfield([0, 1, 2]),
      signature: new Uint8Array(48).fill(5),
    }
    expect(decodeAttestation(dagCbor.encode(valid))).toEqual(valid)
    for (const [bad, why] of [
      [{ ...valid, extra: 1 }, /unknown field/],
      [{ height: 9, blockHash: valid.blockHash, signers: valid.signers }, /no signature/],
      [{ ...valid, blockHash: new Uint8Array(31) }, /blockHash is 31 bytes/],
      [{ ...valid, signature: new Uint8Array(96) }, /signature is 96 bytes/],
      [{ ...valid, signers: new Uint8Array([7, 0]) }, /trailing zero/],
      [{ ...valid, signers: new Uint8Array(0) }, /signers is 0 bytes/],
      [{ ...valid, signers: new Uint8Array(129).fill(1) }, /signers is 129 bytes/],
      [{ ...valid, height: -1 }, /height/],
      [{ ...valid, height: 1.5 }, /height/],
      [{ ...valid, height: '9' }, /height/],
    ] as const) {
      expect(() => decodeAttestation(dagCbor.encode(bad))).toThrow(why)
      expect(codeOf(() => decodeAttestation(dagCbor.encode(bad)))).toBe('ATTESTATION_MALFORMED')
    }
    // Not canonical: a height written in two bytes where one is enough.
    const bytes = encodeAttestation(valid)
    const at = bytes.indexOf(9) // the height's single-byte head (0x09), after its key
    expect(at).toBe(8) // map head, 'height' (7 bytes): the shortest key comes first
    const longHeight = new Uint8Array([
      ...bytes.slice(0, at),
      0x19,
      0x00,
      0x09,
      ...bytes.slice(at + 1),
    ])
    expect(codeOf(() => decodeAttestation(longHeight))).toBe('ATTESTATION_MALFORMED')
    expect(codeOf(() => decodeAttestation(new Uint8Array(MAX_ATTESTATION_BYTES + 1)))).toBe(
      'ATTESTATION_MALFORMED',
    )
    expect(codeOf(() => decodeAttestation(dagCbor.encode([valid])))).toBe('ATTESTATION_MALFORMED')
  })

  test('a real attestation survives the wire and still verifies', () => {
    const keys = [1, 2, 3, 4].map((i) => makeBlsKey(new Uint8Array(32).fill(i)))
    const header = executedBlockOf(
      { chainId: 1, height: 3, parent: new Uint8Array(32), timestampMs: 1, transactions: [] },
      [],
      0,
      new Uint8Array(32).fill(9),
    ).header
    const aggregate = aggregateAttestation(
      4,
      new Map([0, 2, 3].map((m) => [m, signBlock(keys[m]!.secretKey, header)])),
    )
    const attestation = { height: 3, blockHash: blockHash(header), ...aggregate }
    const decoded = decodeAttestation(encodeAttestation(attestation))
    expect(decoded).toEqual(attestation)
    expect(() =>
      verifyAttestation(
        header,
        decoded,
        keys.map((k) => k.publicKey),
      ),
    ).not.toThrow()
  })
})
