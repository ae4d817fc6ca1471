import { afterEach, describe, expect, test, vi } from 'vitest'
import { createConsoleLogger, type Logger, noopLogger } from './logger.ts'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('createConsoleLogger', () => {
  test('drops lines below its level; writes the message after the prefix, then the fields', () => {
    const warned: unknown[][] = []
    const debugged: unknown[][] = []
    vi.spyOn(console, 'warn').mockImplementation((...args) => void warned.push(args))
    vi.spyOn(console, 'debug').mockImplementation((...args) => void debugged.push(args))
    const log = createConsoleLogger({ level: 'warn', prefix: 'tab: ' })
    log.debug({ peer: 'p' }, 'handshake refused')
    log.warn({ peer: 'p' }, 'session stream failed')
    log.warn('plain')
    expect(debugged).toEqual([])
    expect(warned).toEqual([
      ['tab: session stream failed', { peer: 'p' }],
      ['tab: plain', {}],
    ])
  })

  test('a child adds its bindings to every line, under the fields of the line', () => {
    const errors: unknown[][] = []
    vi.spyOn(console, 'error').mockImplementation((...args) => void errors.push(args))
    const log = createConsoleLogger({ level: 'debug' }).child({ component: 'store', peer: 'a' })
    log.child({ peer: 'b' }).error({ root: 'r' }, 'corrupt')
    expect(errors).toEqual([['corrupt', { component: 'store', peer: 'b', root: 'r' }]])
  })

  test('silent writes nothing; the no-op logger neither, and its child is itself', () => {
    const spies = (['debug', 'info', 'warn', 'error'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => {}),
    )
    const loggers: Logger[] = [createConsoleLogger({ level: 'silent' }), noopLogger]
    for (const log of loggers) {
      log.debug('a')
      log.info({ a: 1 }, 'b')
      log.warn('c')
      log.error({ err: new Error('d') }, 'd')
    }
    for (const spy of spies) expect(spy).not.toHaveBeenCalled()
    expect(noopLogger.child({ a: 1 })).toBe(noopLogger)
  })
})
