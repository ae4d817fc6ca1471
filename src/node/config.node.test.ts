import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  blsKeyPath,
  ConfigError,
  checkChainConfig,
  defaults,
  envLayer,
  fileLayer,
  loadConfig,
  mergeConfig,
} from './config.ts'

describe('session settings', () => {
  it('default to the documented values', () => {
    expect(defaults().sessions).toEqual({
      ackWindow: 16,
      ackTimeoutMs: 10_000,
      handshakeTimeoutMs: 5_000,
      maxSessionsPerClient: 16,
      maxStreamsPerSession: 8,
      maxSessions: 1024,
      maxStreams: 1024,
      epochMs: 86_400_000,
    })
  })

  it('the node-wide limits come from the file and the environment like the others', () => {
    const file = fileLayer({ sessions: { maxSessions: 64, maxStreams: 256 } }, 'config.json')
    const env = envLayer({ FULMEN_MAX_STREAMS: '128', FULMEN_MAX_SESSIONS_PER_CLIENT: '2' })
    expect(mergeConfig(defaults(), file, env).sessions).toMatchObject({
      maxSessions: 64,
      maxStreams: 128,
      maxSessionsPerClient: 2,
      maxStreamsPerSession: 8,
    })
    expect(() => envLayer({ FULMEN_MAX_SESSIONS: '0' })).toThrow(ConfigError)
    expect(() => fileLayer({ sessions: { maxStreams: 1.5 } }, 'c')).toThrow(/sessions.maxStreams/)
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

describe('scrub settings', () => {
  it('a rate is a size per second (0 turns it off); file < env; defaults 16 MiB/s, 1 h', () => {
    expect(defaults().scrub).toEqual({ rate: 16 * 1024 ** 2, intervalMs: 3_600_000 })
    const file = fileLayer({ scrub: { rate: '4MiB', intervalMs: 1000 } }, 'config.json')
    const env = envLayer({ FULMEN_SCRUB_RATE: '0' })
    expect(mergeConfig(defaults(), file).scrub).toEqual({ rate: 4 * 1024 ** 2, intervalMs: 1000 })
    expect(mergeConfig(defaults(), file, env).scrub).toEqual({ rate: 0, intervalMs: 1000 })
    expect(envLayer({ FULMEN_SCRUB_INTERVAL_MS: '200' }).scrub).toEqual({ intervalMs: 200 })
  })

  it('refuse unknown keys and what is not a size or a duration', () => {
    expect(() => fileLayer({ scrub: { speed: 1 } }, 'c')).toThrow(/scrub.speed/)
    expect(() => fileLayer({ scrub: { rate: 'fast' } }, 'c')).toThrow(ConfigError)
    expect(() => envLayer({ FULMEN_SCRUB_INTERVAL_MS: '-5' })).toThrow(ConfigError)
    expect(() => fileLayer({ scrub: 3 }, 'c')).toThrow(/must be an object/)
  })
})

describe('chain settings', () => {
  it('default to no chain, solo, 250 ms blocks of 1000, settling 256 claims every 5 s with proofs, pinging every 10 s, GC depth 300', () => {
    expect(defaults().chain).toEqual({
      consensus: 'solo',
      blockMs: 250,
      maxBlockTransactions: 1000,
      settleEveryMs: 5000,
      maxClaimsPerSettlement: 256,
      proveClaims: true,
      proveFrom: 2,
      measure: true,
      pingEveryMs: 10_000,
      gcDepth: 300,
    })
  })

  it('file < environment; paths resolved, the URL kept without its trailing slash', () => {
    const file = fileLayer(
      { chain: { genesis: 'g.json', consensus: 'solo', blockMs: 100, maxClaimsPerSettlement: 8 } },
      'config.json',
    )
    const env = envLayer({
      FULMEN_CONSENSUS: 'follow',
      FULMEN_FOLLOW: 'http://127.0.0.1:4069/',
      FULMEN_SETTLE_EVERY_MS: '750',
      FULMEN_GC_DEPTH: '20',
      FULMEN_PROVE_CLAIMS: 'false',
      FULMEN_PROVE_FROM: '1',
      FULMEN_MEASURE: 'false',
      FULMEN_PING_EVERY_MS: '500',
    })
    expect(mergeConfig(defaults(), file, env).chain).toEqual({
      genesis: resolve('g.json'),
      consensus: 'follow',
      follow: ['http://127.0.0.1:4069'],
      blockMs: 100,
      maxBlockTransactions: 1000,
      settleEveryMs: 750,
      maxClaimsPerSettlement: 8,
      proveClaims: false,
      proveFrom: 1,
      measure: false,
      pingEveryMs: 500,
      gcDepth: 20,
    })
    expect(envLayer({ FULMEN_GENESIS: 'x/genesis.json' }).chain).toEqual({
      genesis: resolve('x/genesis.json'),
    })
  })

  it('refuse unknown keys, modes and URLs, and counts that are not positive integers', () => {
    expect(() => fileLayer({ chain: { genesys: 'g' } }, 'c')).toThrow(/chain.genesys/)
    expect(() => fileLayer({ chain: { consensus: 'bft' } }, 'c')).toThrow(/solo, follow, committee/)
    expect(() => fileLayer({ chain: { blockMs: 0 } }, 'c')).toThrow(/chain.blockMs/)
    expect(() => fileLayer({ chain: { proveClaims: 'yes' } }, 'c')).toThrow(/chain.proveClaims/)
    expect(fileLayer({ chain: { proveClaims: false } }, 'c').chain).toEqual({ proveClaims: false })
    expect(() => fileLayer({ chain: { measure: 1 } }, 'c')).toThrow(/chain.measure/)
    expect(fileLayer({ chain: { measure: false, pingEveryMs: 2000 } }, 'c').chain).toEqual({
      measure: false,
      pingEveryMs: 2000,
    })
    expect(() => fileLayer({ chain: { maxBlockTransactions: 2.5 } }, 'c')).toThrow(ConfigError)
    expect(() => fileLayer({ chain: { genesis: 3 } }, 'c')).toThrow(/must be a string/)
    expect(() => fileLayer({ chain: 'solo' }, 'c')).toThrow(/must be an object/)
    expect(() => fileLayer({ chain: { follow: 'ftp://x' } }, 'c')).toThrow(/http/)
    expect(() => envLayer({ FULMEN_CONSENSUS: 'raft' })).toThrow(ConfigError)
    expect(() => envLayer({ FULMEN_FOLLOW: 'not a url' })).toThrow(/FULMEN_FOLLOW/)
    expect(() => envLayer({ FULMEN_FOLLOW: ' , ' })).toThrow(/names no http\(s\) URL/)
    expect(() => envLayer({ FULMEN_FOLLOW: 'http://a,http://a/' })).toThrow(/listed twice/)
    expect(() => envLayer({ FULMEN_FOLLOW: 'http://a,ftp://b' })).toThrow(/'ftp:\/\/b'/)
    expect(() => fileLayer({ chain: { follow: ['http://a', 3] } }, 'c')).toThrow(
      /chain.follow must be an array of URLs/,
    )
    expect(() => fileLayer({ chain: { follow: [] } }, 'c')).toThrow(/names no http/)
    expect(() => fileLayer({ chain: { blsKey: 7 } }, 'c')).toThrow(/chain.blsKey must be a string/)
    expect(() => envLayer({ FULMEN_SETTLE_EVERY_MS: '0' })).toThrow(/FULMEN_SETTLE_EVERY_MS/)
    expect(() => envLayer({ FULMEN_SETTLE_EVERY_MS: 'soon' })).toThrow(ConfigError)
  })

  it('follow needs the URL to follow, from whichever layer, once a genesis is set', () => {
    const follow = mergeConfig(
      defaults(),
      envLayer({ FULMEN_GENESIS: 'g.json', FULMEN_CONSENSUS: 'follow' }),
    )
    expect(() => checkChainConfig(follow)).toThrow(/--follow/)
    const both = mergeConfig(follow, fileLayer({ chain: { follow: 'https://n.example' } }, 'c'))
    expect(checkChainConfig(both).chain.follow).toEqual(['https://n.example'])
    // Without a genesis there is no chain to follow: nothing to check.
    expect(() =>
      checkChainConfig(mergeConfig(defaults(), envLayer({ FULMEN_CONSENSUS: 'follow' }))),
    ).not.toThrow()
  })

  it('loadConfig checks the merged configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fulmen-config-'))
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ chain: { consensus: 'follow' } }))
      await expect(
        loadConfig({ env: { FULMEN_DATA_DIR: dir, FULMEN_GENESIS: join(dir, 'genesis.json') } }),
      ).rejects.toThrow(ConfigError)
      const config = await loadConfig({
        env: { FULMEN_DATA_DIR: dir, FULMEN_FOLLOW: 'http://127.0.0.1:1' },
        flags: { chain: { genesis: join(dir, 'genesis.json') } },
      })
      expect(config.chain).toMatchObject({ consensus: 'follow', follow: ['http://127.0.0.1:1'] })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('follow takes several gateways, in order: a comma list, or an array in the file', () => {
    expect(envLayer({ FULMEN_FOLLOW: 'http://a:1/, http://b:2' }).chain).toEqual({
      follow: ['http://a:1', 'http://b:2'],
    })
    expect(fileLayer({ chain: { follow: ['https://b', 'https://a/'] } }, 'c').chain).toEqual({
      follow: ['https://b', 'https://a'],
    })
  })

  it('committee mode, and the BLS key it signs with: <dataDir>/bls.key unless named', () => {
    expect(envLayer({ FULMEN_CONSENSUS: 'committee' }).chain).toEqual({ consensus: 'committee' })
    expect(fileLayer({ chain: { consensus: 'committee' } }, 'c').chain).toEqual({
      consensus: 'committee',
    })
    const plain = mergeConfig(
      defaults(),
      { dataDir: '/d' },
      envLayer({ FULMEN_CONSENSUS: 'committee' }),
    )
    expect(plain.chain.blsKey).toBeUndefined()
    expect(blsKeyPath(plain)).toBe(join('/d', 'bls.key'))
    const named = mergeConfig(plain, envLayer({ FULMEN_BLS_KEY: 'keys/bls.key' }))
    expect(blsKeyPath(named)).toBe(resolve('keys/bls.key'))
    expect(fileLayer({ chain: { blsKey: 'k/b.key' } }, 'c').chain).toEqual({
      blsKey: resolve('k/b.key'),
    })
  })
})
