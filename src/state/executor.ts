/**
 * `StateExecutor`: the chain state over a `KvStore`. It executes block bodies one at a time
 * (`apply(state, block) → state', receipts`, deterministic), commits each block's net changes to
 * the state tree, and keeps beside the tree, in the same atomic batch, a flat copy of the latest
 * values (reads without a tree walk) and the executed block with its receipts.
 *
 * Records, under `chain/`:
 *
 *   chain/g                    → the genesis hash (names the chain this store holds)
 *   chain/t/…                  → the state tree (state-tree.ts); version = height + 1
 *   chain/v/ ‖ table u8 ‖ key  → the latest value of (table, key)
 *   chain/b/ ‖ height u64be    → the executed block (block.ts encodeExecutedBlock)
 *
 * Opening a store resumes at its last block; a crash mid-block leaves the previous block whole
 * (everything of a block is one batch).
 */
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js'
import { equalBytes } from '../core/bytes.ts'
import type { KvOperation, KvStore } from '../kv/kv-store.ts'
import { decodeExecutedBlock, encodeExecutedBlock, executedBlockOf } from './block.ts'
import { type BlockContext, BlockState, metadataOf, type StateSource } from './block-state.ts'
import { StateError } from './errors.ts'
import { genesisHash, PARAM_NAMES } from './genesis.ts'
import type {
  AccountEntry,
  Address,
  BlockBody,
  ChainExecutor,
  ChainHead,
  ChainMetadata,
  CommitteeEntry,
  Digest,
  ExecutedBlock,
  Genesis,
  NodeEntry,
  NodeKey,
  ProtocolParam,
  Receipt,
  TableName,
  TransactionLocation,
} from './model.ts'
import { StateTree } from './state-tree.ts'
import { decodeEntry, METADATA_KEY, TABLES, tableKeys, u64be } from './tables.ts'
import type { Secp256k1Recover } from './transaction.ts'
import { applyTransaction } from './transitions.ts'
import { ValueCache } from './value-cache.ts'

const utf8 = new TextEncoder()
const GENESIS_KEY = utf8.encode('chain/g')
const TREE_PREFIX = utf8.encode('chain/t/')
const VALUE_PREFIX = utf8.encode('chain/v/')
const BLOCK_PREFIX = utf8.encode('chain/b/')

/** Most transactions one block may carry (a body over it is STATE_BLOCK_INVALID). */
export const MAX_BLOCK_TRANSACTIONS = 10_000

/** chain/v/ ‖ table index, per table, made once (a block makes a key per read and per change). */
const TABLE_PREFIXES = new Map(
  TABLES.map((table, i) => [table, concatBytes(VALUE_PREFIX, Uint8Array.of(i))] as const),
)

function tablePrefix(table: TableName): Uint8Array {
  return TABLE_PREFIXES.get(table) as Uint8Array
}

function valueKey(table: TableName, key: Uint8Array): Uint8Array {
  const prefix = tablePrefix(table)
  const out = new Uint8Array(prefix.length + key.length)
  out.set(prefix)
  out.set(key, prefix.length)
  return out
}

function blockKey(height: number): Uint8Array {
  return concatBytes(BLOCK_PREFIX, u64be(height))
}

function invalidBlock(message: string): StateError {
  return new StateError('STATE_BLOCK_INVALID', message)
}

export interface StateExecutorOptions {
  /** secp256k1 recovery for account signatures (default @noble/curves; a Node program may
   * give libsecp256k1's, src/node/chain/native-secp256k1.ts). */
  readonly recover?: Secp256k1Recover
  /** Decoded tree nodes kept in memory (StateTree's cacheNodes). */
  readonly cacheNodes?: number
  /** Latest values (and absences) kept in memory for blocks' reads (default 100,000; 0 none). */
  readonly cacheValues?: number
}

export interface ExecuteOptions {
  /** Digests (hex) whose signatures this node verified already (its mempool's admission). */
  readonly verified?: ReadonlySet<string>
}

