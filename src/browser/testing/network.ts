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
}

declare module 'vitest' {
  export interface ProvidedContext {
    network: BrowserTestNetwork
  }
}
