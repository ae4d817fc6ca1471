import { describe, expect, test } from 'vitest'
import { macSigner, macVerifier } from '../testing/committee-simulator.ts'
import { type MemberRun, runMembers } from '../testing/member-network.ts'
import { CommitteeMember, type MemberAction, type OrderedSubDag } from './committee-member.ts'
import type { Member } from './dag-types.ts'
import { toHex } from './narwhal-messages.ts'

const sequence = (subDags: readonly OrderedSubDag[]) =>
  subDags.flatMap((s) => s.transactions.map(toHex))

function expectAgreement(result: MemberRun, members: readonly Member[]) {
  const sequences = members.map((m) => sequence(result.commits[m] ?? []))
  const longest = sequences.reduce((a, b) => (b.length > a.length ? b : a))
  for (const s of sequences) expect(s).toEqual(longest.slice(0, s.length))
  // Each transaction once; every one submitted is in.
  expect(new Set(longest).size).toBe(longest.length)
  expect([...longest].sort()).toEqual([...result.submitted].sort())
  for (const m of members) {
    const stamps = (result.commits[m] ?? []).map((s) => s.timestampMs)
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b))
  }
}

describe('a committee of CommitteeMembers', () => {
  test('every member commits every transaction once, in one order, over 12 seeds', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const result = runMembers({ seed })
      expectAgreement(result, [0, 1, 2, 3])
      for (const commits of result.commits) expect(commits.length).toBeGreaterThan(0)
    }
  })

  test('a member that lost batches asks for them: it votes and commits the same', () => {
    // Member 3 receives no batch broadcast in the first 5 s: it holds headers, asks authors.
    const result = runMembers({
      seed: 7,
      net: { drop: (_from, to, frame, now) => to === 3 && frame.kind === 'batch' && now < 5_000 },
    })
    expect(result.batchRequests).toBeGreaterThan(0)
    expectAgreement(result, [0, 1, 2, 3])
  })

  test('one member silent for 6 s: the others keep committing; it catches up after', () => {
    const result = runMembers({
      seed: 11,
      durationMs: 30_000,
      net: { drop: (from, to, _f, now) => (from === 2 || to === 2) && now > 2_000 && now < 8_000 },
    })
    expectAgreement(result, [0, 1, 2, 3])
  })

  test('a member that crashes and restarts from its records commits the same sequence, over 6 seeds', () => {
    for (let seed = 21; seed <= 26; seed++) {
      const result = runMembers({
        seed,
        durationMs: 30_000,
        restart: { member: 2, atMs: 3_000 + seed * 100, downMs: 1_500 },
      })
      expectAgreement(result, [0, 1, 2, 3])
      // Its commits after the restart carry on from where it was: no leader twice.
      const rounds = (result.commits[2] ?? []).map((c) => c.leaderRound)
      expect(new Set(rounds).size).toBe(rounds.length)
    }
  })

  test('a member whose last batch was lost with it proposes without it after the restart, and its new transactions commit, over 6 seeds', () => {
    for (let seed = 41; seed <= 46; seed++) {
      const result = runMembers({
        seed,
        durationMs: 30_000,
        restart: { member: 2, atMs: 4_000, downMs: 1_500, loseLastBatch: true },
      })
      // Every transaction given to it after it is back commits, on every member.
      expectAgreement(result, [0, 1, 2, 3])
      expect(result.commits[2]?.length).toBeGreaterThan(result.rejoinedAt[2] ?? 0)
    }
  })

  test('a member down longer than the DAG is kept rejoins at a committed round the others give it, and commits what they commit after it, over 6 seeds', () => {
    for (let seed = 31; seed <= 36; seed++) {
      // GC depth 10: the 8 s outage is tens of rounds, far more than the others keep.
      const result = runMembers({
        seed,
        durationMs: 30_000,
        gcDepth: 10,
        rejoin: { member: 2, atMs: 3_000, downMs: 8_000, from: 0 },
      })
      expectAgreement(result, [0, 1, 3])
      const others = result.commits[0] ?? []
      const mine = result.commits[2] ?? []
      const before = result.rejoinedAt[2] ?? 0
      const after = mine.slice(before)
      expect(after.length).toBeGreaterThan(2)
      // Before: a prefix of the others'. After: exactly theirs from the first leader it commits.
      expect(sequence(mine.slice(0, before))).toEqual(sequence(others.slice(0, before)))
      const from = others.findIndex((c) => c.leaderRound === after[0]?.leaderRound)
      expect(from).toBeGreaterThan(before)
      // The run ends at an arbitrary moment: either side may be a commit or two ahead.
      const common = Math.min(after.length, others.length - from)
      expect(common).toBeGreaterThan(2)
      const theirs = others.slice(from, from + common)
      expect(after.slice(0, common).map((c) => c.leaderRound)).toEqual(
        theirs.map((c) => c.leaderRound),
      )
      expect(sequence(after.slice(0, common))).toEqual(sequence(theirs))
      // It resumed after the round it was given: nothing it was told was committed comes again.
      const given = others[from - 1]
      expect(given).toBeDefined()
      expect(after[0]?.leaderRound).toBeGreaterThan(given?.leaderRound ?? 0)
    }
  })

  test('the same transaction given again later is a new (salted) batch and commits again, without the salt', () => {
    const member = new CommitteeMember({
      epoch: 1n,
      committeeSize: 1,
      signer: macSigner(0),
      verifier: macVerifier(1),
      leaderSeed: new Uint8Array(32),
      nowMs: 0,
      maxHeaderDelayMs: 10,
      batchDelayMs: 5,
    })
    const tx = Uint8Array.of(0xa1, 0x61, 0x61, 0x01)
    const commits: OrderedSubDag[] = []
    const broadcastBatches: Uint8Array[] = []
    let now = 0
    const run = (actions: MemberAction[]) => {
      for (const a of actions) {
        if (a.kind === 'commit') commits.push(a.subDag)
        if (a.kind === 'broadcast' && a.frame.kind === 'batch')
          broadcastBatches.push(a.frame.encoded)
      }
    }
    const until = (count: number) => {
      while (commits.length < count && now < 5_000) {
        now += 5
        run(member.handle({ kind: 'tick', nowMs: now }))
      }
    }
    run(member.handle({ kind: 'transaction', bytes: tx }))
    until(1)
    run(member.handle({ kind: 'transaction', bytes: tx }))
    until(2)
    const withTx = commits.filter((c) => c.transactions.length > 0)
    expect(withTx.map((c) => c.transactions.map(toHex))).toEqual([[toHex(tx)], [toHex(tx)]])
    expect(broadcastBatches).toHaveLength(2)
    expect(toHex(broadcastBatches[0] as Uint8Array)).not.toBe(
      toHex(broadcastBatches[1] as Uint8Array),
    )
  })
})
