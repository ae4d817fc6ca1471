import { ed25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ConsensusError } from '../errors.ts'
import type { Member } from './dag-types.ts'
import {
  type NarwhalAction,
  NarwhalCore,
  type NarwhalMessage,
  type NarwhalRecord,
} from './narwhal-core.ts'
import {
  type Certificate,
  compareBytes,
  decodeCertificate,
  decodeHeader,
  decodeVote,
  ed25519DagSigner,
  ed25519DagVerifier,
  encodeCertificate,
  encodeHeader,
  encodeVote,
  type Header,
  headerDigest,
  signerBitfield,
  signersOf,
  toHex,
  type Vote,
  voteDigest,
} from './narwhal-messages.ts'

const N = 4
const EPOCH = 7n
const DELAY = 100
const secretKeys = Array.from({ length: N }, (_, i) => new Uint8Array(32).fill(i + 1))
const publicKeys = secretKeys.map((sk) => ed25519.getPublicKey(sk))
const verifier = ed25519DagVerifier(publicKeys)

function options(member: Member, nowMs = 0, gcDepth = 50, maxWaiting?: number) {
  return {
    ...(maxWaiting === undefined ? {} : { maxWaiting }),
    epoch: EPOCH,
    committeeSize: N,
    signer: ed25519DagSigner(member, secretKeys[member] as Uint8Array),
    verifier,
    maxHeaderDelayMs: DELAY,
    gcDepth,
    nowMs,
  }
}

const headersIn = (actions: NarwhalAction[]): Header[] =>
  of(actions, 'broadcast').flatMap((a) => (a.message.type === 'header' ? [a.message.header] : []))

function core(member: Member, gcDepth = 50, maxWaiting?: number): NarwhalCore {
  return new NarwhalCore(options(member, 0, gcDepth, maxWaiting))
}

function signedHeader(
  author: Member,
  round: number,
  parents: Uint8Array[],
  options: { epoch?: bigint; batches?: Uint8Array[]; key?: Uint8Array; timestampMs?: number } = {},
): Header {
  const body = {
    epoch: options.epoch ?? EPOCH,
    round,
    author,
    parents: [...parents].sort(compareBytes),
    batches: options.batches ?? [],
    timestampMs: options.timestampMs ?? 0,
  }
  const key = options.key ?? (secretKeys[author] as Uint8Array)
  return { ...body, signature: ed25519.sign(headerDigest(body), key) }
}

function voteSignature(header: Header, voter: Member): Uint8Array {
  return ed25519.sign(
    voteDigest(headerDigest(header), header.round, header.author),
    secretKeys[voter] as Uint8Array,
  )
}

function certify(header: Header, voters: Member[]): Certificate {
  const sorted = [...voters].sort((a, b) => a - b)
  return {
    header,
    signers: signerBitfield(sorted),
    signatures: sorted.map((v) => voteSignature(header, v)),
  }
}

/** Round-1 certificates of every member, and round-2 ones referencing all of them. */
function twoRounds(): { round1: Certificate[]; round2: Certificate[] } {
  const round1 = Array.from({ length: N }, (_, a) => certify(signedHeader(a, 1, []), [0, 1, 2]))
  const parents = round1.map((c) => headerDigest(c.header))
  const round2 = Array.from({ length: N }, (_, a) =>
    certify(signedHeader(a, 2, parents), [1, 2, 3]),
  )
  return { round1, round2 }
}

const of = <K extends NarwhalAction['kind']>(actions: NarwhalAction[], kind: K) =>
  actions.filter((a): a is Extract<NarwhalAction, { kind: K }> => a.kind === kind)

const votesIn = (actions: NarwhalAction[]) =>
  of(actions, 'send').filter((a) => a.message.type === 'vote')

// --- the committee over an in-memory queue ---------------------------------------------------

interface Envelope {
  readonly from: Member
  readonly to: Member
  readonly type: NarwhalMessage['type'] | 'request'
  readonly bytes: Uint8Array
  readonly digests?: readonly Uint8Array[]
}

/** A seeded PRNG (mulberry32): a failing seed replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function encodeMessage(message: NarwhalMessage): Uint8Array {
  if (message.type === 'header') return encodeHeader(message.header)
  if (message.type === 'vote') return encodeVote(message.vote)
  return encodeCertificate(message.certificate)
}

/**
 * Runs a 4-member committee until one member proposed `rounds` rounds, then drains the queue.
 * Without a seed the queue is FIFO; with one, each step takes a random message (any order).
 */
