/**
 * `SubmitDeliveryClaims` with DA batch proofs (src/acks/proven-claims.ts) settles exactly as
 * the same claims checked natively: the same events, accounts and settled tables. The proofs
 * are real (src/acks/testing/da-batch-fixture.json, made for these claims by
 * scripts/da-batch-fixture.ts); the bad batches the issue names are refused with their
 * reasons, and the rest of the transaction still settles.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { COMMITMENT_LEN } from '../acks/commitment.ts'
import { fixtureBatches } from '../acks/testing/da-batch-claims.ts'
import { clientKeyFromPrivate } from '../crypto/client-key.ts'
import type { StateExecutor } from './executor.ts'
import type { ChainEvent, Method } from './model.ts'
import {
  accountTx,
  fixedSecret,
  makeClaim,
  nextBlock,
  nodeTx,
  openTestExecutor,
  testChain,
} from './testing/chain-fixture.ts'

const [full, short] = fixtureBatches()

async function setUp() {
  const chain = testChain({ params: { epochTimeMs: 60_000n } })
  const executor = await openTestExecutor(chain)
  const node = chain.nodes[0]!
  const client = clientKeyFromPrivate(fixedSecret('client'))
  await nextBlock(executor, [
    accountTx(chain.alice, 1, { type: 'RegisterClientKey', clientKey: client.publicKey }),
  ])
  let nonce = 0
  const submit = async (...methods: Method[]) =>
    (
      await nextBlock(
        executor,
        methods.map((m) => nodeTx(node, ++nonce, m)),
      )
    ).receipts
  return { chain, executor, node, client, submit }
}

async function tables(executor: StateExecutor) {
  const out: Record<string, string[]> = {}
  for (const table of ['accounts', 'settled', 'served', 'epochTotals'] as const) {
    out[table] = []
    for await (const { key, value } of executor.entries(table)) {
      out[table].push(`${bytesToHex(key)}=${bytesToHex(value)}`)
    }
  }
  return out
}

const reasons = (events: readonly ChainEvent[] | undefined) =>
  (events ?? []).map((e) => (e.type === 'ClaimRejected' ? e.reason : e.type))

describe('claims settled with batch proofs', () => {
  it('the fixture’s claims are the chain fixture’s (same node, client and chains)', async () => {
    const { node, client } = await setUp()
    for (const batch of [full, short]) {
      batch.recipe.forEach(([session, units], i) => {
        expect(
          makeClaim(client, node.key, units as number, { session: BigInt(session as number) }),
        ).toEqual(batch.claims[i])
      })
    }
  })

  it('settle as the native path does: same events, same tables', async () => {
    const claims = [...full.claims, ...short.claims]
    const proven = await setUp()
    const native = await setUp()
    const [p] = await proven.submit({
      type: 'SubmitDeliveryClaims',
      claims,
      proofs: [full.proof, short.proof],
    })
    const [n] = await native.submit({ type: 'SubmitDeliveryClaims', claims })
    expect(p?.status).toBe('ok')
    expect(reasons(p?.events)).toEqual(Array(7).fill('ClaimSettled'))
    expect(p?.events).toEqual(n?.events)
    expect(await tables(proven.executor)).toEqual(await tables(native.executor))
  })

  it('a replayed proof, or claims settled natively before: nothing is credited twice', async () => {
    const { submit } = await setUp()
    const [first, again] = await submit(
      { type: 'SubmitDeliveryClaims', claims: full.claims, proofs: [full.proof] },
      { type: 'SubmitDeliveryClaims', claims: full.claims, proofs: [full.proof] },
    )
    expect(first?.status).toBe('ok')
    expect(again?.status).toBe('TX_INVALID_CLAIM')
    expect(reasons(again?.events)).toEqual(
      full.recipe.map(([, units]) => `units up to ${units} are settled already`),
    )
    const [natively, proven] = await submit(
      { type: 'SubmitDeliveryClaims', claims: short.claims },
      { type: 'SubmitDeliveryClaims', claims: short.claims, proofs: [short.proof] },
    )
    expect(natively?.status).toBe('ok')
    expect(proven?.status).toBe('TX_INVALID_CLAIM')
  })

  it('a bad batch is refused whole; the transaction’s other batch settles', async () => {
    const { submit, executor } = await setUp()
    const forged = full.claims.map((c) => c.slice())
    // A commitment the client never signed.
    const last = forged[4] as Uint8Array
    last[COMMITMENT_LEN - 1] = (last[COMMITMENT_LEN - 1] as number) ^ 1
    const before = await tables(executor)
    const [receipt, padded, otherProof] = await submit(
      {
        type: 'SubmitDeliveryClaims',
        claims: [...forged, ...short.claims],
        proofs: [full.proof, short.proof],
      },
      // A third claim in the short batch's padding.
      {
        type: 'SubmitDeliveryClaims',
        claims: [...short.claims, full.claims[0] as Uint8Array],
        proofs: [short.proof],
      },
      // The full batch's claims with the short batch's proof (other public inputs).
      { type: 'SubmitDeliveryClaims', claims: full.claims, proofs: [short.proof] },
    )
    expect(receipt?.status).toBe('ok')
    const invalid = 'the batch proof does not verify for these claims'
    expect(reasons(receipt?.events)).toEqual([
      ...Array(5).fill(invalid),
      'ClaimSettled',
      'ClaimSettled',
    ])
    expect(padded?.status).toBe('TX_INVALID_CLAIM')
    expect(reasons(padded?.events)).toEqual(Array(3).fill(invalid))
    expect(otherProof?.status).toBe('TX_INVALID_CLAIM')
    const after = await tables(executor)
    expect(after.settled).toHaveLength(before.settled!.length + 2)
  })
})
