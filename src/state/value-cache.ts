/**
 * `ValueCache`: the executor's latest committed values (and absences) by store key, in memory,
 * so that a block's reads of entries that recent blocks read or wrote skip the store (a LevelDB
 * `get` is ~40 µs of CPU; a transfer reads three entries).
 *
 * Bounded: two generations of at most limit/2 keys each; when the young one is full it becomes
 * the old one and the old one is dropped; a hit in the old one moves up (O(1) per call).
 *
 * Consistency: the executor is the store's only writer of these keys and tells the cache what
 * every committed batch wrote (`wrote`). A read that missed and went to the store is kept only
 * if no commit landed while it was in flight (`generation`): its answer may predate the commit.
 */
import type { KvOperation } from '../kv/kv-store.ts'

/** What the cache holds for a key: its bytes, or null for "absent in the store". */
type Cached = Uint8Array | null

/** `key` as a string of one character per byte, for Map keys: one flat string made in one call
 * (a character appended per byte made a chain of strings to flatten at every lookup); an
 * argument list is bounded, so long keys go in pieces. */
export function bytesAsString(key: Uint8Array): string {
  if (key.length <= 1024) return String.fromCharCode.apply(null, key as unknown as number[])
  let s = ''
  for (let at = 0; at < key.length; at += 1024) s += bytesAsString(key.subarray(at, at + 1024))
  return s
}

export class ValueCache {
  readonly #half: number
  #young = new Map<string, Cached>()
  #old = new Map<string, Cached>()
  /** Bumped by every commit: a store read that started before it may be stale. */
  #generation = 0

  constructor(limit: number) {
    this.#half = Math.floor(limit / 2)
  }

  /** The value under `key`: from the cache, else from `load` (and kept). */
  async read(
    key: Uint8Array,
    load: (key: Uint8Array) => Promise<Uint8Array | undefined>,
  ): Promise<Uint8Array | undefined> {
    const k = bytesAsString(key)
    const hit = this.#get(k)
    if (hit !== undefined) return hit ?? undefined
    const generation = this.#generation
    const value = await load(key)
    if (generation === this.#generation) this.#set(k, value ?? null)
    return value
  }

  /** A committed batch's writes (puts and deletes of value keys). */
  wrote(operations: readonly KvOperation[]): void {
    this.#generation++
    for (const op of operations)
      this.#set(bytesAsString(op.key), op.type === 'put' ? op.value : null)
  }

  #get(k: string): Cached | undefined {
    const young = this.#young.get(k)
    if (young !== undefined) return young
    const old = this.#old.get(k)
    if (old !== undefined) this.#set(k, old)
    return old
  }

  #set(k: string, value: Cached): void {
    if (this.#half === 0) return
    if (this.#young.size >= this.#half && !this.#young.has(k)) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(k, value)
    // An older copy must not outlive this one.
    if (this.#old.size > 0) this.#old.delete(k)
  }
}