function runCommittee(
  rounds: number,
  batchesPerMember: number,
  seed?: number,
  crashAt?: number,
  leaderOf?: (round: number) => Member,
) {
  const random = seed === undefined ? undefined : prng(seed)
  const take = (): Envelope | undefined => {
    if (random === undefined || queue.length === 0) return queue.shift()
    const i = Math.floor(random() * queue.length)
    return queue.splice(i, 1)[0]
  }
  const cores = Array.from(
    { length: N },
    (_, i) => new NarwhalCore({ ...options(i), ...(leaderOf === undefined ? {} : { leaderOf }) }),
  )
  const queue: Envelope[] = []
  const delivered: string[][] = cores.map(() => [])
  const deliveredVertices = cores.map(() => new Map<string, readonly string[]>())
  const refused: NarwhalAction[] = []
  let requests = 0
  /** What member 0 persisted, for its restart. */
  const records: NarwhalRecord[] = []
  const apply = (member: Member, actions: NarwhalAction[]) => {
    for (const a of actions) {
      if (a.kind === 'persist') {
        if (member === 0) records.push(a.record)
      } else if (a.kind === 'broadcast') {
        const bytes = encodeMessage(a.message)
        for (let to = 0; to < N; to++) {
          if (to !== member) queue.push({ from: member, to, type: a.message.type, bytes })
        }
      } else if (a.kind === 'send') {
        queue.push({
          from: member,
          to: a.to,
          type: a.message.type,
          bytes: encodeMessage(a.message),
        })
      } else if (a.kind === 'deliver') {
        delivered[member]?.push(a.vertex.digest)
        deliveredVertices[member]?.set(a.vertex.digest, a.vertex.parents)
      } else if (a.kind === 'request') {
        requests++
        queue.push({
          from: member,
          to: a.to,
          type: 'request',
          bytes: new Uint8Array(),
          digests: a.digests,
        })
      } else if (a.kind === 'refused' || a.kind === 'equivocation') {
        refused.push(a)
      }
    }
  }
  const step = (e: Envelope) => {
    const c = cores[e.to] as NarwhalCore
    if (e.type === 'request')
      apply(e.to, c.handle({ kind: 'request', digests: e.digests ?? [], from: e.from }))
    else if (e.type === 'header')
      apply(e.to, c.handle({ kind: 'header', header: decodeHeader(e.bytes), from: e.from }))
    else if (e.type === 'vote') apply(e.to, c.handle({ kind: 'vote', vote: decodeVote(e.bytes) }))
    else
      apply(
        e.to,
        c.handle({ kind: 'certificate', certificate: decodeCertificate(e.bytes), from: e.from }),
      )
  }
  let batch = 0
  for (let m = 0; m < N; m++) {
    for (let b = 0; b < batchesPerMember; b++) {
      const digest = new Uint8Array(32).fill(++batch)
      apply(m, (cores[m] as NarwhalCore).handle({ kind: 'batch', digest }))
    }
  }
  let now = 0
  let steps = 0
  let crashed = false
  while (Math.max(...cores.map((c) => c.round)) < rounds) {
    if (crashAt !== undefined && !crashed && (cores[0] as NarwhalCore).round >= crashAt) {
      // Member 0 crashes: what was in flight to it is lost, and it restarts from its records.
      crashed = true
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]?.to === 0) queue.splice(i, 1)
      delivered[0] = []
      deliveredVertices[0]?.clear()
      const { core: restarted, actions } = NarwhalCore.recover(
        { ...options(0, now), ...(leaderOf === undefined ? {} : { leaderOf }) },
        records,
      )
      cores[0] = restarted
      apply(0, actions)
    }
    // FIFO drains the queue between ticks; a seeded run leaves a random part of it in flight,
    // so later rounds' messages overtake earlier ones.
    let budget =
      random === undefined ? Number.POSITIVE_INFINITY : Math.floor(random() * queue.length)
    for (
      let e = budget-- > 0 ? take() : undefined;
      e !== undefined;
      e = budget-- > 0 ? take() : undefined
    )
      step(e)
    now += DELAY
    for (let m = 0; m < N; m++)
      apply(m, (cores[m] as NarwhalCore).handle({ kind: 'tick', nowMs: now }))
    if (++steps > 100 * rounds) throw new Error('the committee stopped advancing')
  }
  for (let e = take(); e !== undefined; e = take()) step(e)
  if (crashAt !== undefined) expect(crashed).toBe(true)
  return { cores, delivered, deliveredVertices, refused, requests, records }
}

