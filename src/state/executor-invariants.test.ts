/**
 * Supply invariants over random histories: whatever mix of transfers, deposits, stakes, locks,
 * unstakes, withdrawals, settled claims and epoch changes runs (valid or not), FLK held in
 * accounts and stake equals the recorded supply, which moves only by deposits, emissions and
 * slashes; stables are neither made nor lost (the epoch's pool counts until it is paid out).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clientKeyFromPrivate } from '../crypto/client-key.ts'
import { beaconCommitOf } from './beacon.ts'
import type { StateExecutor } from './executor.ts'
import { type Method, ONE_TOKEN } from './model.ts'
import { decodeEntry, tableKeys } from './tables.ts'
import {
  accountTx,
  fixedSecret,
  makeClaim,
  nextBlock,
  nodeTx,
  openTestExecutor,
  type TestAccount,
  testChain,
} from './testing/chain-fixture.ts'

async function holdings(executor: StateExecutor) {
  let flk = 0n
  let stables = 0n
  for await (const { value } of executor.entries('accounts')) {
    const a = decodeEntry('accounts', value)
    flk += a.flk
    stables += a.stables
  }
  for await (const { value } of executor.entries('nodes')) {
    const n = decodeEntry('nodes', value)
    flk += n.staked
    for (const u of n.unstaking) flk += u.amount
  }
  const meta = await executor.metadata()
  const pool = await executor.get('epochTotals', tableKeys.epochTotals(meta.epoch))
  if (pool !== undefined) stables += decodeEntry('epochTotals', pool).revenue
  return { flk, stables, supply: meta.supply }
}

const op = fc.record({
  kind: fc.integer({ min: 0, max: 8 }),
  who: fc.integer({ min: 0, max: 1 }),
  amount: fc.bigInt({ min: 0n, max: 1500n }),
})

describe('supply invariants', () => {
  it('hold over random histories of every kind of transaction', async () => {
    const chain = testChain({
      params: { epochTimeMs: 1n, unstakeDelayEpochs: 1n, minimumNodeStake: ONE_TOKEN },
    })
    const node = chain.nodes[0]!
    const client = clientKeyFromPrivate(fixedSecret('invariant client'))
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { maxLength: 6 }), { minLength: 1, maxLength: 6 }),
        async (blocks) => {
          const executor = await openTestExecutor(chain)
          const nonces = new Map<TestAccount, number>()
          let nodeNonce = 0
          let session = 0n
          let minted = 0n
          let stablesIn = 0n
          const start = await holdings(executor)
          const send = (who: TestAccount, method: Method) => {
            const nonce = (nonces.get(who) ?? 0) + 1
            nonces.set(who, nonce)
            return accountTx(who, nonce, method)
          }
          const registered = await nextBlock(executor, [
            send(chain.alice, { type: 'RegisterClientKey', clientKey: client.publicKey }),
          ])
          expect(registered.receipts[0]?.status).toBe('ok')
          for (const ops of blocks) {
            const txs: Uint8Array[] = []
            for (const { kind, who, amount: whole } of ops) {
              const me = who === 0 ? chain.alice : chain.bob
              const other = who === 0 ? chain.bob : chain.alice
              const amount = whole * ONE_TOKEN
              switch (kind) {
                case 0:
                  txs.push(send(me, { type: 'Transfer', to: other.address, token: 'FLK', amount }))
                  break
                case 1:
                  txs.push(send(me, { type: 'Transfer', to: other.address, token: 'USDC', amount }))
                  break
                case 2:
                  txs.push(
                    send(chain.bridge, {
                      type: 'Deposit',
                      to: me.address,
                      token: who ? 'USDC' : 'FLK',
                      amount,
                    }),
                  )
                  if (who) stablesIn += amount
                  else minted += amount
                  break
                case 3:
                  txs.push(send(node.owner, { type: 'Stake', node: node.key, amount }))
                  break
                case 4:
                  txs.push(send(node.owner, { type: 'Unstake', node: node.key, amount }))
                  break
                case 5:
                  txs.push(
                    send(node.owner, { type: 'WithdrawUnstaked', node: node.key, to: me.address }),
                  )
                  break
                case 6:
                  txs.push(
                    send(node.owner, {
                      type: 'StakeLock',
                      node: node.key,
                      epochs: Number(whole % 3n),
                    }),
                  )
                  break
                case 7:
                  session++
                  txs.push(
                    nodeTx(node, ++nodeNonce, {
                      type: 'SubmitDeliveryClaims',
                      claims: [makeClaim(client, node.key, Number(whole % 60n), { session })],
                    }),
                  )
                  break
                case 8: {
                  const meta = await executor.metadata()
                  const reveal = fixedSecret(`reveal ${meta.epoch}`)
                  if (meta.beacon.kind === 'none')
                    txs.push(nodeTx(node, ++nodeNonce, { type: 'ChangeEpoch', epoch: meta.epoch }))
                  else if (meta.beacon.kind === 'commit') {
                    txs.push(
                      nodeTx(node, ++nodeNonce, {
                        type: 'BeaconCommit',
                        commit: beaconCommitOf(meta.epoch, meta.beacon.round, reveal),
                      }),
                    )
                  } else txs.push(nodeTx(node, ++nodeNonce, { type: 'BeaconReveal', reveal }))
                  break
                }
              }
            }
            const block = await nextBlock(executor, txs)
            let emitted = 0n
            let slashed = 0n
            for (const r of block.receipts) {
              // Every transaction here authenticates with the next nonce: only its method may fail.
              expect(r.nonceTaken).toBe(true)
              for (const e of r.events ?? []) {
                if (e.type === 'Reward') emitted += e.flk
                if (e.type === 'Slashed') slashed += e.amount
              }
            }
            minted += emitted - slashed
            const now = await holdings(executor)
            expect(now.flk).toBe(now.supply)
            expect(now.supply).toBe(start.supply + minted)
            expect(now.stables).toBe(start.stables + stablesIn)
          }
        },
      ),
      { numRuns: 25 },
    )
  })
})
