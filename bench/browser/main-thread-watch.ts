/**
 * Watches the page's main thread during a run: the Long Tasks API (what Chromium itself calls
 * a long task, over 50 ms) and, for blocking below that threshold, how late a 10 ms interval
 * timer fires. Both are cheap enough to leave on during throughput runs.
 */
import type { MainThreadStats } from './fetch-protocol.ts'

const TICK_MS = 10

interface Task {
  readonly start: number
  readonly duration: number
}

const tasks: Task[] = []
let observing = false

export function longTasksSupported(): boolean {
  return PerformanceObserver.supportedEntryTypes.includes('longtask')
}

function observe(): void {
  if (observing || !longTasksSupported()) return
  observing = true
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) tasks.push({ start: e.startTime, duration: e.duration })
  }).observe({ type: 'longtask', buffered: true })
}

/** Starts watching; the returned function stops and reports. */
export function watchMainThread(): () => Promise<MainThreadStats> {
  observe()
  const from = performance.now()
  let last = from
  let maxLag = 0
  const timer = setInterval(() => {
    const now = performance.now()
    maxLag = Math.max(maxLag, now - last - TICK_MS)
    last = now
  }, TICK_MS)
  return async () => {
    const to = performance.now()
    clearInterval(timer)
    // Long-task entries arrive after their task: give the observer a turn to deliver them.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const during = tasks.filter((t) => t.start >= from && t.start <= to)
    return {
      longTasks: during.length,
      longestTaskMs: Math.max(0, ...during.map((t) => t.duration)),
      maxTimerLagMs: Math.max(0, maxLag),
    }
  }
}