describe('a 4-member Narwhal committee over an in-memory queue', () => {
  function expectSameCausalOnce(
    delivered: string[][],
    deliveredVertices: Map<string, readonly string[]>[],
  ): Set<string> {
    const reference = new Set(delivered[0])
    for (let m = 0; m < N; m++) {
      const order = delivered[m] as string[]
      expect(new Set(order).size).toBe(order.length) // exactly once
      expect(new Set(order)).toEqual(reference) // the same set
      const seen = new Set<string>()
      for (const d of order) {
        for (const p of deliveredVertices[m]?.get(d) ?? []) expect(seen.has(p)).toBe(true)
        seen.add(d)
      }
    }
    return reference
  }

  test('in any delivery order (seeded), members deliver the same set, causally, once each', () => {
    let requested = 0
    for (let seed = 1; seed <= 4; seed++) {
      const { delivered, deliveredVertices, refused, requests } = runCommittee(5, 1, seed)
      // Out-of-order headers and certificates are refused by nobody: they wait for parents.
      expect(
        refused.map((r) => (r.kind === 'refused' ? `${r.what}: ${r.reason}` : r.kind)),
        `seed ${seed}`,
      ).toEqual([])
      const set = expectSameCausalOnce(delivered, deliveredVertices)
      expect(set.size, `seed ${seed}`).toBeGreaterThanOrEqual(4 * N)
      requested += requests
    }
    // The shuffles did make certificates overtake their parents somewhere.
    expect(requested).toBeGreaterThan(0)
  })

  test('a member that crashes restarts from its records, catches up, and keeps its votes', () => {
    for (const seed of [undefined, 3]) {
      const { cores, delivered, deliveredVertices, refused, records } = runCommittee(7, 1, seed, 3)
      expect(
        refused.filter((r) => r.kind === 'equivocation'),
        `seed ${seed}`,
      ).toEqual([])
      const set = expectSameCausalOnce(delivered, deliveredVertices)
      expect(set.size, `seed ${seed}`).toBeGreaterThanOrEqual(5 * N)
      for (const c of cores) expect(c.round, `seed ${seed}`).toBeGreaterThanOrEqual(6)
      // The restarted member does not vote for another header of an (author, round) it voted
      // for before the crash.
      const vote = records.find(
        (r): r is Extract<NarwhalRecord, { type: 'vote' }> =>
          r.type === 'vote' && r.vote.author === 1,
      )?.vote
      expect(vote).toBeDefined()
      const original = cores[0]?.certificate(toHex(vote?.headerDigest as Uint8Array))
        ?.header as Header
      const other = signedHeader(1, original.round, [...original.parents], {
        batches: [new Uint8Array(32).fill(0xee)],
      })
      const actions = (cores[0] as NarwhalCore).handle({ kind: 'header', header: other, from: 1 })
      expect(votesIn(actions)).toEqual([])
      expect(of(actions, 'refused')[0]?.reason).toBe('voted for another header')
    }
  })

  test('rounds advance; every member delivers the same certificates, causally, once each', () => {
    const { cores, delivered, deliveredVertices, refused } = runCommittee(8, 3)
    expect(refused).toEqual([])
    for (const c of cores) expect(c.round).toBeGreaterThanOrEqual(7)
    expectSameCausalOnce(delivered, deliveredVertices)
    const reference = new Set(delivered[0])
    // Every member's header of every round up to 7 was certified and delivered everywhere.
    expect(reference.size).toBeGreaterThanOrEqual(7 * N)
    for (let m = 0; m < N; m++) {
      const order = delivered[m] as string[]
      expect(new Set(order).size).toBe(order.length) // exactly once
      expect(new Set(order)).toEqual(reference) // the same set
      const seen = new Set<string>()
      for (const d of order) {
        for (const p of deliveredVertices[m]?.get(d) ?? []) expect(seen.has(p)).toBe(true)
        seen.add(d)
      }
    }
    // Every batch went into exactly one certified header (the first at once, in round 1).
    const batches = (delivered[0] as string[]).flatMap((d) =>
      (cores[0]?.certificate(d)?.header.batches ?? []).map(toHex),
    )
    expect(batches).toHaveLength(3 * N)
    expect(new Set(batches).size).toBe(3 * N)
  })
})

