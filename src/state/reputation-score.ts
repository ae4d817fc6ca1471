/**
 * Reputation scores at the epoch change: the whitepaper's Appendix A ("Performance Reputation
 * Algorithm") as Lightning implements it (core/reputation/src/{lib,statistics,types}.rs and
 * `calculate_reputation_scores` in core/application/src/state/executor/epoch_change.rs):
 *
 * 1. Each report is weighted by its reporter's current score (a reporter without one: the 15th
 *    percentile of all current scores, or 15 when there are none; Lightning's
 *    DEFAULT_REP_QUANTILE = 0.15 and `unwrap_or(15)`).
 * 2. Per subject and per measurement, outlying reports are dropped, then the weighted mean of
 *    the rest is taken; a measurement fewer than half the subject's reporters made is not
 *    scored for it. Lightning drops |z| ≥ 3 (z from the unweighted mean and the sample
 *    variance, `z_score_normalize_filter`); here the modified z-score over the median and the
 *    median absolute deviation decides (|M| > 3.5, see `withoutOutliers`), which a tenth of
 *    the reporters lying together cannot defeat and Lightning's test cannot stop.
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
 * - Outliers by the median and the MAD, not the mean and the variance (step 2; measured in the
 *   geography simulation, docs/simulation.md).
 * - After outliers are dropped the remaining weights are renormalised (Lightning keeps the
 *   weights it normalised before dropping, so a dropped outlier pulls the mean towards 0).
 * - Latency reports are weighted by the reporter's score like every other measurement, as the
 *   whitepaper says. Lightning inverts those weights (1 − w, renormalised), which gives a
 *   reporter with score 0 the most say over latency.
 * - Self-reports and reports that fail `measurementsValid` are ignored here rather than trusted
 *   to have been refused on submission.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { StateError } from './errors.ts'
import { FIXED_ONE, MEASUREMENT_FIELDS, type Measurements } from './model.ts'

/** Weight of the previous score in the EWMA, in tenths (Lightning REP_EWMA_WEIGHT = 0.7). */
export const REPUTATION_EWMA_PREVIOUS_TENTHS = 7n
/** Score of a node that has none yet, when no node has one (Lightning `unwrap_or(15)`). */
export const DEFAULT_REPUTATION = 15
/** Percentile of current scores that a node without a score is given (DEFAULT_REP_QUANTILE). */
export const DEFAULT_REPUTATION_PERCENTILE = 15
/** A report is an outlier at |0.6745 (x − median) / MAD| > 3.5: in doubled integers,
 * 13,490 × |2x − 2·median| > 35,000 × 4·MAD (see withoutOutliers). */
const OUTLIER_MAD_SCALE = 13_490n
const OUTLIER_MAD_BOUND = 35_000n
/** Subjects' means with MAD 0 (robustRange): the reach is 3.5 × 1.253314 × MeanAD, in millionths. */
const OUTLIER_MEAN_AD_BOUND = 4_386_599n
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

// The executor names nodes by hex key in maps; noble's table-driven hex is ~10× Array.from+join
// (the simulation's profile: 30 % of an epoch change in hexOf).
const hexOf = bytesToHex

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

/**
 * Drops the outliers among one subject's reports of one measurement, by the modified z-score
 * (Iglewicz and Hoaglin): M = 0.6745 (x − median) / MAD, an outlier at |M| > 3.5. The median
 * absolute deviation stands for the spread where Lightning uses the sample variance, because a
 * variance is moved by the very reports it should judge: with n reports, k of them equal and
 * extreme can never reach |z| ≥ 3 while k/n ≥ 1/10 (at k = 1, none can below n = 11). The
 * issue-19 simulation measured it: 10 % of nodes reporting falsely moved honest scores by 40 %
 * and dropped the rank correlation of reputation with true quality from 0.99 to 0.57 under
 * Lightning's filter; the median and the MAD hold until half the reports lie.
 *
 * When more than half the values are equal (MAD 0; uptime and interaction counts often are),
 * only those are kept: any other value is infinitely far in MAD units. (Iglewicz and Hoaglin
 * fall back to the mean absolute deviation there; that let 10 false reports of uptime 0 among
 * 23 stand in the simulation, moving the subject's score by 30 %.) Exact over bigints: values
 * are compared doubled so that the median of an even count stays an integer.
 */
