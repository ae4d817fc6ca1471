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
  /** Every stream not yet cut or finished: its two peers and its two ends. */
  private readonly streams = new Set<MemoryStream>()

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
        const stream: MemoryStream = {
          peers: [self, peer],
          ends: [tracked(local), tracked(remote)],
        }
        this.forgetFinished()
        this.streams.add(stream)
        accept(stream.ends[1])
        return stream.ends[0]
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
    for (const stream of this.streams) {
      if (!stream.peers.includes(peer)) continue
      this.streams.delete(stream)
      for (const end of stream.ends) end.abort(new Error(`${peer} left the network`))
    }
  }

  restore(peer: string): void {
    this.down.delete(peer)
  }

  /** Forgets streams that both ends closed or reset (a long simulation opens many). */
  private forgetFinished(): void {
    for (const stream of this.streams) {
      if (stream.ends.every((end) => end.finished)) this.streams.delete(stream)
    }
  }
}

interface TrackedChannel extends ByteChannel {
  /** Closed or aborted by its holder. */
  readonly finished: boolean
}

interface MemoryStream {
  readonly peers: readonly [string, string]
  readonly ends: readonly [TrackedChannel, TrackedChannel]
}

/** `channel`, remembering whether its holder closed or aborted it. */
function tracked(channel: ByteChannel): TrackedChannel {
  let finished = false
  return {
    source: channel.source,
    remotePeer: channel.remotePeer,
    write: (bytes) => channel.write(bytes),
    close: () => {
      finished = true
      return channel.close()
    },
    abort: (reason) => {
      finished = true
      channel.abort(reason)
    },
    get finished() {
      return finished
    },
  }
}
