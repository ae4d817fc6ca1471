/**
 * A node's checkpoints: the bodies it computes from the blocks it executes, the committee's
 * aggregates it assembled (as a member) or was served and checked (as a follower), and the runs
 * it serves to light clients (`GET /chain/checkpoints?from=<epoch>`).
 *
 * Every node computes the same bodies: `observe(block)` is called with each executed block in
 * height order (a height it missed, e.g. after a crash between executing and observing, is read
 * back from the chain store first), and at a checkpoint height it writes the body whose
 * `previous` is the last handoff it wrote, and whose `nextCommittee` is the keys of the epoch
 * the block left the state in. The book keeps, per epoch, the keys of its committee: those sign
 * the epoch's checkpoints, and a handoff serves them as the committee it binds.
 *
 * Storage, in the chain's KvStore beside its blocks (prefix `ckpt/`):
 *   ckpt/at                 { observed, handoff hash, handoff epoch, handoff height }, written
 *                           with each checkpoint only: the blocks after it are read back from
 *                           the chain store when the book opens (fewer than one interval)
 *   ckpt/b/<height u64>     a checkpoint body (canonical DAG-CBOR)
 *   ckpt/s/<height u64>     its aggregate { signers, signature }
 *   ckpt/h/<epoch u64>      the height of the handoff into that epoch
 *   ckpt/k/<epoch u64>      the BLS keys of the epoch's committee, concatenated
 */
import { readBlsKeys } from '../consensus/attestation/committee-keys.ts'
import { equalBytes } from '../core/bytes.ts'
import type { KvOperation, KvStore } from '../kv/kv-store.ts'
import { encodeCanonical, type FailWith, RecordReader } from '../state/cbor-shape.ts'
import type { ChainExecutor, ExecutedBlock } from '../state/model.ts'
import { decodeEntry, tableKeys } from '../state/tables.ts'
import {
  CHECKPOINT_HASH_BYTES,
  CHECKPOINT_INTERVAL,
  type CheckpointBody,
  checkpointHash,
  checkpointKindOf,
  committeeKeysHash,
  encodeCheckpointBody,
  readCheckpointBody,
  type SignedCheckpoint,
} from './checkpoint.ts'
import type { CheckpointAnchor } from './checkpoint-chain.ts'
import { verifyCheckpointSignature } from './checkpoint-chain.ts'
import { MAX_CHECKPOINTS_PER_RUN, type ServedCheckpoint } from './checkpoint-codec.ts'
import { CheckpointError } from './errors.ts'

/** What the book reads of the chain: state entries and stored blocks. */
export type CheckpointChainReader = Pick<ChainExecutor, 'get'> & {
  block(height: number): Promise<ExecutedBlock | undefined>
}

export interface CheckpointBookOptions {
  readonly kv: KvStore
  /** The genesis checkpoint's anchor (genesis-anchor.ts). */
  readonly genesis: CheckpointAnchor
  readonly chain: CheckpointChainReader
  /** Blocks between checkpoints inside an epoch (default CHECKPOINT_INTERVAL). */
  readonly interval?: number
}

interface BookState {
  readonly observed: number
  readonly handoffHash: Uint8Array
  readonly handoffEpoch: number
  readonly handoffHeight: number
}

const enc = new TextEncoder()
const AT_KEY = enc.encode('ckpt/at')
const BODY = enc.encode('ckpt/b/')
const SIGNED = enc.encode('ckpt/s/')
const HANDOFF = enc.encode('ckpt/h/')
const KEYS = enc.encode('ckpt/k/')

function keyOf(prefix: Uint8Array, n: number): Uint8Array {
  const key = new Uint8Array(prefix.length + 8)
  key.set(prefix)
  new DataView(key.buffer).setBigUint64(prefix.length, BigInt(n))
  return key
}

const corrupt: FailWith = (message) =>
  new CheckpointError('CHECKPOINT_MALFORMED', `the checkpoint store: ${message}`)

function decodeBody(bytes: Uint8Array): CheckpointBody {
  const r = RecordReader.decode(bytes, 'checkpoint body', corrupt)
  const body = readCheckpointBody(r)
  r.done()
  return body
}

function splitKeys(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length === 0 || bytes.length % 96 !== 0) throw corrupt('committee keys of a bad length')
  return Array.from({ length: bytes.length / 96 }, (_, i) => bytes.slice(i * 96, i * 96 + 96))
}

export class CheckpointBook {
  readonly #kv: KvStore
  readonly #chain: CheckpointChainReader
  readonly #interval: number
  #state: BookState
  /** observe() calls, one at a time, in call order. */
  #running: Promise<unknown> = Promise.resolve()
  /** Committee keys by epoch, as read back (bounded: the few epochs being served/checked). */
  readonly #keys = new Map<number, Uint8Array[]>()

  private constructor(options: CheckpointBookOptions, state: BookState) {
    this.#kv = options.kv
    this.#chain = options.chain
    this.#interval = options.interval ?? CHECKPOINT_INTERVAL
    this.#state = state
  }

