/**
 * The node's checkpoint book over a real executor: the bodies it computes from executed blocks
 * (handoff at the epoch change, every `interval` blocks inside an epoch), the runs it serves, a
 * follower's check of a served checkpoint, catching up on blocks it missed, and reopening.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, test } from 'vitest'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { beaconCommitOf } from '../state/beacon.ts'
import type { StateExecutor } from '../state/executor.ts'
import type { ExecutedBlock } from '../state/model.ts'
import { checkStateProof } from '../state/state-proof.ts'
import { tableKeys } from '../state/tables.ts'
import {
  accountTx,
  fixedSecret,
  nextBlock,
  nodeTx,
  openTestExecutor,
  type TestChain,
  testChain,
} from '../state/testing/chain-fixture.ts'
import { checkpointHash, committeeKeysHash, signCheckpoint } from './checkpoint.ts'
import { CheckpointBook } from './checkpoint-book.ts'
import { type CheckpointAnchor, checkNextCheckpoint } from './checkpoint-chain.ts'
import { CheckpointError } from './errors.ts'
import { genesisAnchor } from './genesis-anchor.ts'

const INTERVAL = 4

/** A one-node chain run through an epoch change (signal, commit, reveal) and past it. */
async function runChain(chain: TestChain, executor: StateExecutor): Promise<ExecutedBlock[]> {
  const node = chain.nodes[0]!
  const blocks: ExecutedBlock[] = []
  const step = async (txs: Uint8Array[], ms = 1_000) => {
    blocks.push(await nextBlock(executor, txs, ms))
  }
  for (let nonce = 1; nonce <= 5; nonce++) {
    await step([
      accountTx(chain.alice, nonce, {
        type: 'Transfer',
        to: chain.bob.address,
        token: 'USDC',
        amount: 1n,
      }),
    ])
  }
  const reveal = fixedSecret('reveal')
  await step([nodeTx(node, 1, { type: 'ChangeEpoch', epoch: 0 })], 200_000)
  await step([nodeTx(node, 2, { type: 'BeaconCommit', commit: beaconCommitOf(0, 0, reveal) })])
  await step([nodeTx(node, 3, { type: 'BeaconReveal', reveal })])
  expect(blocks.at(-1)?.header.epoch).toBe(1)
  for (let i = 0; i < 6; i++) await step([])
  return blocks
}

async function setUp() {
  const chain = testChain()
  const executor = await openTestExecutor(chain)
  const kv = new MemoryKvStore()
  const genesis = await genesisAnchor(chain.genesis)
  const book = await CheckpointBook.open({ kv, genesis, chain: executor, interval: INTERVAL })
  return { chain, executor, kv, genesis, book }
}