export class StateExecutor implements ChainExecutor {
  readonly #store: KvStore
  readonly #tree: StateTree
  readonly #source: StateSource
  readonly #values: ValueCache
  #head: ChainHead
  #running: Promise<unknown> = Promise.resolve()

  readonly #recover: Secp256k1Recover | undefined

  private constructor(
    store: KvStore,
    tree: StateTree,
    head: ChainHead,
    options: StateExecutorOptions = {},
  ) {
    const cacheValues = options.cacheValues ?? 100_000
    this.#recover = options.recover
    this.#store = store
    this.#tree = tree
    this.#head = head
    this.#values = new ValueCache(cacheValues)
    this.#source = {
      get: (table, key) => this.#values.read(valueKey(table, key), (k) => store.get(k)),
      entries: (table) => {
        const prefix = tablePrefix(table)
        const source = store.entries({ prefix })
        return (async function* () {
          for await (const e of source) yield { key: e.key.subarray(prefix.length), value: e.value }
        })()
      },
    }
  }

  /**
   * Opens the chain state in `store`: writes the genesis state into an empty store, resumes at
   * the last executed block otherwise. STATE_WRONG_GENESIS when the store holds another chain.
   */
  static async open(
    store: KvStore,
    genesis: Genesis,
    options: StateExecutorOptions = {},
  ): Promise<StateExecutor> {
    const hash = genesisHash(genesis)
    const tree = await StateTree.open(store, {
      prefix: TREE_PREFIX,
      ...(options.cacheNodes === undefined ? {} : { cacheNodes: options.cacheNodes }),
    })
    const stored = await store.get(GENESIS_KEY)
    if (stored !== undefined && !equalBytes(stored, hash)) {
      throw new StateError(
        'STATE_WRONG_GENESIS',
        `the store holds chain state of genesis ${bytesToHex(stored)}, not ${bytesToHex(hash)}`,
      )
    }
    const genesisHead = (stateRoot: Uint8Array): ChainHead => ({
      chainId: genesis.chainId,
      height: 0,
      epoch: 0,
      hash,
      stateRoot,
      timestampMs: genesis.timestampMs,
    })
    if (stored === undefined) {
      const executor = new StateExecutor(store, tree, genesisHead(tree.root), options)
      const root = await executor.#writeGenesis(genesis, hash)
      executor.#head = genesisHead(root)
      return executor
    }
    let last: ExecutedBlock | undefined
    for await (const e of store.entries({ prefix: BLOCK_PREFIX, reverse: true, limit: 1 })) {
      last = decodeExecutedBlock(e.value)
    }
    const head: ChainHead =
      last === undefined
        ? genesisHead(tree.root)
        : {
            chainId: genesis.chainId,
            height: last.header.height,
            epoch: last.header.epoch,
            hash: last.hash,
            stateRoot: last.header.stateRoot,
            timestampMs: last.header.timestampMs,
          }
    if (tree.version !== head.height + 1 || !equalBytes(tree.root, head.stateRoot)) {
      throw new StateError(
        'STATE_CORRUPT',
        `the state tree is at version ${tree.version}, the blocks at height ${head.height}`,
      )
    }
    return new StateExecutor(store, tree, head, options)
  }

  async #writeGenesis(genesis: Genesis, hash: Digest): Promise<Uint8Array> {
    const state = new BlockState(this.#source)
    let supply = 0n
    for (const a of genesis.accounts) {
      state.put('accounts', a.address, { flk: a.flk, stables: a.stables, nonce: 0 })
      supply += a.flk
    }
    for (const address of [genesis.bridge, genesis.governance]) {
      if ((await state.get('accounts', address)) === undefined) {
        state.put('accounts', address, { flk: 0n, stables: 0n, nonce: 0 })
      }
    }
    const active: NodeKey[] = []
    for (const n of genesis.nodes) {
      state.put('nodes', n.key, {
        owner: n.owner,
        blsKey: n.blsKey,
        addresses: n.addresses,
        staked: n.stake,
        unstaking: [],
        lockedUntilEpoch: 0,
        participation: 'true',
        nonce: 0,
        registeredAtEpoch: 0,
      })
      if ((await state.get('accounts', n.owner)) === undefined) {
        state.put('accounts', n.owner, { flk: 0n, stables: 0n, nonce: 0 })
      }
      supply += n.stake
      if (n.stake >= genesis.params.minimumNodeStake) active.push(n.key)
    }
    for (const name of PARAM_NAMES) {
      state.put('params', tableKeys.param(name), { value: genesis.params[name] })
    }
    genesis.prices.forEach((price, commodity) => {
      state.put('prices', tableKeys.price(commodity), { price })
    })
    state.put('committees', tableKeys.committee(0), {
      members: genesis.committee,
      readyToChange: [],
      activeNodes: active,
      beaconCommits: [],
      beaconReveals: [],
    })
    state.put('metadata', METADATA_KEY, {
      chainId: genesis.chainId,
      epoch: 0,
      height: 0,
      epochStartMs: genesis.timestampMs,
      beacon: { kind: 'none' },
      bridge: genesis.bridge,
      governance: genesis.governance,
      supplyYearStart: supply,
      supply,
    })
    const changes = state.changes()
    const valueOps = this.#valueOps(changes)
    const version = await this.#tree.commit(changes, () => [
      ...valueOps,
      { type: 'put', key: GENESIS_KEY, value: hash },
    ])
    this.#values.wrote(valueOps)
    return version.root
  }

  #valueOps(changes: readonly { table: string; key: Uint8Array; value: Uint8Array | null }[]) {
    return changes.map(
      (c): KvOperation =>
        c.value === null
          ? { type: 'delete', key: valueKey(c.table as TableName, c.key) }
          : { type: 'put', key: valueKey(c.table as TableName, c.key), value: c.value },
    )
  }

  get head(): ChainHead {
    return this.#head
  }

  /** Executes blocks one at a time, in call order. */
  execute(body: BlockBody, options: ExecuteOptions = {}): Promise<ExecutedBlock> {
    const run = this.#running.then(
      () => this.#execute(body, options),
      () => this.#execute(body, options),
    )
    this.#running = run.catch(() => undefined)
    return run
  }

  async #execute(body: BlockBody, options: ExecuteOptions): Promise<ExecutedBlock> {
    const head = this.#head
    if (body.chainId !== head.chainId)
      throw invalidBlock(`a block of chain ${body.chainId}, not ${head.chainId}`)
    if (body.height !== head.height + 1)
      throw invalidBlock(`a block at height ${body.height}; the next is ${head.height + 1}`)
    if (!equalBytes(body.parent, head.hash))
      throw invalidBlock(`a block whose parent is not the head ${bytesToHex(head.hash)}`)
    if (!Number.isSafeInteger(body.timestampMs) || body.timestampMs < head.timestampMs) {
      throw invalidBlock(
        `a block at ${body.timestampMs} ms, before the head's ${head.timestampMs} ms`,
      )
    }
    if (body.transactions.length > MAX_BLOCK_TRANSACTIONS) {
      throw invalidBlock(
        `${body.transactions.length} transactions; a block holds ${MAX_BLOCK_TRANSACTIONS}`,
      )
    }
    const state = new BlockState(this.#source)
    const params = {} as Record<ProtocolParam, bigint>
    for (const name of PARAM_NAMES) {
      const entry = await state.get('params', tableKeys.param(name))
      if (entry === undefined) throw new StateError('STATE_CORRUPT', `parameter ${name} is missing`)
      params[name] = entry.value
    }
    const ctx: BlockContext = {
      chainId: head.chainId,
      height: body.height,
      timestampMs: body.timestampMs,
      params,
      ...(options.verified === undefined ? {} : { verified: options.verified }),
      ...(this.#recover === undefined ? {} : { recover: this.#recover }),
    }
    const receipts: Receipt[] = []
    for (let i = 0; i < body.transactions.length; i++) {
      receipts.push(await applyTransaction(state, body.transactions[i] as Uint8Array, i, ctx))
    }
    const meta = await metadataOf(state)
    state.put('metadata', METADATA_KEY, { ...meta, height: body.height })
    const changes = state.changes()
    const valueOps = this.#valueOps(changes)
    let executed: ExecutedBlock | undefined
    const version = await this.#tree.commit(changes, ({ root }) => {
      executed = executedBlockOf(body, receipts, meta.epoch, root)
      return [
        ...valueOps,
        { type: 'put', key: blockKey(body.height), value: encodeExecutedBlock(executed) },
      ]
    })
    this.#values.wrote(valueOps)
    const block = executed as unknown as ExecutedBlock
    if (version.version !== body.height + 1) {
      throw new StateError(
        'STATE_CORRUPT',
        `block ${body.height} made tree version ${version.version}`,
      )
    }
    this.#head = {
      chainId: head.chainId,
      height: body.height,
      epoch: block.header.epoch,
      hash: block.hash,
      stateRoot: version.root,
      timestampMs: body.timestampMs,
    }
    return block
  }

  get(table: TableName, key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#store.get(valueKey(table, key))
  }

  async block(height: number): Promise<ExecutedBlock | undefined> {
    if (!Number.isSafeInteger(height) || height < 1 || height > this.#head.height) return undefined
    const bytes = await this.#store.get(blockKey(height))
    return bytes === undefined ? undefined : decodeExecutedBlock(bytes)
  }

  async transaction(digest: Digest): Promise<TransactionLocation | undefined> {
    const bytes = await this.get('executed', digest)
    if (bytes === undefined) return undefined
    const at = decodeEntry('executed', bytes)
    // Read past the head's bound: the entry and its block land in one batch, and the head
    // moves just after it, so a reader in between still finds the block.
    const stored = await this.#store.get(blockKey(at.height))
    const block = stored === undefined ? undefined : decodeExecutedBlock(stored)
    const receipt = block?.receipts[at.index]
    if (receipt === undefined)
      throw new StateError('STATE_CORRUPT', `block ${at.height} lacks receipt ${at.index}`)
    return { height: at.height, index: at.index, receipt }
  }

  /** The entry and its proof against the root of the state after block `height` (default: the
   * head; 0: genesis). Every version stays readable: the node never prunes the tree. */
  async prove(
    table: TableName,
    key: Uint8Array,
    height: number = this.#head.height,
  ): Promise<{ value: Uint8Array | undefined; proof: Uint8Array; root: Digest; height: number }> {
    if (!Number.isSafeInteger(height) || height < 0 || height > this.#head.height) {
      throw new StateError(
        'STATE_INVALID_ARGUMENT',
        `no state at height ${height} (the head is at ${this.#head.height})`,
      )
    }
    const result = await this.#tree.prove(table, key, height + 1)
    return { value: result.value, proof: result.proof, root: result.root, height }
  }

  // --- typed reads ---------------------------------------------------------------------------

  async #read<T extends TableName>(table: T, key: Uint8Array) {
    const bytes = await this.get(table, key)
    return bytes === undefined ? undefined : decodeEntry(table, bytes)
  }

  async metadata(): Promise<ChainMetadata> {
    return (await this.#read('metadata', METADATA_KEY)) as ChainMetadata
  }

  account(address: Address): Promise<AccountEntry | undefined> {
    return this.#read('accounts', address)
  }

  node(key: NodeKey): Promise<NodeEntry | undefined> {
    return this.#read('nodes', key)
  }

  committee(epoch: number): Promise<CommitteeEntry | undefined> {
    return this.#read('committees', tableKeys.committee(epoch))
  }

  async params(): Promise<Record<ProtocolParam, bigint>> {
    const out = {} as Record<ProtocolParam, bigint>
    for (const name of PARAM_NAMES) {
      out[name] = ((await this.#read('params', tableKeys.param(name)))?.value ?? 0n) as bigint
    }
    return out
  }

  /** Every entry of a table (latest state), in key order: for audits, tests and invariants. */
  async *entries(table: TableName): AsyncIterable<{ key: Uint8Array; value: Uint8Array }> {
    yield* this.#source.entries(table)
  }
}
