/**
 * The light client's I/O: sources (nodes' gateways) that serve checkpoint runs and state
 * entries, and `LightSync`, which walks a LightClient to the newest checkpoint and answers
 * queries with entries proven against it, failing over from source to source.
 *
 * Failover: sources are asked in order. A source that serves something that does not verify
 * (a CheckpointError, or a LightError other than LIGHT_SOURCE_FAILED: a forged checkpoint, a
 * wrong proof, a malformed answer) is dropped for good, its error recorded in `failures`; one
 * that cannot be reached (LIGHT_SOURCE_FAILED: network, HTTP status, timeout) is passed over for
 * this call only. When no source is left the call throws LIGHT_NO_SOURCE, with this call's
 * failures in `details.failures`. An aborted signal ends the call with its reason, blaming no
 * source.
 *
 * Sync: ask a source for the run after the anchor's epoch, apply it, and ask again until a run
 * brings no handoff (that source's newest epoch reached, with its newest checkpoint inside it).
 * A source's failure mid-sync keeps what was verified before it; the next source continues from
 * there. Then every other source is asked once from where the walk ended, so one source that
 * withholds newer checkpoints cannot hold the client back while another serves them.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  CheckpointError,
  checkpointRunFromJson,
  type ServedCheckpoint,
} from '../checkpoint/index.ts'
import type { KvStore } from '../kv/kv-store.ts'
import { StateError } from '../state/errors.ts'
import type {
  AccountEntry,
  Address,
  CommitteeEntry,
  NodeEntry,
  NodeKey,
  TableName,
} from '../state/model.ts'
import { isTableName, type ReputationEntry, type TableEntries, tableKeys } from '../state/tables.ts'
import { LightError } from './errors.ts'
import type { LightClient, LightHead } from './light-client.ts'
import { saveLightHead } from './light-head-store.ts'
import { type LightNodeRecord, nodeRecordKeys, nodeRecordOf } from './light-queries.ts'

/** Where checkpoints and proven state entries come from (a node's gateway, a test double). */
export interface LightSource {
  /** Names the source in failures and progress (a URL for HTTP sources). */
  readonly id: string
  /** The run after the client's anchor (`GET /chain/checkpoints?from=<epoch>`). */
  checkpoints(fromEpoch: number, signal?: AbortSignal): Promise<readonly ServedCheckpoint[]>
  /** The entry with its proof against the state after block `height` (a ServedState, unchecked). */
  state(table: TableName, key: Uint8Array, height: number, signal?: AbortSignal): Promise<unknown>
}

/** One source's failure, as recorded. */
export interface SourceFailure {
  readonly source: string
  readonly code: string
  readonly message: string
}

export interface LightProgress {
  readonly source: string
  readonly epoch: number
  readonly height: number
  /** Checkpoints that moved the client (handoffs, newer heads) in this sync so far. */
  readonly checkpoints: number
}

export interface LightSyncOptions {
  /** Called after every run that moved the client. */
  readonly onProgress?: (progress: LightProgress) => void
  /** Where to persist the client after every run that moved it (light-head-store.ts). */
  readonly store?: KvStore
}

export interface LightSyncResult {
  readonly epoch: number
  readonly height: number
  readonly stateRoot: Uint8Array
  /** Checkpoints verified by this sync that moved the client (handoffs, newer heads). */
  readonly checkpoints: number
  /** The source whose newest checkpoint this is. */
  readonly source: string
}

/** A proven entry's bytes (undefined: proven absent) and who served the proof. */
export interface ProvenValue {
  readonly value: Uint8Array | undefined
  readonly height: number
  readonly stateRoot: Uint8Array
  readonly source: string
}

// --- HTTP sources -----------------------------------------------------------------------------

/** How a key is written in `GET /chain/state/<table>/<key>` (parseTableKey's syntax). */
export function tableKeyText(table: TableName, key: Uint8Array): string {
  switch (table) {
    case 'metadata':
      return 'chain'
    case 'committees':
    case 'epochTotals':
      if (key.length !== 8)
        throw new StateError('STATE_INVALID_ARGUMENT', 'an epoch key is 8 bytes')
      return new DataView(key.buffer, key.byteOffset, 8).getBigUint64(0).toString()
    case 'params':
      return new TextDecoder().decode(key)
    case 'prices':
      return String(key[0])
    default:
      return bytesToHex(key)
  }
}

