/**
 * The solo orderer (`--consensus solo`, issue 15): one node orders the transactions it receives
 * into blocks itself, like a development chain, executes them and serves the results. A real
 * ordering mode for one-node devnets and tests; a committee orderer plugs in behind the same
 * `Orderer` face.
 *
 * Every `blockMs` it runs the epoch duty (the node is the whole committee, so it signals the
 * epoch change and plays the beacon itself), takes up to `maxBlockTransactions` from the
 * mempool and, when there are any (or the beacon needs a block to move on), executes the block
 * { chainId, height: head + 1, parent: head hash, timestampMs: max(now, head's), transactions }.
 * Blocks are built and executed strictly one at a time; `stop` waits for the one in flight.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { type Logger, noopLogger } from '../core/logger.ts'
import type { Metrics } from '../core/metrics.ts'
import { MAX_BLOCK_TRANSACTIONS } from '../state/executor.ts'
import type { BlockBody, ChainExecutor, ChainHead, Digest, ExecutedBlock } from '../state/model.ts'
import { type Secp256k1Recover, senderId } from '../state/transaction.ts'
import { admitTransaction } from './admission.ts'
import { readNonce } from './chain-reads.ts'
import { createEpochDuty, type EpochDuty } from './epoch-duty.ts'
import { ConsensusError } from './errors.ts'
import { Mempool, type MempoolOptions } from './mempool.ts'
import { createNodeSender } from './node-sender.ts'
import type { Orderer } from './orderer.ts'
import { OrdererListeners } from './orderer-listeners.ts'
import { defaultSetTimer, type SetTimer } from './timer.ts'

/** Default bound on a block's bytes: 64 transactions of the largest size. */
export const DEFAULT_MAX_BLOCK_BYTES = 8 * 1024 * 1024

export interface SoloOrdererOptions {
  readonly executor: ChainExecutor
  /** secp256k1 recovery for admission's signature checks (default @noble/curves). */
  readonly recover?: Secp256k1Recover
  /** The node's Ed25519 seed (32 bytes): signs its epoch-change and beacon transactions. */
  readonly nodeSeed: Uint8Array
  /** Milliseconds between blocks (at most one block per period). */
  readonly blockMs: number
  readonly maxBlockTransactions: number
  readonly maxBlockBytes?: number
  readonly mempool?: MempoolOptions
  /** The clock (ms since the Unix epoch) blocks are stamped with and epochs timed by. */
  readonly now?: () => number
  readonly setTimer?: SetTimer
  /** Play the committee's part in the epoch change (default true). */
  readonly epochDuty?: boolean
  readonly logger?: Logger
  readonly metrics?: Metrics
}

export interface SoloOrderer extends Orderer {
  /** Transactions waiting. */
  readonly mempoolSize: number
  /**
   * Runs one round now, in turn with the timer's: the epoch duty, then a block if there is
   * anything to put in it. Resolves with the block, or undefined when none was due.
   */
  produceBlock(): Promise<ExecutedBlock | undefined>
  /** Arms the block timer. */
  start(signal?: AbortSignal): void
  /** Stops the timer and waits for the round in flight; every later call is refused. */
  stop(): Promise<void>
}

