/**
 * A member's Narwhal records (narwhal-core.ts `persist` actions: its votes, its own headers, the
 * certificates it delivered) in the project's `KvStore`, so that `NarwhalCore.recover` rebuilds
 * it after a crash, and the Bullshark position it had reached (the last committed leader round),
 * so that a restarted member resumes ordering where it stopped instead of handing out committed
 * sub-DAGs again.
 *
 * Keys, under the caller's prefix (e.g. `narwhal/`), sort by epoch, then type, then round, so an
 * epoch is one range read and everything of one type below a round is one range:
 *
 *   <prefix> <epoch u64be> <type u8: 1 vote, 2 header, 3 certificate> <round u64be>
 *            <author u16be> <header digest 32>   →  encodeVote / encodeHeader / encodeCertificate
 *   <prefix> <epoch u64be> <type u8: 0 committed>  →  <round u64be>
 *
 * A vote's author is the header's author and its digest the header's (we persist only our own
 * votes, at most one per author and round). The committed position sits inside its epoch's keys
 * (not under a separate `committed/` name) so that no epoch's bytes can collide with it and
 * `dropEpochsBelow` removes it with the rest.
 *
 * Values read back are decoded with the strict codecs and checked against their key: anything
 * else is CONSENSUS_STORE_CORRUPT (another program wrote there, or the disk lied), never a
 * silently different DAG.
 */
import { equalBytes } from '../../core/bytes.ts'
import type { KvOperation, KvStore } from '../../kv/kv-store.ts'
import { ConsensusError } from '../errors.ts'
import type { NarwhalRecord } from './narwhal-core.ts'
import {
  DIGEST_BYTES,
  decodeCertificate,
  decodeHeader,
  decodeVote,
  encodeCertificate,
  encodeHeader,
  encodeVote,
  headerDigest,
  MAX_COMMITTEE,
} from './narwhal-messages.ts'

/** The type byte of each kind of key. */
const COMMITTED = 0
const TYPE: Readonly<Record<NarwhalRecord['type'], number>> = {
  vote: 1,
  header: 2,
  certificate: 3,
}
const TYPES = ['vote', 'header', 'certificate'] as const

const EPOCH_BYTES = 8
const ROUND_BYTES = 8
/** prefix excluded: epoch, type, round, author, digest. */
const RECORD_KEY_BYTES = EPOCH_BYTES + 1 + ROUND_BYTES + 2 + DIGEST_BYTES
const MAX_U64 = 2n ** 64n - 1n

function corrupt(message: string, cause?: unknown): ConsensusError {
  return new ConsensusError('CONSENSUS_STORE_CORRUPT', message, { cause })
}

function u64(value: bigint | number, what: string): Uint8Array {
  const v = BigInt(value)
  if (v < 0n || v > MAX_U64) throw new RangeError(`${what} ${value} is not a u64`)
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, v)
  return out
}

function readU64(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset)
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** The key fields of a record: where it sorts, and what its value must say. */
interface KeyFields {
  readonly epoch: bigint
  readonly type: NarwhalRecord['type']
  readonly round: number
  readonly author: number
  readonly digest: Uint8Array
}

function fieldsOf(record: NarwhalRecord): KeyFields {
  switch (record.type) {
    case 'vote': {
      const v = record.vote
      // A vote carries no epoch: `append` files it under the caller's.
      return { epoch: -1n, type: 'vote', round: v.round, author: v.author, digest: v.headerDigest }
    }
    case 'header': {
      const h = record.header
      return {
        epoch: h.epoch,
        type: 'header',
        round: h.round,
        author: h.author,
        digest: headerDigest(h),
      }
    }
    case 'certificate': {
      const h = record.certificate.header
      return {
        epoch: h.epoch,
        type: 'certificate',
        round: h.round,
        author: h.author,
        digest: headerDigest(h),
      }
    }
  }
}

function encodeValue(record: NarwhalRecord): Uint8Array {
  switch (record.type) {
    case 'vote':
      return encodeVote(record.vote)
    case 'header':
      return encodeHeader(record.header)
    case 'certificate':
      return encodeCertificate(record.certificate)
  }
}

export class NarwhalStore {
  readonly #kv: KvStore
  readonly #prefix: Uint8Array

