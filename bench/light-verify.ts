/**
 * The light section's timing (issue 17), shared by Node (bench/node/light.ts) and the Chromium
 * worker (bench/browser/light-page): no Node built-ins. What a light client given a genesis
 * file does to reach today: decode the served runs (JSON, as `GET /chain/checkpoints` answers),
 * walk every handoff from genesis, then check a state entry against the newest root.
 *
 * - year: `checkCheckpointRun` over the served runs (≤ 256 checkpoints each) decoded and put
 *   end to end, the key cache emptied first, as a client that has never seen the committee keys
 *   (handoff-verifier.ts), with the signature kernel installed by the caller (Node: mcl).
 * - year, warm: the same with the keys of the pool already decoded (a client resuming).
 * - plain (the peer): per handoff, the same structural checks, then @noble/curves'
 *   `shortSignatures.verify` of the aggregate with the signers' keys decoded from their bytes
 *   and summed (`aggregatePublicKeys`), the message hashed by `shortSignatures.hash`: no cache,
 *   no batch.
 * - proof: one `checkStateProof` of an account under a real executor's root.
 *
 * Times come from the caller's clock: CPU ms in Node, wall ms in the worker (no CPU clock).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import {
  CHECKPOINT_DST,
  type CheckpointBody,
  checkpointHash,
  committeeKeysHash,
} from '../src/checkpoint/checkpoint.ts'
import {
  type CheckpointAnchor,
  checkCheckpointRun,
  trustedAnchor,
} from '../src/checkpoint/checkpoint-chain.ts'
import {
  type CheckpointRunJson,
  checkpointRunFromJson,
} from '../src/checkpoint/checkpoint-codec.ts'
import { checkpointSignatureKernel } from '../src/checkpoint/handoff-verifier.ts'
import { attestationMessage } from '../src/consensus/attestation/block-attestation.ts'
import { signersOf } from '../src/consensus/dag/narwhal-messages.ts'
import { equalBytes } from '../src/core/bytes.ts'
import { checkStateProof } from '../src/state/state-proof.ts'
import { median } from './shared.ts'

export interface AnchorJson {
  readonly chainId: number
  readonly epoch: number
  readonly height: number
  readonly stateRoot: string
  readonly previous: string
  readonly nextCommittee: string
  readonly committee: readonly string[]
}

export function anchorToJson(anchor: CheckpointAnchor): AnchorJson {
  const { chainId, epoch, height, stateRoot, previous, nextCommittee } = anchor.body
  return {
    chainId,
    epoch,
    height,
    stateRoot: bytesToHex(stateRoot),
    previous: bytesToHex(previous),
    nextCommittee: bytesToHex(nextCommittee),
    committee: anchor.committee.map((k) => bytesToHex(k)),
  }
}

function anchorFromJson(json: AnchorJson): CheckpointAnchor {
  const body: CheckpointBody = {
    chainId: json.chainId,
    epoch: json.epoch,
    height: json.height,
    stateRoot: hexToBytes(json.stateRoot),
    previous: hexToBytes(json.previous),
    nextCommittee: hexToBytes(json.nextCommittee),
  }
  return trustedAnchor(body, json.committee.map(hexToBytes))
}

export interface LightBenchConfig {
  /** The genesis anchor (a client computes it from the genesis file). */
  readonly genesis: AnchorJson
  /** Served runs of handoffs from genesis, in order. */
  readonly runs: readonly CheckpointRunJson[]
  /** A state proof of `key` in `table` holding `value` under `root` (hex). */
  readonly proof: {
    readonly root: string
    readonly table: string
    readonly key: string
    readonly value: string
    readonly proof: string
  }
  /** Rounds of the batched walk (median); the plain walk runs `plainRounds`. */
  readonly rounds: number
  readonly plainRounds: number
  readonly proofReps: number
}

export interface LightBenchResult {
  readonly handoffs: number
  /** Medians over the rounds, ms. */
  readonly yearMs: number
  readonly yearWarmMs: number
  readonly plainMs: number
  readonly proofMs: number
  /** Every walk reached the last handoff, every proof checked. */
  readonly accepted: boolean
}

/**
 * The batched walk: the served runs decoded and checked as one (a client that fetched them
 * all checks them with one product of pairings); the last anchor's height, or -1 if refused.
 */
function walk(genesis: AnchorJson, runs: readonly CheckpointRunJson[]): number {
  const result = checkCheckpointRun(
    anchorFromJson(genesis),
    runs.flatMap((run) => checkpointRunFromJson(run)),
  )
  return result.failure === undefined ? result.anchor.body.height : -1
}

const bls = bls12_381.shortSignatures

/** The peer: one plain noble verify per handoff, keys decoded from bytes every time. */
function walkPlain(genesis: AnchorJson, runs: readonly CheckpointRunJson[]): number {
  let anchor = anchorFromJson(genesis)
  for (const run of runs) {
    for (const { checkpoint, committee } of checkpointRunFromJson(run)) {
      const { body } = checkpoint
      if (
        committee === undefined ||
        body.epoch !== anchor.body.epoch + 1 ||
        !equalBytes(body.previous, anchor.hash) ||
        !equalBytes(committeeKeysHash(committee), body.nextCommittee)
      ) {
        return -1
      }
      const hash = checkpointHash(body)
      const signers = signersOf(checkpoint.signers).map((m) => anchor.committee[m] as Uint8Array)
      const ok = bls.verify(
        checkpoint.signature,
        bls.hash(attestationMessage(body.height, hash), CHECKPOINT_DST),
        bls.aggregatePublicKeys(signers),
      )
      if (!ok) return -1
      anchor = { body, hash, committee }
    }
  }
  return anchor.body.height
}

export function measureLight(config: LightBenchConfig, now: () => number): LightBenchResult {
  const handoffs = config.runs.reduce((n, r) => n + r.checkpoints.length, 0)
  let accepted = true
  const timed = (run: () => number, rounds: number, cold: boolean): number => {
    const times: number[] = []
    for (let r = 0; r < rounds; r++) {
      if (cold) checkpointSignatureKernel().clearCache()
      const t0 = now()
      const height = run()
      times.push(now() - t0)
      if (height < 0) accepted = false
    }
    return median(times)
  }
  // One walk first: the JIT warm, as in a client that has run before (key cache emptied after).
  walk(config.genesis, config.runs)
  const yearMs = timed(() => walk(config.genesis, config.runs), config.rounds, true)
  walk(config.genesis, config.runs)
  const yearWarmMs = timed(() => walk(config.genesis, config.runs), config.rounds, false)
  const plainMs = timed(() => walkPlain(config.genesis, config.runs), config.plainRounds, true)

  const p = config.proof
  const root = hexToBytes(p.root)
  const key = hexToBytes(p.key)
  const value = hexToBytes(p.value)
  const proof = hexToBytes(p.proof)
  const check = () => {
    try {
      checkStateProof(root, p.table, key, value, proof)
    } catch {
      accepted = false
    }
  }
  for (let i = 0; i < 10; i++) check()
  const perProof: number[] = []
  for (let r = 0; r < 5; r++) {
    const t0 = now()
    for (let i = 0; i < config.proofReps; i++) check()
    perProof.push((now() - t0) / config.proofReps)
  }
  return { handoffs, yearMs, yearWarmMs, plainMs, proofMs: median(perProof), accepted }
}
