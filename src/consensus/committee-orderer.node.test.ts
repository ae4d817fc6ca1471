import { bytesToHex } from '@noble/hashes/utils.js'
import { afterEach, describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { MemoryNetwork } from '../net/memory-transport.ts'
import { createMessenger } from '../net/messenger.ts'
import type { StateExecutor } from '../state/executor.ts'
import type { ExecutedBlock } from '../state/model.ts'
import {
  accountTx,
  openTestExecutor,
  type TestAccount,
  type TestChain,
  type TestNode,
  testChain,
} from '../state/testing/chain-fixture.ts'
import { AttestationStore } from './attestation/attestation-store.ts'
import { verifyAttestation } from './attestation/block-attestation.ts'
import { type CommitteeOrderer, createCommitteeOrderer } from './committee-orderer.ts'
import { CONSENSUS_FRAMES } from './dag/consensus-frames.ts'
import { NarwhalStore } from './dag/narwhal-store.ts'
import { defaultSetTimer, type SetTimer } from './timer.ts'

const running: CommitteeOrderer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((o) => o.stop()))
})

const peerOf = (key: Uint8Array) => bytesToHex(key)

interface Committee {
  readonly chain: TestChain
  readonly network: MemoryNetwork
  readonly executors: StateExecutor[]
  readonly orderers: CommitteeOrderer[]
  /** Each member's stores: its chain's and its DAG's (they outlive a restart). */
  readonly stores: { chain: MemoryKvStore; dag: MemoryKvStore }[]
}

interface MemberOptions {
  readonly gcDepth?: number
  readonly setTimer?: SetTimer
  readonly onRole?: (member: boolean, epoch: number) => void | Promise<void>
}

async function member(
  c: Omit<Committee, 'orderers' | 'executors'>,
  i: number,
  extra: MemberOptions = {},
) {
  const node = c.chain.nodes[i] as TestNode
  const stores = c.stores[i] as { chain: MemoryKvStore; dag: MemoryKvStore }
  const executor = await openTestExecutor(c.chain, stores.chain)
  const orderer = createCommitteeOrderer({
    executor,
    nodeSeed: node.seed,
    transport: c.network.transport(peerOf(node.key)),
    peerOf,
    store: new NarwhalStore(stores.dag, 'narwhal/'),
    blsSecretKey: node.bls.secretKey,
    attestations: new AttestationStore(stores.chain),
    timing: {
      maxHeaderDelayMs: 50,
      batchDelayMs: 10,
      resendMs: 500,
      ...(extra.gcDepth === undefined ? {} : { gcDepth: extra.gcDepth }),
    },
    emptyBlockMs: 60_000,
    ...(extra.onRole === undefined ? {} : { onRole: extra.onRole }),
    ...(extra.setTimer === undefined ? {} : { setTimer: extra.setTimer }),
  })
  running.push(orderer)
  await orderer.start()
  return { executor, orderer }
}

/** A committee of `size`, its first `running` members started (the rest the test plays). */
async function committee(
  size = 4,
  extra: (i: number) => MemberOptions = () => ({}),
  running = size,
): Promise<Committee> {
  const chain = testChain({ nodeCount: size })
  const network = new MemoryNetwork()
  const stores = chain.nodes.map(() => ({ chain: new MemoryKvStore(), dag: new MemoryKvStore() }))
  const base = { chain, network, stores }
  const started = await Promise.all(
    chain.nodes.slice(0, running).map((_, i) => member(base, i, extra(i))),
  )
  shown = started.map((s) => s.orderer)
  return {
    ...base,
    executors: started.map((s) => s.executor),
    orderers: started.map((s) => s.orderer),
  }
}

const transfer = (from: TestAccount, to: TestAccount, nonce: number, amount: bigint) =>
  accountTx(from, nonce, { type: 'Transfer', to: to.address, token: 'USDC', amount })

