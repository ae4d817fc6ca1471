/**
 * An IndexedDB import up to its commit: the source is hashed and cut into blocks
 * (import-pipeline.ts) and written a few at a time under a fresh blob id, each batch in its
 * own transaction (a transaction commits by itself as soon as we await the source, so none
 * spans the network). The import holds a Web Lock named after its blob for its whole life and
 * has a staging entry, so recovery in another context leaves it alone (idb-recovery.ts). The
 * store's `commit` writes the last blocks with the tree and the record; if anything fails
 * before it has, the blob's blocks and staging entry are removed.
 */
import type { HashTree } from '../b3/tree.ts'
import { StoreError } from './block-store.ts'
import { holdLock, importLockName } from './idb-recovery.ts'
import { type BlockDb, blobRange, inTransaction, newBlobId } from './idb-schema.ts'
import { type ImportLimits, ImportPipeline, pumpSource } from './import-pipeline.ts'
import { stopSource } from './import-source.ts'

/** Full blocks written per transaction during an import. */
const BATCH_BLOCKS = 4

/** An import whose blocks but the last are staged under `blob`. */
export interface StagedImport {
  readonly blob: string
  readonly tree: HashTree
  /** The index of the first block in `last`. */
  readonly start: number
  /** The blocks not yet written (the last partial one, or the empty block of empty content). */
  readonly last: Uint8Array[]
}

export interface StagingOptions {
  readonly limits: ImportLimits
  readonly signal: AbortSignal
  readonly onProgress?: ((bytesDone: number) => void) | undefined
  readonly expectedHex: string | undefined
  /** Throws `STORE_CLOSED` once the store is closed (checked before each batch). */
  readonly assertOpen: () => void
}

/**
 * Stages the import of `iterator` into database `database`, then runs `commit` on it (under
 * the import's lock). Resolves with the tree once `commit` has.
 */
export async function importStaged(
  db: BlockDb,
  database: string,
  iterator: AsyncIterator<Uint8Array>,
  options: StagingOptions,
  commit: (staged: StagedImport) => Promise<void>,
): Promise<HashTree> {
  const { signal } = options
  const blob = newBlobId()
  const release = await holdLock(importLockName(database, blob))
  let staged = false
  let inflight: Promise<void> | undefined
  try {
    signal.throwIfAborted()
    await db.put('staging', { startedAt: Date.now() }, blob)
    staged = true
    const pipeline = new ImportPipeline(options.limits)
    let batch: Uint8Array[] = []
    let batchStart = 0
    await pumpSource(
      iterator,
      pipeline,
      async (blocks) => {
        batch.push(...blocks)
        if (batch.length < BATCH_BLOCKS) return
        // One batch in flight while the next one fills.
        await inflight
        inflight = writeBatch(db, blob, batchStart, batch, options.assertOpen)
        inflight.catch(() => {})
        batchStart += batch.length
        batch = []
      },
      { signal, onProgress: options.onProgress },
    )
    await inflight
    // The last block is partial (or the single empty block of empty content).
    const { tree, tail } = pipeline.finish(options.expectedHex)
    if (tail !== undefined) batch.push(tail)
    signal.throwIfAborted()
    await commit({ blob, tree, start: batchStart, last: batch })
    staged = false
    return tree
  } catch (e) {
    stopSource(iterator)
    await inflight?.catch(() => {})
    if (staged) await discard(db, blob).catch(() => {})
    throw e
  } finally {
    release?.()
  }
}

/** Writes staged blocks, unless the staging entry is gone (removed by another context). */
async function writeBatch(
  db: BlockDb,
  blob: string,
  start: number,
  blocks: Uint8Array[],
  assertOpen: () => void,
): Promise<void> {
  assertOpen()
  const tx = db.transaction(['staging', 'blocks'], 'readwrite')
  await inTransaction(tx, async () => {
    if ((await tx.objectStore('staging').get(blob)) === undefined) {
      throw new StoreError('STORE_CORRUPT', 'the import was cleaned up by another context')
    }
    // Each block is its own exact buffer: IndexedDB clones a view's whole buffer.
    await Promise.all(blocks.map((b, i) => tx.objectStore('blocks').put(b, [blob, start + i])))
  })
}

async function discard(db: BlockDb, blob: string): Promise<void> {
  const tx = db.transaction(['staging', 'blocks'], 'readwrite')
  await inTransaction(tx, async () => {
    await Promise.all([
      tx.objectStore('blocks').delete(blobRange(blob)),
      tx.objectStore('staging').delete(blob),
    ])
  })
}
