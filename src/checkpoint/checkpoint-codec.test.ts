/**
 * The signed checkpoint codec and the served run's JSON: fast-check round trips to the same
 * bytes; random and mutated bytes decode to a value whose encoding is those bytes, or throw
 * CHECKPOINT_MALFORMED, nothing else; any JSON value is a run or CHECKPOINT_MALFORMED; named
 * refusals (non-canonical bytes, unknown and missing fields, lengths, hex, list sizes).
 */
import * as dagCbor from '@ipld/dag-cbor'
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { signerBitfield } from '../consensus/dag/narwhal-messages.ts'
import type { SignedCheckpoint } from './checkpoint.ts'
import {
  checkpointRunFromJson,
  checkpointRunToJson,
  decodeSignedCheckpoint,
  encodeSignedCheckpoint,
  MAX_CHECKPOINT_BYTES,
  MAX_CHECKPOINTS_PER_RUN,
  type ServedCheckpoint,
} from './checkpoint-codec.ts'
import { CheckpointError } from './errors.ts'

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

const signedArb: fc.Arbitrary<SignedCheckpoint> = fc.record({
  body: fc.record({
    chainId: uint,
    epoch: uint,
    height: uint,
    stateRoot: hash32,
    previous: hash32,
    nextCommittee: hash32,
  }),
  signers: fc
    .uniqueArray(fc.integer({ min: 0, max: 1023 }), { minLength: 1, maxLength: 40 })
    .map(signerBitfield),
  signature: fc.uint8Array({ minLength: 48, maxLength: 48 }),
})

const keyArb = fc.uint8Array({ minLength: 96, maxLength: 96 })
const servedArb: fc.Arbitrary<ServedCheckpoint> = fc.record(
  { checkpoint: signedArb, committee: fc.array(keyArb, { minLength: 1, maxLength: 5 }) },
  { requiredKeys: ['checkpoint'] },
)

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError)
    return (e as CheckpointError).code
  }
  return undefined
}

function valueOrMalformed(bytes: Uint8Array): void {
  let value: SignedCheckpoint
  try {
    value = decodeSignedCheckpoint(bytes)
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError)
    expect((e as CheckpointError).code).toBe('CHECKPOINT_MALFORMED')
    return
  }
  // Accepted bytes are the one encoding of what they decode to.
  expect(encodeSignedCheckpoint(value)).toEqual(bytes)
}

function runOrMalformed(json: unknown): void {
  let run: ServedCheckpoint[]
  try {
    run = checkpointRunFromJson(json)
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError)
    expect((e as CheckpointError).code).toBe('CHECKPOINT_MALFORMED')
    return
  }
  expect(run.length).toBeLessThanOrEqual(MAX_CHECKPOINTS_PER_RUN)
  // What is accepted is served the same way again.
  expect(checkpointRunFromJson(checkpointRunToJson(run))).toEqual(run)
}

const valid: SignedCheckpoint = {
  body: {
    chainId: 7,
    epoch: 2,
    height: 200,
    stateRoot: new Uint8Array(32).fill(1),
    previous: new Uint8Array(32).fill(2),
    nextCommittee: new Uint8Array(32).fill(3),
  },
  signers: signerBitfield([0, 1, 2]),
  signature: new Uint8Array(48).fill(5),
}
const flat = { ...valid.body, signers: valid.signers, signature: valid.signature }

