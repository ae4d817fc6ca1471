/**
 * Where a node keeps the attestation of each block it executed (the committee's aggregate BLS
 * signature, attestation-codec.ts), by height, beside the chain in the same KvStore: served with
 * the block (`GET /chain/block/<height>`), so that whoever fetches it checks it against the
 * committee instead of trusting the node (committee-orderer.ts collects them).
 */
import type { KvStore } from '../../kv/kv-store.ts'
import { decodeAttestation, encodeAttestation } from './attestation-codec.ts'
import type { BlockAttestation } from './block-attestation.ts'

export class AttestationStore {
  readonly #kv: KvStore
  readonly #prefix: Uint8Array

  constructor(kv: KvStore, prefix = 'attest/') {
    this.#kv = kv
    this.#prefix = new TextEncoder().encode(prefix)
  }

  #key(height: number): Uint8Array {
    const key = new Uint8Array(this.#prefix.length + 8)
    key.set(this.#prefix)
    new DataView(key.buffer).setBigUint64(this.#prefix.length, BigInt(height))
    return key
  }

  async put(attestation: BlockAttestation): Promise<void> {
    await this.#kv.put(this.#key(attestation.height), encodeAttestation(attestation))
  }

  /** The attestation of the block at `height`, if this node has it (ATTESTATION_MALFORMED if
   * what it stored does not decode). */
  async get(height: number): Promise<BlockAttestation | undefined> {
    const bytes = await this.#kv.get(this.#key(height))
    return bytes === undefined ? undefined : decodeAttestation(bytes)
  }
}