function withoutOutliers<T extends { readonly value: bigint }>(samples: readonly T[]): T[] {
  const n = samples.length
  if (n < 3) return [...samples]
  const sorted = samples.map((s) => s.value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const lo = (n - 1) >> 1
  const hi = n >> 1
  const median2 = (sorted[lo] as bigint) + (sorted[hi] as bigint)
  const deviation2 = (x: bigint) => (2n * x > median2 ? 2n * x - median2 : median2 - 2n * x)
  const deviations = sorted.map(deviation2).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  // 4 × MAD: the doubled deviations' median, doubled again to stay an integer.
  const mad4 = (deviations[lo] as bigint) + (deviations[hi] as bigint)
  if (mad4 > 0n) {
    // |M| > 3.5 ⇔ 0.6745 |x − median| > 3.5 MAD ⇔ 13,490 × deviation2 > 35,000 × mad4.
    return samples.filter(
      ({ value }) => OUTLIER_MAD_SCALE * deviation2(value) <= OUTLIER_MAD_BOUND * mad4,
    )
  }
  // MAD 0: more than half the reports agree exactly; any other value is infinitely far in
  // MAD units, and so an outlier.
  return samples.filter(({ value }) => deviation2(value) === 0n)
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

const absolute = (a: Ratio): Ratio => (a.n < 0n ? ratio(-a.n, a.d) : a)
const times = (a: Ratio, b: Ratio) => ratio(a.n * b.n, a.d * b.d)
const min = (a: Ratio, b: Ratio) => (compare(a, b) <= 0n ? a : b)
const max = (a: Ratio, b: Ratio) => (compare(a, b) >= 0n ? a : b)
/** 3.5 / 0.6745 and 3.5 × 1.253314: the outlier bounds of `withoutOutliers`, as ratios. */
const MAD_REACH = ratio(OUTLIER_MAD_BOUND, OUTLIER_MAD_SCALE / 2n)
const MEAN_AD_REACH = ratio(OUTLIER_MEAN_AD_BOUND, 1_000_000n)

/** The median of ratios (the mean of the middle two for an even count). */
function medianOf(sorted: readonly Ratio[]): Ratio {
  const lo = sorted[(sorted.length - 1) >> 1] as Ratio
  const hi = sorted[sorted.length >> 1] as Ratio
  return divide(add(lo, hi), ratio(2n, 1n))
}

/**
 * The normalisation range of one measurement over the subjects' means: their min and max, but
 * no further from the median than the outlier bound of step 2 (median ± 3.5 MAD / 0.6745, or
 * ± 3.5 × 1.253314 MeanAD when the MAD is 0). Min-max alone lets one subject set everyone's
 * scale: in the issue-19 simulation a few nodes praised by their fellow liars reported 6.25 GB/s
 * of bandwidth, and every honest node's bandwidth normalised to under 0.02 (honest scores moved
 * by 30 %). Means beyond the bound are clamped to it (score as the best or worst plausible).
 */
function robustRange(means: readonly Ratio[]): { min: Ratio; max: Ratio } {
  const sorted = [...means].sort((a, b) => (compare(a, b) < 0n ? -1 : compare(a, b) > 0n ? 1 : 0))
  const low = sorted[0] as Ratio
  const high = sorted[sorted.length - 1] as Ratio
  if (sorted.length < 3) return { min: low, max: high }
  const median = medianOf(sorted)
  const deviations = sorted
    .map((m) => absolute(subtract(m, median)))
    .sort((a, b) => (compare(a, b) < 0n ? -1 : compare(a, b) > 0n ? 1 : 0))
  let reach = times(medianOf(deviations), MAD_REACH)
  if (reach.n === 0n) {
    let sum = ratio(0n, 1n)
    for (const d of deviations) sum = add(sum, d)
    reach = times(divide(sum, ratio(BigInt(deviations.length), 1n)), MEAN_AD_REACH)
  }
  return { min: max(low, subtract(median, reach)), max: min(high, add(median, reach)) }
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
      // A measurement most of the subject's reporters did not make says nothing: a node down all
      // epoch answers no honest latency probe, and the few that report one anyway would set
      // the whole network's latency range (min-max, step 3).
      if (samples.length > 0 && 2 * samples.length >= list.length)
        perMeasurement.set(name, weightedMean(withoutOutliers(samples)))
    }
    means.set(subject, perMeasurement)
  }

  // Step 3: the range of each mean across subjects, outlying means clamped into it.
  const values = new Map<MeasurementName, Ratio[]>()
  for (const perMeasurement of means.values())
    for (const [name, mean] of perMeasurement) {
      const list = values.get(name) ?? []
      list.push(mean)
      values.set(name, list)
    }
  const range = new Map<MeasurementName, { min: Ratio; max: Ratio }>()
  for (const [name, list] of values) range.set(name, robustRange(list))

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
        const clamped = compare(mean, min) < 0n ? min : compare(mean, max) > 0n ? max : mean
        normalised = divide(subtract(clamped, min), subtract(max, min))
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
