/**
 * The light client's state machine (DESIGN.md "Checkpoints and the light client"), sans I/O in
 * the style of src/b3/verifier.ts: it is fed what sources served and says what it proves.
 *
 * It holds
 * - the anchor: the last verified handoff (genesis at first), with the keys of the committee
 *   that signs what follows it (src/checkpoint/checkpoint-chain.ts);
 * - the head: the newest verified checkpoint, the anchor itself or one inside its epoch. State
 *   entries are checked against the head's state root.
 *
 * API (all synchronous; I/O, failover and persistence are light-sync.ts's and
 * light-head-store.ts's):
 *
 *   LightClient.fromGenesis(anchor)             a client that trusts only the genesis file
 *   LightClient.restore({ genesis, anchor, head })   one restored from storage (trusted)
 *   client.applyRun(run) → { applied, handoffs }
 *   client.verifyValue(table, key, served, at?) → proven entry bytes | undefined (absent)
 *   client.verifyEntry(table, key, served, at?) → decoded entry | undefined (absent)
 *   client.anchor, client.head, client.epoch, client.height, client.stateRoot, client.genesis,
 *   client.verified / client.accepted (checkpoints verified / that moved it since made),
 *   client.state (what to persist)
 *
 * `applyRun` checks the items of a served run as `checkNextCheckpoint` would one by one (their
 * signatures together, checkCheckpointRun) and advances over each good one: a bad item throws
 * its CheckpointError and leaves the client as of the last good item (each item before it was verified on its own, so that progress is kept and
 * another source is asked from there, as IncrementalVerifier resumes from its last block).
 * Inside a run, checkpoints inside the anchor's epoch come in increasing heights (a repeated
 * or lower one is CHECKPOINT_GAP); a valid one not above a head from an earlier run (a source
 * that is behind) leaves the head where it is.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import {
  type CheckpointAnchor,
  type CheckpointBody,
  CheckpointError,
  type CheckpointStep,
  checkCheckpointRun,
  checkNextCheckpoint,
  checkpointHash,
  type ServedCheckpoint,
  trustedAnchor,
} from '../checkpoint/index.ts'
import { equalBytes } from '../core/bytes.ts'
import { StateError } from '../state/errors.ts'
import type { TableName } from '../state/model.ts'
import { checkStateProof, MAX_STATE_PROOF_LEN } from '../state/state-proof.ts'
import { decodeEntry, type TableEntries } from '../state/tables.ts'
import { LightError } from './errors.ts'

/** A verified checkpoint the client checks state against. */
export interface LightHead {
  readonly body: CheckpointBody
  readonly hash: Uint8Array
}

/** Everything a client is: what light-head-store.ts persists. */
export interface LightClientState {
  /** The hash of the genesis checkpoint: names the chain (genesis file) the client follows. */
  readonly genesis: Uint8Array
  readonly anchor: CheckpointAnchor
  readonly head: LightHead
}

/** What one run established. */
export interface RunResult {
  /** Checkpoints verified (handoffs and checkpoints inside an epoch). */
  readonly applied: number
  /** Of them, handoffs (each moved the anchor one epoch on). */
  readonly handoffs: number
}

/**
 * A state entry as a node serves it (`GET /chain/state/<table>/<key>?height=<h>`, the node's
 * StateJson): key, root, value and proof in lowercase hex, `value` null when absent. The
 * node's decoded `entry` is never read: the entry is decoded from the proven bytes.
 */
export interface ServedState {
  readonly table: string
  readonly key: string
  readonly height: number
  readonly root: string
  readonly value: string | null
  readonly entry?: unknown
  readonly proof: string
}

const malformed = (message: string) => new LightError('LIGHT_MALFORMED', message)

const HEX = /^(?:[0-9a-f]{2})*$/

function hexOf(value: unknown, what: string, maxBytes = Number.POSITIVE_INFINITY): Uint8Array {
  if (typeof value !== 'string' || !HEX.test(value) || value.length > 2 * maxBytes) {
    throw malformed(`the served ${what} is not lowercase hex`)
  }
  return hexToBytes(value)
}