describe('proposing', () => {
  const batch = (fill: number) => ({
    kind: 'batch' as const,
    digest: new Uint8Array(32).fill(fill),
  })

  test('batches of a header that was never certified go into the next one', () => {
    const c = core(0)
    const first = headersIn(c.handle(batch(1)))
    expect(first.map((h) => [h.round, h.batches.length])).toEqual([[1, 1]])
    // Nobody votes for it; the others' round-1 certificates arrive.
    const { round1 } = twoRounds()
    const actions = round1
      .slice(1)
      .flatMap((cert) => c.handle({ kind: 'certificate', certificate: cert, from: 1 }))
    expect(headersIn(actions)).toEqual([])
    const second = headersIn(c.handle(batch(2)))
    expect(second).toHaveLength(1)
    expect(second[0]?.round).toBe(2)
    expect(second[0]?.batches.map(toHex)).toEqual(
      [1, 2].map((f) => toHex(new Uint8Array(32).fill(f))),
    )
  })

  /** Member 0 with leader 1 on every even round: certifies its own round-2 header, sees 2 and 3's. */
  function atRoundTwoWithoutLeader() {
    const c = new NarwhalCore({ ...options(0), leaderOf: () => 1 })
    const { round1, round2 } = twoRounds()
    for (const cert of round1) c.handle({ kind: 'certificate', certificate: cert, from: 1 })
    const own = headersIn(c.handle(batch(1)))[0] as Header
    expect(own.round).toBe(2)
    for (const voter of [2, 3]) {
      const vote = {
        headerDigest: headerDigest(own),
        round: 2,
        author: 0,
        voter,
        signature: voteSignature(own, voter),
      }
      c.handle({ kind: 'vote', vote })
    }
    for (const cert of [round2[2], round2[3]] as Certificate[]) {
      expect(headersIn(c.handle({ kind: 'certificate', certificate: cert, from: 2 }))).toEqual([])
    }
    return { c, leader: round2[1] as Certificate }
  }

  test('after an even round, a batch waits for the leader certificate, then goes out referencing it', () => {
    const { c, leader } = atRoundTwoWithoutLeader()
    expect(headersIn(c.handle(batch(2)))).toEqual([]) // 2f + 1 parents, but not the leader
    const header = headersIn(c.handle({ kind: 'certificate', certificate: leader, from: 1 }))
    expect(header).toHaveLength(1)
    expect(header[0]?.round).toBe(3)
    expect(header[0]?.parents.map(toHex)).toContain(toHex(headerDigest(leader.header)))
  })

  test('a member waiting for its delay asks for one timer at the deadline, and proposes then', () => {
    const c = core(0)
    const { round1 } = twoRounds()
    const timers: number[] = []
    for (const cert of round1.slice(1)) {
      for (const a of of(c.handle({ kind: 'certificate', certificate: cert, from: 1 }), 'timer'))
        timers.push(a.atMs)
    }
    // Round 1 was waiting from the start (time 0); round 2's parents came at time 0 too.
    expect(timers).toEqual([DELAY])
    expect(of(c.handle({ kind: 'tick', nowMs: DELAY / 2 }), 'timer')).toEqual([])
    expect(headersIn(c.handle({ kind: 'tick', nowMs: DELAY })).map((h) => h.round)).toEqual([2])
  })

  test('after an even round, the header goes out without the leader once the delay passed', () => {
    const { c, leader } = atRoundTwoWithoutLeader()
    expect(headersIn(c.handle(batch(2)))).toEqual([])
    expect(headersIn(c.handle({ kind: 'tick', nowMs: DELAY - 1 }))).toEqual([])
    const header = headersIn(c.handle({ kind: 'tick', nowMs: DELAY }))
    expect(header).toHaveLength(1)
    expect(header[0]?.parents).toHaveLength(3)
    expect(header[0]?.parents.map(toHex)).not.toContain(toHex(headerDigest(leader.header)))
  })
})

describe('proposing after an odd round (leader 1 of round 2 is 1)', () => {
  /** Member 0 holding rounds 1 and 2, and round-3 certificates of 1, 2, 3 of which `support` reference the leader. */
  function atRoundThree(support: number) {
    const c = new NarwhalCore({ ...options(0), leaderOf: () => 1 })
    const { round1, round2 } = twoRounds()
    for (const cert of [...round1, ...round2])
      c.handle({ kind: 'certificate', certificate: cert, from: 2 })
    const digests = round2.map((x) => headerDigest(x.header))
    const withLeader = [digests[0], digests[1], digests[2]] as Uint8Array[]
    const withoutLeader = [digests[0], digests[2], digests[3]] as Uint8Array[]
    for (const author of [1, 2, 3]) {
      const parents = author <= support ? withLeader : withoutLeader
      const cert = certify(signedHeader(author, 3, parents), [1, 2, 3])
      expect(headersIn(c.handle({ kind: 'certificate', certificate: cert, from: author }))).toEqual(
        [],
      )
    }
    return c
  }

  test('f + 1 references to the leader: the batch goes out at once', () => {
    const c = atRoundThree(2)
    const header = headersIn(c.handle({ kind: 'batch', digest: new Uint8Array(32).fill(1) }))
    expect(header.map((h) => h.round)).toEqual([4])
  })

  test('only f references and f + 1 against: wait for the delay', () => {
    const c = atRoundThree(1)
    expect(headersIn(c.handle({ kind: 'batch', digest: new Uint8Array(32).fill(1) }))).toEqual([])
    expect(headersIn(c.handle({ kind: 'tick', nowMs: DELAY })).map((h) => h.round)).toEqual([4])
  })

  test('2f + 1 against: the leader cannot commit, go at once', () => {
    const c = atRoundThree(0)
    const header = headersIn(c.handle({ kind: 'batch', digest: new Uint8Array(32).fill(1) }))
    expect(header.map((h) => h.round)).toEqual([4])
  })
})

