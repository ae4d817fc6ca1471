/**
 * A full node's block store as one component: the store on disk, read through a checked store
 * (every block a proof-carrying body sends is hashed against its tree) with a guard that drops
 * content that no longer matches it, and the scrubber that re-hashes everything in the
 * background. It stops the scrubber, then closes the store.
 */
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { startedPart } from '../core/lifecycle.ts'
import type { Logger } from '../core/logger.ts'
import type { StoreComponent } from '../host/node-core.ts'
import type { BlockStore } from '../store/block-store.ts'
import { createCheckedStore } from '../store/checked-store.ts'
import { openFsBlockStore } from '../store/fs-block-store.ts'
import { createStoreGuard } from '../store/store-guard.ts'
import type { NodeConfig } from './config.ts'
import type { NodeMetrics } from './metrics.ts'
import { createStoreScrubber, type StoreScrubber } from './store-scrubber.ts'

export function fullNodeStore(
  config: NodeConfig,
  logger: Logger,
  metrics: NodeMetrics,
): StoreComponent {
  let store: BlockStore | undefined
  let scrubber: StoreScrubber | undefined
  return {
    name: 'store',
    get store() {
      return startedPart(store, 'store')
    },
    async start() {
      const fsStore = await openFsBlockStore({
        dir: join(config.dataDir, 'store'),
        limitBytes: config.cacheSize,
        logger,
      })
      // Stored bytes that no longer match their tree are never served: the guard drops the
      // content (the next request is a miss: an origin fills it where one can) and reports it.
      const storeLog = logger.child({ component: 'store' })
      const guard = createStoreGuard({
        store: fsStore,
        onCorrupt: (c) => {
          metrics.verificationFailures.labels('store').inc()
          storeLog.error(
            {
              root: bytesToHex(c.root),
              block: c.block,
              found: c.found,
              length: c.length,
              pinned: c.pinned,
              dropped: c.dropped,
              ...(c.error === undefined ? {} : { err: c.error }),
            },
            'corrupt content dropped',
          )
        },
      })
      store = createCheckedStore(fsStore, guard)
      scrubber = createStoreScrubber({
        store: fsStore,
        guard,
        rateBytesPerSecond: config.scrub.rate,
        intervalMs: config.scrub.intervalMs,
        logger: logger.child({ component: 'scrubber' }),
        onScrubbed: (n) => metrics.scrubBytes.inc(n),
        onPass: () => metrics.scrubPasses.inc(),
      })
      scrubber.start()
    },
    async stop() {
      await scrubber?.stop()
      await store?.close()
    },
  }
}
