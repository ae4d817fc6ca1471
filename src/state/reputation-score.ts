/**
 * Reputation scores at the epoch change: the whitepaper's Appendix A ("Performance Reputation
 * Algorithm") as Lightning implements it (core/reputation/src/{lib,statistics,types}.rs and
 * `calculate_reputation_scores` in core/application/src/state/executor/epoch_change.rs):
 *
 * 1. Each report is weighted by its reporter's current score (a reporter without one: the 15th
 *    percentile of all current scores, or 15 when there are none; Lightning's
 *    DEFAULT_REP_QUANTILE = 0.15 and `unwrap_or(15)`).
 * 2. Per subject and per measurement, reports at |z| ≥ 3 (z from the unweighted mean and the
 *    sample variance, n − 1) are dropped as outliers (Lightning `z_score_normalize_filter`:
 *    keeps (x − mean)² / variance < 9), then the weighted mean of the rest is taken.
 * 3. Each mean is min-max normalised across subjects to [0, 1] (a measurement whose min equals
 *    its max says nothing and is dropped for everyone); uptime is not min-max normalised but
 *    divided by 100 % (FIXED_ONE here, 100 in Lightning).
 * 4. The epoch's score is 100 × the plain average of the normalised measurements, latency
 *    counted as 1 − latency (lower is better), floored; a subject with fewer than three
 *    measurements, or fewer reports than `minReports`, scores 0 this epoch (Lightning
 *    `calculate_score` returns None under 3 and the executor uses `unwrap_or(0)`).
 * 5. The new score is the EWMA floor(0.7 × previous + 0.3 × epoch score) (Lightning
 *    REP_EWMA_WEIGHT = 0.7; the whitepaper's β = 0.3), previous as in 1 for a node without one.
 *
 * Lightning's measurements are latency, interactions, inbound and outbound bandwidth, bytes
 * received and sent, and uptime, each counted once (no per-measurement weights); hops are
 * reported but not scored, here too.
 *
 * Arithmetic: exact rationals over bigint up to the two floors of steps 4 and 5, so scores are
 * the same on every machine and no rounding happens anywhere else. Lightning computes in
 * 18-decimal fixed point (from f64 constants) and truncates at the same two places.
 *
 * Where this differs from Lightning, deliberately:
 * - After outliers are dropped the remaining weights are renormalised (Lightning keeps the
 *   weights it normalised before dropping, so a dropped outlier pulls the mean towards 0).
 * - Latency reports are weighted by the reporter's score like every other measurement, as the
 *   whitepaper says. Lightning inverts those weights (1 − w, renormalised), which gives a
 *   reporter with score 0 the most say over latency.
 * - Self-reports and reports that fail `measurementsValid` are ignored here rather than trusted
 *   to have been refused on submission.
 */
import { StateError } from './errors.ts'
import { FIXED_ONE, MEASUREMENT_FIELDS, type Measurements } from './model.ts'

/** Weight of the previous score in the EWMA, in tenths (Lightning REP_EWMA_WEIGHT = 0.7). */
export const REPUTATION_EWMA_PREVIOUS_TENTHS = 7n
/** Score of a node that has none yet, when no node has one (Lightning `unwrap_or(15)`). */
export const DEFAULT_REPUTATION = 15
/** Percentile of current scores that a node without a score is given (DEFAULT_REP_QUANTILE). */
export const DEFAULT_REPUTATION_PERCENTILE = 15
/** Reports at |z| ≥ this are outliers. */
export const OUTLIER_Z = 3n
/** Fewer scored measurements than this give no epoch score (Lightning `calculate_score`). */
export const MIN_SCORED_MEASUREMENTS = 3
/** Limits of a plausible report (Lightning `ReputationMeasurements::verify`): latency under
 * 20 s, bandwidth at most 50 Gbit/s (6.25e9 bytes/s), uptime at most 100 %. */
export const MAX_LATENCY_US = 20_000_000
export const MAX_BANDWIDTH = 6_250_000_000
export const MAX_HOPS = 255

export interface ReputationReport {
  readonly reporter: Uint8Array
  readonly subject: Uint8Array
  readonly measurements: Measurements
}

type MeasurementName = Exclude<keyof Measurements, 'hops'>

/** The scored measurements; latency is the one where lower is better, uptime the one that is
 * not min-max normalised. */
const SCORED: readonly MeasurementName[] = MEASUREMENT_FIELDS.filter(
  (f): f is MeasurementName => f !== 'hops',
)