/** Every executor has executed every digest; then their heads agree block by block. */
async function expectSameChain(c: Committee, digests: readonly Uint8Array[], members: number[]) {
  for (const m of members) {
    const executor = c.executors[m] as StateExecutor
    await waitFor(async () => {
      for (const d of digests) if ((await executor.transaction(d)) === undefined) return false
      return true
    }, `member ${m} executes every transaction`)
  }
  const height = Math.min(...members.map((m) => (c.executors[m] as StateExecutor).head.height))
  expect(height).toBeGreaterThan(0)
  for (let h = 1; h <= height; h++) {
    const blocks = await Promise.all(members.map((m) => (c.executors[m] as StateExecutor).block(h)))
    const hashes = new Set(blocks.map((b) => bytesToHex(b?.hash ?? new Uint8Array())))
    expect(hashes.size, `block ${h}`).toBe(1)
  }
}

/** Member 3 off the network; `count` of Alice's transfers, through member 0, executed by 0-2. */
async function withoutMember3(c: Committee, count: number) {
  const away = peerOf(c.chain.nodes[3]?.key as Uint8Array)
  c.network.cut(away)
  const digests: Uint8Array[] = []
  for (let nonce = 1; nonce <= count; nonce++) {
    digests.push(
      await (c.orderers[0] as CommitteeOrderer).submit(
        transfer(c.chain.alice, c.chain.bob, nonce, 1n),
      ),
    )
  }
  await expectSameChain(c, digests, [0, 1, 2])
  return { away, digests }
}

/** The members of the test running: a wait that times out says where each stood. */
let shown: readonly CommitteeOrderer[] = []