describe('voting', () => {
  function primed() {
    const c = core(0)
    const { round1, round2 } = twoRounds()
    for (const cert of round1) {
      expect(
        of(c.handle({ kind: 'certificate', certificate: cert, from: 1 }), 'deliver'),
      ).toHaveLength(1)
    }
    return { c, round1, round2, parents: round1.map((x) => headerDigest(x.header)) }
  }

  test('a valid header of round 2 gets one vote, sent to its author, that verifies', () => {
    const { c, parents } = primed()
    const header = signedHeader(1, 2, parents)
    const votes = votesIn(c.handle({ kind: 'header', header, from: 1 }))
    expect(votes).toHaveLength(1)
    expect(votes[0]?.to).toBe(1)
    const message = votes[0]?.message
    if (message?.type !== 'vote') throw new Error('no vote')
    const vote = message.vote
    expect(vote.voter).toBe(0)
    expect(verifier.verify(0, voteDigest(headerDigest(header), 2, 1), vote.signature)).toBe(true)
  })

  test('no vote for a forged signature, a wrong epoch, too few parents, an outsider', () => {
    const { c, parents } = primed()
    const cases: [Header, string][] = [
      [signedHeader(1, 2, parents, { key: secretKeys[2] }), 'bad signature'],
      [signedHeader(1, 2, parents, { epoch: EPOCH + 1n }), 'epoch'],
      [signedHeader(1, 2, parents.slice(0, 2)), 'fewer than 3'],
      [signedHeader(1, 1, parents), 'round-1 header has parents'],
      [{ ...signedHeader(1, 2, parents), author: 9 }, 'not a member'],
    ]
    for (const [header, reason] of cases) {
      const actions = c.handle({ kind: 'header', header, from: 1 })
      expect(votesIn(actions)).toEqual([])
      expect(of(actions, 'refused')[0]?.reason).toContain(reason)
    }
    // The honest header still gets its vote afterwards: the refusals did not use it up.
    expect(
      votesIn(c.handle({ kind: 'header', header: signedHeader(1, 2, parents), from: 1 })),
    ).toHaveLength(1)
  })

  test('one vote per (author, round): the same vote again, none for a second header (equivocation)', () => {
    const { c, parents } = primed()
    const header = signedHeader(2, 2, parents)
    const vote = votesIn(c.handle({ kind: 'header', header, from: 2 }))
    expect(vote).toHaveLength(1)
    // The same header again gets the same vote again (its author may have lost it), not a new one.
    expect(votesIn(c.handle({ kind: 'header', header, from: 2 }))).toEqual(vote)
    const other = signedHeader(2, 2, parents, { batches: [new Uint8Array(32).fill(9)] })
    const actions = c.handle({ kind: 'header', header: other, from: 2 })
    expect(votesIn(actions)).toEqual([])
    const evidence = of(actions, 'equivocation')
    expect(evidence).toHaveLength(1)
    expect(evidence[0]?.first).toEqual(header)
    expect(evidence[0]?.second).toEqual(other)
    // Both pieces of evidence carry the author's valid signature.
    for (const h of [evidence[0]?.first, evidence[0]?.second] as Header[]) {
      expect(verifier.verify(2, headerDigest(h), h.signature)).toBe(true)
    }
    // Reported once.
    const third = signedHeader(2, 2, parents, { batches: [new Uint8Array(32).fill(8)] })
    expect(of(c.handle({ kind: 'header', header: third, from: 2 }), 'equivocation')).toEqual([])
  })

  test('a header whose parents are unknown waits, requests them, and is voted for once they arrive', () => {
    const c = core(0)
    const { round1 } = twoRounds()
    const parents = round1.map((x) => headerDigest(x.header))
    const header = signedHeader(3, 2, parents)
    const actions = c.handle({ kind: 'header', header, from: 3 })
    expect(votesIn(actions)).toEqual([])
    const requests = of(actions, 'request')
    expect(requests[0]?.to).toBe(3)
    expect(requests[0]?.digests.map(toHex).sort()).toEqual(parents.map(toHex).sort())
    let votes: NarwhalAction[] = []
    for (const cert of round1)
      votes = votes.concat(votesIn(c.handle({ kind: 'certificate', certificate: cert, from: 3 })))
    expect(votes).toHaveLength(1)
  })
})

