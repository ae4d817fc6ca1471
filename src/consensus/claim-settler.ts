/**
 * Settles the node's delivery acknowledgements on chain (issue 15, "DAs settle"): every
 * `everyMs`, and before the node signals an epoch change, it reads the DA pool's latest claim
 * per (session, seq) (the pool keeps only the highest index of each), keeps those that name
 * this node and acknowledge more than the chain has settled for (client key, session, seq),
 * and submits them in `SubmitDeliveryClaims` transactions of at most `maxClaims` each, signed
 * by the node.
 *
 * With a prover (issue 18), claims go in batches of the circuit's S, each proven in the
 * prover's thread and submitted with its proof (`proofs`), so the committee checks one Groth16
 * proof per batch instead of a signature per claim; a batch smaller than `proveFrom`, and a
 * batch the prover could not prove or the chain refused the proof of, goes as before (the
 * native checks), so no claim waits on the prover.
 *
 * It remembers what it submitted, so a claim is not sent again while its transaction is
 * pending, nor after the chain settled or rejected it at that index (the receipt's events say
 * which); a transaction that vanished or reverted without effect is retried next time. Where
 * each claim stands (pending, proving, submitted, settled, rejected; its batch and proof) is
 * recorded in the pool (`setProgress`), for `fulmen node das`. A failed run is logged, never
 * thrown: the claims stay in the pool for the next one.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import type { SignedCommitment } from '../acks/batch-binding.ts'
import { CLAIM_LEN, encodeClaim } from '../acks/claim.ts'
import type { ClaimProgress, DaPool, StoredClaim } from '../acks/da-pool.ts'
import type { Component } from '../core/lifecycle.ts'
import { type Logger, noopLogger } from '../core/logger.ts'
import type { ChainExecutor, ExecutedBlock } from '../state/model.ts'
import { MAX_CLAIMS, MAX_TRANSACTION_BYTES } from '../state/transaction.ts'
import { readParam, readSettledIndex } from './chain-reads.ts'
import { createNodeSender, type NodeSender } from './node-sender.ts'
import type { Orderer } from './orderer.ts'
import { serialTask } from './serial-task.ts'
import type { SetTimer } from './timer.ts'

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
  /** Proves batches of claims (DA batch SNARKs); without one, every claim goes natively. */
  readonly prover?: ClaimBatchProver
  /** The fewest claims worth a proof (default 2): a smaller batch goes natively. */
  readonly proveFrom?: number
  /**
   * How long a batch short of the prover's S waits for more claims, milliseconds (default
   * 20,000): a proof costs the same for 2 claims as for S. The epoch's last run does not wait.
   */
  readonly batchWaitMs?: number
  /** The clock for `batchWaitMs` (default Date.now). */
  readonly now?: () => number
  readonly setTimer?: SetTimer
  readonly logger?: Logger
}

export interface ClaimSettler extends Component {
  /** Submits what is due now; resolves with the claims submitted (0 on a failed run). Runs
   * one at a time: a call during a run waits for it, then runs. `flush`: batches short of S
   * do not wait (the epoch's end). */
  settleNow(signal?: AbortSignal, options?: { readonly flush?: boolean }): Promise<number>
  start(signal?: AbortSignal): void
  stop(): Promise<void>
}

/**
 * What the settler needs of a DA batch prover (src/prover/da-batch-prover.ts, which sits above
 * consensus and satisfies this): S, and a proof of up to S signed commitments.
 */
export interface ClaimBatchProver {
  readonly slots: number
  prove(
    claims: readonly SignedCommitment[],
    signal?: AbortSignal,
  ): Promise<{ readonly proof: Uint8Array; readonly digest: bigint; readonly proveMs: number }>
}

interface Submitted {
  readonly index: number
  /** Hex digest of the transaction that carries it; undefined once its receipt came. */
  digest: string | undefined
}

/** A claim on its way: where it is in the pool, and its batch once proven. */
interface Due {
  readonly key: string
  readonly stored: StoredClaim
  readonly bytes: Uint8Array
  batch?: { readonly digest: string; readonly proof: string }
}

/** The chain's reasons that say a batch's proof, not its claims, was refused (proven-claims.ts
 * words them so). */
const PROOF_REFUSED = /^the batch proof /

