/**
 * For the page: `registerFulmen({ prefix, nodes })` registers the Fulmen service worker,
 * waits until it controls the page (on a first visit, its `clients.claim()`), and sends it the
 * configuration, which it persists. Then `<img src="/fulmen/<cid>">` just works.
 */
import type { SwChainConfig, SwConfig } from './sw-config.ts'
import { SwError } from './sw-errors.ts'
import type { SwMessage, SwReply } from './sw-messages.ts'
import type { SwStats } from './sw-stats.ts'

export interface RegisterFulmenOptions {
  /** Path the worker answers under (default `/fulmen/`). */
  readonly prefix?: string
  /** Nodes' WebSockets multiaddrs with `/p2p/<peer id>`. */
  readonly nodes: readonly string[]
  /**
   * Nodes' HTTP gateways, the fallback when no node session can serve. None by default: only
   * `nodes` answer, and a request they cannot serve fails (502) rather than going over HTTP.
   */
  readonly gateways?: readonly string[]
  readonly order?: 'latency' | 'given'
  /**
   * Verify the chain and use staked nodes only: the genesis file's text and the gateways the
   * light client syncs from (see ClientOptions.chain). The HTTP fallback `gateways` is not
   * vetted.
   */
  readonly chain?: SwChainConfig
  /** The worker script (default `/fulmen-sw.js`). */
  readonly scriptUrl?: string
  /** `module` for an ES module script (what Vite's dev server serves). */
  readonly type?: 'classic' | 'module'
  /** Registration scope (default: the script's directory, usually `/`). */
  readonly scope?: string
  /** Give up waiting for the worker to take control after this long (default 10 s). */
  readonly timeoutMs?: number
}

export interface FulmenServiceWorker {
  readonly registration: ServiceWorkerRegistration
  readonly prefix: string
  /** Changes nodes, gateways or order (the prefix is fixed at registration). */
  configure(partial: Partial<Omit<SwConfig, 'prefix'>>): Promise<SwConfig>
  stats(): Promise<SwStats>
  /** Drops every cached block and pointer. */
  clearCache(): Promise<void>
  unregister(): Promise<boolean>
}

function controlled(timeoutMs: number): Promise<ServiceWorker> {
  const container = navigator.serviceWorker
  if (container.controller !== null) return Promise.resolve(container.controller)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      container.removeEventListener('controllerchange', onChange)
      reject(
        new SwError('SW_NOT_CONFIGURED', `the service worker took no control in ${timeoutMs} ms`),
      )
    }, timeoutMs)
    const onChange = () => {
      if (container.controller === null) return
      clearTimeout(timer)
      container.removeEventListener('controllerchange', onChange)
      resolve(container.controller)
    }
    container.addEventListener('controllerchange', onChange)
  })
}

async function ask(message: SwMessage, timeoutMs: number): Promise<SwReply & { ok: true }> {
  // The controller can change (an update): always ask the current one.
  const worker = await controlled(timeoutMs)
  const channel = new MessageChannel()
  const reply = new Promise<SwReply>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new SwError('SW_UNAVAILABLE', `no answer to ${message.type}`)),
      timeoutMs,
    )
    channel.port1.onmessage = (e) => {
      clearTimeout(timer)
      channel.port1.close()
      resolve(e.data as SwReply)
    }
  })
  worker.postMessage(message, [channel.port2])
  const r = await reply
  if (!r.ok)
    throw new SwError(r.code === 'SW_BAD_CONFIG' ? 'SW_BAD_CONFIG' : 'SW_UNAVAILABLE', r.message)
  return r
}

export async function registerFulmen(options: RegisterFulmenOptions): Promise<FulmenServiceWorker> {
  const prefix = options.prefix ?? '/fulmen/'
  const timeoutMs = options.timeoutMs ?? 10_000
  const script = new URL(options.scriptUrl ?? '/fulmen-sw.js', location.href)
  // The worker must know its prefix before it can read anything (see fulmen-sw.ts).
  script.searchParams.set('prefix', prefix)
  const registration = await navigator.serviceWorker.register(script.href, {
    type: options.type ?? 'classic',
    ...(options.scope === undefined ? {} : { scope: options.scope }),
  })
  const configure = async (partial: Partial<SwConfig>) =>
    (await ask({ type: 'fulmen:configure', config: partial }, timeoutMs)).config!
  await configure({
    prefix,
    nodes: [...options.nodes],
    gateways: [...(options.gateways ?? [])],
    ...(options.order === undefined ? {} : { order: options.order }),
    ...(options.chain === undefined ? {} : { chain: options.chain }),
  })
  return {
    registration,
    prefix,
    configure: (partial) => configure({ ...partial, prefix }),
    async stats() {
      return (await ask({ type: 'fulmen:stats' }, timeoutMs)).stats!
    },
    async clearCache() {
      await ask({ type: 'fulmen:clear-cache' }, timeoutMs)
    },
    unregister: () => registration.unregister(),
  }
}
