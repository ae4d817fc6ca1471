/**
 * `StateTree`: the state's authenticated map persisted in a `KvStore`. Each `commit` of a batch
 * of changes makes a new version with its root; nodes are stored by hash and never rewritten,
 * so every version's root stays readable (entries, proofs) until `prune` drops it.
 *
 * Records, under the tree's prefix (keys sort by version, so the latest is one reverse read):
 *
 *   'n' ‖ hash                → created-at version (u64be) ‖ node
 *                               node: 0x00 ‖ path(32) ‖ value   (a leaf)
 *                                     0x01 ‖ left(32) ‖ right(32) (an internal node)
 *   'r' ‖ version (u64be)     → root (32 bytes; version 0 is the empty map)
 *   's' ‖ version (u64be)     → hashes (32 bytes each) of the nodes that left the tree then
 *
 * Pruning rule (JMT's stale-node index): `prune(keep)` deletes the roots of versions below
 * `keep` and every node that left the tree at a version ≤ `keep`, unless it came back later
 * (its created-at version is at or after the version it left: the same hash re-created).
 * A node that left at version s is in no version ≥ s, so versions ≥ keep stay whole.
 *
 * One writer: `commit` and `prune` run one at a time, in call order. Reads of any unpruned
 * version may run alongside; a read of a version that `prune` is dropping may fail with
 * STATE_CORRUPT or STATE_UNKNOWN_VERSION.
 */

import { equalBytes } from '../core/bytes.ts'
import type { KvOperation, KvStore } from '../kv/kv-store.ts'
import { StateError } from './errors.ts'
import {
  EMPTY_HASH,
  HASH_LEN,
  isEmptyHash,
  keyPath,
  leafHash,
  nodeHash,
  pathBit,
  valueHash,
} from './state-hash.ts'
import {
  type DecodedStateProof,
  encodeStateProof,
  PROOF_EMPTY,
  PROOF_OTHER_LEAF,
  PROOF_PRESENT,
} from './state-proof.ts'
import { comparePaths, splitAt } from './state-root.ts'

/** One change of a commit: a value to put, or null to delete. */
export interface StateChange {
  readonly table: string
  readonly key: Uint8Array
  readonly value: Uint8Array | null
}

export interface StateVersion {
  readonly version: number
  readonly root: Uint8Array
}

export interface StateTreeOptions {
  /** Prefix of every record of this tree in the store (default `state-tree/`). */
  readonly prefix?: Uint8Array
  /** Decoded nodes kept in memory (default 200,000; 0 for none). */
  readonly cacheNodes?: number
}

export interface StateProofResult {
  /** The entry's value at that version, undefined when absent. */
  readonly value: Uint8Array | undefined
  /** Proof bytes for `checkStateProof` against `root`. */
  readonly proof: Uint8Array
  readonly root: Uint8Array
  readonly version: number
}

type TreeNode =
  | { readonly leaf: true; readonly path: Uint8Array; readonly value: Uint8Array }
  | { readonly leaf: false; readonly left: Uint8Array; readonly right: Uint8Array }

/** A node a commit makes: its hash (and hashKey) and its stored record. */
interface CreatedNode {
  readonly k: string
  readonly hash: Uint8Array
  readonly record: Uint8Array
}

/** A value now, or later when a node had to be read from the store. */
type MaybePromise<T> = T | Promise<T>

/** What an update made of a subtree; `unknown` is an untouched child not read yet. */
type Subtree =
  | { readonly kind: 'empty' }
  | { readonly kind: 'leaf' | 'internal' | 'unknown'; readonly hash: Uint8Array }

interface PathChange {
  readonly path: Uint8Array
  readonly value: Uint8Array | null
}

const LEAF = 0x00
const INTERNAL = 0x01
const NODE_TAG = 0x6e // 'n'
const ROOT_TAG = 0x72 // 'r'
const STALE_TAG = 0x73 // 's'
const EMPTY: Subtree = { kind: 'empty' }
/** The size of the slabs new node records are carved from: ~900 internal nodes each. */
const SLAB_BYTES = 64 * 1024

