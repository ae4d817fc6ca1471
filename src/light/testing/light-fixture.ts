/**
 * Test support for the light client: what a node serves, without a node. A served chain is the
 * handoffs in epoch order and, optionally, the newest checkpoint inside the last epoch; a run
 * from epoch e is what `GET /chain/checkpoints?from=e` answers (at most 256 handoffs after e,
 * then the tail when the run reaches the end). State answers are a real executor's proofs,
 * given the height of the checkpoint whose root they are proven against.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  type CheckpointAnchor,
  type CheckpointBody,
  checkpointHash,
  committeeKeysHash,
  MAX_CHECKPOINTS_PER_RUN,
  type ServedCheckpoint,
} from '../../checkpoint/index.ts'
import {
  type CheckpointChainFixture,
  type FixtureKey,
  fixtureKeys,
  signByCommittee,
} from '../../checkpoint/testing/checkpoint-fixture.ts'
import type { StateExecutor } from '../../state/executor.ts'
import type { TableName } from '../../state/model.ts'
import { entryToJson } from '../../state/tables.ts'
import type { LightSource } from '../light-sync.ts'

export interface ServedChain {
  /** The handoff into epoch i + 1 at index i. */
  readonly handoffs: readonly ServedCheckpoint[]
  /** The newest checkpoint inside the last handoff's epoch, if any. */
  readonly tail?: ServedCheckpoint
}

/**
 * From a buildCheckpointChain fixture: its first `epochs` handoffs and, when the fixture has
 * checkpoints inside epoch `epochs` (before its next handoff), the newest of them as the tail.
 */
export function servedChainOf(fixture: CheckpointChainFixture, epochs: number): ServedChain {
  const handoffs = fixture.handoffs.slice(0, epochs)
  const inside = fixture.served.filter(
    (s) => s.committee === undefined && s.checkpoint.body.epoch === epochs,
  )
  const tail = inside[inside.length - 1]
  return tail === undefined ? { handoffs } : { handoffs, tail }
}

/** What a node answers to `?from=<from>`. */
export function runFrom(
  chain: ServedChain,
  from: number,
  max = MAX_CHECKPOINTS_PER_RUN,
): ServedCheckpoint[] {
  if (from > chain.handoffs.length) return []
  const run = chain.handoffs.slice(from, from + max)
  const reachesEnd = from + run.length === chain.handoffs.length
  if (reachesEnd && run.length < max && chain.tail !== undefined) run.push(chain.tail)
  return run
}

/** A state answer: `executor`'s proof of (table, key), labelled with `height`. */
export async function servedState(
  executor: StateExecutor,
  table: TableName,
  key: Uint8Array,
  height: number,
) {
  const proved = await executor.prove(table, key)
  return {
    table,
    key: bytesToHex(key),
    height,
    root: bytesToHex(proved.root),
    value: proved.value === undefined ? null : bytesToHex(proved.value),
    entry: proved.value === undefined ? null : entryToJson(table, proved.value),
    proof: bytesToHex(proved.proof),
  }
}

export interface MemorySourceOptions {
  /** The run served for `from` (default runFrom(chain, from)). */
  readonly run?: (from: number) => readonly ServedCheckpoint[]
  /** The state answer (default: no state: throws). */
  readonly state?: (table: TableName, key: Uint8Array, height: number) => Promise<unknown>
}

/** A source in memory, counting what it was asked. */
export function memorySource(
  id: string,
  chain: ServedChain,
  options: MemorySourceOptions = {},
): LightSource & { readonly asked: number[] } {
  const asked: number[] = []
  return {
    id,
    asked,
    async checkpoints(from, signal) {
      signal?.throwIfAborted()
      asked.push(from)
      return options.run?.(from) ?? runFrom(chain, from)
    },
    async state(table, key, height, signal) {
      signal?.throwIfAborted()
      if (options.state === undefined) throw new Error(`${id} serves no state`)
      return options.state(table, key, height)
    },
  }
}

/**
 * A signed chain from a genesis anchor whose committee's secret keys the test holds (a real
 * genesis file's nodes): `epochs` handoffs with fresh committees of `size` (seeded keys), or,
 * with `pool`, committees of `size` drawn from `pool` seeded keys (a window that moves 13 keys
 * an epoch: keys repeat, as when the beacon draws from the active nodes), and `inside`
 * checkpoints inside the last epoch (the newest is the tail). Roots from `rootAt`.
 */
export function chainFromGenesis(options: {
  readonly genesis: CheckpointAnchor
  readonly genesisCommittee: readonly FixtureKey[]
  readonly epochs: number
  readonly inside?: number
  readonly size?: number
  readonly pool?: number
  readonly epochBlocks?: number
  readonly rootAt: (height: number, epoch: number) => Uint8Array
}): ServedChain & { readonly head: CheckpointBody } {
  const { genesis, epochs, rootAt } = options
  const epochBlocks = options.epochBlocks ?? 100
  const size = options.size ?? 4
  const keysOf = (c: readonly FixtureKey[]) => c.map((k) => k.publicKey)
  let signing = options.genesisCommittee
  let anchorHash = genesis.hash
  let head = genesis.body
  const handoffs: ServedCheckpoint[] = []
  const pool = options.pool === undefined ? undefined : fixtureKeys(options.pool, 9000)
  if (pool !== undefined && size > pool.length) {
    throw new RangeError(`committees of ${size} from a pool of ${pool.length}`)
  }
  const committeeOf = (epoch: number): readonly FixtureKey[] =>
    pool === undefined
      ? fixtureKeys(size, 5000 + epoch)
      : Array.from({ length: size }, (_, j) => pool[(epoch * 13 + j) % pool.length] as FixtureKey)
  for (let epoch = 0; epoch < epochs; epoch++) {
    const next = committeeOf(epoch)
    const height = (epoch + 1) * epochBlocks
    const body: CheckpointBody = {
      chainId: genesis.body.chainId,
      epoch: epoch + 1,
      height,
      stateRoot: rootAt(height, epoch + 1),
      previous: anchorHash,
      nextCommittee: committeeKeysHash(keysOf(next)),
    }
    handoffs.push({ checkpoint: signByCommittee(signing, body), committee: keysOf(next) })
    anchorHash = checkpointHash(body)
    signing = next
    head = body
  }
  let tail: ServedCheckpoint | undefined
  for (let i = 1; i <= (options.inside ?? 0); i++) {
    const height = head.height + i * 10
    const body: CheckpointBody = {
      chainId: genesis.body.chainId,
      epoch: epochs,
      height,
      stateRoot: rootAt(height, epochs),
      previous: anchorHash,
      nextCommittee: committeeKeysHash(keysOf(signing)),
    }
    tail = { checkpoint: signByCommittee(signing, body) }
  }
  const last = tail?.checkpoint.body ?? head
  return tail === undefined ? { handoffs, head: last } : { handoffs, tail, head: last }
}
