/**
 * What every `Orderer` keeps for its listeners (orderer.ts): who hears each executed block, and
 * who must be heard before the node signals an epoch change. A listener that throws is logged
 * and passed over: one bad listener neither stops the chain nor the epoch change.
 */
import type { Logger } from '../core/logger.ts'
import type { ExecutedBlock } from '../state/model.ts'

type EpochListener = (epoch: number, signal: AbortSignal) => Promise<void> | void

export class OrdererListeners {
  readonly #blocks = new Set<(block: ExecutedBlock) => void>()
  readonly #epochs = new Set<EpochListener>()
  readonly #logger: Logger

  constructor(logger: Logger) {
    this.#logger = logger
  }

  /** `Orderer.onBlock`. */
  onBlock(listener: (block: ExecutedBlock) => void): () => void {
    this.#blocks.add(listener)
    return () => this.#blocks.delete(listener)
  }

  /** `Orderer.beforeEpochChange`. */
  beforeEpochChange(listener: EpochListener): () => void {
    this.#epochs.add(listener)
    return () => this.#epochs.delete(listener)
  }

  emitBlock(block: ExecutedBlock): void {
    for (const listener of [...this.#blocks]) {
      try {
        listener(block)
      } catch (e) {
        this.#logger.warn({ err: e, height: block.header.height }, 'a block listener failed')
      }
    }
  }

  async runBeforeEpochChange(epoch: number, signal: AbortSignal): Promise<void> {
    for (const listener of [...this.#epochs]) {
      try {
        await listener(epoch, signal)
      } catch (e) {
        // The epoch still changes: what the listener missed goes into the next one.
        this.#logger.warn({ err: e, epoch }, 'a listener before the epoch change failed')
      }
    }
  }
}