export class LightClient {
  readonly #genesis: Uint8Array
  #anchor: CheckpointAnchor
  #head: LightHead
  #verified = 0
  #accepted = 0

  private constructor(state: LightClientState) {
    this.#genesis = state.genesis
    this.#anchor = state.anchor
    this.#head = state.head
  }

  /** A client at the genesis checkpoint (`genesisAnchor(parseGenesis(file))`). */
  static fromGenesis(genesis: CheckpointAnchor): LightClient {
    return new LightClient({
      genesis: genesis.hash,
      anchor: genesis,
      head: { body: genesis.body, hash: genesis.hash },
    })
  }

  /**
   * A client at a state verified earlier (from storage): trusted, but checked to be one state
   * (the committee is the anchor's, the head the anchor or inside its epoch, the hashes those
   * of the bodies); LIGHT_STORE_CORRUPT otherwise.
   */
  static restore(state: LightClientState): LightClient {
    const corrupt = (message: string, cause?: unknown) =>
      new LightError('LIGHT_STORE_CORRUPT', message, cause === undefined ? {} : { cause })
    let anchor: CheckpointAnchor
    try {
      anchor = trustedAnchor(state.anchor.body, state.anchor.committee)
    } catch (e) {
      throw corrupt(`the stored anchor: ${(e as Error).message}`, e)
    }
    if (!equalBytes(anchor.hash, state.anchor.hash)) throw corrupt('the anchor hash is not its own')
    const { body, hash } = state.head
    if (!equalBytes(checkpointHash(body), hash)) throw corrupt('the head hash is not its own')
    const isAnchor = equalBytes(hash, anchor.hash)
    const inside =
      body.chainId === anchor.body.chainId &&
      body.epoch === anchor.body.epoch &&
      body.height > anchor.body.height &&
      equalBytes(body.previous, anchor.hash) &&
      equalBytes(body.nextCommittee, anchor.body.nextCommittee)
    if (!isAnchor && !inside) throw corrupt('the head is not inside the anchor epoch')
    if (!(state.genesis instanceof Uint8Array) || state.genesis.length !== hash.length) {
      throw corrupt('the genesis hash is not 32 bytes')
    }
    return new LightClient({ genesis: state.genesis, anchor, head: { body, hash } })
  }

