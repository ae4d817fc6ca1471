/**
 * Test support: a synthetic checkpoint chain signed by real BLS keys, without a running chain.
 * Committees are drawn from a pool of seeded keys (so keys repeat across epochs, as they do
 * when a committee is drawn from a chain's active nodes); each epoch ends with a handoff and may
 * hold checkpoints inside it. State roots are given by the caller (a real executor's, for tests
 * that check state proofs against them) or made up from the height.
 */

import {
  attestationQuorum,
  decodeSignaturePoint,
  type G1Point,
  sumSignatures,
} from '../../consensus/attestation/block-attestation.ts'
import { signerBitfield } from '../../consensus/dag/narwhal-messages.ts'
import { makeBlsKey } from '../../state/transaction.ts'
import {
  type CheckpointBody,
  checkpointHash,
  committeeKeysHash,
  genesisCheckpoint,
  type SignedCheckpoint,
  signCheckpoint,
} from '../checkpoint.ts'
import { type CheckpointAnchor, trustedAnchor } from '../checkpoint-chain.ts'
import type { ServedCheckpoint } from '../checkpoint-codec.ts'

export interface FixtureKey {
  readonly secretKey: Uint8Array
  readonly publicKey: Uint8Array
}

/** `n` seeded BLS keys; `salt` gives another set. */
export function fixtureKeys(n: number, salt = 0): FixtureKey[] {
  return Array.from({ length: n }, (_, i) => {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, i)
    new DataView(seed.buffer).setUint32(4, salt)
    return makeBlsKey(seed)
  })
}

/** The aggregate of `signers` (member indexes; default: the first n − f) over `body`. */
export function signByCommittee(
  committee: readonly FixtureKey[],
  body: CheckpointBody,
  signers: readonly number[] = Array.from(
    { length: attestationQuorum(committee.length) },
    (_, i) => i,
  ),
): SignedCheckpoint {
  const sorted = [...signers].sort((a, b) => a - b)
  const points = sorted.map(
    (m) =>
      decodeSignaturePoint(signCheckpoint((committee[m] as FixtureKey).secretKey, body)) as G1Point,
  )
  return { body, signers: signerBitfield(sorted), signature: sumSignatures(points) }
}

export interface CheckpointChainOptions {
  readonly chainId?: number
  /** Handoffs after genesis (one per epoch). */
  readonly epochs: number
  readonly committeeSize: number
  /** Keys committees are drawn from (default: a fresh set per epoch, no repeats). */
  readonly poolSize?: number
  /** Checkpoints inside each epoch, before its handoff (default 0). */
  readonly insidePerEpoch?: number
  /** Blocks per epoch (default 100). */
  readonly epochBlocks?: number
  /** The state root of the checkpoint at `height` (default: made up from the height). */
  readonly stateRootAt?: (height: number, epoch: number) => Uint8Array
  /** Genesis state root (default: stateRootAt(0, 0)). */
  readonly genesisRoot?: Uint8Array
}

export interface CheckpointChainFixture {
  /** The genesis checkpoint's anchor (trusted). */
  readonly genesis: CheckpointAnchor
  /** Committee of each epoch (index = epoch), with secret keys. */
  readonly committees: readonly (readonly FixtureKey[])[]
  /** Every checkpoint after genesis, in height order, handoffs with their committee keys. */
  readonly served: readonly ServedCheckpoint[]
  /** The handoffs only (what a client starting from genesis walks). */
  readonly handoffs: readonly ServedCheckpoint[]
}

const madeUpRoot = (height: number) => {
  const root = new Uint8Array(32)
  new DataView(root.buffer).setUint32(0, height)
  root[31] = 0x5a
  return root
}

export function buildCheckpointChain(options: CheckpointChainOptions): CheckpointChainFixture {
  const chainId = options.chainId ?? 7
  const n = options.committeeSize
  const epochBlocks = options.epochBlocks ?? 100
  const inside = options.insidePerEpoch ?? 0
  const rootAt = options.stateRootAt ?? madeUpRoot
  // The draw steps by 3 through the pool: a pool size that 3 divides would repeat members.
  if (options.poolSize !== undefined && (options.poolSize % 3 === 0 || options.poolSize < n)) {
    throw new RangeError(`a pool of ${options.poolSize} cannot draw ${n} distinct members`)
  }
  const pool = options.poolSize === undefined ? undefined : fixtureKeys(options.poolSize, 1)
  const committeeOf = (epoch: number): FixtureKey[] => {
    if (pool === undefined) return fixtureKeys(n, 1000 + epoch)
    // A deterministic draw of n distinct pool keys for the epoch.
    const start = (epoch * 7) % pool.length
    return Array.from({ length: n }, (_, i) => pool[(start + i * 3) % pool.length] as FixtureKey)
  }
  const committees: FixtureKey[][] = [committeeOf(0)]
  const keysOf = (c: readonly FixtureKey[]) => c.map((k) => k.publicKey)
  const genesisBody = genesisCheckpoint(
    chainId,
    options.genesisRoot ?? rootAt(0, 0),
    keysOf(committees[0] as FixtureKey[]),
  )
  const genesis = trustedAnchor(genesisBody, keysOf(committees[0] as FixtureKey[]))
  const served: ServedCheckpoint[] = []
  const handoffs: ServedCheckpoint[] = []
  let anchorHash = genesis.hash
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const signing = committees[epoch] as FixtureKey[]
    const base = epoch * epochBlocks
    const step = Math.floor(epochBlocks / (inside + 1))
    for (let i = 1; i <= inside; i++) {
      const height = base + i * step
      const body: CheckpointBody = {
        chainId,
        epoch,
        height,
        stateRoot: rootAt(height, epoch),
        previous: anchorHash,
        nextCommittee: committeeKeysHash(keysOf(signing)),
      }
      served.push({ checkpoint: signByCommittee(signing, body) })
    }
    const next = committeeOf(epoch + 1)
    committees.push(next)
    const height = base + epochBlocks
    const body: CheckpointBody = {
      chainId,
      epoch: epoch + 1,
      height,
      stateRoot: rootAt(height, epoch + 1),
      previous: anchorHash,
      nextCommittee: committeeKeysHash(keysOf(next)),
    }
    const handoff = { checkpoint: signByCommittee(signing, body), committee: keysOf(next) }
    served.push(handoff)
    handoffs.push(handoff)
    anchorHash = checkpointHash(body)
  }
  return { genesis, committees, served, handoffs }
}
