/** Which content a size limit evicts: the same rule in the filesystem and IndexedDB stores. */

/** What eviction reads of one stored content. */
export interface EvictionCandidate {
  readonly length: number
  readonly pinned: boolean
}

/** Bytes of content held, and of those the pinned ones. */
export interface StoredTotals {
  readonly bytes: number
  readonly pinnedBytes: number
}

/**
 * The unpinned items of `lruFirst` (least recently used first) to evict so that `need` more
 * bytes fit under `limit`, in that order. Undefined when they cannot fit even after evicting
 * all unpinned content, unless `bestEffort`: then as many as can go (all unpinned ones when
 * pinned content alone is over the limit). Pinned content is never a victim.
 */
export function chooseVictims<T>(
  lruFirst: Iterable<T>,
  of: (item: T) => EvictionCandidate,
  totals: StoredTotals,
  limit: number,
  need: number,
  bestEffort = false,
): T[] | undefined {
  if (!bestEffort && totals.pinnedBytes + need > limit) return undefined
  const victims: T[] = []
  let bytes = totals.bytes
  for (const item of lruFirst) {
    if (bytes + need <= limit) break
    const c = of(item)
    if (c.pinned) continue
    victims.push(item)
    bytes -= c.length
  }
  return victims
}
