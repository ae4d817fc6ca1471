import { describe, expect, it } from 'vitest'
import { ConfigError, defaults, envLayer, fileLayer, mergeConfig } from './config.ts'

describe('session settings', () => {
  it('default to the documented values', () => {
    expect(defaults().sessions).toEqual({
      ackWindow: 16,
      ackTimeoutMs: 10_000,
      handshakeTimeoutMs: 5_000,
      maxSessionsPerClient: 16,
      maxStreamsPerSession: 8,
      epochMs: 86_400_000,
    })
  })

  it('layer file < environment, keeping the settings a layer does not name', () => {
    const file = fileLayer({ sessions: { ackWindow: 32, ackTimeoutMs: 2_000 } }, 'config.json')
    const env = envLayer({ FULMEN_ACK_WINDOW: '8', FULMEN_MAX_STREAMS_PER_SESSION: '4' })
    const config = mergeConfig(defaults(), file, env)
    expect(config.sessions).toMatchObject({
      ackWindow: 8,
      ackTimeoutMs: 2_000,
      maxStreamsPerSession: 4,
      handshakeTimeoutMs: 5_000,
    })
    expect(config.origins).toEqual(defaults().origins)
  })

  it('refuse unknown keys, non-positive numbers and a window that does not fit in u16', () => {
    expect(() => fileLayer({ sessions: { ackWindoww: 3 } }, 'c')).toThrow(/sessions.ackWindoww/)
    expect(() => fileLayer({ sessions: { ackWindow: 0 } }, 'c')).toThrow(ConfigError)
    expect(() => fileLayer({ sessions: { ackWindow: 70_000 } }, 'c')).toThrow(/65535/)
    expect(() => envLayer({ FULMEN_ACK_WINDOW: '70000' })).toThrow(/65535/)
    expect(() => envLayer({ FULMEN_EPOCH_MS: '-1' })).toThrow(ConfigError)
    expect(() => fileLayer({ sessions: 'fast' }, 'c')).toThrow(/must be an object/)
  })
})
