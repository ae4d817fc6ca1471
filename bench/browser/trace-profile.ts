/**
 * Where the CPU goes during one run, per thread (the page, the client worker…): Chromium's
 * trace with V8's sampling profiler (`disabled-by-default-v8.cpu_profiler`), summed into
 * self time per function. Used by fetch-driver.ts when FULMEN_BENCH_BROWSER_PROFILE is set.
 */
import type { Browser, Page } from 'playwright'

interface TraceEvent {
  readonly name: string
  readonly ph: string
  readonly pid: number
  readonly tid: number
  readonly id?: string
  readonly args?: {
    readonly name?: string
    readonly data?: {
      readonly cpuProfile?: {
        readonly nodes?: {
          readonly id: number
          readonly callFrame: {
            readonly functionName: string
            readonly url?: string
            readonly lineNumber?: number
          }
        }[]
        readonly samples?: number[]
      }
      readonly timeDeltas?: number[]
    }
  }
}

export interface ThreadProfile {
  readonly thread: string
  readonly ms: number
  /** Heaviest functions by self time: `name (file)` and ms. */
  readonly top: readonly { readonly fn: string; readonly ms: number }[]
}

/** Runs `run` under the profiler; the busiest threads, heaviest functions first. */
export async function profileRun(
  browser: Browser,
  page: Page,
  run: () => Promise<unknown>,
  topN = 12,
): Promise<ThreadProfile[]> {
  await browser.startTracing(page, {
    categories: ['disabled-by-default-v8.cpu_profiler', '__metadata'],
  })
  await run()
  const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as {
    traceEvents: TraceEvent[]
  }
  const threadNames = new Map<string, string>()
  for (const e of trace.traceEvents)
    if (e.ph === 'M' && e.name === 'thread_name')
      threadNames.set(`${e.pid}:${e.tid}`, e.args?.name ?? '?')
  // One profile per thread, in chunks: node ids are per profile (pid + id). The chunks come
  // from the profiler's own thread; the `Profile` event that opens them names the thread.
  // Workers of one process share a thread name: their thread id tells them apart.
  const profileThread = new Map<string, string>()
  for (const e of trace.traceEvents)
    if (e.name === 'Profile') {
      const name = threadNames.get(`${e.pid}:${e.tid}`) ?? `${e.tid}`
      profileThread.set(
        `${e.pid}:${e.id}`,
        name.startsWith('DedicatedWorker') ? `${name} ${e.tid}` : name,
      )
    }
  const frames = new Map<string, string>()
  const threads = new Map<string, Map<string, number>>()
  for (const e of trace.traceEvents) {
    if (e.name !== 'ProfileChunk') continue
    const profile = `${e.pid}:${e.id}`
    const thread = `${profileThread.get(profile) ?? '?'} (pid ${e.pid})`
    const data = e.args?.data
    for (const n of data?.cpuProfile?.nodes ?? []) {
      const file = (n.callFrame.url ?? '').split('/').at(-1)?.split('?')[0] ?? ''
      // An anonymous function is named by its line (0-based in the trace) to be found again.
      const fn = n.callFrame.functionName || `(anonymous:${(n.callFrame.lineNumber ?? -1) + 1})`
      frames.set(`${profile}:${n.id}`, `${fn}${file ? ` (${file})` : ''}`)
    }
    const samples = data?.cpuProfile?.samples ?? []
    const deltas = data?.timeDeltas ?? []
    const self = threads.get(thread) ?? new Map<string, number>()
    threads.set(thread, self)
    for (let i = 0; i < samples.length; i++) {
      const fn = frames.get(`${profile}:${samples[i]}`) ?? '?'
      self.set(fn, (self.get(fn) ?? 0) + (deltas[i] ?? 0) / 1000)
    }
  }
  return [...threads]
    .map(([thread, self]) => {
      const busy = [...self].filter(([fn]) => !fn.startsWith('(idle)'))
      return {
        thread,
        ms: busy.reduce((s, [, ms]) => s + ms, 0),
        top: busy
          .sort((a, b) => b[1] - a[1])
          .slice(0, topN)
          .map(([fn, ms]) => ({ fn, ms })),
      }
    })
    .filter((t) => t.ms > 1)
    .sort((a, b) => b.ms - a.ms)
}
