import { deleteDB } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig, mergeConfig, saveConfig } from './sw-config.ts'
import { openSwDatabase, type SwDatabase } from './sw-database.ts'
import { SwError } from './sw-errors.ts'

const PEER = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const NODE = `/ip4/127.0.0.1/tcp/4070/ws/p2p/${PEER}`
const opened: SwDatabase[] = []
afterEach(async () => {
  for (const db of opened.splice(0)) {
    db.close()
    await deleteDB(db.name)
  }
})
const open = async (name: string) => {
  const db = await openSwDatabase(name)
  opened.push(db)
  return db
}

describe('service worker configuration', () => {
  it('merges a partial configuration over the current one', () => {
    const a = mergeConfig(undefined, { nodes: [NODE] })
    expect(a).toEqual({ prefix: '/fulmen/', nodes: [NODE], gateways: [], order: 'latency' })
    const b = mergeConfig(a, { gateways: ['http://127.0.0.1:4069'], order: 'given' })
    expect(b).toEqual({
      prefix: '/fulmen/',
      nodes: [NODE],
      gateways: ['http://127.0.0.1:4069'],
      order: 'given',
    })
  })

  it('refuses what it cannot use, with SW_BAD_CONFIG', () => {
    const bad: unknown[] = [
      null,
      { prefix: 'fulmen' },
      { prefix: '/fulmen' },
      { nodes: '/ip4/1.2.3.4' },
      { nodes: ['/ip4/127.0.0.1/tcp/4070/ws'] },
      { nodes: ['not a multiaddr'] },
      { gateways: ['ftp://x'] },
      { order: 'random' },
    ]
    for (const partial of bad) {
      expect(() => mergeConfig(undefined, partial), JSON.stringify(partial)).toThrow(SwError)
    }
  })

  it('keeps a chain over later changes, checks it, and drops it on null', () => {
    const chain = { genesis: '{"chainId":1}', gateways: ['http://127.0.0.1:8080'] }
    const a = mergeConfig(undefined, { nodes: [NODE], chain })
    expect(a.chain).toEqual(chain)
    expect(mergeConfig(a, { order: 'given' }).chain).toEqual(chain)
    expect(mergeConfig(a, { chain: { ...chain, verifyChain: false } }).chain?.verifyChain).toBe(
      false,
    )
    expect(mergeConfig(a, { chain: null }).chain).toBeUndefined()
    for (const bad of [
      'x',
      { gateways: ['http://a'] },
      { genesis: '{}', gateways: [] },
      { genesis: '{}', gateways: ['ftp://a'] },
      { genesis: '{}', gateways: ['http://a'], verifyChain: 'yes' },
    ]) {
      expect(() => mergeConfig(a, { chain: bad }), JSON.stringify(bad)).toThrow(SwError)
    }
  })

  it('persists the configuration across reopening', async () => {
    const name = `fulmen-sw-config-${Date.now()}`
    const db = await open(name)
    expect(await loadConfig(db)).toBeUndefined()
    const config = mergeConfig(undefined, { prefix: '/c/', nodes: [NODE], order: 'given' })
    await saveConfig(db, config)
    db.close()
    const again = await open(name)
    expect(await loadConfig(again)).toEqual(config)
  })
})
