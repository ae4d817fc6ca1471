/**
 * `--consensus follow`: the node keeps its own copy of another node's chain. It polls the
 * followed node's `GET /chain/head`, fetches each block it lacks (`GET /chain/block/<n>`),
 * re-executes the body on its own state and checks that the header it computes hashes to the
 * one served. A block that does not (another state root, another receipt) means the two nodes
 * disagree about the chain: the follower says so in one error line and stops following, and
 * keeps serving what it had verified. Transactions it receives are forwarded to the followed
 * node, which orders them.
 *
 * Nothing the followed node sends is trusted: every block is executed here. With `attested`
 * (committee chains), which transactions are in which block is not taken on its word either:
 * each block must come with the committee's attestation (an aggregate BLS signature of n − f
 * members of the epoch's committee, read from this node's own state), checked before the block
 * is executed; a block served without one is waited for, one with a bad one is the gateway's
 * failure (the next is tried). Without it, the block order is what following means.
 *
 * The node may be given several gateways to follow (the committee's): it follows one at a time
 * and moves to the next, saying which and why, when the one it follows does not answer, or has
 * not advanced for `stallMs` while another one is ahead of it (a committee member cut off from
 * the others answers but never advances). Blocks are checked the same whichever node served
 * them, so moving costs nothing but the requests. With one gateway it retries that one.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import type { AttestationStore } from '../../consensus/attestation/attestation-store.ts'
import type { BlockAttestation } from '../../consensus/attestation/block-attestation.ts'
import {
  checkServedAttestation,
  committeeKeys,
} from '../../consensus/attestation/committee-keys.ts'
import type { Component } from '../../core/lifecycle.ts'
import type { Logger } from '../../core/logger.ts'
import { bodyFromJson, headerToJson } from '../../state/block.ts'
import type { StateExecutor } from '../../state/executor.ts'
import type { ExecutedBlock } from '../../state/model.ts'
import { decodeTransactionWithDigest } from '../../state/transaction.ts'
import { ChainError, RemoteChainError } from './chain-api.ts'

export interface ChainFollowerOptions {
  readonly executor: StateExecutor
  /** The gateways of the nodes to follow (no trailing slash), tried in this order. */
  readonly urls: readonly string[]
  /** Pause between two polls of the head, milliseconds. */
  readonly pollMs: number
  readonly logger: Logger
  /**
   * Committee chains: every block must carry a valid attestation of the epoch's committee, kept
   * in `store` once checked (so that this node serves it in turn).
   */
  readonly attested?: { readonly store: Pick<AttestationStore, 'put'> }
  /**
   * Checkpoints (src/checkpoint): after each block, `take` gets the signed checkpoint the
   * gateway served with it (hex), if any; 'missing' means the block completes a checkpoint this
   * node has no aggregate of yet, and the block is asked for again a few times (the committee
   * assembles the checkpoint's signatures alongside the block's).
   */
  readonly checkpoints?: {
    take(block: ExecutedBlock, served: string | undefined): Promise<'done' | 'missing'>
  }
  /** Transactions go to this many gateways (default 1): committee members each take a copy. */
  readonly submitCopies?: number
  /** How long one request to the followed node may take, milliseconds (default 10 s). */
  readonly requestTimeoutMs?: number
  /**
   * How long the followed node's head may stay put before the other gateways are asked whether
   * they are ahead, milliseconds (default 10 s; only with several gateways).
   */
  readonly stallMs?: number
}

export interface ChainFollower extends Component {
  /** Forwards an encoded transaction; resolves with the digest (hex) the followed node gave. */
  submit(bytes: Uint8Array, signal?: AbortSignal): Promise<string>
  /** Whether the followed node holds the transaction pending (asked, not known here). */
  pending(digestHex: string, signal?: AbortSignal): Promise<boolean>
  onBlock(listener: (block: ExecutedBlock) => void): () => void
  /** Set once a block did not re-execute to the served header: following stopped. */
  readonly diverged: string | undefined
  /** The gateway followed now (one of `urls`). */
  readonly following: string
}

/** Blocks fetched and executed in one poll at most, so that a stop is never far off. */
const BLOCKS_PER_POLL = 64
/** A checkpoint the gateway had no aggregate of yet is asked again at each poll for this long
 * (the committee may assemble its signatures well after the block under load), at most this
 * many heights at once. */
