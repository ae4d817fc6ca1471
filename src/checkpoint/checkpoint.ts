/**
 * Checkpoints (DESIGN.md "Checkpoints and the light client"): what a committee signs so that a
 * light client can walk from genesis to today committee by committee, then check any state
 * entry against the latest root with a state proof.
 *
 * A checkpoint's body is { chainId, epoch, height, stateRoot, previous, nextCommittee }:
 *
 * - `height`, `stateRoot`: the block it is taken after and the state root that block left.
 * - `epoch`: the epoch of that state (after the block); a handoff's is one more than its
 *   committee's.
 * - `nextCommittee`: the hash of the BLS keys (in member order) of the committee of `epoch`,
 *   the one that signs the checkpoints after this one. Binding the next signer set is what lets
 *   a client check the next committee without trusting whoever sent its keys (Lightning's
 *   checkpoints do not bind it).
 * - `previous`: the hash of the last *handoff* before it (the checkpoint of the block that
 *   changed epoch; the genesis checkpoint for epoch 0). Handoffs therefore form one chain, one
 *   link per epoch, which is all a client starting from genesis must walk; the checkpoints taken
 *   inside an epoch (every `CHECKPOINT_INTERVAL` blocks) hang off their epoch's handoff, so the
 *   latest one is checked from it in one step.
 *
 * Which blocks: the block whose execution changed the epoch (a handoff), and every block whose
 * height is a multiple of `CHECKPOINT_INTERVAL`. Every node computes the same bodies from the
 * blocks it executes (checkpoint-book.ts); the committee that executed the block signs
 * height ‖ checkpoint hash under `CHECKPOINT_DST` with the same BLS keys and aggregation as block
 * attestations (src/consensus/attestation), and n − f signatures (more than 2/3) make it valid.
 *
 * Hashes: BLAKE3 derive-key over the canonical DAG-CBOR of the body ("fulmen 2026 checkpoint"),
 * and over the concatenated 96-byte keys ("fulmen 2026 committee keys").
 */
import { deriveKey } from '../b3/hash.ts'
import {
  type AggregateSignature,
  ATTESTATION_KEY_BYTES,
  signBlockHash,
} from '../consensus/attestation/block-attestation.ts'
import { type CborRecord, encodeCanonical, type RecordReader } from '../state/cbor-shape.ts'
import type { ExecutedBlock } from '../state/model.ts'

const CHECKPOINT_CONTEXT = 'fulmen 2026 checkpoint'
const COMMITTEE_KEYS_CONTEXT = 'fulmen 2026 committee keys'

/** Domain separation tag of checkpoint signatures (RFC 9380), distinct from block attestations'. */
export const CHECKPOINT_DST = 'FULMEN-2026-CHECKPOINT_BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_'

/** A checkpoint is taken every this many blocks inside an epoch (and at every epoch change). */
export const CHECKPOINT_INTERVAL = 32

export const CHECKPOINT_HASH_BYTES = 32

export interface CheckpointBody {
  readonly chainId: number
  readonly epoch: number
  readonly height: number
  readonly stateRoot: Uint8Array
  /** The hash of the previous handoff (32 zero bytes for the genesis checkpoint). */
  readonly previous: Uint8Array
  /** The hash of the BLS keys of the committee of `epoch` (committeeKeysHash). */
  readonly nextCommittee: Uint8Array
}

/** A body with the committee's aggregate: signers (bitfield) and the 48-byte signature. */
export interface SignedCheckpoint extends AggregateSignature {
  readonly body: CheckpointBody
}

/** A body's fields as a CBOR record (the signed form and the light client's store add to it). */
export function checkpointBodyRecord(body: CheckpointBody): CborRecord {
  const { chainId, epoch, height, stateRoot, previous, nextCommittee } = body
  return { chainId, epoch, height, stateRoot, previous, nextCommittee }
}

/** Reads a body's fields from a record (the caller checks for other fields: `done()`). */
export function readCheckpointBody(r: RecordReader): CheckpointBody {
  return {
    chainId: r.uint('chainId'),
    epoch: r.uint('epoch'),
    height: r.uint('height'),
    stateRoot: r.bytes('stateRoot', CHECKPOINT_HASH_BYTES),
    previous: r.bytes('previous', CHECKPOINT_HASH_BYTES),
    nextCommittee: r.bytes('nextCommittee', CHECKPOINT_HASH_BYTES),
  }
}

/** The canonical DAG-CBOR of a body (what its hash is taken over). */
export function encodeCheckpointBody(body: CheckpointBody): Uint8Array {
  const { chainId, epoch, height, stateRoot, previous, nextCommittee } = body
  for (const [name, n] of [
    ['chainId', chainId],
    ['epoch', epoch],
    ['height', height],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`a checkpoint's ${name} is a safe non-negative integer, got ${n}`)
    }
  }
  for (const [name, b] of [
    ['stateRoot', stateRoot],
    ['previous', previous],
    ['nextCommittee', nextCommittee],
  ] as const) {
    if (!(b instanceof Uint8Array) || b.length !== CHECKPOINT_HASH_BYTES) {
      throw new RangeError(`a checkpoint's ${name} is ${CHECKPOINT_HASH_BYTES} bytes`)
    }
  }
  return encodeCanonical(checkpointBodyRecord(body))
}

export function checkpointHash(body: CheckpointBody): Uint8Array {
  return deriveKey(CHECKPOINT_CONTEXT, encodeCheckpointBody(body))
}

/** The hash a checkpoint binds a committee by: its members' 96-byte BLS keys in member order. */
export function committeeKeysHash(keys: readonly Uint8Array[]): Uint8Array {
  const material = new Uint8Array(keys.length * ATTESTATION_KEY_BYTES)
  keys.forEach((key, i) => {
    if (!(key instanceof Uint8Array) || key.length !== ATTESTATION_KEY_BYTES) {
      throw new RangeError(`a committee key is ${ATTESTATION_KEY_BYTES} bytes`)
    }
    material.set(key, i * ATTESTATION_KEY_BYTES)
  })
  return deriveKey(COMMITTEE_KEYS_CONTEXT, material)
}

/**
 * The checkpoint every chain starts from: height 0, epoch 0, the genesis state root, no
 * previous handoff, and the genesis committee's keys. Not signed: whoever accepts the genesis
 * file accepts it (the light client computes it from that file).
 */
export function genesisCheckpoint(
  chainId: number,
  genesisStateRoot: Uint8Array,
  genesisCommitteeKeys: readonly Uint8Array[],
): CheckpointBody {
  return {
    chainId,
    epoch: 0,
    height: 0,
    stateRoot: genesisStateRoot,
    previous: new Uint8Array(CHECKPOINT_HASH_BYTES),
    nextCommittee: committeeKeysHash(genesisCommitteeKeys),
  }
}

/** Did executing `block` change the epoch (an EpochChanged event in one of its receipts)? */
export function changesEpoch(block: ExecutedBlock): boolean {
  return block.receipts.some((r) => r.events?.some((e) => e.type === 'EpochChanged') === true)
}

/** Is a checkpoint taken after `block`, and of which kind? */
export function checkpointKindOf(
  block: ExecutedBlock,
  interval: number = CHECKPOINT_INTERVAL,
): 'handoff' | 'interval' | undefined {
  if (changesEpoch(block)) return 'handoff'
  return block.header.height % interval === 0 ? 'interval' : undefined
}

/** A member's 48-byte signature of a checkpoint. */
export function signCheckpoint(secretKey: Uint8Array, body: CheckpointBody): Uint8Array {
  return signBlockHash(secretKey, body.height, checkpointHash(body), CHECKPOINT_DST)
}
