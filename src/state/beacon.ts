/**
 * The committee-selection beacon's commit–reveal (Lightning: `CommitteeSelectionBeaconCommit::
 * build` in core/types/src/state.rs and `choose_new_committee` in epoch_change.rs). Each node
 * commits to hash(epoch, round, reveal), later reveals 32 random bytes; the seed is the hash of
 * every reveal in node-key order, so no single node can choose it once it has committed.
 * Lightning hashes with SHA3-256; here BLAKE3 derive-key, whose context names what is hashed.
 */
import { deriveKey } from '../b3/hash.ts'
import { StateError } from './errors.ts'

/** Bytes a node reveals (and commits to). */
export const BEACON_REVEAL_LEN = 32

const COMMIT_CONTEXT = 'fulmen 2026 beacon commit'
const SEED_CONTEXT = 'fulmen 2026 beacon seed'

function checkReveal(reveal: Uint8Array, what: string): void {
  if (!(reveal instanceof Uint8Array) || reveal.length !== BEACON_REVEAL_LEN) {
    throw new StateError(
      'STATE_INVALID_ARGUMENT',
      `${what} must be ${BEACON_REVEAL_LEN} bytes, got ${reveal instanceof Uint8Array ? reveal.length : typeof reveal}`,
    )
  }
}

function writeU64(view: DataView, offset: number, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StateError('STATE_INVALID_ARGUMENT', `${what} must be a non-negative safe integer`)
  }
  view.setBigUint64(offset, BigInt(value))
}

/** commit = BLAKE3-derive-key("fulmen 2026 beacon commit", u64be epoch ‖ u64be round ‖ reveal). */
export function beaconCommitOf(epoch: number, round: number, reveal: Uint8Array): Uint8Array {
  checkReveal(reveal, 'a beacon reveal')
  const material = new Uint8Array(16 + BEACON_REVEAL_LEN)
  const view = new DataView(material.buffer)
  writeU64(view, 0, epoch, 'epoch')
  writeU64(view, 8, round, 'round')
  material.set(reveal, 16)
  return deriveKey(COMMIT_CONTEXT, material)
}

/**
 * seed = BLAKE3-derive-key("fulmen 2026 beacon seed", reveal₁ ‖ reveal₂ ‖ …), the reveals in the
 * order the caller gives: ascending node key (Lightning: ascending node index). Every reveal is
 * 32 bytes, so the concatenation is unambiguous. No reveals gives the hash of nothing: a fixed
 * seed, which is what a one-node devnet without a beacon round gets.
 */
export function beaconSeed(reveals: readonly Uint8Array[]): Uint8Array {
  const material = new Uint8Array(reveals.length * BEACON_REVEAL_LEN)
  reveals.forEach((reveal, i) => {
    checkReveal(reveal, `beacon reveal ${i}`)
    material.set(reveal, i * BEACON_REVEAL_LEN)
  })
  return deriveKey(SEED_CONTEXT, material)
}