export interface HttpLightSourceOptions {
  /** Give up on one request after this long: LIGHT_SOURCE_FAILED (default 30 s). */
  readonly timeoutMs?: number
  /** Refuse an answer over this many bytes: LIGHT_SOURCE_FAILED (default 64 MiB). */
  readonly maxBytes?: number
}

const failed = (message: string, options?: ConstructorParameters<typeof LightError>[2]) =>
  new LightError('LIGHT_SOURCE_FAILED', message, options)

async function readBounded(response: Response, maxBytes: number, what: string): Promise<string> {
  const body = response.body
  if (body === null) return ''
  const reader = body.getReader()
  const parts: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > maxBytes) {
      await reader.cancel().catch(() => {})
      throw failed(`${what}: an answer over ${maxBytes} bytes`)
    }
    parts.push(value)
  }
  const all = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.length
  }
  return new TextDecoder().decode(all)
}

/** `{"error":{"code","message"}}` of an error answer, or the status alone. */
function errorOf(status: number, text: string): { code?: string; message: string } {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error
    if (typeof e?.code === 'string') {
      return { code: e.code, message: typeof e.message === 'string' ? e.message : e.code }
    }
  } catch {}
  return { message: `HTTP ${status}` }
}

/**
 * A node's HTTP gateway as a source: `GET <base>/chain/checkpoints?from=<epoch>` and
 * `GET <base>/chain/state/<table>/<key>?height=<h>`, with `fetchImpl` (default: the global
 * fetch; isomorphic).
 */
export function httpLightSource(
  baseUrl: string,
  fetchImpl: typeof fetch = fetch,
  options: HttpLightSourceOptions = {},
): LightSource {
  const base = baseUrl.replace(/\/+$/, '')
  const timeoutMs = options.timeoutMs ?? 30_000
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024

  async function getJson(path: string, signal: AbortSignal | undefined): Promise<unknown> {
    const url = `${base}${path}`
    const timeout = AbortSignal.timeout(timeoutMs)
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
    let text: string
    let response: Response
    try {
      response = await fetchImpl(url, { signal: combined, headers: { accept: 'application/json' } })
      text = await readBounded(response, maxBytes, url)
    } catch (e) {
      signal?.throwIfAborted()
      if (e instanceof LightError) throw e
      throw failed(`${url}: ${(e as Error).message}`, { cause: e })
    }
    if (!response.ok) {
      const { code, message } = errorOf(response.status, text)
      throw failed(
        `${url}: ${response.status}${code === undefined ? '' : ` ${code}`}: ${message}`,
        {
          details: { status: response.status, ...(code === undefined ? {} : { code }) },
        },
      )
    }
    try {
      return JSON.parse(text) as unknown
    } catch (e) {
      return { notJson: (e as Error).message }
    }
  }

  return {
    id: base,
    async checkpoints(fromEpoch, signal) {
      const json = await getJson(`/chain/checkpoints?from=${fromEpoch}`, signal)
      if (typeof json === 'object' && json !== null && 'notJson' in json) {
        throw new CheckpointError('CHECKPOINT_MALFORMED', `${base}: the run is not JSON`)
      }
      return checkpointRunFromJson(json)
    },
    async state(table, key, height, signal) {
      const keyText = encodeURIComponent(tableKeyText(table, key))
      const json = await getJson(`/chain/state/${table}/${keyText}?height=${height}`, signal)
      if (typeof json === 'object' && json !== null && 'notJson' in json) {
        throw new LightError('LIGHT_MALFORMED', `${base}: the state answer is not JSON`)
      }
      return json
    },
  }
}

// --- failover ---------------------------------------------------------------------------------

/** Whether `e` says the source served something false (drop it for good), not just failed. */
function isForgery(e: unknown): boolean {
  return (
    e instanceof CheckpointError || (e instanceof LightError && e.code !== 'LIGHT_SOURCE_FAILED')
  )
}

