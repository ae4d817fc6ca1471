/**
 * The light client's state on disk (or in IndexedDB): one record under `light/head` in a
 * KvStore (LevelKvStore on Node, IdbKvStore in a page or worker, MemoryKvStore in tests), so a
 * client restarts from the last handoff it verified instead of genesis.
 *
 * The record is canonical DAG-CBOR (src/state/cbor-shape.ts):
 *
 *   { v: 1, genesis: hash(32), anchor: body, committee: [bls key(96)…], head: body }
 *
 * where a body is a checkpoint body's six fields. Decoding is strict (unknown fields, wrong
 * lengths, a non-canonical encoding: LIGHT_STORE_CORRUPT) and the restored state is checked to
 * be one (LightClient.restore). A restored anchor is trusted: it was verified before it was
 * stored. A record of another genesis is LIGHT_STORE_OTHER_CHAIN, never silently replaced.
 */

import {
  CHECKPOINT_HASH_BYTES,
  type CheckpointAnchor,
  type CheckpointBody,
  checkpointBodyRecord,
  checkpointHash,
  readCheckpointBody,
} from '../checkpoint/index.ts'
import { ATTESTATION_KEY_BYTES } from '../consensus/attestation/block-attestation.ts'
import { equalBytes } from '../core/bytes.ts'
import type { KvCallOptions, KvStore } from '../kv/kv-store.ts'
import { encodeCanonical, RecordReader } from '../state/cbor-shape.ts'
import { LightError } from './errors.ts'
import { LightClient, type LightClientState } from './light-client.ts'

/** The key of the record (a prefix of its own, so the store may hold other things). */
export const LIGHT_HEAD_KEY: Uint8Array = new TextEncoder().encode('light/head')

const VERSION = 1
/** The most committee keys a record holds (a signer bitfield's limit). */
const MAX_COMMITTEE = 1024

export function encodeLightState(state: LightClientState): Uint8Array {
  return encodeCanonical({
    v: VERSION,
    genesis: state.genesis,
    anchor: checkpointBodyRecord(state.anchor.body),
    committee: [...state.anchor.committee],
    head: checkpointBodyRecord(state.head.body),
  })
}

const corrupt = (message: string) => new LightError('LIGHT_STORE_CORRUPT', message)

function readBody(r: RecordReader): CheckpointBody {
  const body = readCheckpointBody(r)
  r.done()
  return body
}

/** The state a record holds, checked to be one (LIGHT_STORE_CORRUPT otherwise). */
export function decodeLightState(bytes: Uint8Array): LightClientState {
  let state: LightClientState
  try {
    const r = RecordReader.decode(bytes, 'the light head', corrupt)
    const v = r.uint('v')
    if (v !== VERSION) throw r.fail(`is version ${v}, not ${VERSION}`)
    const genesis = r.bytes('genesis', CHECKPOINT_HASH_BYTES)
    const body = readBody(r.record('anchor'))
    const committee = r.array('committee', MAX_COMMITTEE, (k) => {
      if (!(k instanceof Uint8Array) || k.length !== ATTESTATION_KEY_BYTES) {
        throw r.fail(`holds a committee key that is not ${ATTESTATION_KEY_BYTES} bytes`)
      }
      return k
    })
    const head = readBody(r.record('head'))
    r.done()
    const anchor: CheckpointAnchor = { body, hash: checkpointHash(body), committee }
    state = { genesis, anchor, head: { body: head, hash: checkpointHash(head) } }
  } catch (e) {
    if (e instanceof LightError) throw e
    throw new LightError('LIGHT_STORE_CORRUPT', `the light head: ${(e as Error).message}`, {
      cause: e,
    })
  }
  // Restore checks the committee against the anchor and the head against the anchor.
  return LightClient.restore(state).state
}

/** Writes the client's state (anchor, committee, head) under LIGHT_HEAD_KEY. */
export async function saveLightHead(
  store: KvStore,
  client: LightClient,
  options?: KvCallOptions,
): Promise<void> {
  await store.put(LIGHT_HEAD_KEY, encodeLightState(client.state), options)
}

/**
 * The client stored in `store` for the chain of `genesis` (its genesis anchor), or undefined
 * when the store holds none. LIGHT_STORE_OTHER_CHAIN when it holds another genesis's.
 */
export async function loadLightHead(
  store: KvStore,
  genesis: CheckpointAnchor,
  options?: KvCallOptions,
): Promise<LightClient | undefined> {
  const bytes = await store.get(LIGHT_HEAD_KEY, options)
  if (bytes === undefined) return undefined
  const state = decodeLightState(bytes)
  if (!equalBytes(state.genesis, genesis.hash)) {
    throw new LightError(
      'LIGHT_STORE_OTHER_CHAIN',
      'the store holds the light head of another genesis than the one given',
    )
  }
  return LightClient.restore(state)
}

/** The stored client of `genesis`'s chain, or a new one at genesis when none is stored. */
export async function openLightClient(
  store: KvStore,
  genesis: CheckpointAnchor,
  options?: KvCallOptions,
): Promise<LightClient> {
  return (await loadLightHead(store, genesis, options)) ?? LightClient.fromGenesis(genesis)
}