describe('CheckpointBook', () => {
  test('computes a handoff at the epoch change and one every interval inside an epoch; signed, they walk from genesis', async () => {
    const { chain, executor, genesis, book } = await setUp()
    const blocks = await runChain(chain, executor)
    const taken = []
    for (const block of blocks) {
      const body = await book.observe(block)
      if (body !== undefined) taken.push(body)
    }
    const handoffHeight = blocks.findIndex((b) => b.header.epoch === 1) + 1
    expect(taken.map((b) => b.height)).toEqual(
      [4, 8, handoffHeight, 12].filter((h, i, all) => all.indexOf(h) === i).sort((a, b) => a - b),
    )
    const handoff = taken.find((b) => b.height === handoffHeight)!
    expect(handoff.epoch).toBe(1)
    expect(handoff.previous).toEqual(genesis.hash)
    expect(handoff.nextCommittee).toEqual(committeeKeysHash([chain.nodes[0]!.bls.publicKey]))
    // Inside epoch 1, the checkpoints hang off the handoff.
    const after = taken.filter((b) => b.height > handoffHeight)
    for (const body of after) expect(body.previous).toEqual(checkpointHash(handoff))
    for (const body of taken) {
      const block = blocks[body.height - 1]!
      expect(body.stateRoot).toEqual(block.header.stateRoot)
    }

    // Nothing is served before it is signed; then the handoff with its committee, then the newest.
    expect(await book.run(0)).toEqual([])
    for (const body of taken) {
      const signature = signCheckpoint(chain.nodes[0]!.bls.secretKey, body)
      await book.putAggregate(body.height, Uint8Array.of(1), signature)
    }
    const run = await book.run(0)
    expect(run.map((s) => s.checkpoint.body.height)).toEqual([handoffHeight, after.at(-1)!.height])
    expect(run[0]?.committee).toEqual([chain.nodes[0]!.bls.publicKey])
    expect(await book.run(1)).toEqual([run[1]])

    let anchor: CheckpointAnchor = genesis
    let head = genesis.body
    for (const served of run) {
      const step = checkNextCheckpoint(anchor, served.checkpoint, served.committee)
      if (step.kind === 'handoff') anchor = step.anchor
      head = step.kind === 'handoff' ? step.anchor.body : step.body
    }
    expect(anchor.body.epoch).toBe(1)
    expect(head.height).toBe(after.at(-1)!.height)
    // A state proof at the checkpoint's height checks against its root.
    const proved = await executor.prove('committees', tableKeys.committee(1), head.height)
    expect(() =>
      checkStateProof(
        head.stateRoot,
        'committees',
        tableKeys.committee(1),
        proved.value,
        proved.proof,
      ),
    ).not.toThrow()
  })

  test('a follower keeps a served checkpoint only when it is the one it computed and the committee signed it', async () => {
    const { chain, executor, book } = await setUp()
    const blocks = await runChain(chain, executor)
    for (const block of blocks) await book.observe(block)
    const body = (await book.bodyAt(4))!
    const secret = chain.nodes[0]!.bls.secretKey
    const good = { body, signers: Uint8Array.of(1), signature: signCheckpoint(secret, body) }

    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p
      } catch (e) {
        expect(e).toBeInstanceOf(CheckpointError)
        return (e as CheckpointError).code
      }
      return 'accepted'
    }
    const otherRoot = { ...body, stateRoot: new Uint8Array(32).fill(9) }
    expect(
      await codeOf(
        book.acceptServed({
          ...good,
          body: otherRoot,
          signature: signCheckpoint(secret, otherRoot),
        }),
      ),
    ).toBe('CHECKPOINT_SIGNATURE')
    const stranger = testChain({ nodeCount: 2 }).nodes[1]!.bls.secretKey
    expect(
      await codeOf(book.acceptServed({ ...good, signature: signCheckpoint(stranger, body) })),
    ).toBe('CHECKPOINT_SIGNATURE')
    expect(await codeOf(book.acceptServed({ ...good, signers: Uint8Array.of(2) }))).toBe(
      'CHECKPOINT_MALFORMED',
    )
    expect(await codeOf(book.acceptServed({ ...good, body: { ...body, height: 5 } }))).toBe(
      'CHECKPOINT_GAP',
    )
    expect(await book.signedAt(4)).toBeUndefined()
    expect(await codeOf(book.acceptServed(good))).toBe('accepted')
    expect(await book.signedAt(4)).toEqual(good)
  })

  test('blocks it missed are read back from the chain; reopened, it resumes where it stood', async () => {
    const { chain, executor, kv, genesis, book } = await setUp()
    const blocks = await runChain(chain, executor)
    // Told of the last block only: it reads every block before it from the executor.
    await book.observe(blocks.at(-1)!)
    expect(book.observed).toBe(blocks.length)

    const other = await setUp()
    await runChain(other.chain, other.executor)
    for (const block of blocks) await other.book.observe(block)
    for (let h = 0; h <= blocks.length; h++) {
      const mine = await book.bodyAt(h)
      const theirs = await other.book.bodyAt(h)
      expect(mine === undefined ? undefined : bytesToHex(checkpointHash(mine))).toBe(
        theirs === undefined ? undefined : bytesToHex(checkpointHash(theirs)),
      )
    }
    const reopened = await CheckpointBook.open({ kv, genesis, chain: executor, interval: INTERVAL })
    expect(reopened.observed).toBe(blocks.length)
    // Another genesis's anchor over the same store is refused.
    const strange = await genesisAnchor(testChain({ nodeCount: 2 }).genesis)
    await expect(
      CheckpointBook.open({ kv, genesis: strange, chain: executor, interval: INTERVAL }),
    ).rejects.toMatchObject({ code: 'CHECKPOINT_MALFORMED' })
  })
})