function failureOf(source: string, e: unknown): SourceFailure {
  const code =
    e instanceof CheckpointError || e instanceof LightError ? e.code : 'LIGHT_SOURCE_FAILED'
  return { source, code, message: e instanceof Error ? e.message : String(e) }
}

function noSource(what: string, failures: readonly SourceFailure[]): LightError {
  const list = failures.map((f) => `${f.source}: ${f.code}: ${f.message}`).join('; ')
  return new LightError(
    'LIGHT_NO_SOURCE',
    `no source left to ${what}${list === '' ? '' : ` (${list})`}`,
    { details: { failures: failures.map((f) => ({ ...f })) } },
  )
}

/** A failure to persist, passed through failover untouched (no source is blamed for it). */
class StoreFailure {
  readonly cause: unknown
  constructor(cause: unknown) {
    this.cause = cause
  }
}

export class LightSync {
  readonly client: LightClient
  readonly #sources: readonly LightSource[]
  readonly #options: LightSyncOptions
  readonly #dropped = new Map<string, SourceFailure>()
  readonly #failures: SourceFailure[] = []
  #saved = -1

  constructor(
    client: LightClient,
    sources: readonly LightSource[],
    options: LightSyncOptions = {},
  ) {
    this.client = client
    this.#sources = sources
    this.#options = options
  }

  /** Every failure recorded so far, oldest first. */
  get failures(): readonly SourceFailure[] {
    return this.#failures
  }

  /** The ids of the sources dropped for serving something false. */
  get dropped(): readonly string[] {
    return [...this.#dropped.keys()]
  }

  /**
   * Runs `attempt` on each usable source in turn until one succeeds; records and classifies
   * each failure; LIGHT_NO_SOURCE when none is left.
   */
  async #failover<T>(
    what: string,
    signal: AbortSignal | undefined,
    attempt: (source: LightSource) => Promise<T>,
  ): Promise<T> {
    const failures: SourceFailure[] = []
    for (const source of this.#sources) {
      const earlier = this.#dropped.get(source.id)
      if (earlier !== undefined) {
        failures.push(earlier)
        continue
      }
      signal?.throwIfAborted()
      try {
        return await attempt(source)
      } catch (e) {
        signal?.throwIfAborted()
        // The store failing is ours, not the source's.
        if (e instanceof StoreFailure) throw e.cause
        const failure = failureOf(source.id, e)
        failures.push(failure)
        this.#failures.push(failure)
        if (isForgery(e)) this.#dropped.set(source.id, failure)
      }
    }
    throw noSource(what, failures)
  }

  async #persist(): Promise<void> {
    const { store } = this.#options
    if (store === undefined || this.#saved === this.client.accepted) return
    try {
      await saveLightHead(store, this.client)
    } catch (e) {
      throw new StoreFailure(e)
    }
    this.#saved = this.client.accepted
  }

  /** Walks the client to the newest checkpoint a source serves (see the top). */
  async sync(signal?: AbortSignal): Promise<LightSyncResult> {
    const start = this.client.accepted
    let result = await this.#failover('sync from', signal, (source) =>
      this.#walk(source, start, signal),
    )
    // A source may withhold what it has (answer a short run, say it is at its newest): every
    // other source is asked once from where the walk ended, and one that is ahead takes it on.
    // One there that cannot be reached changes nothing; one that serves a forgery is dropped.
    for (const source of this.#sources) {
      if (source.id === result.source || this.#dropped.has(source.id)) continue
      const before = this.client.accepted
      try {
        const further = await this.#walk(source, start, signal)
        if (this.client.accepted > before) result = further
      } catch (e) {
        signal?.throwIfAborted()
        if (e instanceof StoreFailure) throw e.cause
        const failure = failureOf(source.id, e)
        this.#failures.push(failure)
        if (isForgery(e)) this.#dropped.set(source.id, failure)
      }
    }
    return { ...result, checkpoints: this.client.accepted - start }
  }

