/**
 * The node's side of one session's acknowledgements: it accepts the client's commitments and
 * reveals, counts the units it delivered, and says when it may send the next one (at most
 * `window` units unacknowledged). Every accepted reveal yields the session's updated claim,
 * which the node persists (src/node/das).
 */
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { equalBytes } from '../core/bytes.ts'
import type { Claim } from './claim.ts'
import {
  COMMODITY_BANDWIDTH,
  type Commitment,
  decodeCommitment,
  verifyCommitment,
} from './commitment.ts'
import { AckError } from './errors.ts'
import { CHAIN_VALUE_LEN, chainsTo } from './hash-chain.ts'

export interface AckLedgerOptions {
  /** This node's Ed25519 public key: commitments must name it. */
  readonly nodeKey: Uint8Array
  readonly session: bigint
  readonly epoch: bigint
  /** The client key the handshake authenticated: commitments must be signed with it. */
  readonly clientKey: Uint8Array
  readonly service: number
  /** Units the node delivers ahead of the client's acknowledgements. */
  readonly window: number
}

/** The unit every bandwidth commitment must declare: one block. */
export const ACK_UNIT = TREE_BLOCK_LEN

interface Accepted {
  readonly commitment: Commitment
  readonly bytes: Uint8Array
  readonly signature: Uint8Array
  /** Last accepted index j and its value c_j (the anchor while j = 0). */
  index: number
  value: Uint8Array
}

/** A pending `whenCanSend`: `done` removes its timer and abort listener. */
interface Waiter {
  readonly resolve: (room: boolean) => void
  readonly done: () => void
}

export class AckLedger {
  private readonly options: AckLedgerOptions
  private readonly accepted: Accepted[] = []
  private readonly waiters = new Set<Waiter>()
  private sent = 0
  private acked = 0
  private stale = 0
  // Units sent on bodies the client gave up on (`writeOff`), not acknowledged and not yet
  // forgiven: they still hold the window back.
  private owed = 0
  // Units forgiven: they no longer hold the window back. Forgiveness is a budget, not a reset
  // (a client that aborted every body and rejoined took a file without acknowledging it): it
  // needs at least one acknowledged unit and never exceeds `window` plus the units acknowledged.
  private forgiven = 0

  constructor(options: AckLedgerOptions) {
    if (!Number.isInteger(options.window) || options.window < 1) {
      throw new RangeError(`window must be a positive integer, got ${options.window}`)
    }
    this.options = options
  }

  /** Units sent to the client so far. */
  get deliveredUnits(): number {
    return this.sent
  }

  /** Units the client acknowledged, over all its commitments. */
  get acknowledgedUnits(): number {
    return this.acked
  }

  /** Reveals dropped as stale: overtaken by a later one of the same chain on another stream. */
  get staleReveals(): number {
    return this.stale
  }

  /** Units written off and forgiven: they no longer count against the window. */
  get forgivenUnits(): number {
    return this.forgiven
  }

  /** Commitments accepted so far (the next one must have this `seq`). */
  get commitments(): number {
    return this.accepted.length
  }

  /**
   * Accepts the client's COMMIT. The cheap checks come first, so that a client sending junk
   * costs the node no signature verification (several ms); a commitment already accepted is
   * recognised by its bytes and never verified twice.
   */
  commit(commitmentBytes: Uint8Array, signature: Uint8Array): Commitment {
    const c = decodeCommitment(commitmentBytes)
    const o = this.options
    const previous = this.accepted[c.seq]
    if (
      previous !== undefined &&
      equalBytes(previous.bytes, commitmentBytes) &&
      equalBytes(previous.signature, signature)
    ) {
      return previous.commitment
    }
    if (!equalBytes(c.nodeKey, o.nodeKey)) {
      throw new AckError('ACK_WRONG_NODE', 'the commitment names another node')
    }
    if (c.session !== o.session) {
      throw new AckError('ACK_WRONG_SESSION', `the commitment is for session ${c.session}`)
    }
    if (c.epoch !== o.epoch) {
      throw new AckError(
        'ACK_WRONG_EPOCH',
        `the commitment is for epoch ${c.epoch}, not ${o.epoch}`,
      )
    }
    if (!equalBytes(c.clientKey, o.clientKey)) {
      throw new AckError('ACK_WRONG_CLIENT', 'the commitment names another client key')
    }
    if (c.service !== o.service) {
      throw new AckError('ACK_WRONG_SERVICE', `the commitment is for service ${c.service}`)
    }
    if (c.commodity !== COMMODITY_BANDWIDTH || c.unit !== ACK_UNIT) {
      throw new AckError(
        'ACK_WRONG_SERVICE',
        `this session delivers commodity ${COMMODITY_BANDWIDTH} in units of ${ACK_UNIT} bytes, not commodity ${c.commodity} in units of ${c.unit}`,
      )
    }
    if (c.seq !== this.accepted.length) {
      throw new AckError(
        'ACK_SEQUENCE',
        `commitment seq ${c.seq} where ${this.accepted.length} comes next`,
      )
    }
    verifyCommitment(commitmentBytes, signature)
    this.accepted.push({
      commitment: c,
      bytes: commitmentBytes.slice(),
      signature: signature.slice(),
      index: 0,
      value: c.anchor.slice(),
    })
    return c
  }

