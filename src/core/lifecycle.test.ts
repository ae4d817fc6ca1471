import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  type Component,
  composeComponents,
  LifecycleError,
  startFailureCause,
} from './lifecycle.ts'

/** Components that write what happens to them into one journal. */
function parts(n: number, journal: string[], failAt = -1): Component[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `p${i}`,
    async start() {
      await Promise.resolve()
      if (i === failAt) throw new Error(`p${i} broke`)
      journal.push(`start p${i}`)
    },
    async stop() {
      await Promise.resolve()
      journal.push(`stop p${i}`)
    },
  }))
}

describe('composeComponents', () => {
  test('starts in order and stops in reverse', async () => {
    const journal: string[] = []
    const all = composeComponents('node', parts(3, journal))
    await all.start()
    expect(all.started).toEqual(['p0', 'p1', 'p2'])
    await all.stop()
    expect(journal).toEqual(['start p0', 'start p1', 'start p2', 'stop p2', 'stop p1', 'stop p0'])
    expect(all.started).toEqual([])
  })

  test('a failed start stops what started, in reverse, and rejects with the cause', async () => {
    const journal: string[] = []
    const all = composeComponents('node', parts(4, journal, 2))
    const error = await all.start().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LifecycleError)
    expect(error).toMatchObject({ code: 'LIFECYCLE_START_FAILED', component: 'p2' })
    expect((error as Error).message).toBe('node: p2 failed to start: p2 broke')
    expect(startFailureCause(error)).toMatchObject({ message: 'p2 broke' })
    expect(journal).toEqual(['start p0', 'start p1', 'stop p1', 'stop p0'])
    // p3 never started; nothing is left to stop.
    await all.stop()
    expect(journal).toHaveLength(4)
  })

  test('stop is idempotent: one stop per part, the same promise each call', async () => {
    const journal: string[] = []
    const all = composeComponents('node', parts(2, journal))
    await all.start()
    const first = all.stop()
    expect(all.stop()).toBe(first)
    await first
    await all.stop()
    expect(journal.filter((j) => j.startsWith('stop'))).toEqual(['stop p1', 'stop p0'])
  })

  test('a second start is refused', async () => {
    const all = composeComponents('node', parts(1, []))
    await all.start()
    await expect(all.start()).rejects.toMatchObject({ code: 'LIFECYCLE_ALREADY_STARTED' })
    await all.stop()
  })

  test('stop during the start: the starting part is told through its signal, the rest never start', async () => {
    const journal: string[] = []
    let entered!: () => void
    const inSlowStart = new Promise<void>((resolve) => {
      entered = resolve
    })
    const slow: Component = {
      name: 'slow',
      start: (signal) =>
        new Promise<void>((_, reject) => {
          entered()
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
        }),
      stop: () => void journal.push('stop slow'),
    }
    const [p0, p1] = parts(2, journal)
    const all = composeComponents('node', [p0!, slow, p1!])
    const starting = all.start()
    await inSlowStart
    const stopped = all.stop()
    await expect(starting).rejects.toMatchObject({ code: 'LIFECYCLE_START_ABORTED' })
    await stopped
    // slow never finished starting, so it is not stopped; p1 never started.
    expect(journal).toEqual(['start p0', 'stop p0'])
  })

  test("the caller's aborted signal abandons the start and stops what started", async () => {
    const journal: string[] = []
    const controller = new AbortController()
    const first: Component = {
      name: 'first',
      start: () => {
        journal.push('start first')
        controller.abort(new Error('gave up'))
      },
      stop: () => void journal.push('stop first'),
    }
    const all = composeComponents('node', [first, ...parts(1, journal)])
    const error = await all.start(controller.signal).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'LIFECYCLE_START_ABORTED' })
    expect((error as Error).cause).toMatchObject({ message: 'gave up' })
    expect(journal).toEqual(['start first', 'stop first'])
  })

  test('a failing stop does not keep the others up; stop rejects naming it', async () => {
    const journal: string[] = []
    const [p0, p2] = parts(2, journal)
    const bad: Component = {
      name: 'bad',
      start: () => {},
      stop: () => {
        throw new Error('stuck')
      },
    }
    const all = composeComponents('node', [p0!, bad, p2!])
    await all.start()
    const error = await all.stop().catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'LIFECYCLE_STOP_FAILED', component: 'bad' })
    expect(journal).toEqual(['start p0', 'start p1', 'stop p1', 'stop p0'])
  })

  test('startFailureCause leaves other errors as they are', () => {
    const plain = new Error('plain')
    expect(startFailureCause(plain)).toBe(plain)
  })

  test('property: whatever part fails, exactly the parts started are stopped, in reverse', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: -1, max: 11 }),
        async (n, at) => {
          const failAt = at < n ? at : -1
          const journal: string[] = []
          const all = composeComponents('node', parts(n, journal, failAt))
          const failed = await all.start().then(
            () => false,
            () => true,
          )
          await all.stop()
          const upTo = failAt === -1 ? n : failAt
          const starts = Array.from({ length: upTo }, (_, i) => `start p${i}`)
          const stops = Array.from({ length: upTo }, (_, i) => `stop p${upTo - 1 - i}`)
          expect(failed).toBe(failAt !== -1)
          expect(journal).toEqual([...starts, ...stops])
        },
      ),
      { numRuns: 200 },
    )
  })
})
