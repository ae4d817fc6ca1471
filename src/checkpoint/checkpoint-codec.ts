/**
 * A signed checkpoint on the wire and on disk: the deterministic DAG-CBOR map
 * `{ chainId, epoch, height, stateRoot, previous, nextCommittee, signers, signature }`
 * (src/state/cbor-shape.ts, so one checkpoint has one encoding), and the JSON a node serves a
 * run of them in (`GET /chain/checkpoints?from=<epoch>`, docs/protocol.md "Checkpoints").
 *
 * The decoders are strict, as attestation-codec.ts's: canonical bytes only, no unknown fields,
 * exact lengths, a signer bitfield in its shortest form, a bounded size; anything else throws
 * `CheckpointError('CHECKPOINT_MALFORMED')`. Whether the signature verifies, and against whom,
 * is checkpoint-chain.ts's to say.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import {
  ATTESTATION_KEY_BYTES,
  ATTESTATION_SIGNATURE_BYTES,
  MAX_ATTESTATION_COMMITTEE,
} from '../consensus/attestation/block-attestation.ts'
import { encodeCanonical, type FailWith, RecordReader } from '../state/cbor-shape.ts'
import {
  checkpointBodyRecord,
  encodeCheckpointBody,
  readCheckpointBody,
  type SignedCheckpoint,
} from './checkpoint.ts'
import { CheckpointError } from './errors.ts'

/** Above the most bytes an encoded checkpoint takes (a 1,024-member bitfield, the largest
 * numbers): larger input is refused before it is parsed. */
export const MAX_CHECKPOINT_BYTES = 480

/** The most checkpoints one served run holds (the client asks again from where it ends). */
export const MAX_CHECKPOINTS_PER_RUN = 256

const malformed: FailWith = (message) => new CheckpointError('CHECKPOINT_MALFORMED', message)

export function encodeSignedCheckpoint(checkpoint: SignedCheckpoint): Uint8Array {
  encodeCheckpointBody(checkpoint.body) // checks the body's fields
  const { signers, signature } = checkpoint
  // Only what the decoder takes back: a shortest bitfield, a 48-byte signature.
  if (!(signers instanceof Uint8Array) || signers.length === 0 || signers.at(-1) === 0) {
    throw new RangeError('the signers are a non-empty bitfield without a trailing zero byte')
  }
  if (signers.length > MAX_ATTESTATION_COMMITTEE / 8) {
    throw new RangeError(`the signers bitfield is at most ${MAX_ATTESTATION_COMMITTEE / 8} bytes`)
  }
  if (!(signature instanceof Uint8Array) || signature.length !== ATTESTATION_SIGNATURE_BYTES) {
    throw new RangeError(`a checkpoint signature is ${ATTESTATION_SIGNATURE_BYTES} bytes`)
  }
  return encodeCanonical({ ...checkpointBodyRecord(checkpoint.body), signers, signature })
}

function rethrowMalformed(e: unknown, what: string): never {
  // Whatever else the CBOR layer throws on hostile bytes is malformed input too.
  if (e instanceof CheckpointError) throw e
  throw new CheckpointError('CHECKPOINT_MALFORMED', `${what}: ${(e as Error).message}`, {
    cause: e,
  })
}

export function decodeSignedCheckpoint(bytes: Uint8Array): SignedCheckpoint {
  try {
    if (!(bytes instanceof Uint8Array) || bytes.length > MAX_CHECKPOINT_BYTES) {
      throw malformed(`a checkpoint is at most ${MAX_CHECKPOINT_BYTES} bytes`)
    }
    const r = RecordReader.decode(bytes, 'checkpoint', malformed)
    const body = readCheckpointBody(r)
    const signers = r.bytes('signers')
    if (signers.length === 0 || signers.length > MAX_ATTESTATION_COMMITTEE / 8) {
      throw r.fail(`signers is ${signers.length} bytes`)
    }
    if (signers[signers.length - 1] === 0) throw r.fail('signers has a trailing zero byte')
    const signature = r.bytes('signature', ATTESTATION_SIGNATURE_BYTES)
    r.done()
    return { body, signers, signature }
  } catch (e) {
    rethrowMalformed(e, 'checkpoint')
  }
}

// --- a served run ---------------------------------------------------------------------------

/** One checkpoint as served: the signed checkpoint, and for a handoff the keys it binds. */
export interface ServedCheckpoint {
  readonly checkpoint: SignedCheckpoint
  /** A handoff's next committee: BLS keys in member order (their hash is `nextCommittee`). */
  readonly committee?: readonly Uint8Array[]
}

/** `{ checkpoints: [{ checkpoint: hex, committee?: [hex…] }] }`: the body of the route. */
export interface CheckpointRunJson {
  readonly checkpoints: readonly {
    readonly checkpoint: string
    readonly committee?: readonly string[]
  }[]
}

export function checkpointRunToJson(run: readonly ServedCheckpoint[]): CheckpointRunJson {
  return {
    checkpoints: run.map(({ checkpoint, committee }) => ({
      checkpoint: bytesToHex(encodeSignedCheckpoint(checkpoint)),
      ...(committee === undefined ? {} : { committee: committee.map((k) => bytesToHex(k)) }),
    })),
  }
}

const HEX = /^[0-9a-f]*$/

function hexField(value: unknown, what: string, maxBytes: number): Uint8Array {
  if (typeof value !== 'string' || value.length > 2 * maxBytes || value.length % 2 !== 0) {
    throw malformed(`${what} is not hex of at most ${maxBytes} bytes`)
  }
  if (!HEX.test(value)) throw malformed(`${what} is not lowercase hex`)
  return hexToBytes(value)
}

/** Reads a served run (parsed JSON of unknown shape); CHECKPOINT_MALFORMED for anything else. */
export function checkpointRunFromJson(json: unknown): ServedCheckpoint[] {
  try {
    const list = (json as { checkpoints?: unknown } | null)?.checkpoints
    if (!Array.isArray(list)) throw malformed('the answer holds no checkpoints list')
    if (list.length > MAX_CHECKPOINTS_PER_RUN) {
      throw malformed(`${list.length} checkpoints; a run holds at most ${MAX_CHECKPOINTS_PER_RUN}`)
    }
    return list.map((item: unknown, i) => {
      const { checkpoint, committee } = (item ?? {}) as {
        checkpoint?: unknown
        committee?: unknown
      }
      const signed = decodeSignedCheckpoint(
        hexField(checkpoint, `checkpoint ${i}`, MAX_CHECKPOINT_BYTES),
      )
      if (committee === undefined) return { checkpoint: signed }
      if (!Array.isArray(committee) || committee.length === 0) {
        throw malformed(`checkpoint ${i}'s committee is not a list of keys`)
      }
      if (committee.length > MAX_ATTESTATION_COMMITTEE) {
        throw malformed(`checkpoint ${i}'s committee has ${committee.length} keys`)
      }
      const keys = committee.map((k: unknown, j) => {
        const key = hexField(k, `checkpoint ${i}'s key ${j}`, ATTESTATION_KEY_BYTES)
        if (key.length !== ATTESTATION_KEY_BYTES) {
          throw malformed(`checkpoint ${i}'s key ${j} is not ${ATTESTATION_KEY_BYTES} bytes`)
        }
        return key
      })
      return { checkpoint: signed, committee: keys }
    })
  } catch (e) {
    rethrowMalformed(e, 'checkpoint run')
  }
}
