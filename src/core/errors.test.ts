import { describe, expect, test } from 'vitest'
import { ErrorRegistry } from './error-registry.ts'
import { FulmenError } from './errors.ts'

type WidgetCode = 'WIDGET_BROKEN' | 'WIDGET_LOST'

class WidgetError extends FulmenError<WidgetCode> {
  override readonly name = 'WidgetError'
  readonly part: number

  constructor(code: WidgetCode, message: string, part: number, cause?: unknown) {
    super(code, message, { cause })
    this.part = part
  }
}

/** Through a real structured clone, as postMessage does between threads. */
function across<T>(value: T): T {
  return structuredClone(value)
}

describe('FulmenError', () => {
  test('name, code, message, cause and details', () => {
    const cause = new TypeError('bad input')
    const e = new FulmenError('X_FAILED', 'it failed', { cause, details: { tries: 3 } })
    expect(e).toBeInstanceOf(Error)
    expect(e.code).toBe('X_FAILED')
    expect(e.message).toBe('it failed')
    expect(e.cause).toBe(cause)
    expect(e.details).toEqual({ tries: 3 })
  })

  test('no cause or details property unless given', () => {
    const e = new WidgetError('WIDGET_LOST', 'gone', 4)
    expect(Object.hasOwn(e, 'cause')).toBe(false)
    expect(Object.hasOwn(e, 'details')).toBe(false)
    expect(Object.keys(e).sort()).toEqual(['code', 'name', 'part'])
    expect(e.name).toBe('WidgetError')
    expect(e).toBeInstanceOf(FulmenError)
  })
})

describe('ErrorRegistry', () => {
  const registry = new ErrorRegistry({ WidgetError })

  test('a registered class comes back as itself, with its fields, cause and stack', () => {
    const e = new WidgetError('WIDGET_BROKEN', 'snapped', 2, new WidgetError('WIDGET_LOST', 'x', 1))
    const back = registry.fromData(across(registry.toData(e)))
    expect(back).toBeInstanceOf(WidgetError)
    expect(back).toBeInstanceOf(FulmenError)
    const w = back as WidgetError
    expect([w.name, w.code, w.message, w.part]).toEqual([
      'WidgetError',
      'WIDGET_BROKEN',
      'snapped',
      2,
    ])
    expect(w.stack).toBe(e.stack)
    expect(w.cause).toBeInstanceOf(WidgetError)
    expect((w.cause as WidgetError).part).toBe(1)
    expect(Object.keys(w).sort()).toEqual(Object.keys(e).sort())
  })

  test('details and nested plain data survive; functions are left behind', () => {
    const e = new FulmenError('X_FAILED', 'm', {
      details: { at: [1, { peer: 'p' }], bytes: Uint8Array.of(5) },
    })
    Object.assign(e, { callback: () => {} })
    const data = across(registry.toData(e))
    expect(data.fields).toEqual({
      code: 'X_FAILED',
      details: { at: [1, { peer: 'p' }], bytes: Uint8Array.of(5) },
    })
  })

  test('an unknown class comes back an Error with its name and code', () => {
    const e = Object.assign(new RangeError('too far'), { code: 'E_FAR' })
    const back = registry.fromData(across(registry.toData(e)))
    expect(back.constructor).toBe(Error)
    expect([back.name, back.message, (back as { code?: string }).code]).toEqual([
      'RangeError',
      'too far',
      'E_FAR',
    ])
  })

  test("a signal's AbortError and TimeoutError stay DOMExceptions", () => {
    for (const name of ['AbortError', 'TimeoutError']) {
      const back = registry.fromData(across(registry.toData(new DOMException('stop', name))))
      expect(back).toBeInstanceOf(DOMException)
      expect([back.name, back.message]).toEqual([name, 'stop'])
    }
  })

  test('a thrown non-Error becomes an Error with its text', () => {
    const back = registry.fromData(across(registry.toData('just a string')))
    expect([back.name, back.message]).toEqual(['Error', 'just a string'])
  })
})