/** A 32-byte hash as a 16-unit string, for Maps (faster than spreading 32 bytes). */
function hashKey(h: Uint8Array): string {
  const u = (i: number) => (h[i]! << 8) | h[i + 1]!
  return String.fromCharCode(
    u(0),
    u(2),
    u(4),
    u(6),
    u(8),
    u(10),
    u(12),
    u(14),
    u(16),
    u(18),
    u(20),
    u(22),
    u(24),
    u(26),
    u(28),
    u(30),
  )
}

function writeVersion(out: Uint8Array, at: number, version: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(at, Math.floor(version / 2 ** 32))
  view.setUint32(at + 4, version >>> 0)
}

function readVersion(bytes: Uint8Array, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4)
}

function corrupt(message: string): StateError {
  return new StateError('STATE_CORRUPT', message)
}

export class StateTree {
  readonly #store: KvStore
  readonly #prefix: Uint8Array
  readonly #cache: NodeCache
  #latest: StateVersion
  /** The running commit or prune: writes go one at a time. */
  #writing: Promise<unknown> = Promise.resolve()

  private constructor(
    store: KvStore,
    prefix: Uint8Array,
    cacheLimit: number,
    latest: StateVersion,
  ) {
    this.#store = store
    this.#prefix = prefix
    this.#cache = new NodeCache(cacheLimit)
    this.#latest = latest
  }