describe('the signed checkpoint codec', () => {
  test('round-trips to the same bytes', () => {
    fc.assert(
      fc.property(signedArb, (checkpoint) => {
        const bytes = encodeSignedCheckpoint(checkpoint)
        expect(bytes.length).toBeLessThanOrEqual(MAX_CHECKPOINT_BYTES)
        const decoded = decodeSignedCheckpoint(bytes)
        expect(decoded).toEqual(checkpoint)
        expect(encodeSignedCheckpoint(decoded)).toEqual(bytes)
      }),
      { numRuns: 300 },
    )
  })

  test('is the canonical DAG-CBOR of the flat map', () => {
    expect(encodeSignedCheckpoint(valid)).toEqual(new Uint8Array(dagCbor.encode(flat)))
    expect(decodeSignedCheckpoint(dagCbor.encode(flat))).toEqual(valid)
  })

  test('the largest checkpoint (1,024 signers, the largest numbers) fits MAX_CHECKPOINT_BYTES', () => {
    const largest: SignedCheckpoint = {
      ...valid,
      body: {
        ...valid.body,
        chainId: Number.MAX_SAFE_INTEGER,
        epoch: Number.MAX_SAFE_INTEGER,
        height: Number.MAX_SAFE_INTEGER,
      },
      signers: signerBitfield([1023]),
    }
    const bytes = encodeSignedCheckpoint(largest)
    expect(bytes.length).toBe(382)
    expect(bytes.length).toBeLessThanOrEqual(MAX_CHECKPOINT_BYTES)
    expect(decodeSignedCheckpoint(bytes)).toEqual(largest)
  })

  test('encoding checks the body', () => {
    expect(() => encodeSignedCheckpoint({ ...valid, body: { ...valid.body, height: -1 } })).toThrow(
      RangeError,
    )
    expect(() =>
      encodeSignedCheckpoint({ ...valid, body: { ...valid.body, stateRoot: new Uint8Array(31) } }),
    ).toThrow(RangeError)
  })

  test('refuses an unknown field, a missing one, wrong lengths, a trailing zero signer byte', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...flat, extra: 1 }, /unknown field/],
      [{ ...flat, Signers: flat.signers }, /unknown field/],
      ...(Object.keys(flat).map((k) => {
        const { [k]: _, ...rest } = flat as Record<string, unknown>
        return [rest, new RegExp(`no ${k}`)] as [Record<string, unknown>, RegExp]
      }) as [Record<string, unknown>, RegExp][]),
      [{ ...flat, stateRoot: new Uint8Array(31) }, /stateRoot is 31 bytes/],
      [{ ...flat, previous: new Uint8Array(33) }, /previous is 33 bytes/],
      [{ ...flat, nextCommittee: new Uint8Array(0) }, /nextCommittee is 0 bytes/],
      [{ ...flat, signature: new Uint8Array(47) }, /signature is 47 bytes/],
      [{ ...flat, signature: new Uint8Array(96) }, /signature is 96 bytes/],
      [{ ...flat, signers: new Uint8Array([7, 0]) }, /trailing zero/],
      [{ ...flat, signers: new Uint8Array([0]) }, /trailing zero/],
      [{ ...flat, signers: new Uint8Array(0) }, /signers is 0 bytes/],
      [{ ...flat, signers: new Uint8Array(129).fill(1) }, /signers is 129 bytes/],
      [{ ...flat, height: -1 }, /height/],
      [{ ...flat, epoch: 1.5 }, /epoch/],
      [{ ...flat, chainId: '7' }, /chainId/],
      [{ ...flat, stateRoot: bytesToHex(flat.stateRoot) }, /stateRoot is not bytes/],
    ]
    for (const [bad, why] of cases) {
      const bytes = dagCbor.encode(bad)
      expect(() => decodeSignedCheckpoint(bytes)).toThrow(why)
      expect(codeOf(() => decodeSignedCheckpoint(bytes))).toBe('CHECKPOINT_MALFORMED')
    }
    // Not a map at all.
    for (const bad of [[flat], 7, null, 'checkpoint', new Uint8Array(10)]) {
      expect(codeOf(() => decodeSignedCheckpoint(dagCbor.encode(bad)))).toBe('CHECKPOINT_MALFORMED')
    }
    expect(codeOf(() => decodeSignedCheckpoint(new Uint8Array(0)))).toBe('CHECKPOINT_MALFORMED')
    expect(codeOf(() => decodeSignedCheckpoint([1, 2] as unknown as Uint8Array))).toBe(
      'CHECKPOINT_MALFORMED',
    )
  })

  test('refuses bytes that are not canonical', () => {
    const bytes = encodeSignedCheckpoint(valid)
    // The first field is `epoch` (shortest key), its value 2 written in one byte.
    expect(bytes.slice(0, 8)).toEqual(
      new Uint8Array([0xa8, 0x65, ...'epoch'.split('').map((c) => c.charCodeAt(0)), 0x02]),
    )
    const longEpoch = new Uint8Array([...bytes.slice(0, 7), 0x18, 0x02, ...bytes.slice(8)])
    expect(codeOf(() => decodeSignedCheckpoint(longEpoch))).toBe('CHECKPOINT_MALFORMED')
    // The same map with its keys in another order (not DAG-CBOR's) is refused too.
    const entries = Object.entries(flat).reverse()
    const unsorted: number[] = [0xa8]
    for (const [k, v] of entries) {
      unsorted.push(...dagCbor.encode(k), ...dagCbor.encode(v))
    }
    expect(codeOf(() => decodeSignedCheckpoint(new Uint8Array(unsorted)))).toBe(
      'CHECKPOINT_MALFORMED',
    )
    // An indefinite-length map.
    const indefinite = new Uint8Array([0xbf, ...bytes.slice(1), 0xff])
    expect(codeOf(() => decodeSignedCheckpoint(indefinite))).toBe('CHECKPOINT_MALFORMED')
    // Trailing bytes after the map.
    expect(codeOf(() => decodeSignedCheckpoint(new Uint8Array([...bytes, 0])))).toBe(
      'CHECKPOINT_MALFORMED',
    )
  })

  test('refuses input over MAX_CHECKPOINT_BYTES before parsing it', () => {
    expect(codeOf(() => decodeSignedCheckpoint(new Uint8Array(MAX_CHECKPOINT_BYTES + 1)))).toBe(
      'CHECKPOINT_MALFORMED',
    )
    // A well-formed map that is too large (a long signer bitfield) is refused by size too.
    const big = dagCbor.encode({ ...flat, signers: new Uint8Array(300).fill(1) })
    expect(big.length).toBeGreaterThan(MAX_CHECKPOINT_BYTES)
    expect(() => decodeSignedCheckpoint(big)).toThrow(/at most 480 bytes/)
  })

  test('random bytes: a value or CHECKPOINT_MALFORMED', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), valueOrMalformed), {
      numRuns: 1000,
    })
  })

  test('mutated encodings: a value or CHECKPOINT_MALFORMED', () => {
    fc.assert(
      fc.property(
        signedArb,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat({ max: 2 }),
        (checkpoint, at, byte, how) => {
          const bytes = encodeSignedCheckpoint(checkpoint)
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
      { numRuns: 1500 },
    )
  })
})

