/**
 * The one metrics interface parts of a node count into: counters, gauges and histograms with
 * labels, in prom-client's shape (labels given as values, in `labelNames` order), so prom-client
 * backs it on a full node as it is (src/node/metrics.ts, served at `/metrics`) and
 * `createMemoryMetrics` backs it in a tab and in tests, where the values are read back.
 */

export interface CounterChild {
  inc(value?: number): void
}

export interface Counter<L extends string = never> extends CounterChild {
  /** The series with these label values: one per name in `labelNames`, in order, or by name. */
  labels(...values: string[]): CounterChild
  labels(values: Readonly<Record<L, string>>): CounterChild
}

export interface GaugeChild {
  set(value: number): void
  inc(value?: number): void
  dec(value?: number): void
}

export interface Gauge<L extends string = never> extends GaugeChild {
  /** The series with these label values: one per name in `labelNames`, in order, or by name. */
  labels(...values: string[]): GaugeChild
  labels(values: Readonly<Record<L, string>>): GaugeChild
}

export interface HistogramChild {
  observe(value: number): void
}

export interface Histogram<L extends string = never> extends HistogramChild {
  /** The series with these label values: one per name in `labelNames`, in order, or by name. */
  labels(...values: string[]): HistogramChild
  labels(values: Readonly<Record<L, string>>): HistogramChild
}

export interface MetricOptions<L extends string> {
  /** The Prometheus name (`fulmen_…_total` for a counter). */
  readonly name: string
  readonly help: string
  readonly labelNames?: readonly L[]
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /** Reads the gauge's value when it is read (a scrape), for a value kept elsewhere. */
  readonly collect?: () => number
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds of the buckets, ascending (default: the backend's). */
  readonly buckets?: readonly number[]
}

/** Where metrics are made: each name once. */
export interface Metrics {
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L>
  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L>
  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L>
}

/** One series of a metric as the memory backend holds it. */
export interface MetricSeries {
  readonly labels: Readonly<Record<string, string>>
  /** A counter's or a gauge's value; a histogram's sum. */
  readonly value: number
  /** Observations, for a histogram (0 otherwise). */
  readonly count: number
}

/** Label values as `labels` takes them: positional, or one object by name. */
type LabelArgs = string[] | [Readonly<Record<string, string>>]

export interface MemoryMetrics extends Metrics {
  /** The value of the series with these labels (0 when it has none yet). */
  value(name: string, labels?: Readonly<Record<string, string>>): number
  /** Every series of a metric, in the order they first appeared. */
  series(name: string): MetricSeries[]
}

interface Cell {
  labels: Record<string, string>
  value: number
  count: number
}

/** Metrics kept in memory, for a browser tab (no Prometheus there) and for tests. */
export function createMemoryMetrics(): MemoryMetrics {
  const families = new Map<
    string,
    { labelNames: readonly string[]; cells: Map<string, Cell>; collect?: () => number }
  >()

  const family = (options: GaugeOptions<string>) => {
    if (families.has(options.name))
      throw new RangeError(`metric ${options.name} is registered already`)
    const f = {
      labelNames: options.labelNames ?? [],
      cells: new Map<string, Cell>(),
      ...(options.collect === undefined ? {} : { collect: options.collect }),
    }
    families.set(options.name, f)
    const cell = (args: LabelArgs): Cell => {
      const [first] = args
      const values =
        typeof first === 'object' ? f.labelNames.map((n) => first[n] ?? '') : (args as string[])
      // No values at all is the series without labels, as prom-client allows.
      if (values.length > 0 && values.length !== f.labelNames.length)
        throw new RangeError(
          `${options.name} takes ${f.labelNames.length} label values, got ${values.length}`,
        )
      const key = JSON.stringify(values)
      let c = f.cells.get(key)
      if (c === undefined) {
        const labels = Object.fromEntries(values.map((v, i) => [f.labelNames[i]!, v]))
        c = { labels, value: 0, count: 0 }
        f.cells.set(key, c)
      }
      return c
    }
    return cell
  }

  const counterChild = (c: Cell): CounterChild => ({
    inc(value = 1) {
      if (!(value >= 0)) throw new RangeError(`a counter only goes up, got ${value}`)
      c.value += value
    },
  })
  const gaugeChild = (c: Cell): GaugeChild => ({
    set(value) {
      c.value = value
    },
    inc(value = 1) {
      c.value += value
    },
    dec(value = 1) {
      c.value -= value
    },
  })

  const read = (name: string) => {
    const f = families.get(name)
    if (f?.collect !== undefined) {
      const value = f.collect()
      const cell = f.cells.get('[]') ?? { labels: {}, value: 0, count: 0 }
      cell.value = value
      f.cells.set('[]', cell)
    }
    return f
  }

  return {
    counter(options) {
      const cell = family(options)
      return {
        inc: (value) => counterChild(cell([])).inc(value),
        labels: (...values: LabelArgs) => counterChild(cell(values)),
      }
    },
    gauge(options) {
      const cell = family(options)
      const root = () => gaugeChild(cell([]))
      return {
        set: (value) => root().set(value),
        inc: (value) => root().inc(value),
        dec: (value) => root().dec(value),
        labels: (...values: LabelArgs) => gaugeChild(cell(values)),
      }
    },
    histogram(options) {
      // Count and sum only: buckets are for a scraper, and nothing scrapes this backend.
      const cell = family(options)
      const child = (c: Cell): HistogramChild => ({
        observe(value) {
          c.value += value
          c.count++
        },
      })
      return {
        observe: (value) => child(cell([])).observe(value),
        labels: (...values: LabelArgs) => child(cell(values)),
      }
    },
    value(name, labels = {}) {
      const f = read(name)
      if (f === undefined) throw new RangeError(`no metric ${name}`)
      const key = JSON.stringify(f.labelNames.map((n) => labels[n]))
      return f.cells.get(key)?.value ?? 0
    },
    series(name) {
      const f = read(name)
      if (f === undefined) throw new RangeError(`no metric ${name}`)
      return [...f.cells.values()].map((c) => ({
        labels: { ...c.labels },
        value: c.value,
        count: c.count,
      }))
    },
  }
}