  /** Opens the tree in `store`, at its latest version (version 0, the empty map, when new). */
  static async open(store: KvStore, options: StateTreeOptions = {}): Promise<StateTree> {
    const prefix = options.prefix ?? new TextEncoder().encode('state-tree/')
    const cacheLimit = options.cacheNodes ?? 200_000
    const rootPrefix = concat(prefix, Uint8Array.of(ROOT_TAG))
    let latest: StateVersion | undefined
    for await (const e of store.entries({ prefix: rootPrefix, reverse: true, limit: 1 })) {
      if (e.key.length !== rootPrefix.length + 8 || e.value.length !== HASH_LEN) {
        throw corrupt('a root record of the wrong length')
      }
      latest = { version: readVersion(e.key, rootPrefix.length), root: plainCopy(e.value) }
    }
    const tree = new StateTree(
      store,
      prefix,
      cacheLimit,
      latest ?? { version: 0, root: EMPTY_HASH },
    )
    if (latest === undefined) await store.put(tree.#rootKey(0), EMPTY_HASH)
    return tree
  }

  /** The latest committed version and its root. */
  get latest(): StateVersion {
    return this.#latest
  }

  get root(): Uint8Array {
    return this.#latest.root
  }

  get version(): number {
    return this.#latest.version
  }

  /** The root of `version`; STATE_UNKNOWN_VERSION if never committed or pruned. */
  async rootAt(version: number): Promise<Uint8Array> {
    if (version === this.#latest.version) return this.#latest.root
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new StateError('STATE_UNKNOWN_VERSION', `version ${version} is not a version number`)
    }
    const root = await this.#store.get(this.#rootKey(version))
    if (root === undefined) {
      throw new StateError('STATE_UNKNOWN_VERSION', `no root for version ${version}`)
    }
    if (root.length !== HASH_LEN) throw corrupt(`the root of version ${version} is not 32 bytes`)
    return plainCopy(root)
  }

  /** The value of (table, key) at `version` (default latest), undefined when absent. */
  async get(
    table: string,
    key: Uint8Array,
    version = this.#latest.version,
  ): Promise<Uint8Array | undefined> {
    return (await this.#walk(table, key, version)).value
  }

  /** The entry at `version` (default latest) with a proof of it, of presence or absence. */
  async prove(
    table: string,
    key: Uint8Array,
    version = this.#latest.version,
  ): Promise<StateProofResult> {
    const walk = await this.#walk(table, key, version)
    return {
      value: walk.value,
      proof: encodeStateProof(walk.proof),
      root: walk.root,
      version,
    }
  }

  /** Puts one value: a commit of one change. */
  put(table: string, key: Uint8Array, value: Uint8Array): Promise<StateVersion> {
    return this.commit([{ table, key, value }])
  }

  /** Deletes one entry: a commit of one change. */
  delete(table: string, key: Uint8Array): Promise<StateVersion> {
    return this.commit([{ table, key, value: null }])
  }

  /**
   * Applies `changes` (a later change of the same table and key wins) as one new version,
   * written in one atomic batch, and returns it. A commit that changes nothing still makes a
   * version, with the same root. `alongside` gives other records of the caller's (outside the
   * tree's prefix), made once the new root is known, written in the same batch: they and the
   * version land together or not at all.
   */
  commit(
    changes: Iterable<StateChange>,
    alongside?: (version: StateVersion) => readonly KvOperation[],
  ): Promise<StateVersion> {
    // Read (and copied) now: the caller may reuse its buffers once this returns.
    let sorted: PathChange[]
    try {
      sorted = pathChanges(changes)
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#exclusive(() => this.#commit(sorted, alongside))
  }

  /**
   * Drops every version below `keep` (roots and the nodes only they used); `keep` must be at
   * most the latest version. Returns how many nodes it deleted.
   */
  prune(keep: number): Promise<number> {
    return this.#exclusive(() => this.#prune(keep))
  }

  // --- writing -------------------------------------------------------------------------------

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(work, work)
    this.#writing = run.catch(() => undefined)
    return run
  }

  async #commit(
    changes: readonly PathChange[],
    alongside: ((version: StateVersion) => readonly KvOperation[]) | undefined,
  ): Promise<StateVersion> {
    const version = this.#latest.version + 1
    const created: CreatedNode[] = []
    const removed = new Map<string, Uint8Array>()
    const batch = new TreeBatch(
      (hash, k) => this.#cache.get(k) ?? this.#node(hash),
      (k, node) => this.#remember(k, node),
      created,
      removed,
      version,
    )
    const top = await batch.update(subtreeOf(this.#latest.root), 0, changes, 0, changes.length)
    const root = top.kind === 'empty' ? EMPTY_HASH : top.hash
    const ops: KvOperation[] = []
    for (const { k, hash, record } of created) {
      removed.delete(k)
      ops.push({ type: 'put', key: this.#nodeKey(hash), value: record })
    }
    if (removed.size > 0) {
      // One record per version: a put per node taken out would double a commit's writes.
      const stale = new Uint8Array(removed.size * HASH_LEN)
      let at = 0
      for (const hash of removed.values()) {
        stale.set(hash, at)
        at += HASH_LEN
      }
      ops.push({ type: 'put', key: this.#staleKey(version), value: stale })
    }
    ops.push({ type: 'put', key: this.#rootKey(version), value: root })
    if (alongside !== undefined) for (const op of alongside({ version, root })) ops.push(op)
    await this.#store.batch(ops)
    this.#latest = { version, root }
    return this.#latest
  }

  async #prune(keep: number): Promise<number> {
    if (!Number.isSafeInteger(keep) || keep < 0 || keep > this.#latest.version) {
      throw new StateError(
        'STATE_INVALID_ARGUMENT',
        `prune keeps versions from ${keep}, which is not 0..${this.#latest.version}`,
      )
    }
    // Roots first: were this stopped halfway, no root would be left pointing at deleted nodes.
    const rootOps: KvOperation[] = []
    for await (const e of this.#store.entries({ gte: this.#rootKey(0), lt: this.#rootKey(keep) })) {
      rootOps.push({ type: 'delete', key: e.key })
    }
    if (rootOps.length > 0) await this.#store.batch(rootOps)
    let deleted = 0
    const staleStart = this.#staleKey(0)
    let ops: KvOperation[] = []
    for await (const e of this.#store.entries({ gte: staleStart, lt: this.#staleKey(keep + 1) })) {
      const leftAt = readVersion(e.key, staleStart.length - 8)
      if (e.value.length % HASH_LEN !== 0) throw corrupt(`the stale list of version ${leftAt}`)
      for (let at = 0; at < e.value.length; at += HASH_LEN) {
        const hash = e.value.subarray(at, at + HASH_LEN)
        const nodeKey = this.#nodeKey(hash)
        const record = await this.#store.get(nodeKey)
        if (record !== undefined && readVersion(record, 0) < leftAt) {
          ops.push({ type: 'delete', key: nodeKey })
          this.#cache.delete(hashKey(hash))
          deleted++
        }
      }
      // The list goes with (or after) its nodes: a prune cut short resumes from it.
      ops.push({ type: 'delete', key: e.key })
      if (ops.length >= 10_000) {
        await this.#store.batch(ops)
        ops = []
      }
    }
    if (ops.length > 0) await this.#store.batch(ops)
    return deleted
  }

  // --- reading -------------------------------------------------------------------------------

  /** The node stored under `hash` (never the empty hash). */
  async #node(hash: Uint8Array): Promise<TreeNode> {
    const k = hashKey(hash)
    const cached = this.#cache.get(k)
    if (cached !== undefined) return cached
    const record = await this.#store.get(this.#nodeKey(hash))
    if (record === undefined) throw corrupt(`tree node ${hex(hash)} is missing`)
    const node = decodeNode(record.subarray(8))
    this.#remember(k, node)
    return node
  }

  #remember(k: string, node: TreeNode): void {
    this.#cache.set(k, node)
  }

  async #walk(
    table: string,
    key: Uint8Array,
    version: number,
  ): Promise<{ value: Uint8Array | undefined; proof: DecodedStateProof; root: Uint8Array }> {
    const path = keyPath(table, key)
    const root = await this.rootAt(version)
    const siblings: Uint8Array[] = []
    let hash = root
    for (;;) {
      if (isEmptyHash(hash)) {
        return { value: undefined, proof: { siblings, terminal: { kind: PROOF_EMPTY } }, root }
      }
      const node = await this.#node(hash)
      if (node.leaf) {
        if (equalBytes(node.path, path)) {
          return {
            value: node.value.slice(),
            proof: { siblings, terminal: { kind: PROOF_PRESENT } },
            root,
          }
        }
        const terminal = {
          kind: PROOF_OTHER_LEAF,
          path: node.path,
          valueHash: valueHash(node.value),
        } as const
        return { value: undefined, proof: { siblings, terminal }, root }
      }
      if (siblings.length >= 256) throw corrupt('a tree deeper than 256 levels')
      const right = pathBit(path, siblings.length) === 1
      siblings.push(right ? node.left : node.right)
      hash = right ? node.right : node.left
    }
  }

  // --- keys ----------------------------------------------------------------------------------

  #nodeKey(hash: Uint8Array): Uint8Array {
    const k = new Uint8Array(this.#prefix.length + 1 + HASH_LEN)
    k.set(this.#prefix)
    k[this.#prefix.length] = NODE_TAG
    k.set(hash, this.#prefix.length + 1)
    return k
  }

  #rootKey(version: number): Uint8Array {
    return this.#versionKey(ROOT_TAG, version)
  }

  #staleKey(version: number): Uint8Array {
    return this.#versionKey(STALE_TAG, version)
  }

  #versionKey(tag: number, version: number): Uint8Array {
    const k = new Uint8Array(this.#prefix.length + 9)
    k.set(this.#prefix)
    k[this.#prefix.length] = tag
    writeVersion(k, this.#prefix.length + 1, version)
    return k
  }
}

/**
 * Decoded nodes by hash, bounded: two generations of at most limit/2 each; when the young one is
 * full it becomes the old one and the old one is dropped; a hit in the old one moves up. O(1)
 * per call (evicting the first key of one Map, FIFO, scans the holes deletions leave: quadratic).
 */
class NodeCache {
  readonly #half: number
  #young = new Map<string, TreeNode>()
  #old = new Map<string, TreeNode>()

  constructor(limit: number) {
    this.#half = Math.floor(limit / 2)
  }

  get(k: string): TreeNode | undefined {
    const young = this.#young.get(k)
    if (young !== undefined) return young
    const old = this.#old.get(k)
    if (old !== undefined) this.set(k, old)
    return old
  }

  set(k: string, node: TreeNode): void {
    if (this.#half === 0) return
    if (this.#young.size >= this.#half) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(k, node)
  }

  delete(k: string): void {
    this.#young.delete(k)
    this.#old.delete(k)
  }
}

/**
 * One commit's rewrite of the tree: which nodes it creates and which it takes out. A node taken
 * out and created again (a leaf that moved up or down) is neither stale nor new.
 */
class TreeBatch {
  /** The node under a hash (`k` its hashKey): at once when cached (no await per level), else read. */
  private readonly load: (hash: Uint8Array, k: string) => TreeNode | Promise<TreeNode>
  private readonly remember: (k: string, node: TreeNode) => void
  /** Each new node's stored record (created-at version ‖ node), made once, written as is. A
   * list, not a map by hash: the same node made twice in a commit (rare) is the same record
   * put twice, cheaper than a map insertion per node. */
  private readonly created: CreatedNode[]
  private readonly removed: Map<string, Uint8Array>
  /** The records' 8-byte header: the version this commit makes. */
  private readonly header: Uint8Array
  /** Where the next record is carved from (see #record). */
  private slab = new Uint8Array(0)
  private slabAt = 0

  constructor(
    load: (hash: Uint8Array, k: string) => TreeNode | Promise<TreeNode>,
    remember: (k: string, node: TreeNode) => void,
    created: CreatedNode[],
    removed: Map<string, Uint8Array>,
    version: number,
  ) {
    this.load = load
    this.remember = remember
    this.created = created
    this.removed = removed
    this.header = new Uint8Array(8)
    writeVersion(this.header, 0, version)
  }

  /**
   * The subtree at `depth` that `sub` becomes with `changes[lo..hi)` (sorted, on its paths).
   * Synchronous while the nodes it visits are cached (the usual case after the first block), a
   * promise from the first node it has to read: an async function per level made a promise
   * and a suspended frame per visited node, a third of a commit's garbage. Left before right
   * either way, so the nodes are created and taken out in the same order.
   */
  update(
    sub: Subtree,
    depth: number,
    changes: readonly PathChange[],
    lo: number,
    hi: number,
  ): MaybePromise<Subtree> {
    if (lo === hi) return sub
    if (sub.kind === 'empty') return this.build(depth, puts(changes, lo, hi))
    const k = hashKey(sub.hash)
    const loaded = this.load(sub.hash, k)
    return loaded instanceof Promise
      ? loaded.then((node) => this.#updateNode(sub.hash, k, node, depth, changes, lo, hi))
      : this.#updateNode(sub.hash, k, loaded, depth, changes, lo, hi)
  }

  #updateNode(
    hash: Uint8Array,
    k: string,
    node: TreeNode,
    depth: number,
    changes: readonly PathChange[],
    lo: number,
    hi: number,
  ): MaybePromise<Subtree> {
    this.removed.set(k, hash)
    if (node.leaf) {
      // The leaf's entry joins the changes unless one of them replaces it.
      const entries = puts(changes, lo, hi)
      if (!replaces(changes, lo, hi, node.path)) {
        entries.push({ path: node.path, value: node.value })
        entries.sort((a, b) => comparePaths(a.path, b.path))
      }
      return this.build(depth, entries)
    }
    const mid = splitAt(changes, lo, hi, depth)
    const left = this.update(subtreeOf(node.left), depth + 1, changes, lo, mid)
    const withRight = (l: Subtree): MaybePromise<Subtree> => {
      const right = this.update(subtreeOf(node.right), depth + 1, changes, mid, hi)
      return right instanceof Promise ? right.then((r) => this.join(l, r)) : this.join(l, right)
    }
    return left instanceof Promise ? left.then(withRight) : withRight(left)
  }

  /** A subtree over exactly `entries` (sorted by path) at `depth`. */
  build(depth: number, entries: readonly { path: Uint8Array; value: Uint8Array }[]): Subtree {
    return this.#build(depth, entries, 0, entries.length)
  }

  #build(
    depth: number,
    entries: readonly { path: Uint8Array; value: Uint8Array }[],
    lo: number,
    hi: number,
  ): Subtree {
    if (lo === hi) return EMPTY
    if (hi - lo === 1) {
      const { path, value } = entries[lo]!
      const hash = leafHash(path, valueHash(value))
      const record = this.#record(1 + HASH_LEN + value.length)
      record[8] = LEAF
      record.set(path, 9)
      record.set(value, 9 + HASH_LEN)
      this.#create(hash, record, { leaf: true, path, value })
      return { kind: 'leaf', hash }
    }
    const mid = splitAt(entries, lo, hi, depth)
    return this.#internal(
      this.#build(depth + 1, entries, lo, mid),
      this.#build(depth + 1, entries, mid, hi),
    )
  }

  /** Two updated children as one subtree: a lone leaf moves up, nothing at all is empty. */
  join(left: Subtree, right: Subtree): MaybePromise<Subtree> {
    if (left.kind === 'empty' && right.kind === 'empty') return EMPTY
    if (left.kind === 'empty' || right.kind === 'empty') {
      const only = left.kind === 'empty' ? right : left
      if (only.kind === 'empty') return EMPTY
      const lone = (kind: 'leaf' | 'internal'): Subtree =>
        kind === 'leaf' ? { kind: 'leaf', hash: only.hash } : this.#internal(left, right)
      const kind = this.kindOf(only)
      return kind instanceof Promise ? kind.then(lone) : lone(kind)
    }
    return this.#internal(left, right)
  }

  kindOf(sub: Subtree & { hash: Uint8Array }): MaybePromise<'leaf' | 'internal'> {
    if (sub.kind === 'leaf' || sub.kind === 'internal') return sub.kind
    const loaded = this.load(sub.hash, hashKey(sub.hash))
    return loaded instanceof Promise
      ? loaded.then((node) => (node.leaf ? 'leaf' : 'internal'))
      : loaded.leaf
        ? 'leaf'
        : 'internal'
  }

  #internal(left: Subtree, right: Subtree): Subtree {
    const l = left.kind === 'empty' ? EMPTY_HASH : left.hash
    const r = right.kind === 'empty' ? EMPTY_HASH : right.hash
    const hash = nodeHash(l, r)
    const record = this.#record(1 + 2 * HASH_LEN)
    record[8] = INTERNAL
    record.set(l, 9)
    record.set(r, 9 + HASH_LEN)
    this.#create(hash, record, { leaf: false, left: l, right: r })
    return { kind: 'internal', hash }
  }

  /**
   * A stored record of a node of `length` bytes, its version header written: a view of a slab
   * shared by the commit's records (a typed array of its own per node, past V8's on-heap size,
   * was a separate backing store each, the commit's costliest line). The records are only
   * read by the batch; nothing writes a slab's bytes twice.
   */
  #record(length: number): Uint8Array {
    const size = 8 + length
    if (this.slabAt + size > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB_BYTES, size))
      this.slabAt = 0
    }
    const record = this.slab.subarray(this.slabAt, this.slabAt + size)
    this.slabAt += size
    record.set(this.header)
    return record
  }

  #create(hash: Uint8Array, record: Uint8Array, decoded: TreeNode): void {
    const k = hashKey(hash)
    this.created.push({ k, hash, record })
    this.remember(k, decoded)
  }
}

/** `changes` by path, sorted, a later change of the same entry winning; values copied. */
function pathChanges(changes: Iterable<StateChange>): PathChange[] {
  const byPath = new Map<string, PathChange>()
  for (const c of changes) {
    if (c.value !== null && !(c.value instanceof Uint8Array)) {
      throw new StateError('STATE_INVALID_ARGUMENT', 'a value is a Uint8Array (or null to delete)')
    }
    const path = keyPath(c.table, c.key)
    byPath.set(hashKey(path), { path, value: c.value === null ? null : c.value.slice() })
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path))
}

/** Does one of `changes[lo..hi)` change the entry at `path`? */
function replaces(changes: readonly PathChange[], lo: number, hi: number, path: Uint8Array) {
  for (let i = lo; i < hi; i++) if (equalBytes((changes[i] as PathChange).path, path)) return true
  return false
}

function subtreeOf(hash: Uint8Array): Subtree {
  return isEmptyHash(hash) ? EMPTY : { kind: 'unknown', hash }
}

function puts(
  changes: readonly PathChange[],
  lo: number,
  hi: number,
): { path: Uint8Array; value: Uint8Array }[] {
  const out: { path: Uint8Array; value: Uint8Array }[] = []
  for (let i = lo; i < hi; i++) {
    const c = changes[i]!
    if (c.value !== null) out.push({ path: c.path, value: c.value })
  }
  return out
}

/** A plain Uint8Array copy (LevelDB hands out Buffers, whose `slice` shares memory). */
function plainCopy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes)
}

function decodeNode(stored: Uint8Array): TreeNode {
  const bytes = new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength)
  if (bytes[0] === LEAF && bytes.length >= 1 + HASH_LEN) {
    return { leaf: true, path: bytes.slice(1, 1 + HASH_LEN), value: bytes.slice(1 + HASH_LEN) }
  }
  if (bytes[0] === INTERNAL && bytes.length === 1 + 2 * HASH_LEN) {
    return { leaf: false, left: bytes.slice(1, 1 + HASH_LEN), right: bytes.slice(1 + HASH_LEN) }
  }
  throw corrupt('a stored tree node that is neither a leaf nor an internal node')
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
