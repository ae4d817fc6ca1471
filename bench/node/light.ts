/**
 * The light section (issue 17): what a light client pays to reach today from a genesis file.
 *
 * - `light.year-ms-node` / `light.year-ms`: a year of daily epochs, 365 handoffs of a committee
 *   of 16 drawn from a pool of `poolSize` nodes, served as runs of at most 256 (JSON), walked
 *   with `checkCheckpointRun` (one product of pairings per run, keys decoded once per distinct
 *   bytes), in Node (CPU ms, the mcl kernel Node entry points install) and in a Chromium Web
 *   Worker (wall ms, the noble kernel). Target: ≤ 1 s. `light.year-ms-noble-node`: Node with the
 *   noble kernel, for the record.
 * - Peer, same run: `light.year-ms-plain-node` / `light.year-ms-plain`, one plain @noble/curves
 *   `verify` per handoff with the signers' keys decoded from their bytes each time.
 * - `light.handoff-ms-fresh-keys-node`: the worst case, committees that never repeat a key
 *   (every handoff decodes 16 new keys; the batch pairs per handoff), per handoff.
 * - `light.proof-ms-node` / `light.proof-ms`: one `checkStateProof` of an account under the
 *   root of a StateExecutor holding 10,000 accounts. Target: ≤ 2 ms in the worker.
 *
 * Signing the fixture (365 × 11 signatures) takes ~30 s; it is made once per run, outside
 * every timing, and handed to the worker as the served JSON.
 */
import os from 'node:os'
import {
  type CheckpointRunJson,
  checkpointRunToJson,
  MAX_CHECKPOINTS_PER_RUN,
  type ServedCheckpoint,
} from '../../src/checkpoint/checkpoint-codec.ts'
import { useCheckpointSignatureKernel } from '../../src/checkpoint/handoff-verifier.ts'
import { useMclCheckpointKernel } from '../../src/checkpoint/mcl-signature-kernel.ts'
import { buildCheckpointChain } from '../../src/checkpoint/testing/checkpoint-fixture.ts'
import { MemoryKvStore } from '../../src/kv/memory-kv-store.ts'
import { StateExecutor } from '../../src/state/executor.ts'
import { testChain } from '../../src/state/testing/chain-fixture.ts'
import {
  anchorToJson,
  type LightBenchConfig,
  type LightBenchResult,
  measureLight,
} from '../light-verify.ts'
import type { Figure } from '../shared.ts'

export interface LightBenchOptions {
  readonly epochs: number
  readonly committeeSize: number
  readonly poolSize: number
  /** Handoffs of the no-repeat worst case. */
  readonly freshEpochs: number
  readonly rounds: number
  readonly chromium: boolean
  readonly log: (line: string) => void
}

const cpuMs = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

function servedRuns(handoffs: readonly ServedCheckpoint[]): CheckpointRunJson[] {
  const runs: CheckpointRunJson[] = []
  for (let i = 0; i < handoffs.length; i += MAX_CHECKPOINTS_PER_RUN) {
    runs.push(checkpointRunToJson(handoffs.slice(i, i + MAX_CHECKPOINTS_PER_RUN)))
  }
  return runs
}

/** A proof of Alice's account under the root of a genesis state with 10,000 more accounts. */
async function stateProof(): Promise<LightBenchConfig['proof']> {
  const chain = testChain()
  const extra = Array.from({ length: 10_000 }, (_, i) => {
    const address = new Uint8Array(20)
    new DataView(address.buffer).setUint32(0, i + 1)
    address[19] = 0xa1
    return { address, flk: 1n, stables: 0n }
  })
  const genesis = { ...chain.genesis, accounts: [...chain.genesis.accounts, ...extra] }
  const executor = await StateExecutor.open(new MemoryKvStore(), genesis)
  const proved = await executor.prove('accounts', chain.alice.address)
  if (proved.value === undefined) throw new Error("light bench: Alice's account is not there")
  return {
    root: Buffer.from(proved.root).toString('hex'),
    table: 'accounts',
    key: Buffer.from(chain.alice.address).toString('hex'),
    value: Buffer.from(proved.value).toString('hex'),
    proof: Buffer.from(proved.proof).toString('hex'),
  }
}