/** Bounds, not timings: a loaded CI machine runs the members several times slower. */
async function waitFor(check: () => Promise<boolean>, what: string, ms = 45_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) {
      const where = shown.map((o) => ({ ...o.status, head: o.head.height, mempool: o.mempoolSize }))
      throw new Error(`timed out: ${what}; the members: ${JSON.stringify(where)}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('four committee orderers over an in-memory network', { timeout: 240_000 }, () => {
  test('transactions submitted to different members execute once, in the same blocks everywhere', async () => {
    const c = await committee()
    const { alice, bob } = c.chain
    const digests: Uint8Array[] = []
    // Alice's go to member 0, Bob's to member 1, in nonce order (one member keeps one sender's order).
    for (let nonce = 1; nonce <= 15; nonce++) {
      digests.push(
        await (c.orderers[0] as CommitteeOrderer).submit(transfer(alice, bob, nonce, 1n)),
      )
      digests.push(
        await (c.orderers[1] as CommitteeOrderer).submit(transfer(bob, alice, nonce, 2n)),
      )
    }
    await expectSameChain(c, digests, [0, 1, 2, 3])
    for (const executor of c.executors) {
      for (const d of digests) {
        const at = await executor.transaction(d)
        expect(at?.receipt.status, bytesToHex(d)).toBe('ok')
      }
    }
    const roots = new Set(c.executors.map((e) => bytesToHex(e.head.stateRoot)))
    expect(roots.size).toBe(1)
    // Every member assembles every block's attestation, and it verifies against the committee.
    const keys = c.chain.nodes.map((n) => n.bls.publicKey)
    for (const [i, executor] of c.executors.entries()) {
      const store = new AttestationStore(c.stores[i]?.chain as MemoryKvStore)
      for (let h = 1; h <= executor.head.height; h++) {
        const block = await executor.block(h)
        await waitFor(async () => (await store.get(h)) !== undefined, `member ${i} attests ${h}`)
        const attestation = await store.get(h)
        expect(() =>
          verifyAttestation(block?.header as never, attestation as never, keys),
        ).not.toThrow()
      }
    }
  })

  test('a sender’s later nonce that executes first waits for the earlier one, then executes', async () => {
    const c = await committee()
    const { alice, bob } = c.chain
    const second = await (c.orderers[0] as CommitteeOrderer).submit(transfer(alice, bob, 2, 2n))
    // Let the second commit alone first (a re-proposed batch can land behind a later one).
    await waitFor(
      async () =>
        (await c.executors[0]?.transaction(second)) !== undefined ||
        c.executors[0]!.head.height > 0,
      'a first block',
    )
    const first = await (c.orderers[1] as CommitteeOrderer).submit(transfer(alice, bob, 1, 1n))
    await expectSameChain(c, [first], [0, 1, 2, 3])
    await waitFor(async () => {
      const at = await c.executors[0]?.transaction(second)
      return at?.receipt.status === 'ok'
    }, 'the later nonce executes after the earlier one')
    for (const executor of c.executors) {
      expect((await executor.transaction(first))?.receipt.status).toBe('ok')
    }
  })

  test('a transaction submitted to two members executes once; the copy costs nothing', async () => {
    const c = await committee()
    const tx = transfer(c.chain.alice, c.chain.bob, 1, 5n)
    const [d0, d2] = await Promise.all([
      (c.orderers[0] as CommitteeOrderer).submit(tx),
      (c.orderers[2] as CommitteeOrderer).submit(tx),
    ])
    expect(bytesToHex(d0)).toBe(bytesToHex(d2))
    await expectSameChain(c, [d0], [0, 1, 2, 3])
    const blocks = await Promise.all(
      Array.from({ length: c.executors[0]?.head.height ?? 0 }, (_, i) =>
        (c.executors[0] as StateExecutor).block(i + 1),
      ),
    )
    const copies = blocks.flatMap((b) => b?.body.transactions ?? []).length
    expect(copies).toBe(1)
  })

  test('with one member cut off the others keep executing; back, it catches up to the same chain', async () => {
    const c = await committee()
    const { alice, bob } = c.chain
    const { away: cut, digests } = await withoutMember3(c, 5)
    expect(c.executors[3]?.head.height).toBe(0)
    c.network.restore(cut)
    for (let nonce = 6; nonce <= 8; nonce++) {
      digests.push(
        await (c.orderers[1] as CommitteeOrderer).submit(transfer(alice, bob, nonce, 1n)),
      )
    }
    await expectSameChain(c, digests, [0, 1, 2, 3])
  })

  test('a member stopped mid-stream restarts from its stores, catches up and orders again', async () => {
    const c = await committee()
    const { alice, bob } = c.chain
    const digests: Uint8Array[] = []
    for (let nonce = 1; nonce <= 5; nonce++) {
      digests.push(
        await (c.orderers[0] as CommitteeOrderer).submit(transfer(alice, bob, nonce, 1n)),
      )
    }
    await expectSameChain(c, digests, [0, 1, 2, 3])
    await (c.orderers[2] as CommitteeOrderer).stop()
    for (let nonce = 6; nonce <= 10; nonce++) {
      digests.push(
        await (c.orderers[0] as CommitteeOrderer).submit(transfer(alice, bob, nonce, 1n)),
      )
    }
    await expectSameChain(c, digests, [0, 1, 3])
    const restarted = await member(c, 2)
    c.executors[2] = restarted.executor
    c.orderers[2] = restarted.orderer
    expect(restarted.orderer.status.member).toBe(2)
    // It orders again: Bob's transactions go to it.
    for (let nonce = 1; nonce <= 3; nonce++) {
      digests.push(await restarted.orderer.submit(transfer(bob, alice, nonce, 1n)))
    }
    await expectSameChain(c, digests, [0, 1, 2, 3])
  })

  test('a member away longer than the others keep their DAG leaves it and says so; what it admitted is handed over', async () => {
    const roles: boolean[] = []
    const c = await committee(4, (i) => ({
      gcDepth: 4,
      ...(i === 3
        ? {
            onRole: (m: boolean) => {
              roles.push(m)
            },
          }
        : {}),
    }))
    expect(roles).toEqual([true])
    const away = peerOf(c.chain.nodes[3]?.key as Uint8Array)
    c.network.cut(away)
    // Admitted by the member cut off: it cannot reach the others.
    const strandedTx = transfer(c.chain.bob, c.chain.alice, 1, 1n)
    const member3 = c.orderers[3] as CommitteeOrderer
    await member3.submit(strandedTx)
    expect(member3.takePending()).toEqual([]) // a member orders what it admitted itself
    // Empty headers go out every 50 ms: the others soon pass the 2 × 4 rounds they keep (it
    // leaves at a frame 8 rounds past its own). A deadline, not a measure: the full suite's load
    // has slowed the three, signing and checking Ed25519 in JavaScript, to a few rounds a second.
    await waitFor(
      async () => (c.orderers[0] as CommitteeOrderer).status.round > 20,
      'the others move 20 rounds on',
      150_000,
    )
    c.network.restore(away)
    await waitFor(async () => roles.length === 2, 'member 3 leaves the DAG')
    expect(roles).toEqual([true, false])
    // Out of the DAG, it hands what it admitted to whoever passes it on (a node's forwarder).
    expect(member3.takePending().map((b) => bytesToHex(b))).toEqual([bytesToHex(strandedTx)])
    expect(member3.mempoolSize).toBe(0)
    // The others are not held back by it.
    const tx = await (c.orderers[0] as CommitteeOrderer).submit(
      transfer(c.chain.alice, c.chain.bob, 1, 1n),
    )
    await expectSameChain(c, [tx], [0, 1, 2])

    // Admitted here while its follower catches up (a role switch), executed by a block the
    // follower runs: that block's receipts take it out of the mempool, or it would be answered
    // "pending" for good (the devnet's kill -9 test saw a restarted member do so).
    const late = transfer(c.chain.bob, c.chain.alice, 1, 1n)
    const lateDigest = await member3.submit(late)
    await (c.orderers[0] as CommitteeOrderer).submit(late)
    await expectSameChain(c, [lateDigest], [0, 1, 2])
    const ahead = c.executors[0] as StateExecutor
    const behind = c.executors[3] as StateExecutor
    for (let h = behind.head.height + 1; h <= ahead.head.height; h++) {
      const block = (await ahead.block(h)) as ExecutedBlock
      await member3.headMoved(await behind.execute(block.body))
    }
    expect(await behind.transaction(lateDigest)).toBeDefined()
    expect(member3.pending(lateDigest)).toBe(false)
    expect(member3.mempoolSize).toBe(0)
  }, 300_000)

  test('timers that fire a little early (a busy event loop) do not stall an idle committee', async () => {
    // Node runs timers on the loop time cached when a busy iteration began: one can fire a few
    // ms before Date.now() reaches its deadline. Here every timer fires 5 ms early.
    const early: SetTimer = (fn, ms) => defaultSetTimer(fn, Math.max(0, ms - 5))
    const c = await committee(4, () => ({ setTimer: early }))
    // Nothing to order: every member proposes empty headers on its header-delay timer alone.
    await waitFor(
      async () => c.orderers.every((o) => o.status.round > 10),
      'every member proposes past round 10',
    )
    const tx = await (c.orderers[2] as CommitteeOrderer).submit(
      transfer(c.chain.alice, c.chain.bob, 1, 1n),
    )
    await expectSameChain(c, [tx], [0, 1, 2, 3])
  })

  test('one member naming a round far ahead does not send the others out of the DAG', async () => {
    const roles: boolean[][] = [[], [], []]
    const c = await committee(
      4,
      (i) => ({
        gcDepth: 4,
        onRole: (m: boolean) => {
          roles[i]?.push(m)
        },
      }),
      3,
    )
    const { chain, network } = c
    // Member 3 is Byzantine: headers (unsigned, never verifiable) of round 100,000 to all.
    const liar = createMessenger({
      transport: network.transport(peerOf(chain.nodes[3]?.key as Uint8Array)),
      codec: CONSENSUS_FRAMES,
      peers: [0, 1, 2].map((i) => peerOf(chain.nodes[i]?.key as Uint8Array)),
    })
    await liar.start()
    let lies = 0
    const lie = setInterval(() => {
      lies++
      liar.broadcast({
        kind: 'header',
        header: {
          epoch: 0n,
          round: 100_000 + lies,
          author: 3,
          parents: [],
          batches: [],
          timestampMs: Date.now(),
          signature: new Uint8Array(64).fill(lies & 0xff),
        },
      })
    }, 20)
    try {
      const digests: Uint8Array[] = []
      const first = c.orderers[0] as CommitteeOrderer
      for (let nonce = 1; nonce <= 5; nonce++) {
        digests.push(await first.submit(transfer(chain.alice, chain.bob, nonce, 1n)))
      }
      await expectSameChain(c, digests, [0, 1, 2])
      // The three order on, past the 2 × 4 rounds they keep, and none left its DAG.
      await waitFor(
        async () => c.orderers.every((o) => o.status.round > 20),
        'the three move 20 rounds on',
        150_000,
      )
      expect(lies).toBeGreaterThan(10)
      expect(roles).toEqual([[true], [true], [true]])
      expect(c.orderers.map((o) => o.status.member)).toEqual([0, 1, 2])
    } finally {
      clearInterval(lie)
      await liar.stop()
    }
  }, 300_000)

  test('a member that left the DAG follows by blocks, rejoins at the position f + 1 peers give, and orders again', async () => {
    const roles: boolean[] = []
    /** Member 3's follower: while it is outside, member 0's blocks executed here one by one. */
    let following: Promise<void> | undefined
    let outside = false
    const follow = async () => {
      const source = c.executors[0] as StateExecutor
      const target = c.executors[3] as StateExecutor
      while (outside) {
        // What it admitted goes to the committee, as a node's forwarder passes it on
        // (committee-chain.ts): a member that leaves again under load strands nothing.
        for (const bytes of (c.orderers[3] as CommitteeOrderer).takePending()) {
          await (c.orderers[0] as CommitteeOrderer).submit(bytes).catch(() => {})
        }
        const next = await source.block(target.head.height + 1)
        if (next === undefined) await new Promise((r) => setTimeout(r, 20))
        else {
          await target.execute(next.body)
          await (c.orderers[3] as CommitteeOrderer).headMoved()
        }
      }
    }
    const c = await committee(4, (i) => ({
      gcDepth: 40,
      ...(i === 3
        ? {
            async onRole(member: boolean) {
              roles.push(member)
              if (!member && !outside) {
                outside = true
                following = follow()
              } else if (member && outside) {
                outside = false
                await following
              }
            },
          }
        : {}),
    }))
    const { alice, bob } = c.chain
    const { away, digests } = await withoutMember3(c, 3)
    // Empty headers every 50 ms: the others pass the 2 × 40 rounds they keep.
    await waitFor(
      async () => (c.orderers[0] as CommitteeOrderer).status.round > 95,
      'the others move 95 rounds on',
      150_000,
    )
    c.network.restore(away)
    await waitFor(async () => roles.length === 2, 'member 3 leaves the DAG')
    expect(roles).toEqual([true, false])
    // It follows to the head, and rejoins at a block the others executed recently: the chain
    // stays busy (an idle one makes no block to rejoin at until the next).
    let nonce = 4
    await waitFor(
      async () => {
        if (roles.length >= 3) return true
        digests.push(
          await (c.orderers[1] as CommitteeOrderer).submit(transfer(alice, bob, nonce++, 1n)),
        )
        await new Promise((r) => setTimeout(r, 250))
        return roles.length >= 3
      },
      'member 3 rejoins the DAG',
      60_000,
    )
    // (Under a heavy load it may fall behind again and leave and rejoin once more.)
    expect(roles.slice(0, 3)).toEqual([true, false, true])
    expect((c.orderers[3] as CommitteeOrderer).status.member).toBe(3)
    // It orders again: Bob's transactions go to it, and every member executes the same chain.
    for (let nonce = 1; nonce <= 3; nonce++) {
      digests.push(
        await (c.orderers[3] as CommitteeOrderer).submit(transfer(bob, alice, nonce, 1n)),
      )
    }
    await expectSameChain(c, digests, [0, 1, 2, 3]).catch((e: Error) => {
      const statuses = c.orderers.map((o) => ({ ...o.status, mempool: o.mempoolSize }))
      throw new Error(`${e.message}; member 3's roles ${roles}; ${JSON.stringify(statuses)}`)
    })
    // Back in the DAG and proposing there (a member outside says round 0). Should it have left
    // again under load, the chain stays busy so that it has blocks to rejoin at.
    await waitFor(
      async () => {
        const status = (c.orderers[3] as CommitteeOrderer).status
        if (status.round > 95 && roles.at(-1) === true) return true
        if (roles.at(-1) === false) {
          await (c.orderers[1] as CommitteeOrderer).submit(transfer(alice, bob, nonce++, 1n))
          await new Promise((r) => setTimeout(r, 250))
        }
        return false
      },
      'member 3 proposes in the DAG again',
      60_000,
    )
  }, 420_000)
})
