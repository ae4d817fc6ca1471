/**
 * A network of peers in one process for the messenger: streams are in-memory channel pairs
 * (src/wire/memory-channel.ts), so the messenger's code runs unchanged. `cut` takes a peer off
 * the network (its streams reset, dials to and from it fail) until `restore`: what a crash,
 * a partition or a restart looks like from the other peers.
 */
import type { ByteChannel } from '../wire/byte-channel.ts'
import { channelPair } from '../wire/memory-channel.ts'
import type { MessageTransport } from './message-transport.ts'

export class MemoryNetwork {
  private readonly listeners = new Map<string, (channel: ByteChannel) => void>()
  private readonly down = new Set<string>()
  /** Every end of every open stream, by each peer it touches. */
  private readonly ends = new Map<string, Set<ByteChannel>>()

  /** The transport of peer `self` on this network. */
  transport(self: string): MessageTransport {
    return {
      self,
      open: async (peer, signal) => {
        await Promise.resolve() // a dial is never synchronous
        signal.throwIfAborted()
        const accept = this.listeners.get(peer)
        if (this.down.has(self) || this.down.has(peer) || accept === undefined) {
          throw new Error(`${peer} is unreachable from ${self}`)
        }
        const [local, remote] = channelPair({ peers: [peer, self] })
        this.track(self, local)
        this.track(peer, remote)
        this.track(self, remote)
        this.track(peer, local)
        accept(remote)
        return local
      },
      listen: async (accept) => {
        this.listeners.set(self, accept)
      },
      unlisten: async () => {
        this.listeners.delete(self)
      },
    }
  }

  /** Takes `peer` off the network: its streams reset, and no stream reaches it until restored. */
  cut(peer: string): void {
    this.down.add(peer)
    const ends = this.ends.get(peer)
    this.ends.delete(peer)
    for (const end of ends ?? []) end.abort(new Error(`${peer} left the network`))
  }

  restore(peer: string): void {
    this.down.delete(peer)
  }

  private track(peer: string, end: ByteChannel): void {
    let set = this.ends.get(peer)
    if (set === undefined) {
      set = new Set()
      this.ends.set(peer, set)
    }
    set.add(end)
  }
}