export async function measureLightSection(
  options: LightBenchOptions,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const { epochs, committeeSize, poolSize, log } = options
  const load0 = os.loadavg()[0] as number
  log(`light: signing ${epochs} handoffs, committee ${committeeSize} from a pool of ${poolSize}`)
  const t0 = performance.now()
  const year = buildCheckpointChain({ epochs, committeeSize, poolSize })
  log(`light: fixture signed in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const proof = await stateProof()
  const config: LightBenchConfig = {
    genesis: anchorToJson(year.genesis),
    runs: servedRuns(year.handoffs),
    proof,
    rounds: options.rounds,
    plainRounds: 1,
    proofReps: 200,
  }
  const figures: Figure[] = []
  const notes: string[] = []
  log('light: Node, batched walk (noble kernel)')
  const nodeNoble = measureLight({ ...config, plainRounds: 0, proofReps: 1 }, cpuMs)
  // What Node entry points run: the mcl kernel (src/checkpoint/mcl-signature-kernel.ts).
  await useMclCheckpointKernel()
  log('light: Node, batched walk (mcl kernel), plain walk, state proof')
  const node = measureLight(config, cpuMs)
  if (!node.accepted || !nodeNoble.accepted) {
    notes.push('Light client: a walk or proof was REFUSED in Node')
  }
  figures.push(
    { name: 'light.year-ms-node', value: node.yearMs, unit: 'ms' },
    { name: 'light.year-ms-noble-node', value: nodeNoble.yearMs, unit: 'ms' },
    { name: 'light.year-ms-plain-node', value: node.plainMs, unit: 'ms' },
    { name: 'light.year-ms-warm-node', value: node.yearWarmMs, unit: 'ms' },
    { name: 'light.proof-ms-node', value: node.proofMs, unit: 'ms' },
  )

  log(`light: worst case, ${options.freshEpochs} handoffs that never repeat a key (mcl kernel)`)
  const fresh = buildCheckpointChain({ epochs: options.freshEpochs, committeeSize })
  const freshResult = measureLight(
    {
      ...config,
      genesis: anchorToJson(fresh.genesis),
      runs: servedRuns(fresh.handoffs),
      plainRounds: 0,
      proofReps: 1,
    },
    cpuMs,
  )
  // The worker below runs its own kernel; Node's goes back to the default.
  useCheckpointSignatureKernel()
  if (!freshResult.accepted) notes.push('Light client: the fresh-keys walk was REFUSED')
  figures.push({
    name: 'light.handoff-ms-fresh-keys-node',
    value: freshResult.yearMs / options.freshEpochs,
    unit: 'ms',
  })

  let chromium: (LightBenchResult & { version: string }) | undefined
  if (options.chromium) {
    try {
      const { runLightChromium } = await import('../browser/light-driver.ts')
      log('light: Chromium worker, batched walk, plain walk, state proof')
      chromium = await runLightChromium(config, log)
      if (!chromium.accepted) notes.push('Light client: a walk or proof was REFUSED in Chromium')
      figures.push(
        { name: 'light.year-ms', value: chromium.yearMs, unit: 'ms' },
        { name: 'light.year-ms-plain', value: chromium.plainMs, unit: 'ms' },
        { name: 'light.year-ms-warm', value: chromium.yearWarmMs, unit: 'ms' },
        { name: 'light.proof-ms', value: chromium.proofMs, unit: 'ms' },
      )
    } catch (e) {
      notes.push(`Light client in Chromium failed: ${(e as Error).message.split('\n')[0]}`)
      log(`light chromium failed: ${(e as Error).stack}`)
    }
  }
  figures.push({ name: 'light.proof-budget-ms', value: 2, unit: 'ms' })
  figures.push({ name: 'light.year-budget-ms', value: 1000, unit: 'ms' })
  notes.push(
    `Light client: ${epochs} handoffs, committee ${committeeSize} (quorum signs) drawn from a ` +
      `pool of ${poolSize} keys, served in runs of ≤ ${MAX_CHECKPOINTS_PER_RUN}; key cache emptied ` +
      `before each walk; median of ${options.rounds} walks (the plain peer: 1). Node: CPU ms; ` +
      `Chromium ${chromium?.version ?? '(not run)'} worker: wall ms. Node runs the mcl kernel ` +
      `(WebAssembly); with the noble kernel (the browsers') Node takes ` +
      `${nodeNoble.yearMs.toFixed(0)} ms. With the pool's keys already ` +
      `decoded: ${node.yearWarmMs.toFixed(0)} ms Node` +
      (chromium === undefined ? '' : `, ${chromium.yearWarmMs.toFixed(0)} ms Chromium`) +
      `. Worst case (no key repeats, ${options.freshEpochs} handoffs): ` +
      `${(freshResult.yearMs / options.freshEpochs).toFixed(1)} ms a handoff in Node. ` +
      `Load average ${load0.toFixed(2)} at start, ${(os.loadavg()[0] as number).toFixed(2)} at end.`,
  )
  return { figures, notes }
}

/** The section's rows for bench/run.ts: each figure beside its peer, and the targets. */
export function lightComparisons(epochs: number, committeeSize: number, poolSize: number) {
  const section = `Light client (issue 17): ${epochs} handoffs, committee ${committeeSize} from a pool of ${poolSize}; Node: mcl kernel, Chromium: @noble/curves`
  const ONE_SECOND = { text: '≤ 1 s', met: (_r: number, f: number) => f <= 1000 }
  return [
    {
      section,
      label: 'a year of handoffs, Chromium worker (wall), batched vs plain verify per handoff',
      figure: 'light.year-ms',
      peer: 'light.year-ms-plain',
      ratio: 'light.ratio.year/plain',
      target: ONE_SECOND,
    },
    {
      section,
      label: 'a year of handoffs, Node (CPU), batched vs plain verify per handoff',
      figure: 'light.year-ms-node',
      peer: 'light.year-ms-plain-node',
      ratio: 'light.ratio.year/plain-node',
      target: ONE_SECOND,
    },
    {
      section,
      label: 'one state proof, Chromium worker, vs the 2 ms budget',
      figure: 'light.proof-ms',
      peer: 'light.proof-budget-ms',
      ratio: 'light.ratio.proof/budget',
      target: { text: '≤ 2 ms', met: (_r: number, f: number) => f <= 2 },
    },
    {
      section,
      label: 'one state proof, Node, vs the 2 ms budget',
      figure: 'light.proof-ms-node',
      peer: 'light.proof-budget-ms',
      ratio: 'light.ratio.proof/budget-node',
    },
  ]
}
