/**
 * circuits/da_batch.circom, compiled by the circom2 package (a real circom 2 compiler run as a
 * process) with 3 slots, against the native side (batch-binding.ts, commitment.ts): the
 * witness's digest is the executor's `batchDigest`, and each constraint that makes a batch
 * honest fails the witness when broken (circom turns every `===` into a check at witness time).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type CompiledCircuit,
  compileDaBatch,
  loadWitnessCalculator,
  type WitnessCalculator,
} from '../../scripts/circuits-compile.ts'
import { generateClientKey } from '../crypto/client-key.ts'
import { FIELD_ORDER } from '../crypto/field.ts'
import {
  type BatchWitnessInput,
  batchDigest,
  batchWitnessInput,
  canonicalClientKey,
  commitmentFields,
  type SignedCommitment,
} from './batch-binding.ts'
import { type Commitment, verifyCommitment } from './commitment.ts'
import { signedClaim } from './testing/da-batch-claims.ts'

const SLOTS = 3

let circuit: CompiledCircuit | undefined
let calculator: WitnessCalculator

beforeAll(async () => {
  circuit = compileDaBatch(SLOTS)
  calculator = await loadWitnessCalculator(circuit)
}, 120_000)

afterAll(() => circuit?.remove())

const keys = [generateClientKey(), generateClientKey(), generateClientKey()]
const nodeKey = new Uint8Array(32).fill(9)

function claim(k: number, over: Partial<Commitment> = {}): SignedCommitment {
  const key = keys[k] as (typeof keys)[number]
  return signedClaim(key, k, { session: 1000n, anchor: 0xa0, epoch: 7n }, nodeKey, over)
}

/** The digest the circuit computes (output signal 1), or the witness failure. */
async function digestOf(input: BatchWitnessInput): Promise<bigint> {
  const witness = await calculator.calculateWitness(input, true)
  return witness[1] as bigint
}

async function refused(input: BatchWitnessInput): Promise<string> {
  try {
    await calculator.calculateWitness(input, true)
  } catch (error) {
    return String((error as Error).message)
  }
  throw new Error('the witness was computed: the circuit accepted it')
}

const edit = (input: BatchWitnessInput, change: (copy: BatchWitnessInput) => void) => {
  const copy = structuredClone(input) as BatchWitnessInput
  change(copy)
  return copy
}

