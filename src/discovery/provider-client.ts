/**
 * Discovery from the client's side (`/fulmen/providers/1.0.0`, docs/protocol.md "Discovery"):
 * ask a full node which browser tabs hold a root, or, as a tab, tell it which roots this one
 * holds. Each call is one stream on the connection to the node (dialled if there is none): one
 * frame out, one answer back, closed.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { parseContentId } from '../b3/content-id.ts'
import { equalBytes } from '../core/bytes.ts'
import { describeReason } from '../handshake/termination.ts'
import { type DialingLibp2p, libp2pProtocolDialer } from '../net/protocol-dialer.ts'
import { PROVIDERS_PROTOCOL } from '../net/protocols.ts'
import { WireError } from '../wire/errors.ts'
import { CodecDecoder } from '../wire/frame-codec.ts'
import { encodeProviderFrame, type ProviderFrame, providerCodec } from '../wire/provider-frames.ts'

export type { DialingLibp2p }

/** A peer that announced a root, and where to dial it (circuit addresses through the node). */
export interface ProviderInfo {
  /** Peer id, base58. */
  readonly peer: string
  readonly multiaddrs: string[]
}

/** What the node kept of an announcement. */
export interface AnnounceReceipt {
  /** Roots the node lists for this peer now (0: none, e.g. after a withdrawal). */
  readonly roots: number
  /** Addresses it accepted: the others were not circuit addresses through that node. */
  readonly multiaddrs: number
}

export interface ProvidersOptions {
  readonly signal?: AbortSignal
}

/** The peers `nodeAddress` lists for `root` (a content id, or its 32 bytes), latest first. */
export async function queryProviders(
  libp2p: DialingLibp2p,
  nodeAddress: string | Multiaddr,
  root: Uint8Array | string,
  options: ProvidersOptions = {},
): Promise<ProviderInfo[]> {
  const bytes = typeof root === 'string' ? parseContentId(root) : root
  const reply = await exchange(libp2p, nodeAddress, { kind: 'query', root: bytes }, options)
  if (reply.kind !== 'providers') throw unexpected(reply)
  if (!equalBytes(reply.root, bytes)) {
    throw new WireError('WIRE_WRONG_CONTENT', 'PROVIDERS names another root than the one asked')
  }
  return reply.providers.map((p) => ({ peer: peerIdString(p.peer), multiaddrs: [...p.multiaddrs] }))
}

/**
 * Tells `nodeAddress` that this peer holds `roots` (replacing what it announced before; none
 * withdraws) and can be dialled at `multiaddrs`, which the node keeps only if they are circuit
 * addresses through itself (`<node address>/p2p-circuit[/webrtc]/p2p/<this peer>`).
 */
export async function announce(
  libp2p: DialingLibp2p,
  nodeAddress: string | Multiaddr,
  roots: readonly Uint8Array[],
  multiaddrs: readonly (string | Multiaddr)[],
  options: ProvidersOptions = {},
): Promise<AnnounceReceipt> {
  const frame: ProviderFrame = { kind: 'announce', roots, multiaddrs: multiaddrs.map(String) }
  const reply = await exchange(libp2p, nodeAddress, frame, options)
  if (reply.kind !== 'announced') throw unexpected(reply)
  return { roots: reply.roots, multiaddrs: reply.addresses }
}

/** Sends `frame` on a new stream to the node and returns its one answer. */
async function exchange(
  libp2p: DialingLibp2p,
  nodeAddress: string | Multiaddr,
  frame: ProviderFrame,
  { signal }: ProvidersOptions,
): Promise<ProviderFrame> {
  const bytes = encodeProviderFrame(frame) // a bad argument throws before any I/O
  signal?.throwIfAborted()
  const channel = await libp2pProtocolDialer(libp2p).open(nodeAddress, PROVIDERS_PROTOCOL, signal)
  const onAbort = () => channel.abort(signal?.reason ?? new Error('aborted'))
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await channel.write(bytes)
    const decoder = new CodecDecoder(providerCodec('to-client'))
    for await (const chunk of channel.source) {
      const [reply] = decoder.push(chunk)
      if (reply === undefined) continue
      if (reply.kind === 'terminate') {
        throw new WireError(
          'WIRE_REMOTE_ERROR',
          `the node ended the stream, ${describeReason(reply.reason)}: ${reply.message}`,
        )
      }
      await channel.close()
      return reply
    }
    decoder.end()
    throw new WireError('WIRE_TRUNCATED', 'the node closed the stream without an answer')
  } catch (error) {
    channel.abort(error instanceof Error ? error : new Error(String(error)))
    if (signal?.aborted) throw signal.reason
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

function unexpected(reply: ProviderFrame): WireError {
  return new WireError('WIRE_MALFORMED', `unexpected ${reply.kind} frame in answer`)
}

function peerIdString(bytes: Uint8Array): string {
  try {
    return peerIdFromMultihash(Digest.decode(bytes)).toString()
  } catch {
    throw new WireError('WIRE_MALFORMED', 'PROVIDERS entry with an invalid peer id')
  }
}
