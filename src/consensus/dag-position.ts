/**
 * Rejoining the DAG mid-epoch. A committee member down longer than the others keep their DAG
 * cannot catch up inside it (the parents it would ask for are collected): it follows the chain
 * by blocks instead (committee-orderer.ts `leaveDag`). Once its head is where the committee
 * is, it needs one more thing to order again: Bullshark's position after that head — the round
 * of the last leader whose sub-DAG the head includes. Blocks do not carry it, so the member asks
 * its peers, and takes a round only when f + 1 of them name it for the same block (its height
 * and hash): at least one of them is honest, and every honest member executed the same
 * sub-DAGs into the same blocks.
 *
 * Both halves are sans-I/O: `PositionBook` (every member: what to answer) and `PositionTally`
 * (the member rejoining: what it was told).
 */
import { equalBytes } from '../core/bytes.ts'

export interface Position {
  readonly height: number
  readonly blockHash: Uint8Array
  /** Bullshark's last committed leader round once the block at `height` was executed. */
  readonly committedRound: number
}

/** The recent heights this member executed as a member, and the committed round after each. */
export class PositionBook {
  readonly #limit: number
  readonly #byHeight = new Map<number, Position>()

  constructor(limit = 1_024) {
    this.#limit = limit
  }

  /**
   * After a committed sub-DAG was executed, the head at `height`. The first round recorded for
   * a height stays: it is the leader whose sub-DAG made that block, the same on every honest
   * member, so f + 1 answers agree. (Later sub-DAGs that made no block would resume to the
   * same blocks too, but when they commit differs from member to member.)
   */
  record(position: Position): void {
    if (this.#byHeight.has(position.height)) return
    this.#byHeight.set(position.height, position)
    if (this.#byHeight.size > this.#limit) {
      this.#byHeight.delete(this.#byHeight.keys().next().value as number)
    }
  }

  at(height: number): Position | undefined {
    return this.#byHeight.get(height)
  }

  clear(): void {
    this.#byHeight.clear()
  }
}

/** The answers a rejoining member got for its head, until f + 1 peers agree on a round. */
export class PositionTally {
  readonly #validity: number
  #height = -1
  #blockHash: Uint8Array = new Uint8Array(0)
  /** By peer (committee index): the round it named for our head. */
  readonly #rounds = new Map<number, number>()

  /** `validity`: f + 1 of the committee. */
  constructor(validity: number) {
    this.#validity = validity
  }

  /** Asking about this head from now on: answers about any other are dropped. */
  ask(height: number, blockHash: Uint8Array): void {
    if (height === this.#height && equalBytes(blockHash, this.#blockHash)) return
    this.#height = height
    this.#blockHash = blockHash
    this.#rounds.clear()
  }

  /** A peer's answer; the agreed round once f + 1 peers named it for our head. */
  add(from: number, answer: Position): number | undefined {
    if (answer.height !== this.#height || !equalBytes(answer.blockHash, this.#blockHash)) {
      return undefined
    }
    this.#rounds.set(from, answer.committedRound)
    let agreeing = 0
    for (const round of this.#rounds.values()) if (round === answer.committedRound) agreeing++
    return agreeing >= this.#validity ? answer.committedRound : undefined
  }
}

/**
 * The rounds the peers' frames name, before any is verified: one member may name any round.
 * `reachedBy(k)` is the highest round k distinct members have named, so with k = f + 1 at least
 * one honest member is there. Leaving the DAG as too far behind, and waiting to rejoin until the
 * DAG is near, go by it: one Byzantine member naming round 2^40 would otherwise send every honest
 * member out of the DAG, and keep them from rejoining.
 */
export class PeerRounds {
  readonly #highest = new Map<number, number>()

  /** A frame from `member` named `round`; true when that is the highest it named yet. */
  record(member: number, round: number): boolean {
    if (round <= (this.#highest.get(member) ?? 0)) return false
    this.#highest.set(member, round)
    return true
  }

  /** The highest round at least `members` distinct peers have named; 0 if fewer named any. */
  reachedBy(members: number): number {
    if (members < 1 || this.#highest.size < members) return 0
    const rounds = [...this.#highest.values()].sort((a, b) => b - a)
    return rounds[members - 1] as number
  }
}