  /** Walks the client with one source's runs until a run brings no handoff. */
  async #walk(source: LightSource, start: number, signal?: AbortSignal): Promise<LightSyncResult> {
    const client = this.client
    for (;;) {
      const run = await source.checkpoints(client.anchor.body.epoch, signal)
      signal?.throwIfAborted()
      const before = client.accepted
      let handoffs: number
      try {
        handoffs = client.applyRun(run).handoffs
      } finally {
        // What verified before a bad item is kept, and stored.
        if (client.accepted > before) {
          await this.#persist()
          this.#options.onProgress?.({
            source: source.id,
            epoch: client.epoch,
            height: client.height,
            checkpoints: client.accepted - start,
          })
        }
      }
      if (handoffs === 0) {
        return {
          epoch: client.epoch,
          height: client.height,
          stateRoot: client.stateRoot,
          checkpoints: client.accepted - start,
          source: source.id,
        }
      }
    }
  }

  /**
   * The bytes of (table, key) proven at `at` (default: the head now), from the first source
   * whose proof verifies.
   */
  async value(
    table: TableName,
    key: Uint8Array,
    signal?: AbortSignal,
    at: LightHead = this.client.head,
  ): Promise<ProvenValue> {
    if (!isTableName(table)) throw new StateError('STATE_INVALID_ARGUMENT', `no table ${table}`)
    if (!(key instanceof Uint8Array) || key.length === 0) {
      throw new StateError('STATE_INVALID_ARGUMENT', 'a key is at least one byte')
    }
    return this.#failover(`prove ${table}/${bytesToHex(key)}`, signal, async (source) => {
      const served = await source.state(table, key, at.body.height, signal)
      const value = this.client.verifyValue(table, key, served, at)
      return { value, height: at.body.height, stateRoot: at.body.stateRoot, source: source.id }
    })
  }

  /** The decoded entry of (table, key) at the head, or undefined when proven absent. */
  async entry<T extends TableName>(
    table: T,
    key: Uint8Array,
    signal?: AbortSignal,
    at: LightHead = this.client.head,
  ): Promise<TableEntries[T] | undefined> {
    if (!isTableName(table)) throw new StateError('STATE_INVALID_ARGUMENT', `no table ${table}`)
    return this.#failover(`prove ${table}/${bytesToHex(key)}`, signal, async (source) => {
      const served = await source.state(table, key, at.body.height, signal)
      return this.client.verifyEntry(table, key, served, at)
    })
  }

  account(address: Address, signal?: AbortSignal): Promise<AccountEntry | undefined> {
    return this.entry('accounts', address, signal)
  }

  committee(epoch: number, signal?: AbortSignal): Promise<CommitteeEntry | undefined> {
    return this.entry('committees', tableKeys.committee(epoch), signal)
  }

  /**
   * The node's record at the head: its entry, its reputation, the head epoch's committee entry
   * and the minimum stake, each proven at the same head.
   */
  async nodeRecord(nodeKey: NodeKey, signal?: AbortSignal): Promise<LightNodeRecord> {
    const at = this.client.head
    const [committee, node, reputation, minimum] = await Promise.all(
      nodeRecordKeys(nodeKey, at.body.epoch).map(({ table, key }) =>
        this.entry(table, key, signal, at),
      ),
    )
    return nodeRecordOf(nodeKey, at.body, {
      committee: committee as CommitteeEntry | undefined,
      node: node as NodeEntry | undefined,
      reputation: reputation as ReputationEntry | undefined,
      minimumNodeStake: (minimum as TableEntries['params'] | undefined)?.value,
    })
  }

  /** The node's record if it is staked and active in the head's epoch; LIGHT_NOT_STAKED if not. */
  async stakedNode(nodeKey: NodeKey, signal?: AbortSignal): Promise<LightNodeRecord> {
    const record = await this.nodeRecord(nodeKey, signal)
    if (!record.staked) {
      throw new LightError(
        'LIGHT_NOT_STAKED',
        `node ${bytesToHex(nodeKey)} is not staked and active in epoch ${record.epoch}`,
        { details: { nodeKey: bytesToHex(nodeKey), epoch: record.epoch } },
      )
    }
    return record
  }
}
