/**
 * The page's service worker (demo/fulmen-sw.ts, served at /fulmen-sw.ts): it answers
 * `/fulmen/<id>` with verified bytes, so `<img>` and `<video>` need nothing but a `src`.
 */
import { type FulmenServiceWorker, registerFulmen } from '../src/browser/sw/register.ts'
import type { SwStats } from '../src/browser/sw/sw-stats.ts'
import type { DemoContent, NetworkDescription } from './network.ts'
import { type Route, stakedGateways } from './routing.ts'

export const PREFIX = '/fulmen/'

/** Where a response's first block came from (its `X-Fulmen-*` headers). */
export interface Origin {
  readonly source: 'node' | 'gateway' | 'cache'
  /** Peer id or gateway URL ('' when the worker did not say). */
  readonly node: string
}

/**
 * The URL of `content` under the prefix: `<prefix><cid>`, or for an HTTP pointer
 * `<prefix>http?url=…&integrity=…` (a fragment never reaches a service worker). `?type=` sets
 * the Content-Type; `r` (ignored by the worker) makes a reload a new URL for the browser's own
 * image cache.
 */
export function contentUrl(content: DemoContent, reload = 0): string {
  const query = new URLSearchParams()
  let path = content.pointer
  if (/^https?:\/\//.test(content.pointer)) {
    const [url = '', fragment = ''] = content.pointer.split('#')
    path = 'http'
    query.set('url', url)
    query.set('integrity', new URLSearchParams(fragment).get('integrity') ?? '')
  }
  query.set('type', content.type)
  if (reload > 0) query.set('r', String(reload))
  return `${PREFIX}${path}?${query}`
}

/**
 * What a failed answer of the worker says, in short: its error code (`502 SW_UNAVAILABLE` on
 * the first line of its text/plain body, also in `X-Fulmen-Error`) and what it means.
 */
function probeFailure(response: Response, body: string): string {
  const code = response.headers.get('x-fulmen-error') ?? /^\d{3} (\S+)/.exec(body)?.[1]
  const meaning: Record<number, string> = {
    404: 'no node has this content',
    502: 'no node or gateway could serve it',
  }
  const what = meaning[response.status] ?? `HTTP ${response.status}`
  return code === undefined ? what : `${what} (${code})`
}

export class PageServiceWorker {
  private readonly sw: FulmenServiceWorker
  private readonly unstaked: ReadonlySet<string>

  private constructor(sw: FulmenServiceWorker, unstaked: ReadonlySet<string>) {
    this.sw = sw
    this.unstaked = unstaked
  }

  /**
   * The worker does not verify the chain (it could, with `chain`: a light client of its own in
   * the worker), so it is given staked nodes only: the unstaked node is there for the page's
   * client to be seen refusing it, not for the worker to fetch from unvetted.
   */
  private static nodesFor(route: Route, unstaked: ReadonlySet<string>): string[] {
    return route.bootstrap.filter((address) => !unstaked.has(address))
  }

  static async start(network: NetworkDescription, route: Route): Promise<PageServiceWorker> {
    const unstaked = new Set(
      network.nodes.filter((n) => n.role === 'unstaked').map((n) => n.multiaddr),
    )
    const sw = await registerFulmen({
      prefix: PREFIX,
      nodes: PageServiceWorker.nodesFor(route, unstaked),
      gateways: stakedGateways(network),
      order: route.order,
      scriptUrl: '/fulmen-sw.ts',
      type: 'module',
      scope: '/',
    })
    return new PageServiceWorker(sw, unstaked)
  }

  url(content: DemoContent, reload = 0): string {
    return contentUrl(content, reload)
  }

  /** Routes the worker's fetches like the page's client (the lying node first, or not). */
  async route(route: Route): Promise<void> {
    await this.sw.configure({
      nodes: PageServiceWorker.nodesFor(route, this.unstaked),
      order: route.order,
    })
  }

  stats(): Promise<SwStats> {
    return this.sw.stats()
  }

  clearCache(): Promise<void> {
    return this.sw.clearCache()
  }

  /** Asks for one byte at `at` and reads where it came from. */
  async probe(url: string, at = 0): Promise<Origin> {
    const response = await fetch(url, { headers: { range: `bytes=${at}-${at}` } })
    // Read, not cancelled: one byte, and a cancelled body shows as a failed request.
    const body = await response.text()
    if (!response.ok) throw new Error(probeFailure(response, body))
    const source = response.headers.get('x-fulmen-source')
    return {
      source: source === 'gateway' || source === 'cache' ? source : 'node',
      node: response.headers.get('x-fulmen-node') ?? '',
    }
  }
}