export function createSoloOrderer(options: SoloOrdererOptions): SoloOrderer {
  const { executor, nodeSeed, blockMs, maxBlockTransactions } = options
  const maxBlockBytes = options.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES
  const now = options.now ?? Date.now
  const setTimer = options.setTimer ?? defaultSetTimer
  const logger = options.logger ?? noopLogger
  // Zero would spin: every round reads the state for the epoch duty.
  if (!Number.isFinite(blockMs) || blockMs <= 0) {
    throw new RangeError(`blockMs must be a positive number, got ${blockMs}`)
  }
  // The executor refuses a body over its bound as a whole: never build one.
  if (
    !Number.isSafeInteger(maxBlockTransactions) ||
    maxBlockTransactions < 1 ||
    maxBlockTransactions > MAX_BLOCK_TRANSACTIONS
  ) {
    throw new RangeError(
      `maxBlockTransactions must be an integer in [1, ${MAX_BLOCK_TRANSACTIONS}], got ${maxBlockTransactions}`,
    )
  }
  const mempool = new Mempool(options.mempool)
  const listeners = new OrdererListeners(logger)
  const stopping = new AbortController()
  let started = false
  let stopped = false
  let disarm: (() => void) | undefined
  /** The rounds, one after another: each waits for the one before. */
  let rounds: Promise<unknown> = Promise.resolve()

  const blocksMade = options.metrics?.counter({
    name: 'fulmen_chain_blocks_total',
    help: 'Blocks this node ordered and executed',
  })
  options.metrics?.gauge({
    name: 'fulmen_mempool_transactions',
    help: 'Transactions waiting in the mempool',
    collect: () => mempool.size,
  })

  const stoppedError = () => new ConsensusError('ORDERER_STOPPED', 'the orderer has stopped')

  const orderer: SoloOrderer = {
    name: 'orderer',

    get head(): ChainHead {
      return executor.head
    },

    get mempoolSize() {
      return mempool.size
    },

    async submit(bytes, submitOptions = {}) {
      const admitted = await admitTransaction(bytes, {
        executor,
        mempool,
        recover: options.recover,
        signal: submitOptions.signal,
        stopped: () => stopped,
        stoppedError,
      })
      return admitted.digest
    },

    pending: (digest: Digest) => mempool.has(digest),

    async nextNonce(sender) {
      return mempool.nextNonce(senderId(sender), await readNonce(executor, sender))
    },

    onBlock: (listener) => listeners.onBlock(listener),

    beforeEpochChange: (listener) => listeners.beforeEpochChange(listener),

    produceBlock() {
      if (stopped) return Promise.reject(stoppedError())
      const round = rounds.then(runRound)
      rounds = round.catch(() => {})
      return round
    },

    start() {
      if (started) return
      started = true
      if (!stopped) arm()
    },

    async stop() {
      stopped = true
      stopping.abort(stoppedError())
      disarm?.()
      disarm = undefined
      await rounds
    },
  }

  const duty: EpochDuty | undefined =
    options.epochDuty === false
      ? undefined
      : createEpochDuty({
          executor,
          sender: createNodeSender(orderer, nodeSeed),
          nodeSeed,
          now,
          pending: (digest) => mempool.has(digest),
          logger: logger.child({ component: 'epoch-duty' }),
          beforeChangeEpoch: (epoch, signal) => listeners.runBeforeEpochChange(epoch, signal),
        })

  async function runRound(): Promise<ExecutedBlock | undefined> {
    let needsBlock = false
    if (duty !== undefined) {
      try {
        needsBlock = (await duty.run(stopping.signal)).needsBlock
      } catch (e) {
        if (stopping.signal.aborted) return undefined
        // The duty is tried again before the next block.
        logger.warn({ err: e }, 'the epoch duty failed')
      }
    }
    const taken = mempool.take(maxBlockTransactions, maxBlockBytes)
    if (taken.length === 0 && !needsBlock) return undefined
    const head = executor.head
    const body: BlockBody = {
      chainId: head.chainId,
      height: head.height + 1,
      parent: head.hash,
      timestampMs: Math.max(now(), head.timestampMs),
      transactions: taken.map((t) => t.bytes),
    }
    // Admission checked these signatures: the executor need not check them again (half the
    // cost of a block of transfers; docs/benchmarks.md "Chain execution").
    const verified = new Set(taken.map((t) => bytesToHex(t.digest)))
    const block = await executor.execute(body, { verified })
    mempool.applyReceipts(block.receipts)
    // Whatever the receipts did not name (bytes that did not decode there) goes as well.
    mempool.drop(taken.map((t) => t.digest))
    blocksMade?.inc()
    listeners.emitBlock(block)
    return block
  }

  function arm(): void {
    disarm = setTimer(() => {
      disarm = undefined
      orderer
        .produceBlock()
        .catch((e) => {
          if (!stopped) logger.error({ err: e }, 'a block failed; trying again next period')
        })
        .finally(() => {
          if (!stopped) arm()
        })
    }, blockMs)
  }

  return orderer
}
