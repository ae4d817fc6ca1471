/**
 * The forwarding orderer of a following node over the real StateExecutor: the followed node is
 * a solo orderer on the same executor, so a block carrying a forwarded transaction can be made
 * (and seen here) at any point of the forward, before or after the followed node's answer.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, test } from 'vitest'
import { createSoloOrderer, type SoloOrderer } from '../../consensus/solo-orderer.ts'
import {
  ALICE,
  ALICE_SECRET,
  NODE_SEED,
  openTestChain,
  transfer,
} from '../../consensus/testing/chain.ts'
import type { ExecutedBlock } from '../../state/model.ts'
import type { ChainFollower } from './chain-follower.ts'
import { createForwardingOrderer } from './forwarding-orderer.ts'

type When = 'before-answer' | 'after-answer' | 'refused'

/** A follower whose followed node orders with `solo`; `when` says where the block is made. */
function followerOver(solo: SoloOrderer, when: () => When): ChainFollower {
  const listeners = new Set<(block: ExecutedBlock) => void>()
  solo.onBlock((block) => {
    for (const l of listeners) l(block)
  })
  const follower: ChainFollower = {
    name: 'follower over a solo orderer',
    async submit(bytes) {
      if (when() === 'refused') throw Object.assign(new Error('refused'), { code: 'TX_NONCE' })
      const digest = await solo.submit(bytes)
      if (when() === 'before-answer') await solo.produceBlock()
      return bytesToHex(digest)
    },
    pending: async () => false,
    onBlock(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    diverged: undefined,
    following: 'http://followed.invalid',
    start: async () => {},
    stop: async () => {},
  }
  return follower
}

async function setup(when: () => When) {
  const chain = await openTestChain()
  const solo = await createSoloOrderer({
    executor: chain.executor,
    nodeSeed: NODE_SEED,
    blockMs: 60_000,
    maxBlockTransactions: 100,
    now: chain.now,
  })
  const forwarding = createForwardingOrderer({
    executor: chain.executor,
    follower: followerOver(solo, when),
  })
  forwarding.start()
  return { chain, solo, forwarding }
}

describe('forwarding orderer', () => {
  test('a transaction whose block is executed before the followed node answers is not left pending', async () => {
    const { solo, forwarding } = await setup(() => 'before-answer')
    const digest = await forwarding.submit(transfer(ALICE_SECRET, 1, 1n))
    expect(forwarding.pending(digest)).toBe(false)
    expect(await forwarding.nextNonce({ kind: 'account', address: ALICE })).toBe(2)
    forwarding.stop()
    await solo.stop()
  })

  test('pending from the forward until the block carrying it, then not', async () => {
    const { solo, forwarding } = await setup(() => 'after-answer')
    const digest = await forwarding.submit(transfer(ALICE_SECRET, 1, 1n))
    expect(forwarding.pending(digest)).toBe(true)
    expect(await forwarding.nextNonce({ kind: 'account', address: ALICE })).toBe(2)
    await solo.produceBlock()
    expect(forwarding.pending(digest)).toBe(false)
    forwarding.stop()
    await solo.stop()
  })

  test('a refused forward leaves nothing pending and the nonce where it was', async () => {
    const { solo, forwarding } = await setup(() => 'refused')
    const bytes = transfer(ALICE_SECRET, 1, 1n)
    await expect(forwarding.submit(bytes)).rejects.toMatchObject({ code: 'TX_NONCE' })
    expect(await forwarding.nextNonce({ kind: 'account', address: ALICE })).toBe(1)
    forwarding.stop()
    await solo.stop()
  })

  test('a refused second forward of the same bytes keeps the first one pending', async () => {
    let when: When = 'after-answer'
    const { solo, forwarding } = await setup(() => when)
    const bytes = transfer(ALICE_SECRET, 1, 1n)
    const digest = await forwarding.submit(bytes)
    when = 'refused'
    await expect(forwarding.submit(bytes)).rejects.toMatchObject({ code: 'TX_NONCE' })
    expect(forwarding.pending(digest)).toBe(true)
    forwarding.stop()
    await solo.stop()
  })
})
