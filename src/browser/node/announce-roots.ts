/**
 * Tells each relay which roots this tab holds and where to dial it (provider discovery,
 * src/discovery/provider-client.ts), so clients asking the relay for a root find the tab. A relay keeps
 * only circuit addresses through itself, so each is sent just those.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { hexToBytes } from '@noble/hashes/utils.js'
import { announce, type DialingLibp2p } from '../../discovery/provider-client.ts'

export interface AnnounceResult {
  readonly relay: string
  /** Roots the relay lists for this tab now; undefined when the announcement failed. */
  readonly roots?: number
  readonly error?: unknown
}

export async function announceRoots(
  libp2p: DialingLibp2p,
  relays: readonly string[],
  addresses: readonly string[],
  roots: readonly string[],
  signal?: AbortSignal,
): Promise<AnnounceResult[]> {
  const bytes = roots.map((r) => hexToBytes(r))
  return Promise.all(
    relays.map(async (relay): Promise<AnnounceResult> => {
      const peer = multiaddr(relay)
        .getComponents()
        .find((c) => c.name === 'p2p')?.value
      const through = addresses.filter((a) => a.includes(`/p2p/${peer}/p2p-circuit/`))
      if (through.length === 0) return { relay, error: new Error('no reservation on this relay') }
      try {
        const receipt = await announce(
          libp2p,
          relay,
          bytes,
          through,
          signal === undefined ? {} : { signal },
        )
        return { relay, roots: receipt.roots }
      } catch (error) {
        return { relay, error }
      }
    }),
  )
}
