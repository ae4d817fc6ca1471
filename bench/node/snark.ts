/**
 * The snark section (issue 18's targets): what DA batch proofs (circuits/da_batch.circom, S = 5
 * claims a proof) cost the node that makes them and the committee that checks them, beside the
 * native path (one batch EdDSA-Poseidon equation over a transaction's claims, `checkClaims`).
 *
 * - `snark.prove-s`: wall seconds for the node's prover (`createWorkerDaBatchProver`: snarkjs
 *   in one worker thread, ffjavascript single-threaded) to prove one full batch of 5 claims (the
 *   witness and the Groth16 proof), warm (the median after the first; `snark.prove-s-first` is
 *   the first after `start`). Peer `snark.prove-s-inprocess`: the same batches proven by snarkjs
 *   `groth16.fullProve` on this process's main thread, artifacts in memory, as
 *   scripts/da-batch-fixture.ts calls it (its default: ffjavascript spreads the
 *   multi-exponentiations over a thread per core). The same work with and without the worker:
 *   the ratio is what the worker costs or saves (`-cpu-s`: process CPU, both threads counted).
 *   The native signing of the claims is not the peer (the client's work, not the node's: ~1000×
 *   apart, it says nothing about the prover); `snark.sign-5-ms` gives it for the scale.
 * - `snark.verify-ms`: one proof checked as the executor does (`readProof` + `verifyGroth16`
 *   under `daBatchKey()`, mcl's kernel as a node installs it), CPU ms, median. Peers, same run
 *   and proofs: `snark.verify-ms-snarkjs` (`snarkjs.groth16.verify` of the proof's JSON) and
 *   `snark.verify-ms-noble` (noble's kernel, what browsers run).
 * - `snark.verify-ms-chromium`: the same check with noble's kernel in a dedicated Web Worker of
 *   Debian's Chromium (Playwright; wall ms, median). Peer: the Node figure.
 * - `snark.settle-cpu-ratio`: committee CPU per claim to settle N claims (distinct sessions, all
 *   settle) in one `SubmitDeliveryClaims`, natively vs with its N/5 proofs (made before any
 *   timing): `StateExecutor` on LevelDB (state reads synchronous, libsecp256k1, mcl's Groth16
 *   kernel: the chain node's setup), one block each on a fresh store, process CPU around
 *   `execute`, median of the rounds (native and proven alternate). Ratio native / proven:
 *   above 1 proofs are cheaper. Breakdown on the same claims: `checkClaims` vs
 *   `checkProvenClaims` alone, the reveals' share (decode, hash chain), the binding
 *   (`batchDigest`) per claim, the rest of the block (state, tree, LevelDB, the node's Ed25519
 *   transaction signature) per claim, and the break-even batch size
 *   S* = verify / (native signature per claim − binding per claim) where positive.
 * - `snark.bytes-per-claim`: the encoded transaction's bytes per claim with the proofs, beside
 *   `snark.bytes-per-claim-native` without.
 * - `snark.serve-proving` / `snark.serve-idle` (and `-frames`): the gateway's MiB/s from a full
 *   node (bench/node/snark-node.ts: `startFullNode` and the worker prover in one process) read
 *   by the gateway section's client, while the prover proves one batch back-to-back vs idle, in
 *   pairs of phases (medians; `snark.serve-pair-ratio`: the median of each pair's ratio, less
 *   moved by the load of other processes, which drifts between pairs). Target ≥ 0.8×. `snark.serve-proving-nice`: the same with the prover's thread at
 *   nice 19 (an experiment, last: a renice cannot be undone unprivileged).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { bytesToHex } from '@noble/hashes/utils.js'
import * as snarkjs from 'snarkjs'
import {
  batchDigest,
  batchWitnessInput,
  type SignedCommitment,
} from '../../src/acks/batch-binding.ts'
import { checkClaims, checkReveal, decodeClaim } from '../../src/acks/claim.ts'
import { COMMITMENT_LEN, decodeCommitment, signCommitment } from '../../src/acks/commitment.ts'
import {
  DA_BATCH_FILES,
  DA_BATCH_SLOTS,
  DA_BATCH_VERIFICATION_KEY_JSON,
} from '../../src/acks/da-batch-artifacts.ts'
import {
  encodeProof,
  nobleGroth16Kernel,
  parseProof,
  readProof,
  useGroth16Kernel,
} from '../../src/acks/groth16.ts'
import { createMclGroth16Kernel } from '../../src/acks/groth16-mcl.ts'
import { checkProvenClaims } from '../../src/acks/proven-claims.ts'
import { type ClientKey, clientKeyFromPrivate } from '../../src/crypto/client-key.ts'
import { childEnv, FULMEN_CLI } from '../../src/devnet/processes.ts'
import { openLevelKvStore } from '../../src/kv/level-kv-store.ts'
import { loadMclBn254 } from '../../src/node/chain/mcl-bn254.ts'
import { nativeRecover } from '../../src/node/chain/native-secp256k1.ts'
import { createWorkerDaBatchProver } from '../../src/node/prover/worker-prover.ts'
import { StateExecutor } from '../../src/state/executor.ts'
import { type Genesis, ONE_TOKEN, type Receipt } from '../../src/state/model.ts'
import {
  accountTx,
  fixedSecret,
  makeClaim,
  nodeTx,
  type TestNode,
  testAccount,
  testChain,
} from '../../src/state/testing/chain-fixture.ts'
import { type Figure, fillPseudoRandom, MiB, median, mibPerSecond } from '../shared.ts'
import { measureSnarkVerify, type SnarkVerifyConfig } from '../snark-verify.ts'
import { runJsonChild } from './json-child.ts'
import { scratchDir } from './scratch-dir.ts'

export interface SnarkBenchOptions {
  /** Claims settled per run (a multiple of DA_BATCH_SLOTS: full batches). */
  readonly claims: number
  /** Client keys the claims are spread over. */
  readonly clients: number
  /** Delivery units each claim reveals (hash-chain steps checked). */
  readonly units: number
  /** Batches proven in-process for the peer (the first counts apart). */
  readonly inProcessProofs: number
  /** Passes over every proof for the verify figures (after the first check). */
  readonly verifyRounds: number
  /** Settlement rounds, each native and proven on fresh stores (after one warm-up round). */
  readonly settleRounds: number
  /** Passes of `checkClaims` / `checkProvenClaims` over the claims for the breakdown. */
  readonly checkRounds: number
  readonly chromium: boolean
  /** Measure the gateway while the worker prover proves (a full node in a child process). */
  readonly serving: boolean
  /** Size of the content the gateway serves for that. */
  readonly serveBytes: number
  /** Client turns per phase (after a warm-up turn). */
  readonly serveTurns: number
  /** Pairs of phases, prover idle and proving, in turns; then pairs with the prover at nice 19. */
  readonly servePairs: number
  readonly serveNicePairs: number
  readonly log: (line: string) => void
}

