/**
 * Settles the node's delivery acknowledgements on chain (issue 15, "DAs settle"): every
 * `everyMs`, and before the node signals an epoch change, it reads the DA pool's latest claim
 * per (session, seq) (the pool keeps only the highest index of each), keeps those that name
 * this node and acknowledge more than the chain has settled for (client key, session, seq),
 * and submits them in `SubmitDeliveryClaims` transactions of at most `maxClaims` each, signed
 * by the node.
 *
 * It remembers what it submitted, so a claim is not sent again while its transaction is
 * pending, nor after the chain settled or rejected it at that index (the receipt's events say
 * which); a transaction that vanished or reverted without effect is retried next time. A failed
 * run is logged, never thrown: the claims stay in the pool for the next one.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { CLAIM_LEN, encodeClaim } from '../acks/claim.ts'
import type { DaPool } from '../acks/da-pool.ts'
import type { Component } from '../core/lifecycle.ts'
import { type Logger, noopLogger } from '../core/logger.ts'
import type { ChainExecutor, ExecutedBlock } from '../state/model.ts'
import { MAX_CLAIMS, MAX_TRANSACTION_BYTES } from '../state/transaction.ts'
import { readParam, readSettledIndex } from './chain-reads.ts'
import { createNodeSender, type NodeSender } from './node-sender.ts'
import type { Orderer } from './orderer.ts'
import { defaultSetTimer, type SetTimer } from './timer.ts'

/** Claims that fit one transaction: 230 bytes each and a CBOR header, with room to spare for
 * the payload around them. */
export const MAX_CLAIMS_PER_TRANSACTION = Math.min(
  MAX_CLAIMS,
  Math.floor((MAX_TRANSACTION_BYTES - 1024) / (CLAIM_LEN + 3)),
)

export interface ClaimSettlerOptions {
  readonly orderer: Orderer
  readonly executor: Pick<ChainExecutor, 'get'>
  readonly pool: DaPool
  /** The node's Ed25519 seed: the claims must name its key, and it signs them. */
  readonly nodeSeed: Uint8Array
  readonly everyMs: number
  /** Most claims per transaction (also bounded by the chain's `maxClaimsPerTransaction`). */
  readonly maxClaims: number
  readonly setTimer?: SetTimer
  readonly logger?: Logger
}

export interface ClaimSettler extends Component {
  /** Submits what is due now; resolves with the claims submitted (0 on a failed run). Runs
   * one at a time: a call during a run waits for it, then runs. */
  settleNow(signal?: AbortSignal): Promise<number>
  start(signal?: AbortSignal): void
  stop(): Promise<void>
}

interface Submitted {
  readonly index: number
  /** Hex digest of the transaction that carries it; undefined once its receipt came. */
  digest: string | undefined
}

