import { describe, expect, test } from 'vitest'
import { openTestExecutor, testChain } from '../../state/testing/chain-fixture.ts'
import { encodeAttestation } from './attestation-codec.ts'
import { aggregateAttestation, signBlockHash } from './block-attestation.ts'
import { checkServedAttestation, committeeKeys } from './committee-keys.ts'

describe('attestations checked against the committee in the state', () => {
  const chain = testChain({ nodeCount: 4 })
  const hash = new Uint8Array(32).fill(7)
  const sign = (members: number[], height = 5, signed = hash) =>
    encodeAttestation({
      height,
      blockHash: signed,
      ...aggregateAttestation(
        4,
        new Map(
          members.map((m) => [m, signBlockHash(chain.nodes[m]!.bls.secretKey, height, signed)]),
        ),
      ),
    })

  test('the keys are the committee members’ node entries’ BLS keys, in member order', async () => {
    const executor = await openTestExecutor(chain)
    expect(await committeeKeys(executor, 0)).toEqual(chain.nodes.map((n) => n.bls.publicKey))
    await expect(committeeKeys(executor, 9)).rejects.toMatchObject({
      code: 'ATTESTATION_MALFORMED',
    })
  })

  test('3 of 4 verify; 2 of 4, another block, another height, forged bytes are refused by code', async () => {
    const executor = await openTestExecutor(chain)
    const ok = await checkServedAttestation(executor, 0, 5, hash, sign([0, 1, 3]))
    expect(ok.height).toBe(5)
    const cases: [Uint8Array, number, Uint8Array, string][] = [
      [sign([0, 1]), 5, hash, 'ATTESTATION_QUORUM'],
      [sign([0, 1, 2], 5, new Uint8Array(32).fill(8)), 5, hash, 'ATTESTATION_INVALID'],
      [sign([0, 1, 2], 6), 5, hash, 'ATTESTATION_WRONG_BLOCK'],
      [new Uint8Array([1, 2, 3]), 5, hash, 'ATTESTATION_MALFORMED'],
    ]
    for (const [bytes, height, h, code] of cases) {
      await expect(checkServedAttestation(executor, 0, height, h, bytes)).rejects.toMatchObject({
        code,
      })
    }
  })
})
