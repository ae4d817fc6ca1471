/** serialTask: one run at a time, on a timer and on demand; stop aborts and waits. */
import { describe, expect, test } from 'vitest'
import { serialTask } from './serial-task.ts'
import type { SetTimer } from './timer.ts'

/** A timer the test fires by hand. */
function manualTimer() {
  const armed: (() => void)[] = []
  const setTimer: SetTimer = (fn) => {
    armed.push(fn)
    return () => {
      const i = armed.indexOf(fn)
      if (i >= 0) armed.splice(i, 1)
    }
  }
  return {
    setTimer,
    fire: () => armed.shift()?.(),
    get armed() {
      return armed.length
    },
  }
}

describe('serialTask', () => {
  test('runs one at a time, in call order, and re-arms after a timed run', async () => {
    const timer = manualTimer()
    const log: string[] = []
    let active = 0
    const task = serialTask<string>({
      everyMs: 10,
      setTimer: timer.setTimer,
      run: async (_signal, arg) => {
        active++
        expect(active).toBe(1)
        log.push(`start ${arg ?? 'timer'}`)
        await new Promise((r) => setTimeout(r, 5))
        log.push(`end ${arg ?? 'timer'}`)
        active--
        return 1
      },
      onError: () => {},
    })
    task.start()
    expect(timer.armed).toBe(1)
    const a = task.runNow(undefined, 'a')
    const b = task.runNow(undefined, 'b')
    timer.fire()
    expect(await Promise.all([a, b])).toEqual([1, 1])
    await new Promise((r) => setTimeout(r, 20))
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start timer', 'end timer'])
    expect(timer.armed).toBe(1)
    await task.stop()
    expect(timer.armed).toBe(0)
  })

  test('a failed run goes to onError and counts 0; stop aborts the run in progress', async () => {
    const errors: unknown[] = []
    let seen: AbortSignal | undefined
    const task = serialTask<boolean>({
      everyMs: 1_000,
      run: async (signal, fail) => {
        if (fail) throw new Error('boom')
        seen = signal
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        )
        return 1
      },
      onError: (e) => errors.push(e),
    })
    expect(await task.runNow(undefined, true)).toBe(0)
    expect(errors).toHaveLength(1)
    const pending = task.runNow()
    await new Promise((r) => setTimeout(r, 5))
    await task.stop()
    expect(await pending).toBe(0)
    expect(seen?.aborted).toBe(true)
    expect(errors).toHaveLength(1) // an aborted run is not an error
    expect(task.stopped).toBe(true)
    expect(await task.runNow()).toBe(0)
  })

  test('refuses a non-positive interval', () => {
    expect(() => serialTask({ everyMs: 0, run: async () => 0, onError: () => {} })).toThrow(
      RangeError,
    )
  })
})