  get genesis(): Uint8Array {
    return this.#genesis
  }
  get anchor(): CheckpointAnchor {
    return this.#anchor
  }
  get head(): LightHead {
    return this.#head
  }
  /** The head's epoch (the state's epoch after the head's block). */
  get epoch(): number {
    return this.#head.body.epoch
  }
  get height(): number {
    return this.#head.body.height
  }
  get stateRoot(): Uint8Array {
    return this.#head.body.stateRoot
  }
  /** Checkpoints this client verified since it was made or restored (repeats included). */
  get verified(): number {
    return this.#verified
  }
  /** Of them, those that moved it: each handoff, and each checkpoint that became the head. */
  get accepted(): number {
    return this.#accepted
  }
  get state(): LightClientState {
    return { genesis: this.#genesis, anchor: this.#anchor, head: this.#head }
  }

  /** Checks one served checkpoint after the current anchor and advances (see the top). */
  applyCheckpoint(served: ServedCheckpoint): CheckpointStep {
    const step = checkNextCheckpoint(this.#anchor, served.checkpoint, served.committee)
    this.#advance(step)
    return step
  }

  #advance(step: CheckpointStep): void {
    this.#verified++
    if (step.kind === 'handoff') {
      this.#anchor = step.anchor
      this.#head = { body: step.anchor.body, hash: step.anchor.hash }
      this.#accepted++
    } else if (step.body.height > this.#head.body.height) {
      this.#head = { body: step.body, hash: step.hash }
      this.#accepted++
    }
  }

  /**
   * Checks and applies a served run in order (see the top for what a bad item leaves). The
   * signatures of the whole run are checked together (checkCheckpointRun: one product of
   * pairings, the first bad item found by bisection), with the same outcome as item by item.
   */
  applyRun(run: readonly ServedCheckpoint[]): RunResult {
    // The first item out of order inside its epoch in this run (a repeated or lower height):
    // the run is checked up to it, then refused there.
    let epoch = this.#anchor.body.epoch
    let lastInside = -1
    let outOfOrder: { index: number; error: CheckpointError } | undefined
    for (const [index, served] of run.entries()) {
      const { body } = served.checkpoint
      if (body.epoch === epoch + 1) {
        epoch++
        lastInside = -1
      } else if (body.epoch === epoch && body.height <= lastInside) {
        outOfOrder = {
          index,
          error: new CheckpointError(
            'CHECKPOINT_GAP',
            `checkpoint ${body.height} after checkpoint ${lastInside} of the same run`,
          ),
        }
        break
      } else {
        lastInside = body.height
      }
    }
    const checked = outOfOrder === undefined ? run : run.slice(0, outOfOrder.index)
    const result = checkCheckpointRun(this.#anchor, checked)
    let handoffs = 0
    for (const step of result.steps) {
      this.#advance(step)
      if (step.kind === 'handoff') handoffs++
    }
    const failure = result.failure ?? outOfOrder
    if (failure !== undefined) throw failure.error
    return { applied: result.steps.length, handoffs }
  }

  /**
   * The bytes a served state entry proves (undefined: proven absent) under `at`'s state root
   * (default: the head; a query that asks several entries passes the head it started at, so a
   * sync meanwhile does not make its answers look wrong). Throws LightError:
   * LIGHT_MALFORMED (not a served entry, or another table or key), LIGHT_WRONG_ROOT (proven
   * against another height or root), LIGHT_PROOF_INVALID (the proof does not prove it).
   */
  verifyValue(
    table: TableName,
    key: Uint8Array,
    served: unknown,
    at: LightHead = this.#head,
  ): Uint8Array | undefined {
    if (typeof served !== 'object' || served === null) throw malformed('a state answer')
    const s = served as Partial<Record<keyof ServedState, unknown>>
    if (s.table !== table) throw malformed(`an entry of table ${String(s.table)}, not ${table}`)
    if (s.key !== bytesToHex(key)) throw malformed('an entry of another key than asked')
    if (!Number.isSafeInteger(s.height)) throw malformed('state height')
    const root = hexOf(s.root, 'root', 32)
    if (s.height !== at.body.height || !equalBytes(root, at.body.stateRoot)) {
      throw new LightError(
        'LIGHT_WRONG_ROOT',
        `an entry proven at height ${String(s.height)} root ${bytesToHex(root).slice(0, 16)}…, not at the head (${at.body.height}, ${bytesToHex(at.body.stateRoot).slice(0, 16)}…)`,
      )
    }
    const value = s.value === null ? undefined : hexOf(s.value, 'value')
    const proof = hexOf(s.proof, 'proof', MAX_STATE_PROOF_LEN)
    try {
      checkStateProof(at.body.stateRoot, table, key, value, proof)
    } catch (e) {
      if (!(e instanceof StateError)) throw e
      throw new LightError(
        'LIGHT_PROOF_INVALID',
        `the proof of ${table}/${bytesToHex(key)}: ${e.message}`,
        { cause: e },
      )
    }
    return value
  }

  /** `verifyValue`, decoded as the table's entry (LIGHT_MALFORMED when it is not one). */
  verifyEntry<T extends TableName>(
    table: T,
    key: Uint8Array,
    served: unknown,
    at: LightHead = this.#head,
  ): TableEntries[T] | undefined {
    const value = this.verifyValue(table, key, served, at)
    if (value === undefined) return undefined
    try {
      return decodeEntry(table, value)
    } catch (e) {
      if (!(e instanceof StateError)) throw e
      throw new LightError('LIGHT_MALFORMED', `the proven ${table} entry: ${e.message}`, {
        cause: e,
      })
    }
  }
}
