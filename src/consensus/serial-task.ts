/**
 * A job that runs again and again, one run at a time: every `everyMs` on a timer (armed again
 * when a run ends, so a slow run never overlaps the next) and on demand with `runNow`, which
 * queues behind a run in progress. Stopping aborts the run in progress through its signal,
 * disarms the timer and waits for the run to end. A run that fails is handed to `onError`
 * (unless it failed because it was aborted) and counts as 0.
 *
 * The shape the claim settler, the measurement submitter and the pinger share.
 */
import { defaultSetTimer, type SetTimer } from './timer.ts'

export interface SerialTaskOptions<A> {
  readonly everyMs: number
  readonly setTimer?: SetTimer
  /** One run; its signal aborts when the caller's signal or `stop` does. */
  readonly run: (signal: AbortSignal, arg: A | undefined) => Promise<number>
  readonly onError: (error: unknown) => void
}

export interface SerialTask<A> {
  /** Runs once now (after a run in progress); resolves with the run's count, 0 once stopped. */
  runNow(signal?: AbortSignal, arg?: A): Promise<number>
  /** Arms the timer. */
  start(): void
  /** Aborts the run in progress, disarms the timer, and resolves when no run is left. */
  stop(): Promise<void>
  readonly stopped: boolean
}

export function serialTask<A = undefined>(options: SerialTaskOptions<A>): SerialTask<A> {
  const { everyMs, run, onError } = options
  if (!Number.isFinite(everyMs) || everyMs <= 0)
    throw new RangeError(`everyMs must be a positive number, got ${everyMs}`)
  const setTimer = options.setTimer ?? defaultSetTimer
  const stopping = new AbortController()
  let runs: Promise<unknown> = Promise.resolve()
  let disarm: (() => void) | undefined
  let stopped = false

  const task: SerialTask<A> = {
    get stopped() {
      return stopped
    },
    runNow(signal, arg) {
      const next = runs.then(async () => {
        if (stopped) return 0
        const combined =
          signal === undefined ? stopping.signal : AbortSignal.any([signal, stopping.signal])
        try {
          return await run(combined, arg)
        } catch (error) {
          if (!combined.aborted) onError(error)
          return 0
        }
      })
      runs = next
      return next
    },
    start() {
      arm()
    },
    async stop() {
      stopped = true
      stopping.abort()
      disarm?.()
      disarm = undefined
      await runs
    },
  }

  function arm(): void {
    if (stopped) return
    disarm = setTimer(() => {
      disarm = undefined
      void task.runNow().finally(arm)
    }, everyMs)
  }

  return task
}
