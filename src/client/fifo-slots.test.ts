import { describe, expect, test } from 'vitest'
import { FifoSlots } from './fifo-slots.ts'

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

describe('FifoSlots', () => {
  test('at most `size` at once; the rest start in the order they asked', async () => {
    const slots = new FifoSlots(2)
    const gates = Array.from({ length: 5 }, deferred)
    const started: number[] = []
    let running = 0
    let most = 0
    const all = gates.map((gate, i) =>
      slots.run(async () => {
        started.push(i)
        most = Math.max(most, ++running)
        await gate.promise
        running--
      }),
    )
    await Promise.resolve()
    expect(started).toEqual([0, 1])
    // Finishing out of order still starts the waiters in order.
    for (const i of [1, 0, 4, 3, 2]) {
      gates[i]!.resolve()
      await new Promise((r) => setTimeout(r, 0))
    }
    await Promise.all(all)
    expect(started).toEqual([0, 1, 2, 3, 4])
    expect(most).toBe(2)
  })

  test('a waiter that aborts leaves the queue; a failed job frees its slot', async () => {
    const slots = new FifoSlots(1)
    const gate = deferred()
    const first = slots.run(() => gate.promise)
    const controller = new AbortController()
    const aborted = slots.run(async () => 'never', controller.signal)
    const third = slots.run(async () => 'third')
    controller.abort(new Error('gone'))
    await expect(aborted).rejects.toThrow('gone')
    gate.resolve()
    await first
    await expect(third).resolves.toBe('third')
    await expect(slots.run(async () => Promise.reject(new Error('job failed')))).rejects.toThrow(
      'job failed',
    )
    await expect(slots.run(async () => 'after')).resolves.toBe('after')
  })
})