describe('the DA batch circuit (3 slots)', () => {
  const full = [claim(0), claim(1), claim(2)]

  test('three signed claims: the digest is the executor’s, the native check agrees', async () => {
    for (const c of full) verifyCommitment(c.commitment, c.signature)
    const digest = await digestOf(batchWitnessInput(full, SLOTS))
    expect(digest).toBe(batchDigest(full.map((c) => c.commitment)))
    expect(digest).toBeLessThan(FIELD_ORDER)
  })

  test('one claim and two padding slots: the digest covers the one claim only', async () => {
    const one = [claim(1)]
    expect(await digestOf(batchWitnessInput(one, SLOTS))).toBe(
      batchDigest(one.map((c) => c.commitment)),
    )
  })

  test('the order of the claims is bound', async () => {
    const swapped = [full[1], full[0], full[2]] as SignedCommitment[]
    const digest = await digestOf(batchWitnessInput(swapped, SLOTS))
    expect(digest).toBe(batchDigest(swapped.map((c) => c.commitment)))
    expect(digest).not.toBe(batchDigest(full.map((c) => c.commitment)))
  })

  test('a forged signature fails the witness', async () => {
    const input = batchWitnessInput(full, SLOTS)
    const forgedS = edit(input, (x) => {
      x.sig[1] = String(BigInt(x.sig[1] as string) + 1n)
    })
    expect(await refused(forgedS)).toMatch(/Assert Failed/)
    // A signature made for another commitment (another anchor) under the same key.
    const other = claim(1, { anchor: new Uint8Array(32).fill(0x55) })
    const moved = edit(input, (x) => {
      x.R8x[1] = batchWitnessInput([other], 1).R8x[0] as string
      x.R8y[1] = batchWitnessInput([other], 1).R8y[0] as string
      x.sig[1] = batchWitnessInput([other], 1).sig[0] as string
    })
    expect(await refused(moved)).toMatch(/Assert Failed/)
  })

  test('a commitment changed after signing fails the witness (every signed field)', async () => {
    const input = batchWitnessInput(full, SLOTS)
    for (const field of [0, 1, 2, 3, 6, 7]) {
      const changed = edit(input, (x) => {
        const row = x.fields[2] as string[]
        row[field] = String(BigInt(row[field] as string) ^ 1n)
      })
      expect(await refused(changed), `field ${field}`).toMatch(/Assert Failed/)
    }
  })

  test('the client key bytes must name the point that verifies', async () => {
    const input = batchWitnessInput(full, SLOTS)
    // Another client's key bytes in the commitment, the signer's point in the verifier.
    const otherBytes = edit(input, (x) => {
      const mine = x.fields[0] as string[]
      const theirs = commitmentFields(full[1]?.commitment as Uint8Array)
      mine[4] = String(theirs[4])
      mine[5] = String(theirs[5])
    })
    expect(await refused(otherBytes)).toMatch(/Assert Failed/)
    // The key bytes with the sign bit flipped (they name −A) while the signer's A verifies:
    // only the sign check stands in the way (bit 7 of the key's last byte, lo's lowest byte).
    const flipped = edit(input, (x) => {
      const mine = x.fields[0] as string[]
      mine[5] = String(BigInt(mine[5] as string) ^ 0x80n)
    })
    expect(await refused(flipped)).toMatch(/Assert Failed/)
    // Another point altogether.
    const moved = edit(input, (x) => {
      x.Ay[0] = String(BigInt(x.Ay[0] as string) + 1n)
    })
    expect(await refused(moved)).toMatch(/Assert Failed/)
  })

  test('padding cannot credit: a claim after padding, or enabled not 0/1, fails the witness', async () => {
    const input = batchWitnessInput([full[0], full[1]] as SignedCommitment[], SLOTS)
    const gap = edit(input, (x) => {
      // Slot 1 made padding, slot 2 given slot 1's claim: a claim after padding.
      const real = batchWitnessInput(full, SLOTS)
      x.enabled.splice(0, SLOTS, '1', '0', '1')
      x.fields[2] = real.fields[1] as string[]
      for (const column of ['Ax', 'Ay', 'R8x', 'R8y', 'sig'] as const) {
        x[column][2] = real[column][1] as string
      }
    })
    expect(await refused(gap)).toMatch(/Assert Failed/)
    const two = edit(input, (x) => {
      x.enabled[1] = '2'
    })
    expect(await refused(two)).toMatch(/Assert Failed/)
  })

  test('a padding slot filled with a real claim adds nothing to the digest', async () => {
    const real = batchWitnessInput(full, SLOTS)
    const hidden = edit(real, (x) => {
      x.enabled[2] = '0'
    })
    // Its signature is not checked and its fields are not bound: the digest is the first two.
    expect(await digestOf(hidden)).toBe(
      batchDigest([full[0], full[1]].map((c) => (c as SignedCommitment).commitment)),
    )
  })

  test('client key bytes: only y < p is canonical (the executor refuses y + p itself)', () => {
    const c = full[0]?.commitment as Uint8Array
    expect(canonicalClientKey(c)).toBe(true)
    const twin = c.slice()
    // y + p fits 255 bits when y < 2^255 − p: the twin encoding of a small y.
    const y = 5n
    const alias = y + FIELD_ORDER
    for (let i = 0; i < 32; i++) twin[66 + i] = Number((alias >> BigInt(8 * i)) & 0xffn)
    expect(canonicalClientKey(twin)).toBe(false)
  })

  test('more claims than slots is a typed error', () => {
    expect(() => batchWitnessInput([...full, claim(0)], SLOTS)).toThrow(
      expect.objectContaining({ code: 'ACK_BATCH_TOO_LARGE' }),
    )
  })
})
