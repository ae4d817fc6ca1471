/** The simulation's statistics: percentiles and Spearman's rank correlation. */

/** The q-quantile (0..1) of `values` by nearest rank; NaN for none. Sorts a copy. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] as number
}

/** Ranks 1..n, ties given their average rank. */
function ranks(values: readonly number[]): Float64Array {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v)
  const out = new Float64Array(values.length)
  for (let start = 0; start < order.length; ) {
    let end = start
    while (end + 1 < order.length && order[end + 1]?.v === order[start]?.v) end++
    const rank = (start + end) / 2 + 1
    for (let k = start; k <= end; k++) out[(order[k] as { i: number }).i] = rank
    start = end + 1
  }
  return out
}

/** Spearman's ρ: Pearson's correlation of the ranks (ties averaged); NaN when either is constant. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error('spearman: lists of different lengths')
  const ra = ranks(a)
  const rb = ranks(b)
  const n = a.length
  const mean = (n + 1) / 2
  let cov = 0
  let va = 0
  let vb = 0
  for (let i = 0; i < n; i++) {
    const da = (ra[i] as number) - mean
    const db = (rb[i] as number) - mean
    cov += da * db
    va += da * da
    vb += db * db
  }
  return cov / Math.sqrt(va * vb)
}
