/**
 * The attestation section (issue 16 item 2): what a node outside the committee pays to check
 * that a block was signed by the committee (src/consensus/attestation/block-attestation.ts).
 *
 * - `verifyAttestation` of one aggregate of 4 and of 100 signers (the whole committee signed),
 *   with the committee's decoded keys and the sum of the signers' keys cached (the same keys
 *   array all epoch, as a follower holds it), and cold (a fresh array each time: every key
 *   decoded with its subgroup check and summed again).
 * - `verifyBlockSignature` of one member's partial (what the collector pays per partial).
 * - `aggregateAttestation` of 67 partials (a quorum of 100).
 * - The collector's cost of one block: its quorum of partials (3 of 4, 67 of 100) added until
 *   the attestation comes out, each checked on arrival (the default) or checked as one sum
 *   (`deferVerification`); keys decoded once per collector, as in a running member.
 * - Peer: one plain BLS min-sig verify with @noble/curves (`shortSignatures.verify` of a
 *   signature over 40 bytes, hashed to G1 under the default DST), the floor of any check.
 *
 * Each figure is CPU time per operation (`process.cpuUsage()`, user + system), the median of
 * `rounds` rounds; wall time per operation is in the notes, with the load average.
 */
import os from 'node:os'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { AttestationCollector } from '../../src/consensus/attestation/attestation-collector.ts'
import {
  aggregateAttestation,
  signBlock,
  verifyAttestation,
  verifyBlockSignature,
} from '../../src/consensus/attestation/block-attestation.ts'
import { blockHash, executedBlockOf } from '../../src/state/block.ts'
import type { BlockHeader } from '../../src/state/model.ts'
import { makeBlsKey } from '../../src/state/transaction.ts'
import { type Figure, median } from '../shared.ts'

export interface AttestationBenchOptions {
  /** Operations per round. */
  readonly reps: number
  readonly rounds: number
  readonly log: (line: string) => void
}

interface Timing {
  readonly cpuMs: number
  readonly wallMs: number
}

/** CPU and wall milliseconds per call of `run`, medians over the rounds (after one warm-up). */
function time(run: () => void, reps: number, rounds: number): Timing {
  for (let i = 0; i < Math.max(1, reps >> 2); i++) run()
  const cpu: number[] = []
  const wall: number[] = []
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage()
    const w0 = performance.now()
    for (let i = 0; i < reps; i++) run()
    const w = performance.now() - w0
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000 / reps)
    wall.push(w / reps)
  }
  return { cpuMs: median(cpu), wallMs: median(wall) }
}

/** Headers of heights 1..count (real roots), as a chain's blocks. */
function headers(count: number): BlockHeader[] {
  return Array.from(
    { length: count },
    (_, i) =>
      executedBlockOf(
        {
          chainId: 1,
          height: i + 1,
          parent: new Uint8Array(32).fill(i & 0xff),
          timestampMs: 1_700_000_000_000 + i,
          transactions: [new Uint8Array(256).fill(i & 0xff)],
        },
        [],
        0,
        new Uint8Array(32).fill(2),
      ).header,
  )
}

/** CPU and wall ms for a collector to take one block's quorum of partials to an attestation. */
function collectorCost(
  members: readonly { secretKey: Uint8Array; publicKey: Uint8Array }[],
  quorum: number,
  deferVerification: boolean,
  reps: number,
  rounds: number,
): Timing {
  const total = Math.max(1, reps >> 2) + reps * rounds
  const blocks = headers(total).map((h) => ({
    height: h.height,
    hash: blockHash(h),
    partials: members.slice(0, quorum).map((m) => signBlock(m.secretKey, h)),
  }))
  const collector = new AttestationCollector({
    committeeBlsKeys: members.map((m) => m.publicKey),
    window: 4,
    floor: 1,
    deferVerification,
  })
  let next = 0
  return time(
    () => {
      const block = blocks[next++]
      if (block === undefined) throw new Error('collector bench: out of blocks')
      let last = ''
      for (let m = 0; m < quorum; m++) {
        last = collector.add(m, block.height, block.hash, block.partials[m] as Uint8Array).kind
      }
      if (last !== 'attested') throw new Error(`collector bench: ${last}, not attested`)
      collector.prune(block.height + 1)
    },
    reps,
    rounds,
  )
}