const ARTIFACTS = new URL('../../circuits/artifacts/', import.meta.url)
const STEP_MS = 1000

/** This process's CPU time (user + system, all its threads) in ms. */
function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

interface Fixture {
  readonly genesis: Genesis
  readonly node: TestNode
  /** The block before the claims: every client key registered to a funded account. */
  readonly setup: Uint8Array[]
  readonly keys: readonly ClientKey[]
  readonly claims: Uint8Array[]
  /** The claims as the prover takes them, per batch of DA_BATCH_SLOTS. */
  readonly batches: SignedCommitment[][]
}

/** `claims` claims of one node, a session each (so each settles), over `clients` client keys. */
function makeFixture(options: SnarkBenchOptions): Fixture {
  const chain = testChain({ nodeCount: 1 })
  const node = chain.nodes[0]!
  const payers = Array.from({ length: options.clients }, (_, i) => testAccount(`snark payer ${i}`))
  const keys = payers.map((_, i) => clientKeyFromPrivate(fixedSecret(`snark client ${i}`)))
  const genesis: Genesis = {
    ...chain.genesis,
    accounts: [
      ...chain.genesis.accounts,
      ...payers.map((a) => ({ address: a.address, flk: 0n, stables: 1000n * ONE_TOKEN })),
    ],
  }
  const setup = payers.map((a, i) =>
    accountTx(a, 1, { type: 'RegisterClientKey', clientKey: keys[i]!.publicKey }),
  )
  const claims = Array.from({ length: options.claims }, (_, i) =>
    makeClaim(keys[i % keys.length]!, node.key, options.units, { session: BigInt(i + 1) }),
  )
  const batches: SignedCommitment[][] = []
  for (let i = 0; i < claims.length; i += DA_BATCH_SLOTS) {
    batches.push(
      claims.slice(i, i + DA_BATCH_SLOTS).map((bytes) => {
        const c = decodeClaim(bytes)
        return { commitment: c.commitment, signature: c.signature }
      }),
    )
  }
  return { genesis, node, setup, keys, claims, batches }
}

interface Proved {
  /** `encodeProof`'s 256 bytes. */
  readonly proof: Uint8Array
  /** What snarkjs gave (for `snarkjs.groth16.verify`). */
  readonly json: snarkjs.Groth16Proof
  readonly digest: bigint
  /** Wall ms and process CPU ms of this proof. */
  readonly ms: number
  readonly cpu: number
}

/** snarkjs's `fullProve` on this thread, artifacts in memory (scripts/da-batch-fixture.ts). */
async function proveInProcess(
  batch: readonly SignedCommitment[],
  wasm: Uint8Array,
  zkey: Uint8Array,
): Promise<Proved> {
  const input = batchWitnessInput(batch, DA_BATCH_SLOTS) as unknown as snarkjs.CircuitSignals
  const c0 = cpuMs()
  const t0 = performance.now()
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, wasm, zkey)
  const ms = performance.now() - t0
  const cpu = cpuMs() - c0
  const digest = batchDigest(batch.map((c) => c.commitment))
  if (publicSignals[0] !== digest.toString())
    throw new Error('snark: the proof is not for batchDigest')
  return { proof: encodeProof(parseProof(proof)), json: proof, digest, ms, cpu }
}

/** snarkjs's JSON of a proof from its 256 bytes (for `snarkjs.groth16.verify`). */
function proofJson(bytes: Uint8Array): snarkjs.Groth16Proof {
  const p = readProof(bytes)
  return {
    pi_a: [p.a.x.toString(), p.a.y.toString(), '1'],
    pi_b: [
      [p.b.x[0].toString(), p.b.x[1].toString()],
      [p.b.y[0].toString(), p.b.y[1].toString()],
      ['1', '0'],
    ],
    pi_c: [p.c.x.toString(), p.c.y.toString(), '1'],
    protocol: 'groth16',
    curve: 'bn128',
  }
}

