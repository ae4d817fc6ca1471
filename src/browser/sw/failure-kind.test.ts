import { describe, expect, it } from 'vitest'
import { failureKind, isLie } from './failure-kind.ts'

describe('failureKind', () => {
  it('calls a verification failure a lie, and only that', () => {
    for (const code of [
      'B3_BLOCK_MISMATCH',
      'B3_PROOF_MISMATCH',
      'B3_PROOF_LENGTH',
      'WIRE_WRONG_CONTENT',
      'ORIGIN_INTEGRITY',
      'CLIENT_WRONG_DIGEST',
      'CLIENT_WRONG_LENGTH',
    ]) {
      expect(isLie(code)).toBe(true)
      expect(failureKind(code)).toBe('lied')
    }
    for (const code of [
      'CLIENT_UNREACHABLE',
      'SESSION_CLOSED',
      'CLIENT_STALLED',
      'STORE_NOT_FOUND',
    ])
      expect(isLie(code)).toBe(false)
  })

  it('tells a node that was gone, dropped the session, stalled or had nothing apart', () => {
    expect(failureKind('CLIENT_UNREACHABLE')).toBe('unreachable')
    expect(failureKind('GATEWAY_UNREACHABLE')).toBe('unreachable')
    expect(failureKind('SESSION_CLOSED')).toBe('closed')
    expect(failureKind('SESSION_SHUTDOWN')).toBe('closed')
    expect(failureKind('CLIENT_TRUNCATED')).toBe('closed')
    expect(failureKind('CLIENT_STALLED')).toBe('stalled')
    expect(failureKind('STORE_NOT_FOUND', 404)).toBe('not-found')
    expect(failureKind('ORIGIN_NOT_FOUND')).toBe('not-found')
    expect(failureKind('GATEWAY_ERROR', 404)).toBe('not-found')
    expect(failureKind('GATEWAY_ERROR', 500)).toBe('failed')
  })
})
