/**
 * `BlockState`: the tables as one block's execution sees them. Reads fall through a stack of
 * layers (the running transaction's writes, the block's, then the store's latest values) and
 * are kept decoded; a transaction's writes go to its own layer, merged into the block's when it
 * succeeds and dropped when it reverts. At the end, `changes()` gives the block's net writes,
 * encoded, for the state tree and the flat copy beside it.
 *
 * Values are immutable: a transition replaces an entry with a new object, never edits one.
 */
import type { AccountEntry, ChainMetadata, ProtocolParam, TableName } from './model.ts'
import type { StateChange } from './state-tree.ts'
import { decodeEntry, encodeEntry, METADATA_KEY, type TableEntries } from './tables.ts'
import type { Secp256k1Recover } from './transaction.ts'
import { bytesAsString } from './value-cache.ts'

/** What a block gives every transaction in it. */
export interface BlockContext {
  readonly chainId: number
  readonly height: number
  readonly timestampMs: number
  readonly params: Readonly<Record<ProtocolParam, bigint>>
  /** Digests (hex) whose signature this node checked already (its mempool did). */
  readonly verified?: ReadonlySet<string>
  /** secp256k1 public-key recovery for account signatures (default: @noble/curves). */
  readonly recover?: Secp256k1Recover
}

export const EMPTY_ACCOUNT: AccountEntry = { flk: 0n, stables: 0n, nonce: 0 }

/** Where the latest committed values come from (the executor's flat copy of the tree). */
export interface StateSource {
  get(table: TableName, key: Uint8Array): Promise<Uint8Array | undefined>
  /** Every (key, value) of a table, in key order. */
  entries(table: TableName): AsyncIterable<{ key: Uint8Array; value: Uint8Array }>
}

type Slot = { readonly table: TableName; readonly key: Uint8Array; readonly value: unknown | null }

/** One flat string per (table, key) (see bytesAsString). */
function slotKey(table: TableName, key: Uint8Array): string {
  return `${table}/${bytesAsString(key)}`
}

export class BlockState {
  readonly #source: StateSource
  /** Decoded values read from the source (undefined = absent there). */
  readonly #base = new Map<string, unknown>()
  readonly #block = new Map<string, Slot>()
  #tx: Map<string, Slot> | undefined

  constructor(source: StateSource) {
    this.#source = source
  }

  async get<T extends TableName>(table: T, key: Uint8Array): Promise<TableEntries[T] | undefined> {
    const k = slotKey(table, key)
    const own = this.#tx?.get(k) ?? this.#block.get(k)
    if (own !== undefined) return (own.value ?? undefined) as TableEntries[T] | undefined
    if (this.#base.has(k)) return this.#base.get(k) as TableEntries[T] | undefined
    const bytes = await this.#source.get(table, key)
    const value = bytes === undefined ? undefined : decodeEntry(table, bytes)
    this.#base.set(k, value)
    return value
  }

  put<T extends TableName>(table: T, key: Uint8Array, value: TableEntries[T]): void {
    this.#layer().set(slotKey(table, key), { table, key: key.slice(), value })
  }

  delete(table: TableName, key: Uint8Array): void {
    this.#layer().set(slotKey(table, key), { table, key: key.slice(), value: null })
  }

  #layer(): Map<string, Slot> {
    return this.#tx ?? this.#block
  }

  /** Starts a transaction's layer. */
  begin(): void {
    if (this.#tx !== undefined) throw new Error('BlockState: a transaction is already open')
    this.#tx = new Map()
  }

  /** Keeps the transaction's writes. */
  keep(): void {
    if (this.#tx === undefined) return
    for (const [k, slot] of this.#tx) this.#block.set(k, slot)
    this.#tx = undefined
  }

  /** Drops the transaction's writes. */
  drop(): void {
    this.#tx = undefined
  }

  /** Every entry of `table` as this block sees it, in key order of the source then new keys. */
  async entries<T extends TableName>(
    table: T,
  ): Promise<{ key: Uint8Array; value: TableEntries[T] }[]> {
    const seen = new Map<string, { key: Uint8Array; value: TableEntries[T] }>()
    for await (const e of this.#source.entries(table)) {
      seen.set(slotKey(table, e.key), { key: e.key, value: decodeEntry(table, e.value) })
    }
    for (const layer of [this.#block, this.#tx]) {
      if (layer === undefined) continue
      for (const [k, slot] of layer) {
        if (slot.table !== table) continue
        if (slot.value === null) seen.delete(k)
        else seen.set(k, { key: slot.key, value: slot.value as TableEntries[T] })
      }
    }
    return [...seen.values()]
  }

  /** The block's net writes, encoded. */
  changes(): StateChange[] {
    if (this.#tx !== undefined) throw new Error('BlockState: a transaction is still open')
    const out: StateChange[] = []
    for (const slot of this.#block.values()) {
      out.push({
        table: slot.table,
        key: slot.key,
        value:
          slot.value === null
            ? null
            : encodeEntry(slot.table, slot.value as TableEntries[typeof slot.table]),
      })
    }
    return out
  }
}

export async function metadataOf(state: BlockState): Promise<ChainMetadata> {
  const m = await state.get('metadata', METADATA_KEY)
  if (m === undefined) throw new Error('the state has no metadata: it was never initialised')
  return m
}