describe('timestamps and re-sending', () => {
  test('a header stamped before a parent, or further ahead than the skew, gets no vote', () => {
    const c = new NarwhalCore({ ...options(0, 1_000), maxClockSkewMs: 500 })
    const round1 = Array.from({ length: N }, (_, a) =>
      certify(signedHeader(a, 1, [], { timestampMs: 900 }), [0, 1, 2]),
    )
    for (const cert of round1) c.handle({ kind: 'certificate', certificate: cert, from: 1 })
    const parents = round1.map((x) => headerDigest(x.header))
    const early = c.handle({
      kind: 'header',
      header: signedHeader(1, 2, parents, { timestampMs: 899 }),
      from: 1,
    })
    expect(votesIn(early)).toEqual([])
    expect(of(early, 'refused')[0]?.reason).toContain('stamped before a parent')
    const ahead = c.handle({
      kind: 'header',
      header: signedHeader(2, 2, parents, { timestampMs: 1_501 }),
      from: 2,
    })
    expect(votesIn(ahead)).toEqual([])
    expect(of(ahead, 'refused')[0]?.reason).toContain('ahead of our clock')
    // Within the skew and after the parents: a vote.
    const fine = signedHeader(3, 2, parents, { timestampMs: 1_500 })
    expect(votesIn(c.handle({ kind: 'header', header: fine, from: 3 }))).toHaveLength(1)
  })

  test('our header is stamped with our clock, never before its parents', () => {
    const c = core(0)
    const round1 = Array.from({ length: N }, (_, a) =>
      certify(signedHeader(a, 1, [], { timestampMs: a === 2 ? 5_000 : 10 }), [0, 1, 2]),
    )
    let proposed: Header[] = []
    c.handle({ kind: 'tick', nowMs: 2_000 })
    for (const cert of round1) {
      proposed = proposed.concat(
        headersIn(c.handle({ kind: 'certificate', certificate: cert, from: 1 })),
      )
    }
    proposed = proposed.concat(headersIn(c.handle({ kind: 'tick', nowMs: 2_000 + DELAY })))
    const header = proposed.find((h) => h.round === 2)
    expect(header?.timestampMs).toBe(5_000)
    const later = new NarwhalCore(options(1, 7_000))
    const first = headersIn(later.handle({ kind: 'tick', nowMs: 7_000 + DELAY }))
    expect(first[0]?.timestampMs).toBe(7_000 + DELAY)
  })

  test('idle for resendMs: the uncertified header again, then once certified its certificate', () => {
    const c = new NarwhalCore({ ...options(0, 0), resendMs: 1_000 })
    const header = headersIn(c.handle({ kind: 'tick', nowMs: DELAY }))[0] as Header
    expect(header.round).toBe(1)
    expect(headersIn(c.handle({ kind: 'tick', nowMs: 500 }))).toEqual([])
    const again = c.handle({ kind: 'tick', nowMs: DELAY + 1_000 })
    expect(headersIn(again)).toEqual([header])
    expect(of(again, 'timer').map((t) => t.atMs)).toContain(DELAY + 2_000)
    for (const voter of [1, 2]) {
      const vote = {
        headerDigest: headerDigest(header),
        round: 1,
        author: 0,
        voter,
        signature: voteSignature(header, voter),
      }
      c.handle({ kind: 'vote', vote })
    }
    const resent = of(c.handle({ kind: 'tick', nowMs: DELAY + 2_000 }), 'broadcast')
    expect(resent.map((a) => a.message.type)).toEqual(['certificate'])
  })
})

describe('certificates', () => {
  test('2f votes, a forged vote, a bad header signature are refused', () => {
    const c = core(0)
    const header = signedHeader(1, 1, [])
    const short = certify(header, [1, 2])
    const good = certify(header, [1, 2, 3])
    const forged: Certificate = {
      ...good,
      signatures: [
        good.signatures[0] as Uint8Array,
        good.signatures[1] as Uint8Array,
        voteSignature(header, 1),
      ],
    }
    const badHeader = certify(signedHeader(1, 1, [], { key: secretKeys[0] }), [1, 2, 3])
    for (const [cert, reason] of [
      [short, 'fewer than 3'],
      [forged, 'bad vote signature of member 3'],
      [badHeader, 'bad signature'],
    ] as const) {
      const actions = c.handle({ kind: 'certificate', certificate: cert, from: 1 })
      expect(of(actions, 'deliver')).toEqual([])
      expect(of(actions, 'refused')[0]?.reason).toContain(reason)
    }
    expect(
      of(c.handle({ kind: 'certificate', certificate: good, from: 1 }), 'deliver'),
    ).toHaveLength(1)
    // Delivered once: the same certificate again is nothing.
    expect(c.handle({ kind: 'certificate', certificate: good, from: 2 })).toEqual([])
  })

  test('a certificate with unknown parents is buffered, requested, then delivered after them', () => {
    const c = core(0)
    const { round1, round2 } = twoRounds()
    const child = round2[2] as Certificate
    const actions = c.handle({ kind: 'certificate', certificate: child, from: 2 })
    expect(of(actions, 'deliver')).toEqual([])
    const request = of(actions, 'request')
    expect(request).toHaveLength(1)
    expect(request[0]?.to).toBe(2)
    expect(request[0]?.digests.map(toHex).sort()).toEqual(
      round1.map((x) => toHex(headerDigest(x.header))).sort(),
    )
    expect(c.waitingCount).toBe(1)
    // A second child needs nothing new requested... but its parents still: one request each.
    const order: string[] = []
    for (const cert of round1.slice(0, 3)) {
      for (const d of of(c.handle({ kind: 'certificate', certificate: cert, from: 2 }), 'deliver'))
        order.push(d.vertex.digest)
    }
    expect(order).toHaveLength(3)
    const last = of(
      c.handle({ kind: 'certificate', certificate: round1[3] as Certificate, from: 2 }),
      'deliver',
    )
    expect(last.map((d) => d.vertex.round)).toEqual([1, 2])
    expect(last[1]?.vertex.digest).toBe(toHex(headerDigest(child.header)))
    expect(c.waitingCount).toBe(0)
  })

  test('the buffer of certificates waiting for parents is bounded', () => {
    const c = core(0, 50, 1)
    const { round2 } = twoRounds()
    const first = c.handle({ kind: 'certificate', certificate: round2[0] as Certificate, from: 1 })
    expect(of(first, 'request')).toHaveLength(1)
    const second = c.handle({ kind: 'certificate', certificate: round2[1] as Certificate, from: 1 })
    expect(of(second, 'refused')[0]?.reason).toBe('too many waiting for parents')
    expect(c.waitingCount).toBe(1)
  })

  test('a request for known certificates is answered with them', () => {
    const c = core(0)
    const { round1 } = twoRounds()
    c.handle({ kind: 'certificate', certificate: round1[1] as Certificate, from: 1 })
    const digest = headerDigest((round1[1] as Certificate).header)
    const answer = c.handle({ kind: 'request', digests: [digest, new Uint8Array(32)], from: 3 })
    expect(answer).toEqual([
      { kind: 'send', to: 3, message: { type: 'certificate', certificate: round1[1] } },
    ])
  })

  test('garbage collection drops old rounds and treats their certificates as delivered', () => {
    const c = core(0, 1)
    const { round1, round2 } = twoRounds()
    // Committed round 3 with gcDepth 1: rounds below 2 are collected.
    c.handle({ kind: 'committed', round: 3 })
    expect(
      c.handle({ kind: 'certificate', certificate: round1[0] as Certificate, from: 1 }),
    ).toEqual([])
    // Round-2 certificates' parents (round 1) count as delivered.
    expect(
      of(
        c.handle({ kind: 'certificate', certificate: round2[0] as Certificate, from: 1 }),
        'deliver',
      ),
    ).toHaveLength(1)
  })
})