/** A rational n / d with d > 0, in lowest terms (means and normalised values). */
interface Ratio {
  readonly n: bigint
  readonly d: bigint
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a
  let y = b
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

function ratio(n: bigint, d: bigint): Ratio {
  const sign = d < 0n ? -1n : 1n
  const g = gcd(n, d < 0n ? -d : d) || 1n
  return { n: (sign * n) / g, d: (sign * d) / g }
}

const compare = (a: Ratio, b: Ratio) => a.n * b.d - b.n * a.d
const subtract = (a: Ratio, b: Ratio) => ratio(a.n * b.d - b.n * a.d, a.d * b.d)
const add = (a: Ratio, b: Ratio) => ratio(a.n * b.d + b.n * a.d, a.d * b.d)
const divide = (a: Ratio, b: Ratio) => ratio(a.n * b.d, a.d * b.n)

const hexOf = (key: Uint8Array) =>
  Array.from(key, (byte) => byte.toString(16).padStart(2, '0')).join('')

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
}

/**
 * Whether a report is plausible (Lightning `ReputationMeasurements::verify`, plus: every field
 * a safe integer, counts and rates non-negative, hops at most 255). The executor should refuse
 * the others on submission; `reputationScores` ignores them.
 */
export function measurementsValid(m: Measurements): boolean {
  const big = Number.MAX_SAFE_INTEGER
  const checks: [unknown, number, number][] = [
    [m.latencyUs, 0, MAX_LATENCY_US - 1],
    [m.interactions, -big, big],
    [m.inboundBandwidth, 0, MAX_BANDWIDTH],
    [m.outboundBandwidth, 0, MAX_BANDWIDTH],
    [m.bytesReceived, 0, big],
    [m.bytesSent, 0, big],
    [m.uptime, 0, Number(FIXED_ONE)],
    [m.hops, 0, MAX_HOPS],
  ]
  return checks.every(([value, min, max]) => value === undefined || isIntegerIn(value, min, max))
}

/** Keeps the values whose z-score is under OUTLIER_Z, tested exactly: with S = Σx, Q = Σx²,
 * z² = (n·x − S)² (n − 1) / (n (n·Q − S²)), so keep iff (n·x − S)² (n − 1) < 9 n (n·Q − S²).
 * One value, or values all equal (no variance), are all kept, as in Lightning. */
function withoutOutliers<T extends { readonly value: bigint }>(samples: readonly T[]): T[] {
  const n = BigInt(samples.length)
  let sum = 0n
  let squares = 0n
  for (const { value } of samples) {
    sum += value
    squares += value * value
  }
  const spread = n * squares - sum * sum
  if (n < 2n || spread === 0n) return [...samples]
  const bound = OUTLIER_Z * OUTLIER_Z * n * spread
  return samples.filter(({ value }) => {
    const deviation = n * value - sum
    return deviation * deviation * (n - 1n) < bound
  })
}

/** Weighted mean of the samples; equal weights when every weight is 0 (Lightning's fallback). */
function weightedMean(samples: readonly { value: bigint; weight: bigint }[]): Ratio {
  let weights = 0n
  let weighted = 0n
  let plain = 0n
  for (const { value, weight } of samples) {
    weights += weight
    weighted += value * weight
    plain += value
  }
  return weights === 0n ? ratio(plain, BigInt(samples.length)) : ratio(weighted, weights)
}

/** The score a node without one is given: the 15th percentile of current scores (index
 * floor(0.15 × count) of the sorted scores, Lightning `approx_quantile`), or 15. */
function defaultScoreOf(previous: ReadonlyMap<string, number>): number {
  const scores = [...previous.values()].sort((a, b) => a - b)
  if (scores.length === 0) return DEFAULT_REPUTATION
  return scores[Math.floor((scores.length * DEFAULT_REPUTATION_PERCENTILE) / 100)] as number
}

function checkPrevious(previous: ReadonlyMap<string, number>): void {
  for (const [key, score] of previous) {
    if (!isIntegerIn(score, 0, 100)) {
      throw new StateError(
        'STATE_INVALID_ARGUMENT',
        `reputation of ${key} must be an integer 0..100, got ${score}`,
      )
    }
  }
}

/**
 * The epoch's own scores (steps 1–4), before the EWMA: for every subject with enough valid
 * reports, an integer 0..100. Keys are lowercase hex node keys.
 */
