/**
 * The page's browser client (libp2p, verification and DA signing in a Web Worker), recreated
 * when the route changes; on the honest route of a committee chain it uses staked nodes only. Sections read `clients.current` and listen for `change`.
 */
import { type BrowserClient, createClient } from '../src/browser/client.ts'
import type { Route } from './routing.ts'

export type PageClient = BrowserClient

export class ClientHolder extends EventTarget {
  current: PageClient | undefined
  route: Route | undefined
  /** Counts clients started: names each one's sessions in the DA ledger. */
  generation = 0
  private switching: Promise<PageClient> | undefined

  /**
   * Starts a client for `route` and closes the one in use. The switch is visible at once
   * (`current` undefined, `generation` bumped); a switch asked for while another is under way
   * supersedes it.
   */
  use(route: Route): Promise<PageClient> {
    const generation = ++this.generation
    const before = this.switching
    const previous = this.current
    this.current = undefined
    this.route = route
    this.dispatchEvent(new Event('change'))
    this.switching = (async () => {
      const pending = await before?.catch(() => undefined)
      await Promise.all([previous?.close(), pending?.close()].map((p) => p?.catch(() => {})))
      const client = await createClient({
        bootstrap: [...route.bootstrap],
        order: route.order,
        // The lying node may stall: give up on it quickly rather than freeze the demo.
        stallTimeoutMs: 3_000,
        // Ask the full nodes which browser tabs hold the content and try those first. Not on the
        // lying route: it exists to show the lie caught, which a tab answering first would hide.
        discover: !route.liar,
        // The honest route on a committee chain: every node is vetted by a proof the light
        // client verified (staked and active in the head's epoch); the unstaked node is refused
        // (CLIENT_NOT_STAKED) whatever it would serve. routing.ts says why the liar route is not.
        ...(route.chain === undefined
          ? {}
          : { chain: { genesis: route.chain.genesis, gateways: [...route.chain.gateways] } }),
      })
      // Superseded meanwhile: the newer switch closes this one.
      if (generation !== this.generation) return client
      this.current = client
      this.dispatchEvent(new Event('change'))
      return client
    })()
    return this.switching
  }

  /** The client, waiting for the latest one being started. */
  async ready(): Promise<PageClient> {
    for (;;) {
      if (this.current !== undefined) return this.current
      const switching = this.switching
      if (switching === undefined) throw new Error('no client yet')
      await switching
      if (this.switching === switching && this.current === undefined) throw new Error('no client')
    }
  }
}