// --- hostile input ----------------------------------------------------------------------------

describe('hostile event sequences', () => {
  const { round1, round2 } = twoRounds()
  const valid = [...round1, ...round2]
  /** A certificate with one thing changed: most break a signature, some the structure. */
  const mutated = fc
    .tuple(fc.constantFrom(...valid), fc.nat({ max: 6 }), fc.nat())
    .map(([c, how, n]): Certificate => {
      const h = c.header
      switch (how) {
        case 0:
          return { ...c, header: { ...h, round: h.round + 1 + (n % 3) } }
        case 1:
          return { ...c, header: { ...h, author: n % 6 } }
        case 2:
          return { ...c, signers: signerBitfield([n % 4, (n + 1) % 4, (n + 2) % 8]) }
        case 3:
          return { ...c, signatures: [...c.signatures].reverse() }
        case 4:
          return { ...c, header: { ...h, parents: h.parents.slice(n % 2) } }
        case 5:
          return { ...c, header: { ...h, epoch: h.epoch + 1n } }
        default:
          return { ...c, header: { ...h, batches: [new Uint8Array(32).fill(n % 256)] } }
      }
    })
  const event = fc.oneof(
    fc
      .constantFrom(...valid)
      .map((certificate) => ({ kind: 'certificate' as const, certificate, from: 1 })),
    mutated.map((certificate) => ({ kind: 'certificate' as const, certificate, from: 2 })),
    mutated.map((c) => ({ kind: 'header' as const, header: c.header, from: 3 })),
    fc.constantFrom(...valid).map((c) => ({ kind: 'header' as const, header: c.header, from: 3 })),
    fc
      .record({
        headerDigest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        round: fc.integer({ min: 1, max: 4 }),
        author: fc.integer({ min: 0, max: 5 }),
        voter: fc.integer({ min: 0, max: 5 }),
        signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      })
      .map((vote) => ({ kind: 'vote' as const, vote })),
    fc.integer({ min: 0, max: 10_000 }).map((nowMs) => ({ kind: 'tick' as const, nowMs })),
    fc.integer({ min: 0, max: 5 }).map((round) => ({ kind: 'committed' as const, round })),
    fc
      .uint8Array({ minLength: 32, maxLength: 32 })
      .map((digest) => ({ kind: 'batch' as const, digest })),
  )

  test('never throw, deliver only valid certificates, each once and after its parents', () => {
    let deliveries = 0
    fc.assert(
      fc.property(fc.array(event, { maxLength: 25 }), (events) => {
        const c = core(0, 2)
        const delivered = new Set<string>()
        let collectedBelow = 0
        for (const e of events) {
          if (e.kind === 'committed') collectedBelow = Math.max(collectedBelow, e.round - 2)
          for (const a of c.handle(e)) {
            if (a.kind !== 'deliver') continue
            const h = a.certificate.header
            const digest = headerDigest(h)
            expect(delivered.has(a.vertex.digest)).toBe(false)
            expect(a.vertex.digest).toBe(toHex(digest))
            expect(verifier.verify(h.author, digest, h.signature)).toBe(true)
            expect(h.epoch).toBe(EPOCH)
            const signers = signersOf(a.certificate.signers)
            expect(signers.length).toBeGreaterThanOrEqual(3)
            signers.forEach((m, i) => {
              const sig = a.certificate.signatures[i] as Uint8Array
              expect(verifier.verify(m, voteDigest(digest, h.round, h.author), sig)).toBe(true)
            })
            // Parents delivered before, unless their round was garbage-collected.
            for (const p of a.vertex.parents) {
              if (!delivered.has(p)) expect(h.round - 1).toBeLessThan(collectedBelow)
            }
            delivered.add(a.vertex.digest)
            deliveries++
          }
        }
      }),
      { numRuns: 40 },
    )
    expect(deliveries).toBeGreaterThan(0) // the property saw deliveries, not only refusals
  })
})

