/** What the Chromium project's global setup (node-network.setup.ts) gives browser tests. */
export interface BrowserTestNetwork {
  /** WebSocket multiaddrs (with /p2p) of two full nodes holding `content`. */
  readonly nodes: readonly string[]
  /** A node that proxies the first one and flips a byte in its third block. */
  readonly liar: string
  readonly liarPeer: string
  /** `seededContent(size, seed)` (src/b3/testing/content.ts), added to both nodes. */
  readonly content: { readonly hex: string; readonly size: number; readonly seed: number }
  /** Distinct PNG images (testing/gallery.ts), on both nodes: many fetches at once. */
  readonly images: readonly {
    readonly hex: string
    readonly size: number
    readonly width: number
    readonly height: number
  }[]
  /** An HTML page (on both nodes) of `images.slice(0, count)`, each `<img src="<hex>">`. */
  readonly gallery: { readonly hex: string; readonly count: number }
  /**
   * Chain gateways for the light client (src/client/testing/chain-gateway.ts): a genesis in
   * which `nodes[0]` is staked and `nodes[1]` is not, served honestly and forged.
   */
  readonly chain: {
    /** The genesis file's text. */
    readonly genesis: string
    /** The head a synced light client reaches (epoch 0). */
    readonly headHeight: number
    readonly honest: string
    /** Serves the head with another state root than the one signed. */
    readonly forgedCheckpoint: string
    /** Serves every present entry with a flipped value byte. */
    readonly forgedProof: string
    /** Peer ids of `nodes[0]` (staked) and `nodes[1]` (not). */
    readonly stakedPeer: string
    readonly unstakedPeer: string
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    network: BrowserTestNetwork
  }
}
