/**
 * An IPFS CID or an HTTP URL with SRI names content by another digest than its BLAKE3 root:
 * the root a node announces is only a claim until the whole content matched the pointer. So
 * the worker fetches it whole into the block cache (each block verified against the claimed
 * root on the way), checks the pointer's digest over all of it, and only then maps the
 * pointer to the root. The page gets bytes from the cache afterwards, never before.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { sriVerifier } from '../../origin/http-origin.ts'
import { multihashVerifier } from '../../origin/ipfs-origin.ts'
import type { BodyVerifier } from '../../origin/origin.ts'
import { cidOf, type Pointer, parseIntegrity } from '../../origin/pointer.ts'
import type { BlockCache } from './block-cache.ts'
import { openBlockFeed } from './block-feed.ts'
import type { BlockSource } from './block-source.ts'
import { sniffContentType } from './content-type.ts'
import { SwError } from './sw-errors.ts'

export interface ResolvedPointer {
  readonly root: string
  readonly source: BlockSource['kind']
  readonly node: string
}

function wholeVerifier(pointer: Pointer): BodyVerifier | undefined {
  if (pointer.kind === 'ipfs') return multihashVerifier(cidOf(pointer), pointer.cid)
  if (pointer.kind === 'http') return sriVerifier(parseIntegrity(pointer.integrity), pointer.url)
  return undefined
}

export async function resolvePointer(
  pointer: Pointer,
  spelling: string,
  sources: readonly BlockSource[],
  cache: BlockCache,
  signal: AbortSignal,
): Promise<ResolvedPointer> {
  const whole = wholeVerifier(pointer)
  const feed = await openBlockFeed(sources, pointer, { first: 0 }, signal)
  const root = bytesToHex(feed.root)
  const node = feed.node
  const existed = (await cache.content(root)) !== undefined
  await cache.remember(root, feed.length)
  let type: string | undefined
  try {
    for (let block = await feed.next(); block !== undefined; block = await feed.next()) {
      whole?.update(block.bytes)
      if (block.index === 0) type = sniffContentType(block.bytes)
      await cache.putBlock(root, block.index, block.bytes)
    }
    whole?.check()
  } catch (error) {
    feed.cancel(error)
    if (!existed) await cache.deleteContent(root).catch(() => {})
    if (signal.aborted) throw signal.reason
    if (error instanceof SwError) throw error
    throw new SwError('SW_UNAVAILABLE', `${spelling}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  await cache.remember(root, feed.length, type)
  await cache.mapPointer(spelling, root)
  return { root, source: feed.source, node }
}