  /**
   * Accepts REVEAL `seq, index, value`: `index` units acknowledged under commitment `seq`.
   * Returns the claim to persist, or undefined for a stale reveal (`index` at or below the
   * accepted one). The overclaim check comes before hashing, so a reveal costs at most
   * `window` hashes however large an index it names.
   */
  reveal(seq: number, index: number, value: Uint8Array): Claim | undefined {
    const a = Number.isInteger(seq) ? this.accepted[seq] : undefined
    if (a === undefined) {
      throw new AckError('ACK_NO_COMMITMENT', `no commitment ${seq} in this session`)
    }
    if (!Number.isInteger(index) || index < 0) {
      throw new AckError('ACK_MALFORMED', `a reveal index is a non-negative integer, got ${index}`)
    }
    if (!(value instanceof Uint8Array) || value.length !== CHAIN_VALUE_LEN) {
      throw new AckError('ACK_MALFORMED', `a reveal is ${CHAIN_VALUE_LEN} bytes`)
    }
    // At or below what was accepted: a reveal that travelled on a slower stream of the session
    // (docs/protocol.md, "Acknowledgements across streams"). It grants nothing, so it is
    // dropped unchecked, not punished.
    if (index <= a.index) {
      this.stale++
      return undefined
    }
    if (index > a.commitment.chainLength) {
      throw new AckError(
        'ACK_OVERCLAIM',
        `index ${index} is beyond the chain's length ${a.commitment.chainLength}`,
      )
    }
    const units = index - a.index
    if (this.acked + units > this.sent) {
      throw new AckError(
        'ACK_OVERCLAIM',
        `${this.acked + units} units acknowledged, only ${this.sent} delivered`,
      )
    }
    if (!chainsTo(value, units, a.value)) {
      throw new AckError('ACK_BAD_REVEAL', `the reveal for index ${index} does not chain`)
    }
    a.index = index
    a.value = value.slice()
    this.acked += units
    // A reveal may cover units written off (the client verified them before it aborted):
    // those are paid, so they are neither owed nor forgiven any more.
    let covered = this.acked + this.forgiven + this.owed - this.sent
    const repaid = Math.min(this.owed, Math.max(0, covered))
    this.owed -= repaid
    covered -= repaid
    if (covered > 0) this.forgiven -= covered
    this.forgive()
    if (this.canSend()) this.wake()
    // Copies: the claim leaves for storage, the ledger's own state must not change with it.
    return {
      commitment: a.bytes.slice(),
      signature: a.signature.slice(),
      index,
      reveal: a.value.slice(),
    }
  }

  /** Counts `units` more sent to the client. */
  delivered(units = 1): void {
    if (!Number.isInteger(units) || units < 0) {
      throw new RangeError(`units must be a non-negative integer, got ${units}`)
    }
    this.sent += units
  }

  /** Whether the next unit may go out: fewer than `window` units are unacknowledged. */
  canSend(): boolean {
    return this.sent - this.acked - this.forgiven < this.options.window
  }

  /**
   * A body ended before the client took all of it (it aborted the stream): what was sent and
   * not acknowledged is owed, and is forgiven (stops counting against the window, or the
   * session's next response would wait for acknowledgements of blocks the client never
   * verified) only out of the session's forgiveness budget: nothing for a client that never
   * acknowledged a unit, else up to `window` plus the units it acknowledged, over the
   * session's life. So `delivered − acknowledged` never exceeds `window` for a client that
   * never acknowledges, and `2 × window + acknowledged` for any client, however many bodies
   * it aborts and streams it joins. The units stay delivered: a later reveal may still
   * acknowledge those the client did verify, which gives their forgiveness back.
   */
  writeOff(): void {
    this.owed = Math.max(0, this.sent - this.acked - this.forgiven)
    this.forgive()
    if (this.canSend()) this.wake()
  }

  /** Moves owed units to forgiven, as far as the budget allows. */
  private forgive(): void {
    if (this.owed === 0 || this.acked === 0) return
    const budget = this.options.window + this.acked - this.forgiven
    const units = Math.min(this.owed, Math.max(0, budget))
    this.owed -= units
    this.forgiven += units
  }

  /**
   * Resolves `true` as soon as the node may send (now, or when a reveal makes room), `false`
   * after `timeoutMs` without room; rejects with `signal.reason` if `signal` aborts first.
   */
  whenCanSend(signal?: AbortSignal, timeoutMs?: number): Promise<boolean> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.canSend()) return Promise.resolve(true)
    return new Promise<boolean>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const onAbort = () => {
        waiter.done()
        reject(signal!.reason)
      }
      const waiter: Waiter = {
        resolve,
        done: () => {
          this.waiters.delete(waiter)
          if (timer !== undefined) clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
        },
      }
      this.waiters.add(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          waiter.done()
          resolve(false)
        }, timeoutMs)
      }
    })
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) {
      waiter.done()
      waiter.resolve(true)
    }
  }
}