const CHECKPOINT_RETRY_FOR_MS = 300_000
const MAX_MISSING_CHECKPOINTS = 64

export function createChainFollower(options: ChainFollowerOptions): ChainFollower {
  const { executor, logger: log } = options
  const urls = [...options.urls]
  if (urls.length === 0) throw new ChainError('CHAIN_UPSTREAM', 'no gateway to follow')
  const timeoutMs = options.requestTimeoutMs ?? 10_000
  const stallMs = options.stallMs ?? 10_000
  const submitCopies = options.submitCopies ?? 1
  let current = 0
  /** Polls that failed in a row: past one per gateway, failures are no longer logged. */
  let failuresInARow = 0
  /** The followed node's last head height, and when it last went up. */
  let seenHeight = -1
  let advancedAt = Date.now()
  const listeners = new Set<(block: ExecutedBlock) => void>()
  const stopping = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  let polling: Promise<void> = Promise.resolve()
  let diverged: string | undefined

  const signalOf = (signal?: AbortSignal) =>
    AbortSignal.any([
      stopping.signal,
      AbortSignal.timeout(timeoutMs),
      ...(signal === undefined ? [] : [signal]),
    ])

  /** GET or POST to a followed node; its JSON errors come back as RemoteChainError. */
  const call = async (
    path: string,
    init: RequestInit = {},
    url = urls[current]!,
  ): Promise<unknown> => {
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
      throw new ChainError(
        'CHAIN_UPSTREAM',
        `the followed node ${url} answered ${res.status}, not JSON`,
      )
    }
    if (res.ok) return body
    const error = (body as { error?: { code?: unknown; message?: unknown } })?.error
    if (typeof error?.code === 'string' && typeof error.message === 'string')
      throw new RemoteChainError(error.code, error.message, res.status)
    throw new ChainError('CHAIN_UPSTREAM', `the followed node ${url} answered ${res.status}`)
  }

  /**
   * A request that any of the gateways may answer (a transaction, a pending check): the one
   * followed first, then the others in turn while they do not answer at all. An answer, even a
   * refusal, is final.
   */
  const callAny = async (path: string, init: () => RequestInit): Promise<unknown> => {
    let lastError: unknown
    for (let i = 0; i < urls.length; i++) {
      const url = urls[(current + i) % urls.length]!
      try {
        return await call(path, init(), url)
      } catch (error) {
        if (!(error instanceof ChainError) || error.code !== 'CHAIN_UPSTREAM') throw error
        if (stopping.signal.aborted) throw error
        lastError = error
      }
    }
    throw lastError
  }

  /** Follows gateway `next` from now on, and says which and why. */
  const moveTo = (next: number, why: string) => {
    const from = urls[current]!
    current = next
    seenHeight = -1
    advancedAt = Date.now()
    log.warn(
      { follow: urls[current], from },
      `following ${urls[current]} instead of ${from}: ${why}`,
    )
  }

  /**
   * When the followed node has not advanced for `stallMs`, asks the other gateways for their
   * heads and moves to the highest one if it is ahead; otherwise waits another `stallMs`
   * (an idle chain does not advance anywhere, and that is no reason to move).
   */
  const checkStall = async (): Promise<void> => {
    if (urls.length < 2 || Date.now() - advancedAt < stallMs) return
    advancedAt = Date.now()
    let best: { index: number; height: number } | undefined
    for (let i = 1; i < urls.length; i++) {
      const index = (current + i) % urls.length
      try {
        const head = (await call('/chain/head', { signal: signalOf() }, urls[index])) as {
          chainId?: unknown
          height?: unknown
        }
        if (head.chainId !== executor.head.chainId || typeof head.height !== 'number') continue
        if (head.height > seenHeight && head.height > (best?.height ?? -1))
          best = { index, height: head.height }
      } catch {
        // A gateway that does not answer is no better than the one followed.
      }
      if (stopping.signal.aborted) return
    }
    if (best !== undefined)
      moveTo(
        best.index,
        `it has stayed at height ${seenHeight} for ${stallMs} ms and ${urls[best.index]} is at ${best.height}`,
      )
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
    if (head.height > seenHeight) {
      seenHeight = head.height
      advancedAt = Date.now()
    }
    await retryCheckpoints()
    const until = Math.min(head.height, executor.head.height + BLOCKS_PER_POLL)
    while (executor.head.height < until && !stopping.signal.aborted) {
      const height = executor.head.height + 1
      const served = (await call(`/chain/block/${height}`, { signal: signalOf() })) as {
        hash?: unknown
        header?: unknown
        attestation?: unknown
        checkpoint?: unknown
      }
      const attestation = await checkAttestation(height, served)
      if (attestation === 'wait') return
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
      if (attestation !== undefined) await options.attested?.store.put(attestation)
      for (const listener of [...listeners]) listener(block)
      await takeCheckpoint(block, served)
    }
  }

  /** Blocks that complete a checkpoint still unsigned here: height → block, asked until. */
  const missingCheckpoints = new Map<number, { block: ExecutedBlock; until: number }>()
  const checkpointHex = (s: { checkpoint?: unknown }) =>
    typeof s.checkpoint === 'string' ? s.checkpoint : undefined

  const takeCheckpoint = async (block: ExecutedBlock, served: { checkpoint?: unknown }) => {
    const take = options.checkpoints?.take
    if (take === undefined) return
    if ((await take(block, checkpointHex(served))) === 'missing') {
      const height = block.header.height
      log.debug({ follow: urls[current], height }, 'no signed checkpoint yet: asking again later')
      if (missingCheckpoints.size >= MAX_MISSING_CHECKPOINTS) {
        missingCheckpoints.delete(missingCheckpoints.keys().next().value as number)
      }
      missingCheckpoints.set(height, { block, until: Date.now() + CHECKPOINT_RETRY_FOR_MS })
    }
  }

  /** Asks the followed node again for the checkpoints it had not signed yet. */
  const retryCheckpoints = async (): Promise<void> => {
    const take = options.checkpoints?.take
    if (take === undefined) return
    for (const [height, { block, until }] of [...missingCheckpoints]) {
      if (stopping.signal.aborted) return
      const again = (await call(`/chain/block/${height}`, { signal: signalOf() })) as {
        checkpoint?: unknown
      }
      if ((await take(block, checkpointHex(again))) === 'done') missingCheckpoints.delete(height)
      else if (Date.now() > until) {
        missingCheckpoints.delete(height)
        log.warn({ follow: urls[current], height }, 'gave up waiting for a signed checkpoint')
      }
    }
  }

  /**
   * The committee's BLS keys, read once per epoch: the check caches the decoded keys by the
   * array's identity, so one array an epoch spares a state read per member and a decode per
   * block.
   */
  let keysEpoch = -1
  let keys: Promise<readonly Uint8Array[]> | undefined
  const committeeKeysOf = (epoch: number): Promise<readonly Uint8Array[]> => {
    if (keys === undefined || keysEpoch !== epoch) {
      keysEpoch = epoch
      keys = committeeKeys(executor, epoch)
      keys.catch(() => {
        if (keysEpoch === epoch) keys = undefined // read again next time
      })
    }
    return keys
  }

  /** The height last waited for an attestation of (said once). */
  let waitingFor = -1

  /**
   * With `attested`: the served block's attestation, checked against the committee of the
   * epoch it was ordered in (this node's head epoch, before the block); 'wait' when the gateway
   * has none yet. A bad one throws CHAIN_UPSTREAM (the gateway's failure: the next is tried).
   */
  const checkAttestation = async (
    height: number,
    served: { hash?: unknown; attestation?: unknown },
  ): Promise<BlockAttestation | 'wait' | undefined> => {
    if (options.attested === undefined) return undefined
    if (served.attestation === undefined || served.attestation === null) {
      if (waitingFor !== height) {
        waitingFor = height
        log.debug({ follow: urls[current], height }, 'waiting for the block attestation')
      }
      return 'wait'
    }
    try {
      if (typeof served.attestation !== 'string' || typeof served.hash !== 'string') {
        throw new Error('the attestation or the hash is not hex')
      }
      return await checkServedAttestation(
        executor,
        executor.head.epoch,
        height,
        hexToBytes(served.hash),
        hexToBytes(served.attestation),
        committeeKeysOf,
      )
    } catch (error) {
      throw new ChainError(
        'CHAIN_UPSTREAM',
        `block ${height} from ${urls[current]} is not attested by the committee: ${(error as Error).message}`,
        { cause: error },
      )
    }
  }

  const diverge = (message: string, details: Record<string, unknown> = {}) => {
    diverged = message
    log.error({ follow: urls[current], ...details }, `stopped following: ${message}`)
  }

  const poll = async () => {
    try {
      await catchUp()
      if (failuresInARow > 0) log.info({ follow: urls[current] }, 'the followed node answers again')
      failuresInARow = 0
      if (diverged === undefined && !stopping.signal.aborted) await checkStall()
    } catch (error) {
      if (stopping.signal.aborted) return
      failuresInARow++
      if (urls.length === 1) {
        // Unreachable or answering nonsense for now: said once, then retried quietly.
        if (failuresInARow === 1)
          log.warn({ err: error, follow: urls[current] }, 'cannot follow for now; retrying')
        return
      }
      // Another gateway may answer: the next one is followed from the next poll on. Once each
      // has failed in a row, the round continues without a line per failure.
      const why = `it failed: ${(error as Error).message}`
      if (failuresInARow <= urls.length) moveTo((current + 1) % urls.length, why)
      else {
        current = (current + 1) % urls.length
        seenHeight = -1
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
    get following() {
      return urls[current]!
    },
    async submit(bytes, signal) {
      // Copies to the next gateways as well (committee members): whichever member batches it
      // first orders it, the others' copies are left out of the blocks (duplicates cost
      // nothing), and a member that crashes with it unbatched loses nothing.
      for (let i = 1; i < Math.min(submitCopies, urls.length); i++) {
        const url = urls[(current + i) % urls.length]!
        call(
          '/chain/tx',
          {
            method: 'POST',
            headers: { 'content-type': 'application/cbor' },
            body: bytes as Uint8Array<ArrayBuffer>,
            signal: signalOf(signal),
          },
          url,
        ).catch((error: unknown) =>
          log.debug({ url, err: error }, 'a copy of a forwarded transaction was refused'),
        )
      }
      const copies = Math.min(submitCopies, urls.length) > 1
      let answer: { digest?: unknown }
      try {
        answer = (await callAny('/chain/tx', () => ({
          method: 'POST',
          headers: { 'content-type': 'application/cbor' },
          body: bytes as Uint8Array<ArrayBuffer>,
          signal: signalOf(signal),
        }))) as { digest?: unknown }
      } catch (error) {
        // Our own copy may reach the followed member first (straight, or through another node
        // outside the committee that forwards it too): a duplicate there is this transaction
        // accepted, not a refusal to pass back (devnet-committee saw "is pending already").
        if (copies && error instanceof RemoteChainError && error.code === 'MEMPOOL_DUPLICATE')
          return bytesToHex(decodeTransactionWithDigest(bytes).digest)
        throw error
      }
      if (typeof answer.digest !== 'string' || !/^[0-9a-f]{64}$/.test(answer.digest))
        throw new ChainError('CHAIN_UPSTREAM', 'the followed node answered without a digest')
      return answer.digest
    },
    async pending(digestHex, signal) {
      // Stopped (its committee node was drawn into the committee and orders itself now), it
      // holds nothing pending: not a failure of the receipt route that still asks it.
      if (stopping.signal.aborted) return false
      try {
        const answer = (await callAny(`/chain/tx/${digestHex}`, () => ({
          signal: signalOf(signal),
        }))) as { status?: unknown }
        return answer.status === 'pending'
      } catch (error) {
        if (error instanceof RemoteChainError && error.code === 'CHAIN_TX_UNKNOWN') return false
        if (stopping.signal.aborted) return false
        throw error
      }
    },
    onBlock(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    start() {
      log.info(
        {
          follow: urls[current],
          ...(urls.length > 1 ? { gateways: urls } : {}),
          height: executor.head.height,
        },
        'following',
      )
      polling = poll().finally(arm)
    },
    async stop() {
      stopping.abort(new Error('the follower is stopping'))
      clearTimeout(timer)
      await polling
    },
  }
}
