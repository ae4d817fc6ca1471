/**
 * Dialling through the page: a worker has no `RTCPeerConnection`, so the client worker asks
 * its page to dial WebRTC addresses (tab nodes). The page holds the connection in its own
 * libp2p and hands the worker each stream as a MessagePort (`joinChannels` with
 * `portChannel`), so the worker's sessions run over it as over any stream.
 *
 *   worker: routeDialer ──(comlink)──▶ page: PageDialerApi ── libp2p (WebRTC via relay)
 *             portChannel ◀───────── MessagePort ◀── joinChannels(stream, port)
 */

import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'
import * as Comlink from 'comlink'
import type { PeerDialer, PeerLink } from '../net/peer-dialer.ts'
import { joinChannels, portChannel } from '../wire/port-channel.ts'

/** What the page offers its worker (a comlink proxy). */
export interface PageDialerApi {
  dial(
    address: string,
  ): Promise<{ id: number; peer: string; peerIdBytes: Uint8Array; publicKey: Uint8Array }>
  openStream(id: number): Promise<MessagePort>
  close(id: number): Promise<void>
  ping(address: string): Promise<number>
}

/** Whether an address needs a window to dial (WebRTC), rather than any worker. */
export function needsWindow(address: { toString(): string }): boolean {
  return /\/webrtc(\/|$)/.test(address.toString())
}

/** The page side: links kept by id, streams handed out as ports. */
export function pageDialerApi(dialer: () => Promise<PeerDialer>): PageDialerApi {
  const links = new Map<number, PeerLink>()
  let next = 0
  return {
    async dial(address) {
      const link = await (await dialer()).dial(multiaddr(address))
      const id = ++next
      links.set(id, link)
      return { id, peer: link.peer, peerIdBytes: link.peerIdBytes, publicKey: link.publicKey }
    },
    async openStream(id) {
      const link = links.get(id)
      if (link === undefined || !link.isOpen) throw new Error(`link ${id} is closed`)
      const stream = await link.openStream()
      const { port1, port2 } = new MessageChannel()
      void joinChannels(stream, portChannel(port1, link.peer))
      return Comlink.transfer(port2, [port2])
    },
    async close(id) {
      await links.get(id)?.close()
      links.delete(id)
    },
    async ping(address) {
      return (await dialer()).ping(multiaddr(address))
    },
  }
}

/** The worker side: a `PeerDialer` whose links live in the page. */
export function viaPage(page: Comlink.Remote<PageDialerApi>): PeerDialer {
  return {
    async dial(address: Multiaddr, signal?: AbortSignal): Promise<PeerLink> {
      signal?.throwIfAborted()
      const { id, peer, peerIdBytes, publicKey } = await page.dial(address.toString())
      let open = true
      return {
        peer,
        peerIdBytes,
        publicKey,
        async openStream() {
          return portChannel(await page.openStream(id), peer)
        },
        get isOpen() {
          return open
        },
        async close() {
          open = false
          await page.close(id).catch(() => {})
        },
      }
    },
    ping: (address) => page.ping(address.toString()),
  }
}

/** WebRTC addresses through `window`, every other address `direct`. */
export function routeDialer(direct: PeerDialer, window: PeerDialer | undefined): PeerDialer {
  const pick = (address: Multiaddr) =>
    window !== undefined && needsWindow(address) ? window : direct
  return {
    dial: (address, signal) => pick(address).dial(address, signal),
    ping: (address, signal) => pick(address).ping(address, signal),
  }
}