export async function measureAttestation(
  options: AttestationBenchOptions,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const { reps, rounds, log } = options
  const load0 = os.loadavg()[0] as number
  const header = executedBlockOf(
    {
      chainId: 1,
      height: 42,
      parent: new Uint8Array(32).fill(1),
      timestampMs: 1_700_000_000_000,
      transactions: [new Uint8Array(256)],
    },
    [],
    0,
    new Uint8Array(32).fill(2),
  ).header
  log('attestation: 100 BLS keys and signatures')
  const members = Array.from({ length: 100 }, (_, i) => {
    const seed = new Uint8Array(32)
    seed[0] = i
    seed[1] = 0xa7
    return makeBlsKey(seed)
  })
  const partials = members.map((m) => signBlock(m.secretKey, header))
  const committee = (n: number) => members.slice(0, n).map((m) => m.publicKey)
  const all = (n: number) =>
    aggregateAttestation(n, new Map(partials.slice(0, n).map((s, i) => [i, s])))

  const timings: Record<string, Timing> = {}
  for (const n of [4, 100]) {
    const keys = committee(n)
    const attestation = all(n)
    verifyAttestation(header, attestation, keys) // throws if the fixture were wrong
    log(`attestation: verify ${n} of ${n}, cached keys`)
    timings[`verify-${n}`] = time(() => verifyAttestation(header, attestation, keys), reps, rounds)
    log(`attestation: verify ${n} of ${n}, cold`)
    timings[`verify-${n}-cold`] = time(
      () => verifyAttestation(header, attestation, [...keys]),
      Math.max(1, reps >> 1),
      rounds,
    )
  }
  log('attestation: one partial')
  const key0 = members[0]?.publicKey as Uint8Array
  const sig0 = partials[0] as Uint8Array
  if (!verifyBlockSignature(key0, header, sig0)) throw new Error('the partial does not verify')
  timings.partial = time(() => verifyBlockSignature(key0, header, sig0), reps, rounds)
  log('attestation: aggregate 67 partials')
  const quorum = new Map(partials.slice(0, 67).map((s, i) => [i, s]))
  timings.aggregate = time(() => aggregateAttestation(100, quorum), reps, rounds)
  log('attestation: plain BLS verify (peer)')
  const bls = bls12_381.shortSignatures
  const message = new Uint8Array(40).fill(3)
  const plainSig = bls.Signature.toBytes(bls.sign(bls.hash(message), members[0]!.secretKey))
  timings.plain = time(() => bls.verify(plainSig, bls.hash(message), key0), reps, rounds)
  for (const [n, q] of [
    [4, 3],
    [100, 67],
  ] as const) {
    const few = Math.max(1, Math.floor(reps / (n === 4 ? 4 : 40)))
    log(`attestation: collector, ${q} of ${n}, checked one by one (${few} x ${rounds})`)
    timings[`collect-${n}`] = collectorCost(members.slice(0, n), q, false, few, rounds)
    log(`attestation: collector, ${q} of ${n}, checked as one sum`)
    timings[`collect-${n}-sum`] = collectorCost(members.slice(0, n), q, true, few, rounds)
  }

  const figures: Figure[] = [
    { name: 'attestation.verify-4', value: timings['verify-4']!.cpuMs, unit: 'ms' },
    { name: 'attestation.verify-4-cold', value: timings['verify-4-cold']!.cpuMs, unit: 'ms' },
    { name: 'attestation.verify-100', value: timings['verify-100']!.cpuMs, unit: 'ms' },
    { name: 'attestation.verify-100-cold', value: timings['verify-100-cold']!.cpuMs, unit: 'ms' },
    { name: 'attestation.partial', value: timings.partial.cpuMs, unit: 'ms' },
    { name: 'attestation.aggregate-67', value: timings.aggregate.cpuMs, unit: 'ms' },
    { name: 'attestation.bls-verify', value: timings.plain.cpuMs, unit: 'ms' },
    { name: 'attestation.collect-4', value: timings['collect-4']!.cpuMs, unit: 'ms' },
    { name: 'attestation.collect-4-sum', value: timings['collect-4-sum']!.cpuMs, unit: 'ms' },
    { name: 'attestation.collect-100', value: timings['collect-100']!.cpuMs, unit: 'ms' },
    { name: 'attestation.collect-100-sum', value: timings['collect-100-sum']!.cpuMs, unit: 'ms' },
  ]
  const wall = Object.entries(timings)
    .map(([k, t]) => `${k} ${t.wallMs.toFixed(2)} ms`)
    .join(', ')
  const notes = [
    `Attestations: CPU ms per operation, medians of ${rounds} rounds of ${reps} (cold: ${Math.max(1, reps >> 1)}; collector: ${Math.max(1, Math.floor(reps / 4))} blocks of 4, ${Math.max(1, Math.floor(reps / 40))} of 100); ` +
      `wall ms per operation: ${wall}. Load average (1 min) ${load0.toFixed(2)} at the section's start, ` +
      `${(os.loadavg()[0] as number).toFixed(2)} at its end.`,
  ]
  return { figures, notes }
}

export function attestationComparisons() {
  const section =
    'Block attestations (issue 16): BLS12-381 min-sig, @noble/curves, CPU ms per check'
  const vsPlain = (figure: string, label: string) => ({
    section,
    label: `${label}, vs one plain BLS verify`,
    figure: `attestation.${figure}`,
    peer: 'attestation.bls-verify',
    ratio: `attestation.ratio.${figure}/bls-verify`,
  })
  return [
    vsPlain('verify-4', 'aggregate of 4 signers, keys cached'),
    vsPlain('verify-100', 'aggregate of 100 signers, keys cached'),
    vsPlain('verify-4-cold', 'aggregate of 4 signers, keys decoded and summed'),
    vsPlain('verify-100-cold', 'aggregate of 100 signers, keys decoded and summed'),
    vsPlain('partial', "one member's partial"),
    vsPlain('aggregate-67', 'aggregating 67 partials'),
    vsPlain('collect-4', 'collector, 3 of 4 partials to an attestation, each checked'),
    vsPlain('collect-4-sum', 'collector, 3 of 4 partials, checked as one sum'),
    vsPlain('collect-100', 'collector, 67 of 100 partials to an attestation, each checked'),
    vsPlain('collect-100-sum', 'collector, 67 of 100 partials, checked as one sum'),
  ]
}