export function createClaimSettler(options: ClaimSettlerOptions): ClaimSettler {
  const { orderer, executor, pool, nodeSeed, everyMs } = options
  const logger = options.logger ?? noopLogger
  if (!Number.isSafeInteger(options.maxClaims) || options.maxClaims < 1) {
    throw new RangeError(`maxClaims must be a positive integer, got ${options.maxClaims}`)
  }
  const sender: NodeSender = createNodeSender(orderer, nodeSeed)
  const nodeHex = bytesToHex(sender.key)
  /** By `clientKey:session:seq`: the highest index submitted. */
  const submitted = new Map<string, Submitted>()
  /** By transaction digest: the claims it carries, in their order in it. */
  const carried = new Map<string, Due[]>()
  /** Claims whose batch proof the chain refused: they go natively from now on. */
  const proveFailed = new Set<string>()
  const proveFrom = options.proveFrom ?? 2
  const batchWaitMs = options.batchWaitMs ?? 20_000
  const now = options.now ?? Date.now
  /** By claim key: when the settler first found it due (for `batchWaitMs`). */
  const dueSince = new Map<string, number>()
  const cleanup: (() => void)[] = []

  const record = (due: Due, progress: Omit<ClaimProgress, 'index' | 'at'>) => {
    const full: ClaimProgress = {
      ...progress,
      index: due.stored.index,
      ...(due.batch === undefined ? {} : { batch: due.batch.digest, proof: due.batch.proof }),
      at: new Date().toISOString(),
    }
    // The record is for people (fulmen node das); the claims themselves are safe in the pool.
    pool.setProgress(due.stored.session, due.stored.seq, full).catch((err: unknown) => {
      if (!task.stopped) logger.warn({ err }, 'recording a claim’s progress failed')
    })
  }

  /** A block's receipts for our transactions: settled or rejected claims are not sent again at
   * their index; a transaction that reverted for another reason frees its claims, and so does
   * a refused proof (the claims go natively next time). */
  const onBlock = (block: ExecutedBlock) => {
    for (const receipt of block.receipts) {
      if (receipt.digest === undefined) continue
      const digest = bytesToHex(receipt.digest)
      const dues = carried.get(digest)
      if (dues === undefined) continue
      carried.delete(digest)
      const judged = receipt.status === 'ok' || receipt.status === 'TX_INVALID_CLAIM'
      // One event per claim, in the transaction's order.
      const outcomes = (receipt.events ?? []).filter(
        (e) => e.type === 'ClaimSettled' || e.type === 'ClaimRejected',
      )
      dues.forEach((due, i) => {
        const entry = submitted.get(due.key)
        if (entry?.digest !== digest) return
        const outcome = judged ? outcomes[i] : undefined
        if (outcome?.type === 'ClaimRejected' && PROOF_REFUSED.test(outcome.reason)) {
          submitted.delete(due.key)
          proveFailed.add(due.key)
          logger.warn({ reason: outcome.reason }, 'a batch proof was refused; settling natively')
          record(due, { state: 'pending', reason: outcome.reason })
          return
        }
        if (!judged) {
          submitted.delete(due.key)
          record(due, { state: 'pending', reason: receipt.status })
          return
        }
        entry.digest = undefined
        if (outcome?.type === 'ClaimRejected') {
          record(due, { state: 'rejected', transaction: digest, reason: outcome.reason })
        } else {
          record(due, { state: 'settled', transaction: digest })
        }
      })
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

  const settleOnce = async (signal: AbortSignal, flush: boolean): Promise<number> => {
    const chainMax = Number(
      (await readParam(executor, 'maxClaimsPerTransaction')) ?? BigInt(MAX_CLAIMS),
    )
    const perTransaction = Math.max(
      1,
      Math.min(options.maxClaims, chainMax, MAX_CLAIMS_PER_TRANSACTION),
    )
    const due: Due[] = []
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
        const done: Due = { key, stored, bytes: new Uint8Array(0) }
        if (stored.progress.state !== 'settled') record(done, { state: 'settled' })
        continue
      }
      due.push({ key, stored, bytes: encodeClaim(stored.claim) })
      if (!dueSince.has(key)) dueSince.set(key, now())
    }
    const dueKeys = new Set(due.map((d) => d.key))
    for (const key of dueSince.keys()) if (!dueKeys.has(key)) dueSince.delete(key)
    const { proven, native } = await proveBatches(due, perTransaction, signal, flush)
    let count = 0
    for (const group of proven) count += await submit(group.dues, group.proofs, signal)
    for (let at = 0; at < native.length; at += perTransaction) {
      count += await submit(native.slice(at, at + perTransaction), undefined, signal)
    }
    if (count > 0) {
      logger.info({ claims: count, proven: count - native.length }, 'delivery claims submitted')
    }
    return count
  }

  /**
   * Proves what the prover can take, in batches of its slots, grouped into transactions of at
   * most `perTransaction` claims; the rest (no prover, a short batch, a failed proof, a proof
   * the chain refused before) goes natively.
   */
  const proveBatches = async (
    due: Due[],
    perTransaction: number,
    signal: AbortSignal,
    flush: boolean,
  ): Promise<{ proven: { dues: Due[]; proofs: Uint8Array[] }[]; native: Due[] }> => {
    const prover = options.prover
    const native = due.filter((d) => prover === undefined || proveFailed.has(d.key))
    const toProve = prover === undefined ? [] : due.filter((d) => !proveFailed.has(d.key))
    if (prover === undefined || toProve.length === 0) return { proven: [], native }
    // A prover that is not running knows no S (it throws): nothing waits for it.
    let slots = 0
    try {
      slots = prover.slots
    } catch {}
    if (!Number.isSafeInteger(slots) || slots < 1) return { proven: [], native: due }
    const batchesPerTransaction = Math.max(1, Math.floor(perTransaction / slots))
    const proven: { dues: Due[]; proofs: Uint8Array[] }[] = []
    for (let at = 0; at < toProve.length; at += slots) {
      const batch = toProve.slice(at, at + slots)
      // A short batch waits a while for company, unless the epoch ends: it is the last one.
      const waited = Math.max(...batch.map((d) => now() - (dueSince.get(d.key) ?? now())))
      if (batch.length < slots && !flush && perTransaction >= slots && waited < batchWaitMs) {
        continue
      }
      if (batch.length < proveFrom || perTransaction < slots) {
        native.push(...batch)
        continue
      }
      for (const d of batch) record(d, { state: 'proving' })
      let proof: Uint8Array
      try {
        const result = await prover.prove(
          batch.map((d) => ({
            commitment: d.stored.claim.commitment,
            signature: d.stored.claim.signature,
          })),
          signal,
        )
        proof = result.proof
        const id = {
          digest: result.digest.toString(16).padStart(64, '0'),
          proof: bytesToHex(proof),
        }
        for (const d of batch) d.batch = id
        logger.info(
          { claims: batch.length, batch: id.digest, proveMs: Math.round(result.proveMs) },
          'delivery claims proven',
        )
      } catch (err) {
        signal.throwIfAborted()
        logger.warn({ err, claims: batch.length }, 'proving a batch failed; settling it natively')
        native.push(...batch)
        continue
      }
      const last = proven.at(-1)
      if (last !== undefined && last.proofs.length < batchesPerTransaction) {
        last.dues.push(...batch)
        last.proofs.push(proof)
      } else {
        proven.push({ dues: [...batch], proofs: [proof] })
      }
    }
    return { proven, native }
  }

  /** One transaction of `dues` (with their batches' proofs, if proven); the claims it sent. */
  const submit = async (
    dues: Due[],
    proofs: Uint8Array[] | undefined,
    signal: AbortSignal,
  ): Promise<number> => {
    if (dues.length === 0) return 0
    const claims = dues.map((d) => d.bytes)
    const digest = bytesToHex(
      await sender.send(
        proofs === undefined
          ? { type: 'SubmitDeliveryClaims', claims }
          : { type: 'SubmitDeliveryClaims', claims, proofs },
        signal,
      ),
    )
    carried.set(digest, dues)
    for (const d of dues) {
      dueSince.delete(d.key)
      submitted.set(d.key, { index: d.stored.index, digest })
      if (proofs === undefined) d.batch = undefined
      record(d, { state: 'submitted', transaction: digest })
    }
    return dues.length
  }

  const task = serialTask<boolean>({
    everyMs,
    ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
    run: (signal, flush) => settleOnce(signal, flush === true),
    onError: (e) => logger.warn({ err: e }, 'settling claims failed; retrying later'),
  })

  const settler: ClaimSettler = {
    name: 'claim-settler',

    settleNow(signal, settleOptions) {
      return task.runNow(signal, settleOptions?.flush === true)
    },

    start() {
      cleanup.push(orderer.onBlock(onBlock))
      cleanup.push(
        orderer.beforeEpochChange(async (_epoch, signal) => {
          await settler.settleNow(signal, { flush: true })
        }),
      )
      task.start()
    },

    async stop() {
      for (const undo of cleanup.splice(0)) undo()
      await task.stop()
    },
  }

  return settler
}
