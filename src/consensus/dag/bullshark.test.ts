import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { seededRandom } from '../testing/committee-simulator.ts'
import { Bullshark, type CommittedSubDag, leaderSchedule } from './bullshark.ts'
import { committeeShape, type DagVertex } from './dag-types.ts'

const name = (round: number, author: number) => `${round}:${author}`

/** Every author in every round, each referencing every certificate of the round before. */
function fullDag(size: number, rounds: number): DagVertex[][] {
  const out: DagVertex[][] = []
  for (let r = 1; r <= rounds; r++) {
    out.push(
      Array.from({ length: size }, (_, a) => ({
        digest: name(r, a),
        author: a,
        round: r,
        parents: r === 1 ? [] : Array.from({ length: size }, (_, p) => name(r - 1, p)),
      })),
    )
  }
  return out
}

const roundRobin = (size: number) => (round: number) => (round / 2 - 1) % size

function flatten(commits: CommittedSubDag[]): string[] {
  return commits.flatMap((c) => c.vertices.map((v) => v.digest))
}

/** The sequence with each leader's boundary marked: who committed what matters too. */
function withLeaders(commits: CommittedSubDag[]): string[] {
  return commits.flatMap((c) => [`leader ${c.leader.digest}:`, ...c.vertices.map((v) => v.digest)])
}

/** A random causal order of the DAG's vertices: each after all its parents. */
function causalOrder(vertices: readonly DagVertex[], random: () => number): DagVertex[] {
  const delivered = new Set<string>()
  const waiting = [...vertices]
  const out: DagVertex[] = []
  while (waiting.length > 0) {
    const ready = waiting.filter((v) => v.parents.every((p) => delivered.has(p)))
    const pick = ready[Math.floor(random() * ready.length)]!
    waiting.splice(waiting.indexOf(pick), 1)
    delivered.add(pick.digest)
    out.push(pick)
  }
  return out
}

function run(size: number, order: readonly DagVertex[], gcDepth = 50): CommittedSubDag[] {
  const b = new Bullshark({ committee: committeeShape(size), leaderOf: roundRobin(size), gcDepth })
  return order.flatMap((v) => b.add(v))
}