  /** Opens the book in `kv`, writing the genesis checkpoint into an empty one. */
  static async open(options: CheckpointBookOptions): Promise<CheckpointBook> {
    const { kv, genesis } = options
    const interval = options.interval ?? CHECKPOINT_INTERVAL
    if (!Number.isSafeInteger(interval) || interval < 1) {
      throw new RangeError(`the checkpoint interval is a positive integer, got ${interval}`)
    }
    const stored = await kv.get(AT_KEY)
    if (stored !== undefined) {
      const r = RecordReader.decode(stored, 'checkpoint book', corrupt)
      const state: BookState = {
        observed: r.uint('observed'),
        handoffHash: r.bytes('handoffHash', CHECKPOINT_HASH_BYTES),
        handoffEpoch: r.uint('handoffEpoch'),
        handoffHeight: r.uint('handoffHeight'),
      }
      r.done()
      const genesisBody = await kv.get(keyOf(BODY, 0))
      if (
        genesisBody === undefined ||
        !equalBytes(checkpointHash(decodeBody(genesisBody)), genesis.hash)
      ) {
        throw corrupt('it holds the checkpoints of another genesis')
      }
      const book = new CheckpointBook(options, state)
      // What was observed after the last checkpoint written is observed again.
      for (let h = state.observed + 1; ; h++) {
        const block = await options.chain.block(h)
        if (block === undefined) break
        await book.#take(block)
      }
      return book
    }
    const state: BookState = {
      observed: 0,
      handoffHash: genesis.hash,
      handoffEpoch: 0,
      handoffHeight: 0,
    }
    await kv.batch([
      { type: 'put', key: keyOf(BODY, 0), value: encodeCheckpointBody(genesis.body) },
      { type: 'put', key: keyOf(HANDOFF, 0), value: keyOf(new Uint8Array(0), 0) },
      { type: 'put', key: keyOf(KEYS, 0), value: concatKeys(genesis.committee) },
      { type: 'put', key: AT_KEY, value: encodeState(state) },
    ])
    return new CheckpointBook(options, state)
  }

  /** The last height observed. */
  get observed(): number {
    return this.#state.observed
  }

  /**
   * Takes in `block` (executed here, in height order) and returns the checkpoint body taken
   * after it, if it is a checkpoint height. Heights not observed before it are read from the
   * chain first; a height observed already returns its stored body (or undefined).
   */
  observe(block: ExecutedBlock): Promise<CheckpointBody | undefined> {
    const run = this.#running.then(() => this.#observe(block))
    this.#running = run.catch(() => undefined)
    return run
  }

  async #observe(block: ExecutedBlock): Promise<CheckpointBody | undefined> {
    const height = block.header.height
    if (height <= this.#state.observed) return this.bodyAt(height)
    for (let h = this.#state.observed + 1; h < height; h++) {
      const missed = await this.#chain.block(h)
      if (missed === undefined) {
        throw new CheckpointError('CHECKPOINT_GAP', `block ${h} is not in the chain store`)
      }
      await this.#take(missed)
    }
    return this.#take(block)
  }