function failures(receipts: readonly Receipt[]): string[] {
  return receipts.filter((r) => r.status !== 'ok').map((r) => `${r.status}: ${r.message ?? ''}`)
}

/**
 * One settlement: a fresh LevelDB store, the genesis and the setup block (untimed), then the
 * block carrying `tx`; process CPU ms and wall ms around `execute`, and the claims it settled.
 */
async function settleOnce(
  dir: string,
  fixture: Fixture,
  tx: Uint8Array,
): Promise<{ cpu: number; ms: number; settled: number; failed: string[] }> {
  const store = await openLevelKvStore({ dir, syncReads: true })
  try {
    const executor = await StateExecutor.open(store, fixture.genesis, { recover: nativeRecover })
    const next = (transactions: readonly Uint8Array[]) => {
      const head = executor.head
      return {
        chainId: head.chainId,
        height: head.height + 1,
        parent: head.hash,
        timestampMs: head.timestampMs + STEP_MS,
        transactions,
      }
    }
    const setup = await executor.execute(next(fixture.setup))
    const failed = failures(setup.receipts)
    const body = next([tx])
    const c0 = cpuMs()
    const t0 = performance.now()
    const block = await executor.execute(body)
    const ms = performance.now() - t0
    const cpu = cpuMs() - c0
    failed.push(...failures(block.receipts))
    let settled = 0
    for (const r of block.receipts) {
      for (const e of r.events ?? []) if (e.type === 'ClaimSettled') settled++
    }
    return { cpu, ms, settled, failed }
  } finally {
    await store.close()
  }
}

/** Per-call CPU ms of `f` over `n` calls, after one call untimed. */
function timeEach(n: number, f: () => unknown): number {
  f()
  const t0 = cpuMs()
  for (let i = 0; i < n; i++) f()
  return (cpuMs() - t0) / n
}