/** Random DAGs: each round a quorum or more of authors, each with a quorum or more of parents. */
const dagArb = fc
  .record({
    size: fc.constantFrom(4, 7),
    rounds: fc.integer({ min: 4, max: 16 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  .map(({ size, rounds, seed }) => {
    const random = seededRandom(seed)
    const { quorum } = committeeShape(size)
    // Sparse DAGs (parents near the quorum) are where leaders miss support and paths matter.
    const density = 0.2 + 0.7 * random()
    const vertices: DagVertex[] = []
    let previous: DagVertex[] = []
    for (let r = 1; r <= rounds; r++) {
      const authors = Array.from({ length: size }, (_, a) => a).filter(() => random() < 0.85)
      while (authors.length < quorum) {
        const a = Math.floor(random() * size)
        if (!authors.includes(a)) authors.push(a)
      }
      const round = authors.map((a) => {
        const parents = previous.filter(() => random() < density).map((v) => v.digest)
        while (r > 1 && parents.length < quorum) {
          const p = previous[Math.floor(random() * previous.length)]!.digest
          if (!parents.includes(p)) parents.push(p)
        }
        return { digest: name(r, a), author: a, round: r, parents: parents.sort() }
      })
      vertices.push(...round)
      previous = round
    }
    return { size, vertices }
  })

describe('Bullshark', () => {
  test('a leader commits at the (f + 1)-th certificate of the next round that references it', () => {
    const dag = fullDag(4, 3)
    const b = new Bullshark({ committee: committeeShape(4), leaderOf: roundRobin(4) })
    for (const v of [...dag[0]!, ...dag[1]!]) expect(b.add(v)).toEqual([])
    // f + 1 = 2 for n = 4: the first round-3 certificate is not enough, the second is.
    expect(b.add(dag[2]![0]!)).toEqual([])
    const commits = b.add(dag[2]![1]!)
    expect(commits).toHaveLength(1)
    expect(commits[0]!.leader.digest).toBe(name(2, 0))
    // Its causal history by (round, author), the leader last; the rest of round 2 waits.
    expect(flatten(commits)).toEqual(['1:0', '1:1', '1:2', '1:3', '2:0'])
    expect(b.lastCommittedRound).toBe(2)
    expect(b.add(dag[2]![2]!)).toEqual([])
  })

  test('a leader short of f + 1 supporters commits before the next leader that reaches it', () => {
    const size = 4
    const dag = fullDag(size, 5)
    // Round 3: only certificate 3:3 references leader 2:0 (f = 1 supporter).
    for (const v of dag[2]!) {
      if (v.author !== 3) {
        Object.assign(v, { parents: v.parents.filter((p) => p !== name(2, 0)) })
      }
    }
    const commits = run(size, dag.flat())
    expect(commits.map((c) => c.leader.digest)).toEqual([name(2, 0), name(4, 1)])
    const sequence = flatten(commits)
    expect(new Set(sequence).size).toBe(sequence.length)
    expect(sequence.indexOf('2:0')).toBeLessThan(sequence.indexOf('4:1'))
  })

  test('a leader whose last supporter arrives late: committed directly or through the path, the same', () => {
    const size = 4
    const dag = fullDag(size, 5)
    const drop = (v: DagVertex, digest: string) =>
      Object.assign(v, { parents: v.parents.filter((p) => p !== digest) })
    // Leader 2:0 has two supporters in round 3 (3:2, 3:3); round 4 never references 3:3.
    drop(dag[2]![0]!, name(2, 0))
    drop(dag[2]![1]!, name(2, 0))
    for (const v of dag[3]!) drop(v, name(3, 3))
    const inRoundOrder = dag.flat()
    const late = dag.flat().filter((v) => v.digest !== name(3, 3))
    late.push(dag[2]![3]!)
    const a = withLeaders(run(size, inRoundOrder))
    const b = withLeaders(run(size, late))
    expect(a[0]).toBe('leader 2:0:')
    expect(b).toEqual(a)
  })

  test('a leader that no later leader reaches is never committed', () => {
    const size = 4
    const dag = fullDag(size, 5)
    // Nobody in round 3 references leader 2:0.
    for (const v of dag[2]!) {
      Object.assign(v, { parents: v.parents.filter((p) => p !== name(2, 0)) })
    }
    const commits = run(size, dag.flat())
    expect(commits.map((c) => c.leader.digest)).toEqual([name(4, 1)])
    expect(flatten(commits)).not.toContain('2:0')
  })

  test('every causal delivery order of a random DAG gives the same commit sequence', () => {
    fc.assert(
      fc.property(
        dagArb,
        fc.array(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { minLength: 20, maxLength: 20 }),
        ({ size, vertices }, seeds) => {
          const reference = flatten(run(size, causalOrder(vertices, seededRandom(seeds[0]!))))
          for (const seed of seeds.slice(1)) {
            expect(flatten(run(size, causalOrder(vertices, seededRandom(seed))))).toEqual(reference)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  test('the sequence commits each certificate once, after its parents, leaders at their rounds', () => {
    fc.assert(
      fc.property(dagArb, fc.integer({ min: 1, max: 2 ** 31 - 1 }), ({ size, vertices }, seed) => {
        const commits = run(size, causalOrder(vertices, seededRandom(seed)))
        const sequence = flatten(commits)
        expect(new Set(sequence).size).toBe(sequence.length)
        const at = new Map(sequence.map((d, i) => [d, i]))
        const byDigest = new Map(vertices.map((v) => [v.digest, v]))
        for (const d of sequence) {
          for (const p of byDigest.get(d)!.parents) {
            expect(at.get(p)).toBeDefined()
            expect(at.get(p)!).toBeLessThan(at.get(d)!)
          }
        }
        let lastRound = 0
        for (const c of commits) {
          expect(c.leader.round % 2).toBe(0)
          expect(c.leader.author).toBe(roundRobin(size)(c.leader.round))
          expect(c.leader.round).toBeGreaterThan(lastRound)
          expect(c.vertices.at(-1)).toBe(c.leader)
          lastRound = c.leader.round
        }
      }),
      { numRuns: 200 },
    )
  })

  test('rounds below the garbage-collection depth are forgotten and ignored', () => {
    const size = 4
    const dag = fullDag(size, 12)
    const b = new Bullshark({
      committee: committeeShape(size),
      leaderOf: roundRobin(size),
      gcDepth: 2,
    })
    const commits = dag.flat().flatMap((v) => b.add(v))
    expect(commits.map((c) => c.leader.round)).toEqual([2, 4, 6, 8, 10])
    expect(b.gcRound).toBe(8)
    // A late certificate of a forgotten round does nothing.
    expect(b.add({ digest: 'late', author: 0, round: 3, parents: [] })).toEqual([])
    // Each commit after the first orders only what is above the GC round then.
    expect(commits[4]!.vertices.every((v) => v.round > 6)).toBe(true)
  })

  test('resumed after a restart (lastCommittedRound, the DAG re-fed by round): the same commits as without the crash', () => {
    fc.assert(
      fc.property(
        dagArb,
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(50, 4),
        ({ size, vertices }, seed, cutAt, gcDepth) => {
          const options = { committee: committeeShape(size), leaderOf: roundRobin(size), gcDepth }
          const order = causalOrder(vertices, seededRandom(seed))
          const cut = Math.floor(cutAt * order.length)
          const member = new Bullshark(options)
          for (const v of order.slice(0, cut)) member.add(v)
          const committedRound = member.lastCommittedRound
          const after = order.slice(cut).flatMap((v) => member.add(v))
          // The restarted member: what it had delivered comes back round by round (as
          // NarwhalCore.recover delivers it), then the rest as before.
          const resumed = new Bullshark({ ...options, lastCommittedRound: committedRound })
          const redelivered = order.slice(0, cut).sort((a, b) => a.round - b.round)
          const replay = redelivered.flatMap((v) => resumed.add(v))
          const rest = order.slice(cut).flatMap((v) => resumed.add(v))
          expect(withLeaders([...replay, ...rest])).toEqual(withLeaders(after))
        },
      ),
      { numRuns: 200 },
    )
  })

  test('resumed: a certificate below the committed round that its leader does not reach still commits later', () => {
    const size = 4
    const dag = fullDag(size, 7)
    // Leader 4:1 does not reference 3:3; the other round-4 certificates do, so leader 6:2
    // reaches it.
    Object.assign(dag[3]![1]!, { parents: dag[3]![1]!.parents.filter((p) => p !== name(3, 3)) })
    const all = dag.flat()
    const upTo5 = all.filter((v) => v.round <= 5)
    const reference = run(size, all)
    expect(reference.map((c) => c.leader.digest)).toEqual([name(2, 0), name(4, 1), name(6, 2)])
    const resumed = new Bullshark({
      committee: committeeShape(size),
      leaderOf: roundRobin(size),
      lastCommittedRound: 4,
    })
    expect(upTo5.flatMap((v) => resumed.add(v))).toEqual([])
    const later = all.filter((v) => v.round > 5).flatMap((v) => resumed.add(v))
    expect(withLeaders(later)).toEqual(withLeaders(reference.slice(2)))
    expect(flatten(later)).toContain(name(3, 3))
    // A fresh Bullshark fed the same DAG would hand out leaders 2 and 4 again.
    expect(run(size, all).length).toBe(3)
  })

  test('lastCommittedRound: a leader round or nothing', () => {
    const make = (lastCommittedRound: number) =>
      new Bullshark({ committee: committeeShape(4), leaderOf: roundRobin(4), lastCommittedRound })
    expect(() => make(3)).toThrow(RangeError)
    expect(() => make(-2)).toThrow(RangeError)
    expect(make(6).lastCommittedRound).toBe(6)
  })

  test('a second certificate of one author and round is ignored', () => {
    const dag = fullDag(4, 3)
    const b = new Bullshark({ committee: committeeShape(4), leaderOf: roundRobin(4) })
    for (const v of [...dag[0]!, ...dag[1]!]) b.add(v)
    expect(b.add({ ...dag[2]![0]!, digest: 'twin' })).toEqual([])
    b.add(dag[2]![0]!)
    expect(b.add({ ...dag[2]![0]!, digest: 'twin-2' })).toEqual([])
  })
})

describe('leaderSchedule', () => {
  test('a permutation of the committee, round-robin on even rounds, the same for the same seed', () => {
    const seed = new Uint8Array(32).fill(7)
    const a = leaderSchedule(7, seed)
    const leaders = Array.from({ length: 7 }, (_, k) => a(2 * (k + 1)))
    expect([...leaders].sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
    expect(a(16)).toBe(leaders[0])
    const b = leaderSchedule(7, seed)
    expect(Array.from({ length: 7 }, (_, k) => b(2 * (k + 1)))).toEqual(leaders)
    const others = Array.from({ length: 8 }, (_, i) => {
      const s = leaderSchedule(7, new Uint8Array(32).fill(i + 10))
      return Array.from({ length: 7 }, (_, k) => s(2 * (k + 1))).join()
    })
    expect(new Set(others).size).toBeGreaterThan(1)
    expect(() => a(3)).toThrow(RangeError)
    expect(() => a(0)).toThrow(RangeError)
  })
})
