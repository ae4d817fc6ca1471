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
 * - Peer: one plain BLS min-sig verify with @noble/curves (`shortSignatures.verify` of a
 *   signature over 40 bytes, hashed to G1 under the default DST), the floor of any check.
 *
 * Each figure is CPU time per operation (`process.cpuUsage()`, user + system), the median of
 * `rounds` rounds; wall time per operation is in the notes, with the load average.
 */
import os from 'node:os'
import { bls12_381 } from '@noble/curves/bls12-381.js'
import {
  aggregateAttestation,
  signBlock,
  verifyAttestation,
  verifyBlockSignature,
} from '../../src/consensus/attestation/block-attestation.ts'
import { executedBlockOf } from '../../src/state/block.ts'
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

  const figures: Figure[] = [
    { name: 'attestation.verify-4', value: timings['verify-4']!.cpuMs, unit: 'ms' },
    { name: 'attestation.verify-4-cold', value: timings['verify-4-cold']!.cpuMs, unit: 'ms' },
    { name: 'attestation.verify-100', value: timings['verify-100']!.cpuMs, unit: 'ms' },
    { name: 'attestation.verify-100-cold', value: timings['verify-100-cold']!.cpuMs, unit: 'ms' },
    { name: 'attestation.partial', value: timings.partial.cpuMs, unit: 'ms' },
    { name: 'attestation.aggregate-67', value: timings.aggregate.cpuMs, unit: 'ms' },
    { name: 'attestation.bls-verify', value: timings.plain.cpuMs, unit: 'ms' },
  ]
  const wall = Object.entries(timings)
    .map(([k, t]) => `${k} ${t.wallMs.toFixed(2)} ms`)
    .join(', ')
  const notes = [
    `Attestations: CPU ms per operation, medians of ${rounds} rounds of ${reps} (cold: ${Math.max(1, reps >> 1)}); ` +
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
  ]
}