export async function measureSnark(
  options: SnarkBenchOptions,
): Promise<{ figures: Figure[]; notes: string[]; chromiumVersion?: string }> {
  const { log } = options
  if (options.claims % DA_BATCH_SLOTS !== 0 || options.claims === 0) {
    throw new Error(`snark: claims must be a positive multiple of ${DA_BATCH_SLOTS}`)
  }
  const figures: Figure[] = []
  const notes: string[] = []
  const load0 = os.loadavg()[0]!
  let chromiumVersion: string | undefined
  const mcl = createMclGroth16Kernel(await loadMclBn254())

  const t0 = performance.now()
  const fixture = makeFixture(options)
  log(
    `snark: ${options.claims} claims over ${options.clients} client keys made in ${(performance.now() - t0).toFixed(0)} ms`,
  )

  // --- proofs, before anything is timed -------------------------------------------------------
  const wasm = new Uint8Array(readFileSync(new URL(DA_BATCH_FILES.wasm.name, ARTIFACTS)))
  const zkey = new Uint8Array(readFileSync(new URL(DA_BATCH_FILES.zkey.name, ARTIFACTS)))
  const proved: Proved[] = []
  try {
    // The node's prover: snarkjs in a worker thread (src/node/prover), every batch once, the
    // first apart (the worker's module, curve and tables warm). Wall ms around `prove` on this
    // thread, process CPU (the worker's included).
    const worker = createWorkerDaBatchProver()
    await worker.start()
    try {
      for (const [i, batch] of fixture.batches.entries()) {
        const c0 = cpuMs()
        const t0 = performance.now()
        const done = await worker.prove(batch)
        const ms = performance.now() - t0
        const cpu = cpuMs() - c0
        const digest = batchDigest(batch.map((c) => c.commitment))
        if (done.digest !== digest) throw new Error('snark: the worker proved other claims')
        proved.push({ proof: done.proof, json: proofJson(done.proof), digest, ms, cpu })
        log(
          `snark: worker proof ${i + 1}/${fixture.batches.length} in ${(ms / 1000).toFixed(2)} s (CPU ${(cpu / 1000).toFixed(2)} s)`,
        )
      }
    } finally {
      await worker.stop()
    }
    const warmWorker = proved.slice(1)
    figures.push(
      { name: 'snark.prove-s', value: median(warmWorker.map((p) => p.ms)) / 1000, unit: 's' },
      { name: 'snark.prove-s-first', value: proved[0]!.ms / 1000, unit: 's' },
      { name: 'snark.prove-cpu-s', value: median(warmWorker.map((p) => p.cpu)) / 1000, unit: 's' },
    )

    // The peer: the same batches proven by snarkjs on this thread (the first apart: module,
    // curve and ffjavascript's threads start).
    const inProcess: Proved[] = []
    for (let i = 0; i < Math.max(2, options.inProcessProofs); i++) {
      const p = await proveInProcess(fixture.batches[i % fixture.batches.length]!, wasm, zkey)
      if (p.digest !== proved[i % proved.length]!.digest) {
        throw new Error('snark: in-process and worker proofs are of different claims')
      }
      inProcess.push(p)
      log(
        `snark: in-process proof ${i + 1} in ${(p.ms / 1000).toFixed(2)} s (CPU ${(p.cpu / 1000).toFixed(2)} s)`,
      )
    }
    const warmIn = inProcess.slice(1)
    figures.push(
      { name: 'snark.prove-s-inprocess', value: median(warmIn.map((p) => p.ms)) / 1000, unit: 's' },
      { name: 'snark.prove-s-inprocess-first', value: inProcess[0]!.ms / 1000, unit: 's' },
      {
        name: 'snark.prove-cpu-s-inprocess',
        value: median(warmIn.map((p) => p.cpu)) / 1000,
        unit: 's',
      },
    )

    // The clients' native signing of one batch's commitments, for the scale.
    const toSign = fixture.batches[0]!.map((c) => decodeCommitment(c.commitment))
    const signMs = timeEach(20, () => {
      for (const [i, c] of toSign.entries()) {
        signCommitment(c, fixture.keys[i % fixture.keys.length]!)
      }
    })
    figures.push({ name: 'snark.sign-5-ms', value: signMs, unit: 'ms' })

    // --- verification: mcl (the node), snarkjs, noble ---------------------------------------
    const verifyConfig: SnarkVerifyConfig = {
      proofs: proved.map((p) => bytesToHex(p.proof)),
      digests: proved.map((p) => p.digest.toString()),
      rounds: options.verifyRounds,
    }
    log(`snark: verifying ${proved.length} proofs × ${options.verifyRounds}: mcl, noble, snarkjs`)
    const mclVerify = measureSnarkVerify(verifyConfig, mcl, cpuMs)
    const nobleVerify = measureSnarkVerify(
      { ...verifyConfig, rounds: Math.max(1, Math.ceil(options.verifyRounds / 4)) },
      nobleGroth16Kernel,
      cpuMs,
    )
    const vkey = DA_BATCH_VERIFICATION_KEY_JSON
    const snarkjsTimes: number[] = []
    let snarkjsAccepted = true
    for (let round = 0; round <= options.verifyRounds; round++) {
      for (const p of proved) {
        const json = round % 2 === 0 ? p.json : proofJson(p.proof)
        const c0 = cpuMs()
        const ok = await snarkjs.groth16.verify(vkey, [p.digest.toString()], json)
        if (round > 0) snarkjsTimes.push(cpuMs() - c0)
        snarkjsAccepted &&= ok
      }
    }
    if (!mclVerify.accepted || !nobleVerify.accepted || !snarkjsAccepted) {
      notes.push('Snark: a proof was REFUSED by a verifier (mcl, noble or snarkjs)')
    }
    figures.push(
      { name: 'snark.verify-ms', value: mclVerify.ms, unit: 'ms' },
      { name: 'snark.verify-ms-first', value: mclVerify.firstMs, unit: 'ms' },
      { name: 'snark.verify-ms-snarkjs', value: median(snarkjsTimes), unit: 'ms' },
      { name: 'snark.verify-ms-noble', value: nobleVerify.ms, unit: 'ms' },
    )
    log(
      `snark: verify mcl ${mclVerify.ms.toFixed(2)} ms (first ${mclVerify.firstMs.toFixed(1)}), snarkjs ${median(snarkjsTimes).toFixed(1)} ms, noble ${nobleVerify.ms.toFixed(1)} ms`,
    )
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
    delete (globalThis as { curve_bn128?: unknown }).curve_bn128

    if (options.chromium) {
      try {
        const { runSnarkChromium } = await import('../browser/snark-driver.ts')
        log('snark: Chromium worker, noble kernel')
        const chromium = await runSnarkChromium(verifyConfig, log)
        chromiumVersion = chromium.version
        if (!chromium.accepted) notes.push('Snark: a proof was REFUSED in Chromium')
        figures.push(
          { name: 'snark.verify-ms-chromium', value: chromium.ms, unit: 'ms' },
          { name: 'snark.verify-ms-chromium-first', value: chromium.firstMs, unit: 'ms' },
        )
        log(
          `snark: Chromium ${chromium.ms.toFixed(1)} ms a proof (first ${chromium.firstMs.toFixed(1)})`,
        )
      } catch (e) {
        notes.push(`Snark in Chromium failed: ${(e as Error).message.split('\n')[0]}`)
        log(`snark chromium failed: ${(e as Error).stack}`)
      }
    }

    // --- settlement: the executor, native vs proven -----------------------------------------
    useGroth16Kernel(mcl)
    const proofs = proved.map((p) => p.proof)
    const nativeTx = nodeTx(fixture.node, 1, {
      type: 'SubmitDeliveryClaims',
      claims: fixture.claims,
    })
    const provenTx = nodeTx(fixture.node, 1, {
      type: 'SubmitDeliveryClaims',
      claims: fixture.claims,
      proofs,
    })
    const n = fixture.claims.length
    figures.push(
      { name: 'snark.bytes-per-claim', value: provenTx.length / n, unit: 'B' },
      { name: 'snark.bytes-per-claim-native', value: nativeTx.length / n, unit: 'B' },
    )
    const base = mkdtempSync(join(tmpdir(), 'fulmen-bench-snark-'))
    const native: number[] = []
    const proven: number[] = []
    try {
      log(
        `snark: settling ${n} claims, ${options.settleRounds} rounds (+1 warm-up), native vs proven`,
      )
      for (let round = 0; round <= options.settleRounds; round++) {
        // Alternate which goes first, so neither always runs on a warmer process.
        const order =
          round % 2 === 0 ? (['native', 'proven'] as const) : (['proven', 'native'] as const)
        for (const kind of order) {
          const r = await settleOnce(
            join(base, `${kind}-${round}`),
            fixture,
            kind === 'native' ? nativeTx : provenTx,
          )
          if (r.settled !== n || r.failed.length > 0) {
            notes.push(`Snark settle (${kind}): ${r.settled} of ${n} settled ${r.failed[0] ?? ''}`)
          }
          if (round > 0) (kind === 'native' ? native : proven).push(r.cpu)
        }
      }
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
    const nativeUs = (median(native) / n) * 1000
    const provenUs = (median(proven) / n) * 1000

    // --- breakdown on the same claims ---------------------------------------------------------
    const reps = options.checkRounds
    const nativeCheckUs = timeEach(reps, () => checkClaims(fixture.claims)) * (1000 / n)
    const provenCheckUs =
      timeEach(reps, () => checkProvenClaims(fixture.claims, proofs, mcl)) * (1000 / n)
    const commitments: Uint8Array[] = fixture.claims.map((b) => b.subarray(0, COMMITMENT_LEN))
    const revealUs =
      timeEach(reps, () => {
        for (const bytes of fixture.claims) {
          const claim = decodeClaim(bytes)
          checkReveal(claim, decodeCommitment(claim.commitment))
        }
      }) *
      (1000 / n)
    const bindingUs =
      timeEach(reps, () => {
        for (let i = 0; i < n; i += DA_BATCH_SLOTS) {
          batchDigest(commitments.slice(i, i + DA_BATCH_SLOTS))
        }
      }) *
      (1000 / n)
    const nativeSigUs = nativeCheckUs - revealUs
    const proofPartUs = provenCheckUs - revealUs
    const verifyUs = mclVerify.ms * 1000
    const breakEven = verifyUs / (nativeSigUs - bindingUs)
    figures.push(
      { name: 'snark.settle-native-us', value: nativeUs, unit: 'µs' },
      { name: 'snark.settle-proven-us', value: provenUs, unit: 'µs' },
      { name: 'snark.check-native-us', value: nativeCheckUs, unit: 'µs' },
      { name: 'snark.check-proven-us', value: provenCheckUs, unit: 'µs' },
      { name: 'snark.reveal-us', value: revealUs, unit: 'µs' },
      { name: 'snark.native-sig-us', value: nativeSigUs, unit: 'µs' },
      { name: 'snark.proof-part-us', value: proofPartUs, unit: 'µs' },
      { name: 'snark.binding-us', value: bindingUs, unit: 'µs' },
      { name: 'snark.verify-per-claim-us', value: verifyUs / DA_BATCH_SLOTS, unit: 'µs' },
      { name: 'snark.rest-native-us', value: nativeUs - nativeCheckUs, unit: 'µs' },
      { name: 'snark.rest-proven-us', value: provenUs - provenCheckUs, unit: 'µs' },
    )
    figures.push({ name: 'snark.slots', value: DA_BATCH_SLOTS, unit: 'claims' })
    if (breakEven > 0 && Number.isFinite(breakEven)) {
      figures.push({ name: 'snark.break-even-slots', value: breakEven, unit: 'claims' })
    }
    log(
      `snark: settle ${nativeUs.toFixed(0)} µs a claim native, ${provenUs.toFixed(0)} µs proven (ratio ${(nativeUs / provenUs).toFixed(2)}); ` +
        `checks ${nativeCheckUs.toFixed(0)} / ${provenCheckUs.toFixed(0)} µs, reveals ${revealUs.toFixed(0)}, binding ${bindingUs.toFixed(0)}; S* ${breakEven.toFixed(1)}`,
    )

    notes.push(
      `Snark (issue 18): ${n} claims (${n / DA_BATCH_SLOTS} full batches of ${DA_BATCH_SLOTS}) of ${options.units} units, ` +
        `a session each, over ${options.clients} client keys, one node. Proofs made before any timing by the worker prover ` +
        `(${proved.map((p) => (p.ms / 1000).toFixed(1)).join(', ')} s; CPU ${proved.map((p) => (p.cpu / 1000).toFixed(1)).join(', ')} s), ` +
        `the peer by snarkjs fullProve in-process (${inProcess.map((p) => (p.ms / 1000).toFixed(1)).join(', ')} s; ` +
        `CPU ${inProcess.map((p) => (p.cpu / 1000).toFixed(1)).join(', ')} s). ` +
        `The clients' native signing of the 5 commitments: ${signMs.toFixed(1)} ms. Verify: CPU ms, median of ${mclVerify.checks} checks (mcl), ` +
        `${nobleVerify.checks} (noble), ${snarkjsTimes.length} (snarkjs, on its cached curve); Chromium ` +
        `${chromiumVersion ?? '(not run)'} worker: wall ms. Settle: one block of one SubmitDeliveryClaims on a fresh LevelDB ` +
        `store in ${tmpdir()} (synchronous reads, libsecp256k1, mcl's Groth16 kernel), process CPU around execute, median of ` +
        `${native.length} per kind (native ${spreadOf(native, n)}, proven ${spreadOf(proven, n)} µs a claim). ` +
        `Break-even S* = verify / (native signature − binding) per claim = ${verifyUs.toFixed(0)} / (${nativeSigUs.toFixed(0)} − ${bindingUs.toFixed(0)})` +
        `${breakEven > 0 && Number.isFinite(breakEven) ? ` = ${breakEven.toFixed(0)} claims a proof` : ': none (the binding alone costs more than the native signature)'}. ` +
        `Load average (1 min) ${load0.toFixed(2)} at the section's start, ${os.loadavg()[0]!.toFixed(2)} at its end.`,
    )

    // --- serving while proving ------------------------------------------------------------------
    if (options.serving) {
      try {
        const serving = await measureServing(options, fixture.batches[0]!)
        figures.push(...serving.figures)
        notes.push(...serving.notes)
      } catch (e) {
        notes.push(`Snark serving while proving failed: ${(e as Error).message.split('\n')[0]}`)
        log(`snark serving failed: ${(e as Error).stack}`)
      }
    }
  } finally {
    useGroth16Kernel(nobleGroth16Kernel)
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
  }
  return chromiumVersion === undefined ? { figures, notes } : { figures, notes, chromiumVersion }
}

const NODE_SCRIPT = fileURLToPath(new URL('./snark-node.ts', import.meta.url))
const CLIENT = fileURLToPath(new URL('./gateway-client.ts', import.meta.url))

/** `fulmen add` of `file` into the store in `dataDir` (no node running): its root, hex. */
function fulmenAdd(dataDir: string, file: string): string {
  const r = spawnSync(process.execPath, [FULMEN_CLI, 'add', '--data-dir', dataDir, file], {
    encoding: 'utf8',
    env: childEnv({ XDG_DATA_HOME: dataDir }),
  })
  if (r.status !== 0) throw new Error(`fulmen add failed: ${r.stderr}`)
  return r.stdout.slice(0, 64)
}

/** The serving node (snark-node.ts): its JSON lines in order, and its stdin. */
function startServingNode(job: object): {
  next: () => Promise<Record<string, unknown>>
  send: (line: string) => void
  child: ChildProcess
} {
  const child = spawn(process.execPath, [NODE_SCRIPT, JSON.stringify(job)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: childEnv({ FULMEN_LOG_LEVEL: 'warn' }),
  })
  const lines: Record<string, unknown>[] = []
  const waiting: ((line: Record<string, unknown>) => void)[] = []
  let exited: Error | undefined
  const failWaiting = () => {
    for (const w of waiting.splice(0)) w({ error: exited?.message })
  }
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as Record<string, unknown>
    const w = waiting.shift()
    if (w === undefined) lines.push(line)
    else w(line)
  })
  child.once('exit', (code, signal) => {
    exited = new Error(`the serving node exited (${code ?? signal})`)
    failWaiting()
  })
  return {
    child,
    send: (line) => child.stdin!.write(`${line}\n`),
    next: () => {
      const line = lines.shift()
      if (line !== undefined) return Promise.resolve(line)
      if (exited !== undefined) return Promise.reject(exited)
      return new Promise((resolve, reject) =>
        waiting.push((l) => ('error' in l ? reject(new Error(String(l.error))) : resolve(l))),
      )
    },
  }
}

