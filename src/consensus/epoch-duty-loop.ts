/**
 * The epoch duty of a node that does not order blocks itself (a follower today, any committee
 * member whose orderer is elsewhere): every `everyMs` it runs the duty, whose transactions go
 * through the node's `Orderer` face (the forwarding orderer sends them to the node that orders).
 * A committee drawn by the beacon may be any active node, so every node must be able to signal
 * the epoch change and take part in the beacon, not only the one that orders.
 */
import type { Component } from '../core/lifecycle.ts'
import { type Logger, noopLogger } from '../core/logger.ts'
import type { ChainExecutor } from '../state/model.ts'
import { createEpochDuty } from './epoch-duty.ts'
import { createNodeSender } from './node-sender.ts'
import type { Orderer } from './orderer.ts'
import { serialTask } from './serial-task.ts'
import type { SetTimer } from './timer.ts'

export interface EpochDutyLoopOptions {
  readonly orderer: Pick<Orderer, 'head' | 'submit' | 'nextNonce' | 'pending'>
  readonly executor: Pick<ChainExecutor, 'head' | 'get'>
  readonly nodeSeed: Uint8Array
  readonly everyMs: number
  /** Awaited before ChangeEpoch is sent (the claim settler's settleNow). */
  readonly beforeChangeEpoch?: (epoch: number, signal: AbortSignal) => Promise<void> | void
  readonly now?: () => number
  readonly setTimer?: SetTimer
  readonly logger?: Logger
}

export function createEpochDutyLoop(options: EpochDutyLoopOptions): Component {
  const { orderer, everyMs } = options
  const logger = options.logger ?? noopLogger
  const duty = createEpochDuty({
    executor: options.executor,
    sender: createNodeSender(orderer, options.nodeSeed),
    nodeSeed: options.nodeSeed,
    now: options.now ?? Date.now,
    pending: (digest) => orderer.pending(digest),
    logger,
    ...(options.beforeChangeEpoch === undefined
      ? {}
      : { beforeChangeEpoch: options.beforeChangeEpoch }),
  })
  const task = serialTask({
    everyMs,
    ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
    run: async (signal) => {
      await duty.run(signal)
      return 1
    },
    onError: (e) => logger.warn({ err: e }, 'the epoch duty failed; retrying'),
  })

  return {
    name: 'epoch duty',
    start: () => task.start(),
    stop: () => task.stop(),
  }
}
