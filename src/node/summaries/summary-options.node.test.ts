import { describe, expect, test } from 'vitest'
import { summaryOptionsFromEnv } from './summary-exchange.ts'

describe('summary settings from the environment', () => {
  test('unset: the defaults (nothing given)', () => {
    expect(summaryOptionsFromEnv({})).toEqual({ popular: {} })
  })

  test('each variable, parsed', () => {
    expect(
      summaryOptionsFromEnv({
        FULMEN_SUMMARY_CAPACITY: '64',
        FULMEN_SUMMARY_MIN_SHARE_MS: '0',
        FULMEN_SUMMARY_PEERS: '3',
        FULMEN_SUMMARY_CHECK_MS: '250',
        FULMEN_SUMMARY_DIAL: ' /ip4/127.0.0.1/tcp/1/ws/p2p/x , /dns4/a/tcp/2/ws ,',
      }),
    ).toEqual({
      popular: { capacity: 64, minShareIntervalMs: 0 },
      peers: 3,
      checkEveryMs: 250,
      dialPeers: ['/ip4/127.0.0.1/tcp/1/ws/p2p/x', '/dns4/a/tcp/2/ws'],
    })
  })

  test('a value out of its domain is refused, naming the variable', () => {
    for (const [name, value] of [
      ['FULMEN_SUMMARY_CAPACITY', '0'],
      ['FULMEN_SUMMARY_PEERS', '2.5'],
      ['FULMEN_SUMMARY_CHECK_MS', '5'],
      ['FULMEN_SUMMARY_MIN_SHARE_MS', 'soon'],
    ] as const) {
      expect(() => summaryOptionsFromEnv({ [name]: value })).toThrow(name)
    }
  })
})