/**
 * The gateway's throughput (bench/node/gateway-client.ts in a fresh process, raw and frames, as
 * the gateway section reads it) from a full node whose own worker prover is idle, then proving
 * one batch back-to-back, twice over in turns; the best of each.
 */
async function measureServing(
  options: SnarkBenchOptions,
  batch: readonly SignedCommitment[],
): Promise<{ figures: Figure[]; notes: string[] }> {
  const { log, serveBytes, serveTurns } = options
  const base = scratchDir(2 * serveBytes)
  const dir = mkdtempSync(join(base, 'fulmen-bench-snark-node-'))
  let node: ReturnType<typeof startServingNode> | undefined
  try {
    const file = join(dir, 'served.bin')
    const input = new Uint8Array(serveBytes)
    fillPseudoRandom(input, 0x5a)
    writeFileSync(file, input)
    const dataDir = join(dir, 'node')
    mkdirSync(dataDir)
    const root = fulmenAdd(dataDir, file)
    rmSync(file)
    node = startServingNode({
      dataDir,
      batch: batch.map((c) => ({
        commitment: bytesToHex(c.commitment),
        signature: bytesToHex(c.signature),
      })),
    })
    const { url } = (await node.next()) as { url: string }
    const raw = `${url}/services/0/blake3/${root}`
    const job = {
      turns: serveTurns,
      bytes: serveBytes,
      runs: {
        raw: { url: raw, mode: 'raw' },
        frames: { url: `${raw}?format=frames`, mode: 'frames' },
      },
    }
    type Phase = 'idle' | 'proving' | 'proving-nice'
    const runs: Record<Phase, { raw: number; frames: number }[]> = {
      idle: [],
      proving: [],
      'proving-nice': [],
    }
    const proveMs: number[] = []
    const niceProveMs: number[] = []
    /** Each pair's proving MiB/s over its idle MiB/s (raw), in order. */
    const pairRatios: Record<'proving' | 'proving-nice', number[]> = {
      proving: [],
      'proving-nice': [],
    }
    // Pairs of an idle and a proving phase (which goes first alternates), so that the load of
    // other processes weighs on both alike; then, the experiment, pairs with the prover's
    // thread at nice 19 (a renice cannot be undone unprivileged, so they come last).
    const pairs = (kind: 'proving' | 'proving-nice', n: number) =>
      Array.from(
        { length: n },
        (_, i) => (i % 2 === 0 ? ['idle', kind] : [kind, 'idle']) as Phase[],
      )
    const plan: (Phase[] | 'nice')[] = [
      ...pairs('proving', options.servePairs),
      'nice',
      ...pairs('proving-nice', options.serveNicePairs),
    ]
    for (const step of plan) {
      if (step === 'nice') {
        node.send('nice')
        const { niced } = (await node.next()) as { niced: string[] }
        if (niced.length !== 1) log(`snark: reniced ${niced.length} prover threads`)
        continue
      }
      const pair: Partial<Record<Phase, number>> = {}
      for (const phase of step) {
        if (phase !== 'idle') {
          node.send('prove')
          await node.next()
        }
        const seconds = await runJsonChild<{ raw: number; frames: number }>(CLIENT, job)
        if (phase !== 'idle') {
          node.send('idle')
          const done = (await node.next()) as { proveMs: number[] }
          ;(phase === 'proving' ? proveMs : niceProveMs).push(...done.proveMs)
        }
        const rate = {
          raw: mibPerSecond(serveBytes, seconds.raw),
          frames: mibPerSecond(serveBytes, seconds.frames),
        }
        runs[phase].push(rate)
        pair[phase] = rate.raw
        log(
          `snark: gateway ${phase}: raw ${rate.raw.toFixed(0)} MiB/s, frames ${rate.frames.toFixed(0)} MiB/s`,
        )
      }
      const kind = step.find((p) => p !== 'idle') as 'proving' | 'proving-nice'
      pairRatios[kind].push(pair[kind]! / pair.idle!)
    }
    node.send('exit')
    await new Promise((resolve) => node!.child.once('exit', resolve))
    node = undefined
    const med = (phase: Phase, mode: 'raw' | 'frames') => median(runs[phase].map((r) => r[mode]))
    const figures: Figure[] = [
      { name: 'snark.serve-idle', value: med('idle', 'raw'), unit: 'MiB/s' },
      { name: 'snark.serve-proving', value: med('proving', 'raw'), unit: 'MiB/s' },
      { name: 'snark.serve-idle-frames', value: med('idle', 'frames'), unit: 'MiB/s' },
      { name: 'snark.serve-proving-frames', value: med('proving', 'frames'), unit: 'MiB/s' },
      { name: 'snark.serve-proving-nice', value: med('proving-nice', 'raw'), unit: 'MiB/s' },
      {
        name: 'snark.serve-proving-nice-frames',
        value: med('proving-nice', 'frames'),
        unit: 'MiB/s',
      },
      {
        name: 'snark.serve-pair-ratio',
        value: median(pairRatios.proving),
        unit: 'x',
      },
      { name: 'snark.serve-target', value: 0.8, unit: 'x' },
    ]
    if (proveMs.length > 0) {
      figures.push({ name: 'snark.prove-s-serving', value: median(proveMs) / 1000, unit: 's' })
    }
    if (niceProveMs.length > 0) {
      figures.push({
        name: 'snark.prove-s-serving-nice',
        value: median(niceProveMs) / 1000,
        unit: 's',
      })
    }
    const list = (xs: readonly number[]) => xs.map((x) => x.toFixed(2)).join(', ')
    const notes = [
      `Snark serving: a full node (startFullNode) with its worker prover in the same process (bench/node/snark-node.ts), ` +
        `${serveBytes / MiB} MiB of pseudo-random content in ${base}; the gateway section's client (a fresh process, one ` +
        `keep-alive connection, ${serveTurns} turns after a warm-up, best of each) in ${options.servePairs} pairs of phases, ` +
        `the prover idle and proving one batch of 5 back-to-back (which goes first alternates); then ${options.serveNicePairs} ` +
        `pairs with the prover's thread at nice 19 (an experiment: the node does not renice it). Figures: medians over the ` +
        `phases. Each pair's raw ratio, proving / idle: ${list(pairRatios.proving)}; at nice 19: ${list(pairRatios['proving-nice'])}. ` +
        `Proofs made in the proving phases: ${proveMs.length} ` +
        `(${proveMs.length > 0 ? `median ${(median(proveMs) / 1000).toFixed(1)} s each` : 'none'}), at nice 19 ${niceProveMs.length} ` +
        `(${niceProveMs.length > 0 ? `median ${(median(niceProveMs) / 1000).toFixed(1)} s` : 'none'}). The node's main thread, ` +
        'its prover thread and the client process share the 2 cores (a real client is on another machine).',
    ]
    return { figures, notes }
  } finally {
    if (node !== undefined) node.child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

function spreadOf(cpu: readonly number[], n: number): string {
  const s = cpu.map((c) => (c / n) * 1000).sort((a, b) => a - b)
  return `${s[0]!.toFixed(0)}–${s.at(-1)!.toFixed(0)}`
}

/** The section's rows for bench/run.ts. */
export function snarkComparisons(claims: number) {
  const section = `DA batch proofs (issue 18): S = ${DA_BATCH_SLOTS} claims a proof; ${claims} claims settled in one block`
  return [
    {
      section,
      label: 'prove a batch of 5, warm (wall): worker vs snarkjs in-process',
      figure: 'snark.prove-s',
      peer: 'snark.prove-s-inprocess',
      ratio: 'snark.ratio.prove/inprocess',
    },
    {
      section,
      label: 'prove a batch of 5, the first: worker vs snarkjs in-process',
      figure: 'snark.prove-s-first',
      peer: 'snark.prove-s-inprocess-first',
      ratio: 'snark.ratio.prove-first/inprocess-first',
    },
    {
      section,
      label: 'prove a batch of 5, warm, process CPU: worker vs in-process',
      figure: 'snark.prove-cpu-s',
      peer: 'snark.prove-cpu-s-inprocess',
      ratio: 'snark.ratio.prove-cpu/inprocess',
    },
    {
      section,
      label: 'verify a proof, Node CPU: as the executor (mcl) vs snarkjs',
      figure: 'snark.verify-ms',
      peer: 'snark.verify-ms-snarkjs',
      ratio: 'snark.ratio.verify/snarkjs',
    },
    {
      section,
      label: 'verify a proof, Node CPU: noble kernel vs mcl',
      figure: 'snark.verify-ms-noble',
      peer: 'snark.verify-ms',
      ratio: 'snark.ratio.verify-noble/mcl',
    },
    {
      section,
      label: 'verify a proof: Chromium worker (noble, wall) vs Node (mcl)',
      figure: 'snark.verify-ms-chromium',
      peer: 'snark.verify-ms',
      ratio: 'snark.ratio.verify-chromium/node',
    },
    {
      section,
      label: 'verify a proof: Chromium worker (noble) vs Node with noble',
      figure: 'snark.verify-ms-chromium',
      peer: 'snark.verify-ms-noble',
      ratio: 'snark.ratio.verify-chromium/noble-node',
    },
    {
      section,
      label: 'settle, executor CPU per claim: native vs with proofs',
      figure: 'snark.settle-native-us',
      peer: 'snark.settle-proven-us',
      ratio: 'snark.settle-cpu-ratio',
      target: { text: '> 1× (proofs win)', met: (r: number) => r > 1 },
    },
    {
      section,
      label: 'checks alone, per claim: checkClaims vs checkProvenClaims',
      figure: 'snark.check-native-us',
      peer: 'snark.check-proven-us',
      ratio: 'snark.ratio.check-native/proven',
    },
    {
      section,
      label: 'per claim: native signature part vs proof part (verify, bind)',
      figure: 'snark.native-sig-us',
      peer: 'snark.proof-part-us',
      ratio: 'snark.ratio.native-sig/proof-part',
    },
    {
      section,
      label: 'per claim: the proof verification ÷ 5 vs the native signature',
      figure: 'snark.verify-per-claim-us',
      peer: 'snark.native-sig-us',
      ratio: 'snark.ratio.verify-per-claim/native-sig',
    },
    {
      section,
      label: 'per claim: the binding (batchDigest) vs the native signature',
      figure: 'snark.binding-us',
      peer: 'snark.native-sig-us',
      ratio: 'snark.ratio.binding/native-sig',
    },
    {
      section,
      label: 'per claim: reveals (decode, hash chain; both) vs checkClaims',
      figure: 'snark.reveal-us',
      peer: 'snark.check-native-us',
      ratio: 'snark.ratio.reveal/check-native',
      percent: true,
    },
    {
      section,
      label: 'per claim, the rest (state, tree, LevelDB): proven vs native',
      figure: 'snark.rest-proven-us',
      peer: 'snark.rest-native-us',
      ratio: 'snark.ratio.rest-proven/native',
    },
    {
      section,
      label: 'break-even S* = verify / (native sig − binding) vs S',
      figure: 'snark.break-even-slots',
      peer: 'snark.slots',
      ratio: 'snark.ratio.break-even/slots',
      target: { text: '≤ S', met: (r: number) => r <= 1 },
    },
    {
      section,
      label: 'bytes per settled claim on the wire: with proofs vs native',
      figure: 'snark.bytes-per-claim',
      peer: 'snark.bytes-per-claim-native',
      ratio: 'snark.ratio.bytes/native',
    },
    {
      section,
      label: 'gateway, raw: while the worker proves vs unloaded',
      figure: 'snark.serve-proving',
      peer: 'snark.serve-idle',
      ratio: 'snark.ratio.serve-proving/idle',
      target: { text: '≥ 0.8×', met: (r: number) => r >= 0.8 },
    },
    {
      section,
      label: "gateway, raw: median of each pair's proving / idle vs 0.8",
      figure: 'snark.serve-pair-ratio',
      peer: 'snark.serve-target',
      ratio: 'snark.ratio.serve-pair/target',
      target: { text: '≥ 1× (0.8)', met: (r: number) => r >= 1 },
    },
    {
      section,
      label: 'gateway, raw: while the worker proves at nice 19 vs unloaded',
      figure: 'snark.serve-proving-nice',
      peer: 'snark.serve-idle',
      ratio: 'snark.ratio.serve-proving-nice/idle',
      target: { text: '≥ 0.8×', met: (r: number) => r >= 0.8 },
    },
    {
      section,
      label: 'gateway, frames: while the worker proves vs unloaded',
      figure: 'snark.serve-proving-frames',
      peer: 'snark.serve-idle-frames',
      ratio: 'snark.ratio.serve-proving/idle-frames',
      target: { text: '≥ 0.8×', met: (r: number) => r >= 0.8 },
    },
    {
      section,
      label: 'gateway, frames: while the worker proves at nice 19 vs unloaded',
      figure: 'snark.serve-proving-nice-frames',
      peer: 'snark.serve-idle-frames',
      ratio: 'snark.ratio.serve-proving-nice/idle-frames',
      target: { text: '≥ 0.8×', met: (r: number) => r >= 0.8 },
    },
    {
      section,
      label: 'prove a batch of 5 while serving: at nice 19 vs default',
      figure: 'snark.prove-s-serving-nice',
      peer: 'snark.prove-s-serving',
      ratio: 'snark.ratio.prove-serving-nice/default',
    },
  ]
}