// --- codecs ------------------------------------------------------------------------------------

const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 })
const headerArb: fc.Arbitrary<Header> = fc.record({
  epoch: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
  round: fc.integer({ min: 1, max: 2 ** 40 }),
  author: fc.integer({ min: 0, max: 1023 }),
  parents: fc
    .uniqueArray(digestArb, { maxLength: 5, selector: toHex })
    .map((p) => p.sort(compareBytes)),
  batches: fc.array(digestArb, { maxLength: 5 }),
  timestampMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
})
const voteArb: fc.Arbitrary<Vote> = fc.record({
  headerDigest: digestArb,
  round: fc.integer({ min: 1, max: 2 ** 40 }),
  author: fc.integer({ min: 0, max: 1023 }),
  voter: fc.integer({ min: 0, max: 1023 }),
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
})
const certificateArb: fc.Arbitrary<Certificate> = fc
  .tuple(headerArb, fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 6 }))
  .chain(([header, signers]) =>
    fc
      .array(fc.uint8Array({ minLength: 64, maxLength: 64 }), {
        minLength: signers.length,
        maxLength: signers.length,
      })
      .map((signatures) => ({ header, signers: signerBitfield(signers), signatures })),
  )

const codecs = [
  {
    name: 'header',
    arb: headerArb as fc.Arbitrary<unknown>,
    encode: encodeHeader,
    decode: decodeHeader,
  },
  { name: 'vote', arb: voteArb as fc.Arbitrary<unknown>, encode: encodeVote, decode: decodeVote },
  {
    name: 'certificate',
    arb: certificateArb as fc.Arbitrary<unknown>,
    encode: encodeCertificate,
    decode: decodeCertificate,
  },
] as const

function valueOrMalformed(
  decode: (b: Uint8Array) => unknown,
  bytes: Uint8Array,
  encode: (v: never) => Uint8Array,
) {
  try {
    const value = decode(bytes)
    // Accepted bytes are the one encoding of what they decode to.
    expect(encode(value as never)).toEqual(bytes)
  } catch (e) {
    expect(e).toBeInstanceOf(ConsensusError)
    expect((e as ConsensusError).code).toBe('CONSENSUS_MALFORMED')
  }
}

describe.each(codecs)('the $name codec', ({ arb, encode, decode }) => {
  test('round-trips to the same bytes', () => {
    fc.assert(
      fc.property(arb, (value) => {
        const bytes = encode(value as never)
        expect(decode(bytes)).toEqual(value)
        expect(encode(decode(bytes) as never)).toEqual(bytes)
      }),
      { numRuns: 200 },
    )
  })

  test('random bytes: a value or CONSENSUS_MALFORMED', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) =>
        valueOrMalformed(decode, bytes, encode),
      ),
      { numRuns: 500 },
    )
  })

  test('mutated encodings: a value or CONSENSUS_MALFORMED', () => {
    fc.assert(
      fc.property(
        arb,
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat({ max: 2 }),
        (value, at, byte, how) => {
          const bytes = encode(value as never)
          const i = at % bytes.length
          let mutated: Uint8Array
          if (how === 0) {
            mutated = bytes.slice()
            mutated[i] = byte
          } else if (how === 1) {
            mutated = bytes.slice(0, i)
          } else {
            mutated = new Uint8Array([...bytes.slice(0, i), byte, ...bytes.slice(i)])
          }
          valueOrMalformed(decode, mutated, encode)
        },
      ),
      { numRuns: 500 },
    )
  })
})

test('decoders refuse unsorted parents, a trailing zero signer byte', () => {
  const header = signedHeader(1, 2, [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)])
  const unsorted = { ...header, parents: [...header.parents].reverse() }
  expect(() => decodeHeader(encodeHeader(unsorted))).toThrow(/sorted/)
  const cert = certify(signedHeader(1, 1, []), [0, 1, 2])
  const padded = { ...cert, signers: new Uint8Array([...cert.signers, 0]) }
  expect(() => decodeCertificate(encodeCertificate(padded))).toThrow(/trailing zero/)
  const vote: Vote = {
    headerDigest: new Uint8Array(32),
    round: 1,
    author: 0,
    voter: 1,
    signature: new Uint8Array(64),
  }
  const bytes = encodeVote(vote)
  expect(decodeVote(bytes)).toEqual(vote)
})