  async #take(block: ExecutedBlock): Promise<CheckpointBody | undefined> {
    const { header } = block
    const kind = checkpointKindOf(block, this.#interval)
    const was = this.#state
    if (kind === undefined) {
      // Not written: a block that completes no checkpoint is cheap to observe again on open.
      this.#state = { ...was, observed: header.height }
      return undefined
    }
    const ops: KvOperation[] = []
    let keys: Uint8Array[]
    if (kind === 'handoff') {
      const committee = await this.#chain.get('committees', tableKeys.committee(header.epoch))
      if (committee === undefined) {
        throw corrupt(
          `the state after block ${header.height} has no committee of epoch ${header.epoch}`,
        )
      }
      keys = await readBlsKeys(this.#chain, decodeEntry('committees', committee).members)
      ops.push({ type: 'put', key: keyOf(KEYS, header.epoch), value: concatKeys(keys) })
      this.#keys.set(header.epoch, keys)
    } else {
      keys = await this.keysOf(header.epoch)
    }
    const body: CheckpointBody = {
      chainId: header.chainId,
      epoch: header.epoch,
      height: header.height,
      stateRoot: header.stateRoot,
      previous: was.handoffHash,
      nextCommittee: committeeKeysHash(keys),
    }
    ops.push({ type: 'put', key: keyOf(BODY, header.height), value: encodeCheckpointBody(body) })
    this.#state =
      kind === 'handoff'
        ? {
            observed: header.height,
            handoffHash: checkpointHash(body),
            handoffEpoch: header.epoch,
            handoffHeight: header.height,
          }
        : { ...was, observed: header.height }
    if (kind === 'handoff') {
      ops.push({
        type: 'put',
        key: keyOf(HANDOFF, header.epoch),
        value: keyOf(new Uint8Array(0), header.height),
      })
    }
    ops.push({ type: 'put', key: AT_KEY, value: encodeState(this.#state) })
    await this.#kv.batch(ops)
    return body
  }

  /** The body of the checkpoint at `height`, if one was taken there. */
  async bodyAt(height: number): Promise<CheckpointBody | undefined> {
    const bytes = await this.#kv.get(keyOf(BODY, height))
    return bytes === undefined ? undefined : decodeBody(bytes)
  }

  /** The BLS keys of `epoch`'s committee, in member order (CHECKPOINT_GAP if not known here). */
  async keysOf(epoch: number): Promise<Uint8Array[]> {
    const cached = this.#keys.get(epoch)
    if (cached !== undefined) return cached
    const bytes = await this.#kv.get(keyOf(KEYS, epoch))
    if (bytes === undefined) {
      throw new CheckpointError('CHECKPOINT_GAP', `no committee keys of epoch ${epoch} here`)
    }
    const keys = splitKeys(bytes)
    if (this.#keys.size >= 8) this.#keys.clear()
    this.#keys.set(epoch, keys)
    return keys
  }

  /** The keys that sign the checkpoint `body`: its epoch's committee, or for a handoff the one
   * before (the committee that executed the block changing the epoch). */
  async signingKeysOf(body: CheckpointBody): Promise<Uint8Array[]> {
    const handoff = await this.#kv.get(keyOf(HANDOFF, body.epoch))
    const isHandoff = handoff !== undefined && heightOf(handoff) === body.height
    return this.keysOf(isHandoff ? body.epoch - 1 : body.epoch)
  }

  /** Stores the aggregate of the checkpoint at `height` (assembled by the collector, which
   * checked every partial in it). */
  async putAggregate(height: number, signers: Uint8Array, signature: Uint8Array): Promise<void> {
    await this.#kv.put(keyOf(SIGNED, height), encodeCanonical({ signers, signature }))
  }

  /**
   * A checkpoint another node served (a follower's, with the block): kept when its body is the
   * one computed here at that height and its aggregate verifies against the signing committee.
   * Throws CheckpointError otherwise (CHECKPOINT_GAP when this node has no body there yet).
   */
  async acceptServed(signed: SignedCheckpoint): Promise<void> {
    const own = await this.bodyAt(signed.body.height)
    if (own === undefined) {
      throw new CheckpointError(
        'CHECKPOINT_GAP',
        `no checkpoint at height ${signed.body.height} here`,
      )
    }
    const hash = checkpointHash(own)
    if (!equalBytes(hash, checkpointHash(signed.body))) {
      throw new CheckpointError(
        'CHECKPOINT_SIGNATURE',
        `the served checkpoint of height ${own.height} is not the one computed here`,
      )
    }
    verifyCheckpointSignature(own.height, hash, signed, await this.signingKeysOf(own))
    await this.putAggregate(own.height, signed.signers, signed.signature)
  }

  /** The checkpoint at `height` with its aggregate, if both are here. */
  async signedAt(height: number): Promise<SignedCheckpoint | undefined> {
    const bytes = await this.#kv.get(keyOf(SIGNED, height))
    if (bytes === undefined) return undefined
    const body = await this.bodyAt(height)
    if (body === undefined) return undefined
    const r = RecordReader.decode(bytes, 'checkpoint aggregate', corrupt)
    const signers = r.bytes('signers')
    const signature = r.bytes('signature', 48)
    r.done()
    return { body, signers, signature }
  }

  /**
   * What `GET /chain/checkpoints?from=<epoch>` serves: the signed handoffs into epochs from + 1,
   * from + 2, … with the committees they bind, until one is missing (not reached, or not signed
   * here) or `max` are in; when the last handoff here was reached, the newest signed checkpoint
   * inside its epoch follows, if there is one.
   */
  async run(fromEpoch: number, max: number = MAX_CHECKPOINTS_PER_RUN): Promise<ServedCheckpoint[]> {
    const out: ServedCheckpoint[] = []
    let epoch = fromEpoch
    let anchorHeight: number | undefined
    while (out.length < max) {
      const at = await this.#kv.get(keyOf(HANDOFF, epoch + 1))
      if (at === undefined) break
      const signed = await this.signedAt(heightOf(at))
      if (signed === undefined) break
      out.push({ checkpoint: signed, committee: await this.keysOf(epoch + 1) })
      epoch++
    }
    if (out.length >= max) return out
    const handoff = await this.#kv.get(keyOf(HANDOFF, epoch))
    if (handoff === undefined) return out
    anchorHeight = heightOf(handoff)
    // The newest signed checkpoint inside the epoch reached (newer ones may be of a later
    // epoch whose handoff is not signed here yet: those are passed over).
    for await (const { key } of this.#kv.entries({ prefix: SIGNED, reverse: true, limit: 64 })) {
      const height = heightOf(key.subarray(SIGNED.length))
      if (height <= anchorHeight) break
      const signed = await this.signedAt(height)
      if (signed !== undefined && signed.body.epoch === epoch) {
        out.push({ checkpoint: signed })
        break
      }
    }
    return out
  }
}

function heightOf(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))
}

function concatKeys(keys: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(keys.length * 96)
  keys.forEach((k, i) => {
    out.set(k, i * 96)
  })
  return out
}

function encodeState(state: BookState): Uint8Array {
  return encodeCanonical({ ...state })
}
