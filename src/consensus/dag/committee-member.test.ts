import { describe, expect, test } from 'vitest'
import { type MemberRun, runMembers } from '../testing/member-network.ts'
import type { OrderedSubDag } from './committee-member.ts'
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
})