describe('the served run (JSON)', () => {
  test('round-trips', () => {
    fc.assert(
      fc.property(fc.array(servedArb, { maxLength: 6 }), (run) => {
        const json = checkpointRunToJson(run)
        // What travels is JSON text.
        const parsed = JSON.parse(JSON.stringify(json))
        expect(checkpointRunFromJson(parsed)).toEqual(run)
      }),
      { numRuns: 100 },
    )
  })

  test('is { checkpoints: [{ checkpoint: hex, committee?: [hex] }] }', () => {
    const key = new Uint8Array(96).fill(0xab)
    expect(
      checkpointRunToJson([{ checkpoint: valid }, { checkpoint: valid, committee: [key] }]),
    ).toEqual({
      checkpoints: [
        { checkpoint: bytesToHex(encodeSignedCheckpoint(valid)) },
        { checkpoint: bytesToHex(encodeSignedCheckpoint(valid)), committee: ['ab'.repeat(96)] },
      ],
    })
    expect(checkpointRunFromJson({ checkpoints: [] })).toEqual([])
  })

  test('any JSON value: a run or CHECKPOINT_MALFORMED', () => {
    fc.assert(fc.property(fc.jsonValue(), runOrMalformed), { numRuns: 500 })
    fc.assert(fc.property(fc.anything(), runOrMalformed), { numRuns: 500 })
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 4 }), (checkpoints) =>
        runOrMalformed({ checkpoints }),
      ),
      { numRuns: 300 },
    )
  })

  test('valid checkpoints with arbitrary committees and extra fields: a run or CHECKPOINT_MALFORMED', () => {
    const hex = bytesToHex(encodeSignedCheckpoint(valid))
    const committeeArb = fc.oneof(
      fc.jsonValue(),
      fc.array(
        fc.oneof(
          fc.string(),
          keyArb.map((k) => bytesToHex(k)),
          fc.uint8Array({ maxLength: 100 }).map((k) => bytesToHex(k)),
        ),
        { maxLength: 4 },
      ),
    )
    fc.assert(
      fc.property(committeeArb, fc.dictionary(fc.string(), fc.jsonValue()), (committee, extra) =>
        runOrMalformed({ checkpoints: [{ ...extra, checkpoint: hex, committee }] }),
      ),
      { numRuns: 500 },
    )
  })

  test('refuses uppercase and odd-length hex, bad keys, too many checkpoints or keys', () => {
    const hex = bytesToHex(encodeSignedCheckpoint(valid))
    const key = 'ab'.repeat(96)
    const ok = { checkpoint: hex, committee: [key] }
    expect(checkpointRunFromJson({ checkpoints: [ok] })).toHaveLength(1)
    const bad: [unknown, RegExp][] = [
      [{ checkpoints: [{ checkpoint: hex.toUpperCase() }] }, /lowercase hex/],
      [{ checkpoints: [{ checkpoint: `0x${hex}` }] }, /lowercase hex/],
      [{ checkpoints: [{ checkpoint: hex.slice(1) }] }, /not hex/],
      [{ checkpoints: [{ checkpoint: `${hex}0` }] }, /not hex/],
      [{ checkpoints: [{ checkpoint: hex.slice(0, -2) }] }, /checkpoint/],
      [{ checkpoints: [{ checkpoint: 'zz'.repeat(10) }] }, /lowercase hex/],
      [{ checkpoints: [{ checkpoint: 'aa'.repeat(MAX_CHECKPOINT_BYTES + 1) }] }, /not hex/],
      [{ checkpoints: [{ ...ok, committee: [key.toUpperCase()] }] }, /lowercase hex/],
      [{ checkpoints: [{ ...ok, committee: [key.slice(1)] }] }, /not hex/],
      [{ checkpoints: [{ ...ok, committee: ['ab'.repeat(95)] }] }, /not 96 bytes/],
      [{ checkpoints: [{ ...ok, committee: ['ab'.repeat(97)] }] }, /not hex/],
      [{ checkpoints: [{ ...ok, committee: [] }] }, /not a list of keys/],
      [{ checkpoints: [{ ...ok, committee: key }] }, /not a list of keys/],
      [{ checkpoints: [{ ...ok, committee: [1] }] }, /not hex/],
      [{ checkpoints: [{ ...ok, committee: Array(1025).fill(key) }] }, /1025 keys/],
      [{ checkpoints: Array(MAX_CHECKPOINTS_PER_RUN + 1).fill(ok) }, /257 checkpoints/],
      [{ checkpoints: {} }, /no checkpoints list/],
      [{}, /no checkpoints list/],
      [null, /no checkpoints list/],
      [[ok], /no checkpoints list/],
      [{ checkpoints: [null] }, /not hex/],
      [{ checkpoints: [{ checkpoint: 5 }] }, /not hex/],
    ]
    for (const [json, why] of bad) {
      expect(() => checkpointRunFromJson(json)).toThrow(why)
      expect(codeOf(() => checkpointRunFromJson(json))).toBe('CHECKPOINT_MALFORMED')
    }
    // The limits themselves are accepted.
    expect(
      checkpointRunFromJson({
        checkpoints: Array(MAX_CHECKPOINTS_PER_RUN).fill({ checkpoint: hex }),
      }),
    ).toHaveLength(MAX_CHECKPOINTS_PER_RUN)
    expect(
      checkpointRunFromJson({ checkpoints: [{ ...ok, committee: Array(1024).fill(key) }] })[0]
        ?.committee,
    ).toHaveLength(1024)
  })
})
