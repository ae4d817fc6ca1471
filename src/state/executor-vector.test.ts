/**
 * The same 50 blocks from the same genesis give the same state root in Node and in Chromium:
 * the root below was computed by this test in Node and is checked in both (a vector, so a
 * change of any encoding, hash or transition shows here as a changed root).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { clientKeyFromPrivate } from '../crypto/client-key.ts'
import { beaconCommitOf } from './beacon.ts'
import { ONE_TOKEN } from './model.ts'
import {
  accountTx,
  fixedSecret,
  makeClaim,
  nextBlock,
  nodeTx,
  openTestExecutor,
  testChain,
} from './testing/chain-fixture.ts'

const EXPECTED_ROOT = 'f80205e4851453d0379af7c49630172c4363f3cd3ff3a58c6530fbba651ca612'

describe('execution is the same everywhere', () => {
  it('50 blocks of transfers, deposits, claims and an epoch change give the vector root', async () => {
    const chain = testChain({ params: { epochTimeMs: 20_000n } })
    const executor = await openTestExecutor(chain)
    const node = chain.nodes[0]!
    const client = clientKeyFromPrivate(fixedSecret('vector client'))
    let alice = 0
    let bob = 0
    let bridge = 0
    let nodeNonce = 0
    const reveal = fixedSecret('vector reveal')
    for (let height = 1; height <= 50; height++) {
      const txs: Uint8Array[] = []
      txs.push(
        accountTx(chain.alice, ++alice, {
          type: 'Transfer',
          to: chain.bob.address,
          token: 'FLK',
          amount: BigInt((height % 10) + 1) * ONE_TOKEN,
        }),
      )
      txs.push(
        accountTx(chain.bob, ++bob, {
          type: 'Transfer',
          to: chain.alice.address,
          token: 'USDC',
          amount: BigInt(height),
        }),
      )
      if (height % 7 === 0) {
        txs.push(
          accountTx(chain.bridge, ++bridge, {
            type: 'Deposit',
            to: chain.bob.address,
            token: 'FLK',
            amount: 3n * ONE_TOKEN,
          }),
        )
      }
      if (height === 2)
        txs.push(
          accountTx(chain.alice, ++alice, {
            type: 'RegisterClientKey',
            clientKey: client.publicKey,
          }),
        )
      if (height === 5 || height === 30) {
        txs.push(
          nodeTx(node, ++nodeNonce, {
            type: 'SubmitDeliveryClaims',
            claims: [makeClaim(client, node.key, height)],
          }),
        )
      }
      if (height === 25) txs.push(nodeTx(node, ++nodeNonce, { type: 'ChangeEpoch', epoch: 0 }))
      if (height === 26)
        txs.push(
          nodeTx(node, ++nodeNonce, { type: 'BeaconCommit', commit: beaconCommitOf(0, 0, reveal) }),
        )
      if (height === 27) txs.push(nodeTx(node, ++nodeNonce, { type: 'BeaconReveal', reveal }))
      const block = await nextBlock(executor, txs)
      for (const r of block.receipts) expect(r.status).toBe('ok')
    }
    expect(executor.head.epoch).toBe(1)
    expect(bytesToHex(executor.head.stateRoot)).toBe(EXPECTED_ROOT)
  })
})
