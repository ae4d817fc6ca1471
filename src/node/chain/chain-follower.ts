/**
 * `--consensus follow`: the node keeps its own copy of another node's chain. It polls the
 * followed node's `GET /chain/head`, fetches each block it lacks (`GET /chain/block/<n>`),
 * re-executes the body on its own state and checks that the header it computes hashes to the
 * one served. A block that does not (another state root, another receipt) means the two nodes
 * disagree about the chain: the follower says so in one error line and stops following, and
 * keeps serving what it had verified. Transactions it receives are forwarded to the followed
 * node, which orders them.
 *
 * Nothing the followed node sends is trusted: every block is executed here; the only thing
 * taken on its word is which transactions are in which block, which is what following means.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import type { Component } from '../../core/lifecycle.ts'
import type { Logger } from '../../core/logger.ts'
import { bodyFromJson, headerToJson } from '../../state/block.ts'
import type { StateExecutor } from '../../state/executor.ts'
import type { ExecutedBlock } from '../../state/model.ts'
import { ChainError, RemoteChainError } from './chain-api.ts'

export interface ChainFollowerOptions {
  readonly executor: StateExecutor
  /** The followed node's gateway (no trailing slash). */
  readonly url: string
  /** Pause between two polls of the head, milliseconds. */
  readonly pollMs: number
  readonly logger: Logger
  /** How long one request to the followed node may take, milliseconds (default 10 s). */
  readonly requestTimeoutMs?: number
}

export interface ChainFollower extends Component {
  /** Forwards an encoded transaction; resolves with the digest (hex) the followed node gave. */
  submit(bytes: Uint8Array, signal?: AbortSignal): Promise<string>
  /** Whether the followed node holds the transaction pending (asked, not known here). */
  pending(digestHex: string, signal?: AbortSignal): Promise<boolean>
  onBlock(listener: (block: ExecutedBlock) => void): () => void
  /** Set once a block did not re-execute to the served header: following stopped. */
  readonly diverged: string | undefined
}

/** Blocks fetched and executed in one poll at most, so that a stop is never far off. */
const BLOCKS_PER_POLL = 64

export function createChainFollower(options: ChainFollowerOptions): ChainFollower {
  const { executor, url, logger: log } = options
  const timeoutMs = options.requestTimeoutMs ?? 10_000
  const listeners = new Set<(block: ExecutedBlock) => void>()
  const stopping = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  let polling: Promise<void> = Promise.resolve()
  let diverged: string | undefined
  let unreachableSince: number | undefined

  const signalOf = (signal?: AbortSignal) =>
    AbortSignal.any([
      stopping.signal,
      AbortSignal.timeout(timeoutMs),
      ...(signal === undefined ? [] : [signal]),
    ])

  /** GET or POST to the followed node; its JSON errors come back as RemoteChainError. */
  const call = async (path: string, init: RequestInit = {}): Promise<unknown> => {
    let res: Response
    try {
      res = await fetch(`${url}${path}`, init)
    } catch (error) {
      if (init.signal?.aborted && stopping.signal.aborted) throw error
      throw new ChainError(
        'CHAIN_UPSTREAM',
        `the followed node ${url} did not answer: ${(error as Error).message}`,
        { cause: error },
      )
    }
    const text = await res.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw new ChainError('CHAIN_UPSTREAM', `the followed node answered ${res.status}, not JSON`)
    }
    if (res.ok) return body
    const error = (body as { error?: { code?: unknown; message?: unknown } })?.error
    if (typeof error?.code === 'string' && typeof error.message === 'string')
      throw new RemoteChainError(error.code, error.message, res.status)
    throw new ChainError('CHAIN_UPSTREAM', `the followed node answered ${res.status}`)
  }

  /** Fetches, executes and checks the blocks after the local head, up to the followed one's. */
  const catchUp = async (): Promise<void> => {
    const head = (await call('/chain/head', { signal: signalOf() })) as {
      chainId?: unknown
      height?: unknown
    }
    if (head.chainId !== executor.head.chainId) {
      diverge(
        `the followed node runs chain ${String(head.chainId)}, this genesis is chain ${executor.head.chainId}`,
      )
      return
    }
    if (typeof head.height !== 'number')
      throw new ChainError('CHAIN_UPSTREAM', 'a head without a height')
    const until = Math.min(head.height, executor.head.height + BLOCKS_PER_POLL)
    while (executor.head.height < until && !stopping.signal.aborted) {
      const height = executor.head.height + 1
      const served = (await call(`/chain/block/${height}`, { signal: signalOf() })) as {
        hash?: unknown
        header?: unknown
      }
      let block: ExecutedBlock
      try {
        block = await executor.execute(bodyFromJson(served))
      } catch (error) {
        diverge(
          `block ${height} from the followed node does not execute here: ${(error as Error).message}`,
        )
        return
      }
      const ours = bytesToHex(block.hash)
      if (served.hash !== ours) {
        diverge(
          `block ${height} re-executed to header ${ours}, the followed node serves ${String(served.hash)}`,
          { ours: headerToJson(block.header), theirs: served.header },
        )
        return
      }
      for (const listener of [...listeners]) listener(block)
    }
  }

  const diverge = (message: string, details: Record<string, unknown> = {}) => {
    diverged = message
    log.error({ follow: url, ...details }, `stopped following: ${message}`)
  }

  const poll = async () => {
    try {
      await catchUp()
      if (unreachableSince !== undefined)
        log.info({ follow: url }, 'the followed node answers again')
      unreachableSince = undefined
    } catch (error) {
      if (stopping.signal.aborted) return
      // Unreachable or answering nonsense for now: said once, then retried quietly.
      if (unreachableSince === undefined) {
        unreachableSince = Date.now()
        log.warn({ err: error, follow: url }, 'cannot follow for now; retrying')
      }
    }
  }

  const arm = () => {
    if (stopping.signal.aborted || diverged !== undefined) return
    timer = setTimeout(() => {
      polling = poll().finally(arm)
    }, options.pollMs)
  }

  return {
    name: 'chain follower',
    get diverged() {
      return diverged
    },
    async submit(bytes, signal) {
      const answer = (await call('/chain/tx', {
        method: 'POST',
        headers: { 'content-type': 'application/cbor' },
        body: bytes as Uint8Array<ArrayBuffer>,
        signal: signalOf(signal),
      })) as { digest?: unknown }
      if (typeof answer.digest !== 'string' || !/^[0-9a-f]{64}$/.test(answer.digest))
        throw new ChainError('CHAIN_UPSTREAM', 'the followed node answered without a digest')
      return answer.digest
    },
    async pending(digestHex, signal) {
      try {
        const answer = (await call(`/chain/tx/${digestHex}`, { signal: signalOf(signal) })) as {
          status?: unknown
        }
        return answer.status === 'pending'
      } catch (error) {
        if (error instanceof RemoteChainError && error.code === 'CHAIN_TX_UNKNOWN') return false
        throw error
      }
    },
    onBlock(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    start() {
      log.info({ follow: url, height: executor.head.height }, 'following')
      polling = poll().finally(arm)
    },
    async stop() {
      stopping.abort(new Error('the follower is stopping'))
      clearTimeout(timer)
      await polling
    },
  }
}
