/**
 * Puts this node's measurements on chain (issue 19, "Measurements"; Lightning's
 * `core/rep-collector` submitting `SubmitReputationMeasurements`): every `everyMs` it looks at
 * the chain's epoch and how far into it the clock is, and at each of `submitAt` (fractions of
 * the epoch, by default half-way and at 80 %) sends the ledger's reports as one node-signed
 * transaction, at most MAX_SUBMISSIONS_PER_EPOCH a epoch, as Lightning bounds it. The chain
 * keeps one report per (epoch, subject, reporter), the last one, so the later submission, made
 * of more samples, replaces the earlier one; the earlier one is there should the later miss
 * the epoch. When this node signals the epoch change itself (a committee member), a submission
 * still due goes first.
 *
 * When the chain's epoch moves on, the ledger is reset for the new epoch: what was measured
 * and not submitted is dropped, as the chain would drop it. Once the epoch's time is up nothing
 * is sent but the forced submission before this node's own ChangeEpoch: a state that says an
 * epoch is past its time is one whose change is under way, or one this node has not caught up
 * on (a follower starting), and a submission then would count against the next epoch. A node without an entry in the
 * node registry sends nothing (the chain would revert it). A failed run is logged, never thrown.
 */
import { readMetadata, readParam } from '../consensus/chain-reads.ts'
import { createNodeSender } from '../consensus/node-sender.ts'
import type { Orderer } from '../consensus/orderer.ts'
import { serialTask } from '../consensus/serial-task.ts'
import type { SetTimer } from '../consensus/timer.ts'
import type { Component } from '../core/lifecycle.ts'
import { type Logger, noopLogger } from '../core/logger.ts'
import type { ChainExecutor, Digest } from '../state/model.ts'
import { MAX_SUBMISSIONS_PER_EPOCH, type MeasurementLedger } from './measurement-ledger.ts'

export const DEFAULT_SUBMIT_AT: readonly number[] = [0.5, 0.8]

export interface MeasurementSubmitterOptions {
  readonly orderer: Pick<Orderer, 'head' | 'submit' | 'nextNonce' | 'beforeEpochChange'>
  readonly executor: Pick<ChainExecutor, 'get'>
  readonly ledger: MeasurementLedger
  /** The node's Ed25519 seed: it signs the transactions. */
  readonly nodeSeed: Uint8Array
  /** How often it looks at the clock, milliseconds. */
  readonly everyMs: number
  /** When in the epoch to submit, fractions in (0, 1), ascending (default 0.5 and 0.8); at most
   * MAX_SUBMISSIONS_PER_EPOCH. */
  readonly submitAt?: readonly number[]
  /** Told of every submission (metrics): reports sent, or the failure. */
  readonly onSubmit?: (outcome: SubmitOutcome) => void
  readonly now?: () => number
  readonly setTimer?: SetTimer
  readonly logger?: Logger
}

export type SubmitOutcome =
  | { readonly ok: true; readonly epoch: number; readonly reports: number; readonly digest: Digest }
  | { readonly ok: false; readonly epoch: number; readonly error: unknown }

export interface MeasurementSubmitter extends Component {
  /** Submits now if a submission is due (or `force`, one more while the epoch allows);
   * resolves with the reports sent (0 when nothing was). Runs one at a time. */
  submitNow(options?: { readonly force?: boolean; readonly signal?: AbortSignal }): Promise<number>
  /** Submissions made in the ledger's epoch. */
  readonly submitted: number
}

export function createMeasurementSubmitter(
  options: MeasurementSubmitterOptions,
): MeasurementSubmitter {
  const { orderer, executor, ledger, everyMs } = options
  const submitAt = options.submitAt ?? DEFAULT_SUBMIT_AT
  if (
    submitAt.length < 1 ||
    submitAt.length > MAX_SUBMISSIONS_PER_EPOCH ||
    submitAt.some((f, i) => !(f > 0 && f < 1) || (i > 0 && f < (submitAt[i - 1] as number)))
  ) {
    throw new RangeError(
      `submitAt must be 1 to ${MAX_SUBMISSIONS_PER_EPOCH} ascending fractions in (0, 1)`,
    )
  }
  const now = options.now ?? Date.now
  const logger = options.logger ?? noopLogger
  const sender = createNodeSender(orderer, options.nodeSeed)
  const cleanup: (() => void)[] = []
  /** Submissions made in the ledger's epoch. */
  let sent = 0

  const runOnce = async (force: boolean, signal: AbortSignal): Promise<number> => {
    const meta = await readMetadata(executor)
    if (meta.epoch !== ledger.epoch) {
      logger.debug({ from: ledger.epoch, to: meta.epoch, peers: ledger.peers }, 'new epoch')
      ledger.reset(meta.epoch)
      sent = 0
    }
    if (sent >= MAX_SUBMISSIONS_PER_EPOCH) return 0
    const epochMs = Number((await readParam(executor, 'epochTimeMs')) ?? 0n)
    const elapsed = now() - meta.epochStartMs
    // An epoch whose time is up is changing, or this node's state is behind (a follower
    // catching up): what it sent now would land in a later epoch than it measured, and count
    // against that epoch's two. Only the forced submission before this node's own ChangeEpoch
    // goes then.
    const due =
      sent < submitAt.length && elapsed >= (submitAt[sent] as number) * epochMs && elapsed < epochMs
    if (!force && !due) return 0
    // The chain reverts a node's transaction unless the node is registered.
    if ((await executor.get('nodes', sender.key)) === undefined) return 0
    const chainMax = Number((await readParam(executor, 'maxMeasurements')) ?? 0n)
    const reports = ledger.reports(chainMax)
    if (reports.length === 0) return 0
    const epoch = meta.epoch
    try {
      const digest = await sender.send({ type: 'SubmitReputationMeasurements', reports }, signal)
      sent++
      options.onSubmit?.({ ok: true, epoch, reports: reports.length, digest })
      logger.info(
        { epoch, reports: reports.length, submission: sent },
        'reputation measurements submitted',
      )
      return reports.length
    } catch (error) {
      options.onSubmit?.({ ok: false, epoch, error })
      throw error
    }
  }

  const task = serialTask<boolean>({
    everyMs,
    ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
    run: (signal, force) => runOnce(force === true, signal),
    onError: (error) =>
      logger.warn({ err: error }, 'submitting measurements failed; retrying later'),
  })

  const submitter: MeasurementSubmitter = {
    name: 'measurement-submitter',
    get submitted() {
      return sent
    },

    submitNow(submitOptions) {
      return task.runNow(submitOptions?.signal, submitOptions?.force === true)
    },

    async start() {
      // The ledger measures the chain's current epoch from the first sample on.
      const meta = await readMetadata(executor)
      ledger.reset(meta.epoch)
      sent = 0
      cleanup.push(
        orderer.beforeEpochChange(async (epoch, signal) => {
          if (epoch === ledger.epoch && sent < MAX_SUBMISSIONS_PER_EPOCH)
            await submitter.submitNow({ force: true, signal })
        }),
      )
      task.start()
    },

    async stop() {
      for (const undo of cleanup.splice(0)) undo()
      await task.stop()
    },
  }

  return submitter
}
