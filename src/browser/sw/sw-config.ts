/**
 * The worker's configuration, as the page sends it and as IndexedDB keeps it: a service
 * worker the browser stopped and started again has lost its globals, so it reads this back
 * on its first event. (The client key is the origin's, in `src/browser/key-store.ts`, shared
 * with pages' clients.)
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { SwDatabase } from './sw-database.ts'
import { SwError } from './sw-errors.ts'

export interface SwConfig {
  /** Path the worker answers under, e.g. `/fulmen/` (starts and ends with `/`). */
  readonly prefix: string
  /** Nodes' libp2p WebSockets multiaddrs, each with `/p2p/<peer id>`. */
  readonly nodes: readonly string[]
  /** Nodes' HTTP gateways (`http://host:port`), used when no node session can be had. */
  readonly gateways: readonly string[]
  /** `latency` (nearest first, measured) or `given` (the order of `nodes`). */
  readonly order: 'latency' | 'given'
  /**
   * Verify the chain and use staked nodes only (ClientOptions.chain): the genesis file's text
   * and the gateways the light client syncs from (its head kept in IndexedDB). `gateways`
   * above, the HTTP fallback, is not vetted: it has no peer id to prove staked.
   */
  readonly chain?: SwChainConfig
}

export interface SwChainConfig {
  /** The genesis file's JSON text. */
  readonly genesis: string
  /** Nodes' HTTP gateways (`http://host:port`) the light client syncs from. */
  readonly gateways: readonly string[]
  /** Default true. */
  readonly verifyChain?: boolean
}

export const DEFAULT_PREFIX = '/fulmen/'

function fail(message: string): never {
  throw new SwError('SW_BAD_CONFIG', message)
}

function httpUrls(list: readonly string[], what: string): void {
  for (const g of list) {
    let url: URL | undefined
    try {
      url = new URL(g)
    } catch {}
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      fail(`${what} ${JSON.stringify(g)} is not an http(s) URL`)
  }
}

/** `chain` checked for shape (the genesis is parsed when the client starts). */
function chainOf(value: unknown): SwChainConfig | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object') fail('chain is { genesis, gateways, verifyChain? }')
  const c = value as Record<string, unknown>
  if (typeof c.genesis !== 'string') fail("chain.genesis is the genesis file's text")
  const gateways = strings(c.gateways, 'chain.gateways')
  if (gateways.length === 0) fail('chain.gateways lists at least one gateway')
  httpUrls(gateways, 'chain gateway')
  if (c.verifyChain !== undefined && typeof c.verifyChain !== 'boolean')
    fail('chain.verifyChain is true or false')
  return {
    genesis: c.genesis,
    gateways,
    ...(c.verifyChain === undefined ? {} : { verifyChain: c.verifyChain }),
  }
}

function strings(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    fail(`${what} must be an array of strings`)
  return [...value]
}

/** `base` with the fields of `partial` that are set, checked; throws `SW_BAD_CONFIG`. */
export function mergeConfig(base: SwConfig | undefined, partial: unknown): SwConfig {
  if (typeof partial !== 'object' || partial === null) fail('the configuration is an object')
  const p = partial as Record<string, unknown>
  const prefix = p.prefix === undefined ? (base?.prefix ?? DEFAULT_PREFIX) : p.prefix
  if (typeof prefix !== 'string' || !/^\/([^?#]*\/)?$/.test(prefix))
    fail(`prefix must be a path that starts and ends with /, got ${JSON.stringify(prefix)}`)
  const nodes = p.nodes === undefined ? [...(base?.nodes ?? [])] : strings(p.nodes, 'nodes')
  for (const n of nodes) {
    let peer: string | undefined
    try {
      peer = multiaddr(n)
        .getComponents()
        .find((c) => c.name === 'p2p')?.value
    } catch {
      fail(`${JSON.stringify(n)} is not a multiaddr`)
    }
    if (peer === undefined) fail(`${n} has no /p2p/<peer id>`)
  }
  const gateways =
    p.gateways === undefined ? [...(base?.gateways ?? [])] : strings(p.gateways, 'gateways')
  httpUrls(gateways, 'gateway')
  const order = p.order === undefined ? (base?.order ?? 'latency') : p.order
  if (order !== 'latency' && order !== 'given') fail('order is "latency" or "given"')
  // `chain: null` removes it.
  const chain = 'chain' in p ? chainOf(p.chain) : base?.chain
  return { prefix, nodes, gateways, order, ...(chain === undefined ? {} : { chain }) }
}

export async function loadConfig(db: SwDatabase): Promise<SwConfig | undefined> {
  const stored = await db.get('settings', 'config')
  if (stored === undefined) return undefined
  try {
    return mergeConfig(undefined, stored)
  } catch {
    return undefined // written by another version: as if never configured
  }
}

export async function saveConfig(db: SwDatabase, config: SwConfig): Promise<void> {
  await db.put('settings', { ...config }, 'config')
}
