/**
 * What the tab-node bench driver (tab-node-driver.ts) and its page (tab-node-page/main.ts) say
 * to each other. Two pages of one Chromium, each in a browser context of its own (so each has
 * its own renderer process and IndexedDB): page A runs a tab node, page B the clients.
 * Playwright calls `window.fulmenTabBench` methods, one measurement per call.
 */

/** One verified fetch read whole on the page. */
export interface TabFetchRun {
  readonly bytes: number
  /** From the request to the end of the body, ms. */
  readonly ms: number
  /** From the request to the `Response` (the client's verified header), ms. */
  readonly headersMs: number
  /** From the request to the first body chunk, ms. */
  readonly firstByteMs: number
  /** `x-fulmen-node`: the peer that served it. */
  readonly node: string
}

export interface TabBenchPage {
  // --- page A: the tab node ----------------------------------------------------------
  /** `startNode({ relays, database, keyDatabase: false })`; its peer id and circuit addresses. */
  startTab(
    relays: readonly string[],
    database: string,
  ): Promise<{ peerId: string; addresses: string[] }>
  /** `tab.cache(hex)`: fetched verified from the full node into the tab's IndexedDB store. */
  cache(hex: string): Promise<{ ms: number; length: number; fetched: boolean }>
  /** The tab's counters: bytes served, sessions, DAs, store. */
  tabStats(): Promise<{
    bytesServed: number
    sessionsTotal: number
    storeBytes: number
    dasUnits: number
  }>
  stopTab(): Promise<void>

  // --- page B: the clients ---------------------------------------------------------------
  /**
   * Two clients on `bootstrap` (the full node): `tab`, `discover: true` (asks the node who
   * holds a root, dials those tabs over WebRTC through this page first); `node`,
   * `discover: false, webrtc: false` (the node over WebSockets only). Untimed.
   */
  startClients(bootstrap: readonly string[]): Promise<void>
  /** `clients[which].fetch(hex)`, the body read whole on the page. */
  fetch(which: 'tab' | 'node', hex: string): Promise<TabFetchRun>
  closeClients(): Promise<void>

  // --- either page -------------------------------------------------------------------------
  /** Keeps the page's main thread busy for `ms` (to tell the renderer processes apart). */
  spin(ms: number): number
}

declare global {
  interface Window {
    /** Set by tab-node-page/main.ts once loaded; Playwright calls it. */
    fulmenTabBench?: TabBenchPage
  }
}