export function createClaimSettler(options: ClaimSettlerOptions): ClaimSettler {
  const { orderer, executor, pool, nodeSeed, everyMs } = options
  const setTimer = options.setTimer ?? defaultSetTimer
  const logger = options.logger ?? noopLogger
  if (!Number.isFinite(everyMs) || everyMs <= 0) {
    throw new RangeError(`everyMs must be a positive number, got ${everyMs}`)
  }
  if (!Number.isSafeInteger(options.maxClaims) || options.maxClaims < 1) {
    throw new RangeError(`maxClaims must be a positive integer, got ${options.maxClaims}`)
  }
  const sender: NodeSender = createNodeSender(orderer, nodeSeed)
  const nodeHex = bytesToHex(sender.key)
  /** By `clientKey:session:seq`: the highest index submitted. */
  const submitted = new Map<string, Submitted>()
  /** By transaction digest: the claims it carries and their place in it. */
  const carried = new Map<string, string[]>()
  const stopping = new AbortController()
  const cleanup: (() => void)[] = []
  let runs: Promise<unknown> = Promise.resolve()
  let disarm: (() => void) | undefined
  let stopped = false

  /** A block's receipts for our transactions: settled or rejected claims are not sent again at
   * their index; a transaction that reverted for another reason frees its claims. */
  const onBlock = (block: ExecutedBlock) => {
    for (const receipt of block.receipts) {
      if (receipt.digest === undefined) continue
      const digest = bytesToHex(receipt.digest)
      const keys = carried.get(digest)
      if (keys === undefined) continue
      carried.delete(digest)
      const judged = receipt.status === 'ok' || receipt.status === 'TX_INVALID_CLAIM'
      for (const key of keys) {
        const entry = submitted.get(key)
        if (entry?.digest !== digest) continue
        if (judged) entry.digest = undefined
        else submitted.delete(key)
      }
      if (!judged) logger.warn({ digest, status: receipt.status }, 'claims reverted; retrying')
    }
  }

  /** Is the claim at `index` still on its way, or judged by the chain already? */
  const inHand = (key: string, index: number): boolean => {
    const entry = submitted.get(key)
    if (entry === undefined || entry.index < index) return false
    if (entry.digest === undefined) return true
    // Gone from the mempool without a receipt (its nonce passed, or the node restarted).
    if (orderer.pending(hexToBytes(entry.digest))) return true
    submitted.delete(key)
    carried.delete(entry.digest)
    return false
  }

  const settleOnce = async (signal: AbortSignal): Promise<number> => {
    const chainMax = Number(
      (await readParam(executor, 'maxClaimsPerTransaction')) ?? BigInt(MAX_CLAIMS),
    )
    const perTransaction = Math.max(
      1,
      Math.min(options.maxClaims, chainMax, MAX_CLAIMS_PER_TRANSACTION),
    )
    const due: { key: string; index: number; bytes: Uint8Array }[] = []
    for await (const stored of pool.list()) {
      signal.throwIfAborted()
      if (stored.nodeKey !== nodeHex || stored.index === 0) continue
      const key = `${stored.clientKey}:${stored.session.toString(16)}:${stored.seq}`
      if (inHand(key, stored.index)) continue
      const settled = await readSettledIndex(
        executor,
        hexToBytes(stored.clientKey),
        stored.session,
        stored.seq,
        sender.key,
      )
      if (settled >= stored.index) {
        submitted.set(key, { index: stored.index, digest: undefined })
        continue
      }
      due.push({ key, index: stored.index, bytes: encodeClaim(stored.claim) })
    }
    let count = 0
    for (let at = 0; at < due.length; at += perTransaction) {
      const batch = due.slice(at, at + perTransaction)
      const digest = bytesToHex(
        await sender.send(
          { type: 'SubmitDeliveryClaims', claims: batch.map((c) => c.bytes) },
          signal,
        ),
      )
      carried.set(
        digest,
        batch.map((c) => c.key),
      )
      for (const c of batch) submitted.set(c.key, { index: c.index, digest })
      count += batch.length
    }
    if (count > 0) logger.info({ claims: count }, 'delivery claims submitted')
    return count
  }

  const settler: ClaimSettler = {
    name: 'claim-settler',

    settleNow(signal) {
      const run = runs.then(async () => {
        if (stopped) return 0
        const combined =
          signal === undefined ? stopping.signal : AbortSignal.any([signal, stopping.signal])
        try {
          return await settleOnce(combined)
        } catch (e) {
          if (!combined.aborted) logger.warn({ err: e }, 'settling claims failed; retrying later')
          return 0
        }
      })
      runs = run
      return run
    },

    start() {
      cleanup.push(orderer.onBlock(onBlock))
      cleanup.push(
        orderer.beforeEpochChange(async (_epoch, signal) => {
          await settler.settleNow(signal)
        }),
      )
      arm()
    },

    async stop() {
      stopped = true
      stopping.abort()
      disarm?.()
      disarm = undefined
      for (const undo of cleanup.splice(0)) undo()
      await runs
    },
  }

  function arm(): void {
    if (stopped) return
    disarm = setTimer(() => {
      disarm = undefined
      void settler.settleNow().finally(arm)
    }, everyMs)
  }

  return settler
}
