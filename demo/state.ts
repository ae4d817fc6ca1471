/**
 * What the sections share: the network, who is who, the client, the service worker, and the
 * counters the page keeps. A `refresh` event fires after each poll of the client (once a second);
 * `peers` when a browser tab joins the directory (the client discovered it). The service
 * worker's figures (blocks, acknowledgements, the nodes it dropped) are read on the same poll.
 */

import type { BrowserLightClient, LightNodeRecord } from '../src/browser/light/index.ts'
import type { SwFailureEvent, SwStats } from '../src/browser/sw/sw-stats.ts'
import type { NodeStatus } from '../src/client/client.ts'
import { ClientHolder } from './clients.ts'
import { DaLedger } from './da-ledger.ts'
import { loadNetwork, type NetworkDescription } from './network.ts'
import { NodeLabels } from './node-labels.ts'
import { PeerDirectory } from './peers.ts'
import { routeFor } from './routing.ts'
import { ServedCounter } from './served.ts'
import type { PageServiceWorker } from './sw.ts'

/** A node's record as the page's light client proved it at its head, or why it could not. */
export type NodeProof =
  | { readonly record: LightNodeRecord; readonly error?: undefined }
  | {
      readonly record?: undefined
      readonly error: { readonly code: string; readonly message: string }
    }

export class DemoState extends EventTarget {
  network: NetworkDescription
  readonly peers: PeerDirectory
  readonly clients = new ClientHolder()
  readonly served = new ServedCounter()
  readonly da = new DaLedger()
  sw: PageServiceWorker | undefined
  swState: 'starting' | 'active' | 'unavailable' = 'starting'
  swStats: SwStats | undefined
  /** Every node the service worker dropped, as it reported them (oldest first). */
  readonly swEvents: SwFailureEvent[] = []
  /** Where each of the worker's events sits in `swEvents`, by `<startedAt>:<seq>`. */
  private readonly swEventIndex = new Map<string, number>()
  /** What went wrong with each node, by kind (lied, unreachable, closed…). */
  readonly labels = new NodeLabels()
  /** The client's view of each node, by peer id; kept across clients (the liar's too). */
  readonly statuses = new Map<string, NodeStatus>()
  /**
   * The light panel's client (sections/light.ts), once its worker started: the chain panel has
   * it check the DA batch proofs of the settlements it shows. undefined before the panel mounts.
   */
  light: Promise<BrowserLightClient> | undefined
  /** Each node's record proven by the light panel's client (sections/light.ts), by peer id. */
  readonly proofs = new Map<string, NodeProof>()
  /** Full nodes stopped from this page (by index). */
  readonly stopped = new Set<number>()
  /** A download holds the client: the route cannot change under it. */
  busy = false
  /** Peer id of this page's own tab node while it runs (the nodes table calls it "this tab"). */
  ownTab: string | undefined

  constructor(network: NetworkDescription) {
    super()
    this.network = network
    this.peers = new PeerDirectory(network)
    this.syncStopped()
  }

  private syncStopped(): void {
    const before = new Set(this.stopped)
    this.stopped.clear()
    this.network.nodes.forEach((n, i) => {
      if (!n.running) this.stopped.add(i)
      // Running again: why it failed while it was down is past.
      else if (before.has(i)) this.labels.restarted(n.peerId)
    })
  }

  /** The peer id behind a gateway URL the worker names, or the name itself (a peer id). */
  peerOf(who: string): string {
    return this.network.nodes.find((n) => n.gateway === who)?.peerId ?? who
  }

  /**
   * Reads the network description again: which nodes run (they may die on their own), and
   * their addresses (a restarted node keeps its peer id, but maybe not its port).
   */
  async reloadNetwork(): Promise<void> {
    this.network = await loadNetwork()
    this.syncStopped()
    const wanted = routeFor(this.network, this.liar).bootstrap.join(' ')
    if (
      !this.busy &&
      this.clients.route !== undefined &&
      wanted !== this.clients.route.bootstrap.join(' ')
    )
      await this.setLiar(this.liar)
    this.emit('refresh')
  }

  get liar(): boolean {
    return this.clients.route?.liar === true
  }

  /** Routes the client and the service worker through the lying node, or not. */
  async setLiar(liar: boolean): Promise<void> {
    const route = routeFor(this.network, liar)
    const previous = this.clients.generation
    const started = this.clients.use(route)
    this.da.retireSource(`client-${previous}`)
    this.emit('route')
    await Promise.all([started, this.sw?.route(route)])
    this.emit('route')
    await this.poll(true)
  }

  /** Reads the client's node table (and, with `measure`, pings every node first). */
  async poll(measure = false): Promise<void> {
    // One poll at a time; a measuring one waits for a plain one to end rather than skip.
    if (this.polling !== undefined) {
      if (!measure) return this.polling
      await this.polling
    }
    this.polling = this.read(measure).finally(() => {
      this.polling = undefined
    })
    return this.polling
  }

  private polling: Promise<void> | undefined

  private async read(measure: boolean): Promise<void> {
    const client = this.clients.current
    if (client !== undefined) {
      const generation = this.clients.generation
      try {
        const nodes = measure ? await client.measure() : await client.status()
        // Replaced meanwhile: its counters were retired, recording them again would count twice.
        if (generation !== this.clients.generation) return
        const source = `client-${generation}`
        for (const n of nodes) {
          if (n.discovered) this.noteTab(n.peer, n.address)
          this.statuses.set(n.peer, n)
          this.da.record(source, n.peer, n.acks)
        }
      } catch {
        // The client is being replaced or closed: the next poll reads the new one.
      }
    }
    const sw = await this.sw?.stats().catch(() => undefined)
    if (sw !== undefined) this.readWorker(sw)
    this.emit('refresh')
  }

  /** New failures the worker reported become node labels; its counters go to the ledgers. */
  private readWorker(sw: SwStats): void {
    const previous = this.swStats
    this.swStats = sw
    const restarted = previous !== undefined && previous.startedAt !== sw.startedAt
    const lastSeq = previous === undefined || restarted ? 0 : (previous.events.at(-1)?.seq ?? 0)
    for (const event of sw.events) {
      const key = `${sw.startedAt}:${event.seq}`
      if (event.seq <= lastSeq) {
        // The worker completes an event it reported already: the node that took over comes
        // with the next block, often after a poll has read the failure.
        const at = this.swEventIndex.get(key)
        if (at !== undefined) this.swEvents[at] = event
        continue
      }
      this.swEventIndex.set(key, this.swEvents.length)
      this.swEvents.push(event)
      this.labels.note(this.peerOf(event.node), event, 'service worker')
    }
    this.served.recordWorker(sw.startedAt, sw.served)
    const source = `sw-${sw.startedAt}-${sw.client}`
    for (const { peer, acks } of sw.acks) this.da.record(source, peer, acks)
  }

  /** A browser tab the client discovered (or that served it): named, coloured, and announced. */
  noteTab(peerId: string, multiaddr?: string): void {
    if (this.peers.addTab(peerId, multiaddr)) this.emit('peers')
  }

  /**
   * `refresh`: new counters; `route`: the client or the switch changed; `sw`: the worker is up
   * (or failed); `peers`: a tab joined the directory; `light`: new node proofs.
   */
  emit(type: 'refresh' | 'route' | 'sw' | 'peers' | 'light'): void {
    this.dispatchEvent(new Event(type))
  }
}