  /** `prefix` (bytes, or a string as UTF-8) keeps these keys apart from the store's others. */
  constructor(kv: KvStore, prefix: Uint8Array | string) {
    this.#kv = kv
    this.#prefix = typeof prefix === 'string' ? new TextEncoder().encode(prefix) : prefix.slice()
    if (this.#prefix.length === 0) throw new RangeError('a NarwhalStore needs a non-empty prefix')
  }

  #epochKey(epoch: bigint): Uint8Array {
    return concat(this.#prefix, u64(epoch, 'epoch'))
  }

  #typeKey(epoch: bigint, type: number): Uint8Array {
    return concat(this.#epochKey(epoch), Uint8Array.of(type))
  }

  /** `f`'s key under `epoch`, written in place (a member writes one per record it persists). */
  #recordKey(epoch: bigint, f: KeyFields): Uint8Array {
    if (!Number.isInteger(f.author) || f.author < 0 || f.author >= MAX_COMMITTEE) {
      throw new RangeError(`author ${f.author} is not a committee member`)
    }
    if (!Number.isSafeInteger(f.round) || f.round < 0) {
      throw new RangeError(`round ${f.round} is not a u64`)
    }
    if (epoch < 0n || epoch > MAX_U64) throw new RangeError(`epoch ${epoch} is not a u64`)
    const at = this.#prefix.length
    const key = new Uint8Array(at + RECORD_KEY_BYTES - DIGEST_BYTES + f.digest.length)
    const view = new DataView(key.buffer)
    key.set(this.#prefix)
    view.setBigUint64(at, epoch)
    key[at + EPOCH_BYTES] = TYPE[f.type]
    view.setUint32(at + EPOCH_BYTES + 1, Math.floor(f.round / 2 ** 32))
    view.setUint32(at + EPOCH_BYTES + 5, f.round >>> 0)
    view.setUint16(at + EPOCH_BYTES + 1 + ROUND_BYTES, f.author)
    key.set(f.digest, at + EPOCH_BYTES + 1 + ROUND_BYTES + 2)
    return key
  }

  /**
   * Writes `records` of `epoch` in one atomic batch (all or none survive a crash). The epoch is
   * the caller's because a vote does not carry one; a header or certificate of another epoch is
   * a RangeError (it would be filed where `load` never looks).
   */
  async append(epoch: bigint, records: readonly NarwhalRecord[]): Promise<void> {
    if (records.length === 0) return
    const operations: KvOperation[] = records.map((record) => {
      const fields = fieldsOf(record)
      if (fields.type !== 'vote' && fields.epoch !== epoch) {
        throw new RangeError(`a ${fields.type} of epoch ${fields.epoch} appended to epoch ${epoch}`)
      }
      return { type: 'put', key: this.#recordKey(epoch, fields), value: encodeValue(record) }
    })
    await this.#kv.batch(operations)
  }

  /** Every record of `epoch`, by type (votes, headers, certificates), each by round. */
  async load(epoch: bigint): Promise<NarwhalRecord[]> {
    const out: NarwhalRecord[] = []
    for (const type of TYPES) {
      const prefix = this.#typeKey(epoch, TYPE[type])
      for await (const { key, value } of this.#kv.entries({ prefix })) {
        out.push(this.#decode(epoch, type, key, value))
      }
    }
    return out
  }

  /** A stored value decoded and checked against its key. */
  #decode(
    epoch: bigint,
    type: NarwhalRecord['type'],
    key: Uint8Array,
    value: Uint8Array,
  ): NarwhalRecord {
    const where = `${type} record of epoch ${epoch}`
    if (key.length !== this.#prefix.length + RECORD_KEY_BYTES) {
      throw corrupt(`${where}: a key of ${key.length} bytes`)
    }
    const at = this.#prefix.length + EPOCH_BYTES + 1
    const round = readU64(key, at)
    const author = (key[at + ROUND_BYTES]! << 8) | key[at + ROUND_BYTES + 1]!
    const digest = key.subarray(at + ROUND_BYTES + 2)
    let record: NarwhalRecord
    try {
      record =
        type === 'vote'
          ? { type, vote: decodeVote(value) }
          : type === 'header'
            ? { type, header: decodeHeader(value) }
            : { type, certificate: decodeCertificate(value) }
    } catch (e) {
      throw corrupt(`${where}, round ${round}: ${(e as Error).message}`, e)
    }
    const fields = fieldsOf(record)
    const mismatch =
      BigInt(fields.round) !== round ||
      fields.author !== author ||
      (fields.epoch >= 0n && fields.epoch !== epoch) ||
      !equalBytes(fields.digest, digest)
    if (mismatch) throw corrupt(`${where}, round ${round}: the value is not the key's record`)
    return record
  }

  /**
   * Deletes every record of `epoch` below `belowRound` (votes, headers and certificates alike):
   * what garbage collection dropped from memory (`committed` round − gcDepth).
   */
  async prune(epoch: bigint, belowRound: number): Promise<void> {
    const operations: KvOperation[] = []
    for (const type of TYPES) {
      const typeKey = this.#typeKey(epoch, TYPE[type])
      const lt = concat(typeKey, u64(Math.max(0, belowRound), 'round'))
      for await (const { key } of this.#kv.entries({ gte: typeKey, lt })) {
        operations.push({ type: 'delete', key })
      }
    }
    if (operations.length > 0) await this.#kv.batch(operations)
  }

  /** Deletes everything of the epochs before `epoch` (their committed positions too). */
  async dropEpochsBelow(epoch: bigint): Promise<void> {
    const operations: KvOperation[] = []
    for await (const { key } of this.#kv.entries({
      gte: this.#prefix,
      lt: this.#epochKey(epoch),
    })) {
      operations.push({ type: 'delete', key })
    }
    if (operations.length > 0) await this.#kv.batch(operations)
  }

  /**
   * Records that ordering committed the leader of `round` in `epoch`. Write it before handing
   * the sub-DAG on: a crash in between loses that hand-out (the consumer catches up from
   * blocks) rather than repeating it.
   */
  async saveCommittedRound(epoch: bigint, round: number): Promise<void> {
    await this.#kv.put(this.#typeKey(epoch, COMMITTED), u64(round, 'round'))
  }

  /** The last committed leader round saved for `epoch` (0 when none). */
  async loadCommittedRound(epoch: bigint): Promise<number> {
    const value = await this.#kv.get(this.#typeKey(epoch, COMMITTED))
    if (value === undefined) return 0
    if (value.length !== ROUND_BYTES) {
      throw corrupt(`committed round of epoch ${epoch}: ${value.length} bytes, not 8`)
    }
    const round = readU64(value, 0)
    if (round > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw corrupt(`committed round of epoch ${epoch}: ${round} is out of range`)
    }
    return Number(round)
  }
}
