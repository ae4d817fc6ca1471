import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clientKeyFromPrivate } from '../crypto/client-key.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { beaconCommitOf } from './beacon.ts'
import { StateExecutor } from './executor.ts'
import { ONE_TOKEN } from './model.ts'
import { checkStateProof } from './state-proof.ts'
import { decodeEntry, METADATA_KEY } from './tables.ts'
import {
  accountTx,
  fixedSecret,
  makeClaim,
  nextBlock,
  nodeTx,
  openTestExecutor,
  testAccount,
  testChain,
  testNode,
} from './testing/chain-fixture.ts'
import { proveBlsPossession } from './transaction.ts'

const FLK = (n: bigint) => n * ONE_TOKEN

async function supplyHeld(executor: StateExecutor): Promise<bigint> {
  let total = 0n
  for await (const { value } of executor.entries('accounts'))
    total += decodeEntry('accounts', value).flk
  for await (const { value } of executor.entries('nodes')) {
    const node = decodeEntry('nodes', value)
    total += node.staked
    for (const u of node.unstaking) total += u.amount
  }
  return total
}

describe('StateExecutor', () => {
  it('writes the genesis state and proves its entries against the head root', async () => {
    const chain = testChain()
    const executor = await openTestExecutor(chain)
    expect(executor.head.height).toBe(0)
    const meta = await executor.metadata()
    expect(meta.epoch).toBe(0)
    expect(meta.supply).toBe(FLK(3000n + 2000n))
    expect(await supplyHeld(executor)).toBe(meta.supply)
    const alice = await executor.account(chain.alice.address)
    expect(alice?.flk).toBe(FLK(1000n))
    const proved = await executor.prove('accounts', chain.alice.address)
    checkStateProof(
      executor.head.stateRoot,
      'accounts',
      chain.alice.address,
      proved.value,
      proved.proof,
    )
    expect((await executor.committee(0))?.members).toEqual([chain.nodes[0]?.key])
  })

  it('transfers, takes nonces and refuses replays, gaps, double spends and forgeries', async () => {
    const chain = testChain()
    const executor = await openTestExecutor(chain)
    const { alice, bob } = chain
    const pay = (nonce: number, amount: bigint) =>
      accountTx(alice, nonce, { type: 'Transfer', to: bob.address, token: 'FLK', amount })
    const first = pay(1, FLK(600n))
    const forged = pay(3, 1n).slice()
    forged[forged.length - 10]! ^= 1
    const block = await nextBlock(executor, [
      first,
      first, // replay
      pay(3, FLK(1n)), // gap
      pay(2, FLK(600n)), // double spend: 400 left
      accountTx(alice, 3, { type: 'Transfer', to: bob.address, token: 'FLK', amount: 1n }, 7), // chain
      forged,
      new Uint8Array([1, 2, 3]),
      accountTx(testAccount('nobody'), 1, {
        type: 'Transfer',
        to: bob.address,
        token: 'FLK',
        amount: 0n,
      }),
    ])
    expect(block.receipts.map((r) => r.status)).toEqual([
      'ok',
      'TX_ALREADY_EXECUTED',
      'TX_NONCE',
      'TX_INSUFFICIENT_BALANCE',
      'TX_WRONG_CHAIN',
      'TX_BAD_SIGNATURE',
      'TX_MALFORMED',
      'TX_UNKNOWN_ACCOUNT',
    ])
    expect(block.receipts.map((r) => r.nonceTaken)).toEqual([
      true,
      false,
      false,
      true,
      false,
      false,
      false,
      false,
    ])
    expect((await executor.account(alice.address))?.flk).toBe(FLK(400n))
    expect((await executor.account(alice.address))?.nonce).toBe(2)
    expect((await executor.account(bob.address))?.flk).toBe(FLK(1600n))
    expect(block.header.stateRoot).toEqual(executor.head.stateRoot)
    const where = await executor.transaction(block.receipts[0]!.digest!)
    expect(where).toMatchObject({ height: 1, index: 0, receipt: { status: 'ok' } })
    expect((await executor.block(1))?.hash).toEqual(block.hash)
  })

  it('skips the signature check only for digests the caller verified at admission', async () => {
    const chain = testChain()
    const executor = await openTestExecutor(chain)
    const forged = accountTx(chain.alice, 1, {
      type: 'Transfer',
      to: chain.bob.address,
      token: 'FLK',
      amount: 1n,
    })
    forged[forged.length - 5]! ^= 1
    const refused = await nextBlock(executor, [forged])
    expect(refused.receipts[0]?.status).toBe('TX_BAD_SIGNATURE')
    const digest = bytesToHex(refused.receipts[0]!.digest!)
    const head = executor.head
    const trusted = await executor.execute(
      {
        chainId: head.chainId,
        height: head.height + 1,
        parent: head.hash,
        timestampMs: head.timestampMs,
        transactions: [forged],
      },
      { verified: new Set([digest]) },
    )
    expect(trusted.receipts[0]?.status).toBe('ok')
  })

  it('refuses bodies that are not the next block', async () => {
    const executor = await openTestExecutor(testChain())
    const head = executor.head
    const body = {
      chainId: head.chainId,
      height: 1,
      parent: head.hash,
      timestampMs: head.timestampMs,
      transactions: [],
    }
    await expect(executor.execute({ ...body, height: 2 })).rejects.toMatchObject({
      code: 'STATE_BLOCK_INVALID',
    })
    await expect(executor.execute({ ...body, chainId: 1 })).rejects.toMatchObject({
      code: 'STATE_BLOCK_INVALID',
    })
    await expect(executor.execute({ ...body, parent: new Uint8Array(32) })).rejects.toMatchObject({
      code: 'STATE_BLOCK_INVALID',
    })
    await expect(
      executor.execute({ ...body, timestampMs: head.timestampMs - 1 }),
    ).rejects.toMatchObject({
      code: 'STATE_BLOCK_INVALID',
    })
    expect((await executor.execute(body)).header.height).toBe(1)
  })

  it('deposits only from the bridge key and changes parameters only from governance', async () => {
    const chain = testChain()
    const executor = await openTestExecutor(chain)
    const supply = (await executor.metadata()).supply
    const block = await nextBlock(executor, [
      accountTx(chain.alice, 1, {
        type: 'Deposit',
        to: chain.alice.address,
        token: 'FLK',
        amount: 5n,
      }),
      accountTx(chain.bridge, 1, {
        type: 'Deposit',
        to: chain.bob.address,
        token: 'FLK',
        amount: FLK(5n),
      }),
      accountTx(chain.bridge, 2, {
        type: 'Deposit',
        to: chain.bob.address,
        token: 'USDC',
        amount: 7n,
      }),
      accountTx(chain.alice, 2, { type: 'ChangeProtocolParam', param: 'committeeSize', value: 3n }),
      accountTx(chain.governance, 1, {
        type: 'ChangeProtocolParam',
        param: 'nodeShare',
        value: 1n,
      }),
      accountTx(chain.governance, 2, {
        type: 'ChangeProtocolParam',
        param: 'committeeSize',
        value: 3n,
      }),
      nodeTx(chain.nodes[0]!, 1, {
        type: 'Deposit',
        to: chain.bob.address,
        token: 'FLK',
        amount: 1n,
      }),
    ])
    expect(block.receipts.map((r) => r.status)).toEqual([
      'TX_WRONG_SIGNER',
      'ok',
      'ok',
      'TX_WRONG_SIGNER',
      'TX_INVALID_PARAM',
      'ok',
      'TX_WRONG_SIGNER',
    ])
    const meta = await executor.metadata()
    expect(meta.supply).toBe(supply + FLK(5n))
    expect(await supplyHeld(executor)).toBe(meta.supply)
    expect((await executor.account(chain.bob.address))?.stables).toBe(FLK(1000n) + 7n)
    expect((await executor.params()).committeeSize).toBe(3n)
  })

  it('registers, tops up, locks and unstakes nodes', async () => {
    const chain = testChain()
    const executor = await openTestExecutor(chain)
    const { alice, bob } = chain
    const fresh = testNode('fresh', alice)
    const pop = proveBlsPossession(fresh.bls.secretKey)
    const stake = (nonce: number, extra: object = {}) =>
      accountTx(alice, nonce, { type: 'Stake', node: fresh.key, amount: FLK(100n), ...extra })
    const block = await nextBlock(executor, [
      stake(1), // no BLS key
      stake(2, {
        bls: {
          key: fresh.bls.publicKey,
          proofOfPossession: proveBlsPossession(testNode('x', alice).bls.secretKey),
        },
        addresses: [],
      }),
      stake(3, {
        bls: { key: fresh.bls.publicKey, proofOfPossession: pop },
        addresses: ['/ip4/1.2.3.4/tcp/1'],
      }),
      stake(4), // top-up
      stake(5, { bls: { key: fresh.bls.publicKey, proofOfPossession: pop }, addresses: [] }),
      accountTx(bob, 1, { type: 'Stake', node: fresh.key, amount: 1n }),
      accountTx(alice, 6, { type: 'StakeLock', node: fresh.key, epochs: 2 }),
      accountTx(alice, 7, { type: 'Unstake', node: fresh.key, amount: 1n }),
      accountTx(bob, 2, { type: 'Unstake', node: fresh.key, amount: 1n }),
    ])
    expect(block.receipts.map((r) => r.status)).toEqual([
      'TX_BAD_PROOF_OF_POSSESSION',
      'TX_BAD_PROOF_OF_POSSESSION',
      'ok',
      'ok',
      'TX_NODE_EXISTS',
      'TX_NOT_OWNER',
      'ok',
      'TX_STAKE_LOCKED',
      'TX_NOT_OWNER',
    ])
    const node = await executor.node(fresh.key)
    expect(node).toMatchObject({ staked: FLK(200n), lockedUntilEpoch: 2, participation: 'optedIn' })
    expect((await executor.account(alice.address))?.flk).toBe(FLK(800n))
    expect(await supplyHeld(executor)).toBe((await executor.metadata()).supply)
  })

  it('settles delivery claims once, only for their node, and pays the node at the epoch change', async () => {
    const chain = testChain({ params: { epochTimeMs: 10_000n } })
    const executor = await openTestExecutor(chain)
    const node = chain.nodes[0]!
    const other = testNode('other', chain.alice)
    const client = clientKeyFromPrivate(fixedSecret('client'))
    const stranger = clientKeyFromPrivate(fixedSecret('stranger'))
    const claim = makeClaim(client, node.key, 10)
    const more = makeClaim(client, node.key, 25)
    const b1 = await nextBlock(executor, [
      accountTx(chain.alice, 1, { type: 'RegisterClientKey', clientKey: client.publicKey }),
      accountTx(chain.bob, 1, { type: 'RegisterClientKey', clientKey: client.publicKey }),
      nodeTx(node, 1, { type: 'SubmitDeliveryClaims', claims: [claim] }),
      nodeTx(node, 2, { type: 'SubmitDeliveryClaims', claims: [claim] }),
      nodeTx(node, 3, {
        type: 'SubmitDeliveryClaims',
        claims: [makeClaim(client, other.key, 5), makeClaim(stranger, node.key, 5), more],
      }),
    ])
    expect(b1.receipts.map((r) => r.status)).toEqual([
      'ok',
      'TX_CLIENT_KEY_TAKEN',
      'ok',
      'TX_INVALID_CLAIM',
      'ok',
    ])
    const paidPerUnit = 262_144n * 10n ** 9n
    expect(b1.receipts[2]?.events).toEqual([
      {
        type: 'ClaimSettled',
        node: node.key,
        clientKey: client.publicKey,
        units: 10,
        paid: 10n * paidPerUnit,
      },
    ])
    expect(b1.receipts[4]?.events?.map((e) => e.type)).toEqual([
      'ClaimRejected',
      'ClaimRejected',
      'ClaimSettled',
    ])
    expect((await executor.account(chain.alice.address))?.stables).toBe(
      FLK(1000n) - 25n * paidPerUnit,
    )

    // The epoch's time is up: signal, commit, reveal.
    const reveal = fixedSecret('reveal')
    const b2 = await nextBlock(
      executor,
      [nodeTx(node, 4, { type: 'ChangeEpoch', epoch: 0 })],
      1_000,
    )
    expect(b2.receipts[0]?.status).toBe('TX_WRONG_EPOCH')
    const b3 = await nextBlock(
      executor,
      [nodeTx(node, 5, { type: 'ChangeEpoch', epoch: 0 })],
      10_000,
    )
    expect(b3.receipts[0]?.status).toBe('ok')
    expect((await executor.metadata()).beacon.kind).toBe('commit')
    await nextBlock(executor, [
      nodeTx(node, 6, { type: 'BeaconCommit', commit: beaconCommitOf(0, 0, reveal) }),
    ])
    expect((await executor.metadata()).beacon.kind).toBe('reveal')
    const operatorBefore = (await executor.account(node.owner.address))!
    const supplyBefore = (await executor.metadata()).supply
    const b5 = await nextBlock(executor, [nodeTx(node, 7, { type: 'BeaconReveal', reveal })])
    expect(b5.receipts[0]?.status).toBe('ok')
    expect(b5.header.epoch).toBe(1)
    const rewards = b5.receipts[0]?.events?.filter((e) => e.type === 'Reward') ?? []
    expect(rewards).toHaveLength(1)
    const operatorAfter = (await executor.account(node.owner.address))!
    expect(operatorAfter.stables).toBeGreaterThan(operatorBefore.stables)
    expect(operatorAfter.flk).toBeGreaterThan(operatorBefore.flk)
    const meta = await executor.metadata()
    expect(meta.supply - supplyBefore).toBe(operatorAfter.flk - operatorBefore.flk)
    expect(await supplyHeld(executor)).toBe(meta.supply)
    expect((await executor.committee(1))?.members).toEqual([node.key])
  })

  it('computes the same roots for the same blocks, and resumes from its store', async () => {
    const chain = testChain()
    const { alice, bob } = chain
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: FLK(700n) })), {
            maxLength: 4,
          }),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        async (blocks) => {
          const store = new MemoryKvStore()
          const a = await StateExecutor.open(store, chain.genesis)
          const b = await openTestExecutor(chain)
          const nonces = new Map<string, number>([
            ['a', 0],
            ['b', 0],
          ])
          for (const txs of blocks) {
            const body = txs.map(([fromAlice, amount]) => {
              const who = fromAlice ? 'a' : 'b'
              const nonce = (nonces.get(who) ?? 0) + 1
              nonces.set(who, nonce)
              return accountTx(fromAlice ? alice : bob, nonce, {
                type: 'Transfer',
                to: fromAlice ? bob.address : alice.address,
                token: 'FLK',
                amount,
              })
            })
            const x = await nextBlock(a, body)
            const y = await nextBlock(b, body)
            expect(x.hash).toEqual(y.hash)
          }
          expect(await supplyHeld(a)).toBe((await a.metadata()).supply)
          const reopened = await StateExecutor.open(store, chain.genesis)
          expect(reopened.head).toEqual(a.head)
          const meta = decodeEntry('metadata', (await reopened.get('metadata', METADATA_KEY))!)
          expect(meta.height).toBe(blocks.length)
        },
      ),
      { numRuns: 15 },
    )
  })

  it('refuses a store of another chain', async () => {
    const store = new MemoryKvStore()
    await StateExecutor.open(store, testChain().genesis)
    await expect(
      StateExecutor.open(store, testChain({ nodeCount: 2 }).genesis),
    ).rejects.toMatchObject({
      code: 'STATE_WRONG_GENESIS',
    })
  })
})