export function measuredScores(
  reports: readonly ReputationReport[],
  previous: ReadonlyMap<string, number>,
  minReports = 1,
): Map<string, number> {
  checkPrevious(previous)
  if (!Number.isSafeInteger(minReports) || minReports < 1) {
    throw new StateError(
      'STATE_INVALID_ARGUMENT',
      `minReports must be a positive integer, got ${minReports}`,
    )
  }
  const defaultScore = BigInt(defaultScoreOf(previous))
  // Each valid report, as its reporter's weight and its measurements, by subject.
  const bySubject = new Map<string, { weight: bigint; measurements: Measurements }[]>()
  for (const report of reports) {
    if (!(report.reporter instanceof Uint8Array) || !(report.subject instanceof Uint8Array)) {
      throw new StateError(
        'STATE_INVALID_ARGUMENT',
        'a report names its reporter and subject as bytes',
      )
    }
    const subject = hexOf(report.subject)
    const reporter = hexOf(report.reporter)
    if (subject === reporter || !measurementsValid(report.measurements)) continue
    const score = previous.get(reporter)
    const weight = score === undefined ? defaultScore : BigInt(score)
    const list = bySubject.get(subject) ?? []
    list.push({ weight, measurements: report.measurements })
    bySubject.set(subject, list)
  }

  // Step 2: per subject and measurement, the weighted mean of the reports that are not outliers.
  const means = new Map<string, Map<MeasurementName, Ratio>>()
  for (const [subject, list] of bySubject) {
    if (list.length < minReports) continue
    const perMeasurement = new Map<MeasurementName, Ratio>()
    for (const name of SCORED) {
      const samples: { value: bigint; weight: bigint }[] = []
      for (const { weight, measurements } of list) {
        const value = measurements[name]
        if (value !== undefined) samples.push({ value: BigInt(value), weight })
      }
      if (samples.length > 0) perMeasurement.set(name, weightedMean(withoutOutliers(samples)))
    }
    means.set(subject, perMeasurement)
  }

  // Step 3: min and max of each mean across subjects.
  const range = new Map<MeasurementName, { min: Ratio; max: Ratio }>()
  for (const perMeasurement of means.values()) {
    for (const [name, mean] of perMeasurement) {
      const seen = range.get(name)
      if (seen === undefined) range.set(name, { min: mean, max: mean })
      else {
        if (compare(mean, seen.min) < 0n) seen.min = mean
        if (compare(mean, seen.max) > 0n) seen.max = mean
      }
    }
  }

  // Step 4: the average of the normalised measurements, × 100, floored.
  const one = ratio(1n, 1n)
  const scores = new Map<string, number>()
  for (const [subject, perMeasurement] of means) {
    let total = ratio(0n, 1n)
    let count = 0
    for (const [name, mean] of perMeasurement) {
      let normalised: Ratio
      if (name === 'uptime') normalised = divide(mean, ratio(FIXED_ONE, 1n))
      else {
        const { min, max } = range.get(name) as { min: Ratio; max: Ratio }
        if (compare(min, max) === 0n) continue
        normalised = divide(subtract(mean, min), subtract(max, min))
        if (name === 'latencyUs') normalised = subtract(one, normalised)
      }
      total = add(total, normalised)
      count++
    }
    const score =
      count < MIN_SCORED_MEASUREMENTS ? 0n : (100n * total.n) / (BigInt(count) * total.d)
    scores.set(subject, Number(score > 100n ? 100n : score))
  }
  return scores
}

/**
 * New reputation scores (steps 1–5) for every node the inputs name: each reporter, each
 * subject and each key of `previous` (a node with no valid reports this epoch scores 0 for it,
 * so its score decays, as in Lightning). `previous` maps lowercase hex node keys to integer
 * scores 0..100; `minReports` is Lightning's genesis `min_num_measurements` (2 on its localnet,
 * 4 on its testnet; 1 suits a devnet of two nodes). The result does not depend on the order of
 * `reports`. Throws STATE_INVALID_ARGUMENT for a previous score outside 0..100 or non-byte keys.
 */
export function reputationScores(
  reports: readonly ReputationReport[],
  previous: ReadonlyMap<string, number>,
  minReports = 1,
): Map<string, number> {
  const measured = measuredScores(reports, previous, minReports)
  const defaultScore = defaultScoreOf(previous)
  const nodes = new Set<string>(previous.keys())
  for (const { reporter, subject } of reports) {
    nodes.add(hexOf(reporter))
    nodes.add(hexOf(subject))
  }
  const scores = new Map<string, number>()
  for (const node of [...nodes].sort()) {
    const before = BigInt(previous.get(node) ?? defaultScore)
    const now = BigInt(measured.get(node) ?? 0)
    const ewma =
      (REPUTATION_EWMA_PREVIOUS_TENTHS * before + (10n - REPUTATION_EWMA_PREVIOUS_TENTHS) * now) /
      10n
    scores.set(node, Number(ewma))
  }
  return scores
}
