/**
 * What the Node driver (fetch-driver.ts) and the fetch bench page (fetch-page/main.ts) say to
 * each other: Playwright calls the page's `window.fulmenFetchBench` methods, one measurement
 * per call, so the driver decides the order (turns) and logs progress.
 */

/** What the page's main thread went through during one run. */
export interface MainThreadStats {
  /** Long tasks (Long Tasks API: tasks over 50 ms) that started during the run. */
  readonly longTasks: number
  /** The longest of them, ms (0 if none). */
  readonly longestTaskMs: number
  /** Worst lateness of a 10 ms interval timer during the run, ms: blocking below 50 ms too. */
  readonly maxTimerLagMs: number
}

export interface ThroughputRun {
  readonly bytes: number
  readonly ms: number
  readonly main: MainThreadStats
}

export interface FirstByteRun {
  /** From the request to the `Response` (headers; for the client, header checked), ms. */
  readonly headersMs: number
  /** From the request to the first body chunk, ms. */
  readonly firstByteMs: number
  /** From the request to the end of the body, ms. */
  readonly totalMs: number
  readonly bytes: number
  /** For a cold run: how long starting the client (or registering the worker) took before, ms. */
  readonly startMs?: number
}

export interface FetchBenchPage {
  /** Whether this Chromium reports `longtask` entries at all. */
  longTasksSupported(): boolean
  /** Starts the browser client (its worker, libp2p) on `bootstrap`; untimed. */
  startClient(bootstrap: readonly string[]): Promise<void>
  closeClient(): Promise<void>
  /** `client.fetch(hex)` read whole on the page. */
  verified(hex: string): Promise<ThroughputRun>
  /** A plain WebSocket to `url` read on the page (binaryType arraybuffer), counting bytes. */
  rawPage(url: string, bytes: number): Promise<ThroughputRun>
  /** The same read in a dedicated module worker; the page only waits for its answer. */
  rawWorker(url: string, bytes: number): Promise<ThroughputRun>
  /**
   * ChaCha20-Poly1305 decryption alone (@noble/ciphers, what libp2p-noise runs in browsers)
   * of `bytes` in full-size Noise messages, in a dedicated worker: best of 3 after a warm-up.
   */
  noiseDecrypt(bytes: number): Promise<{ bytes: number; ms: number }>
  /** `client.fetch(hex)` to its first chunk (the body read whole), on the started client. */
  firstByteDirect(hex: string): Promise<FirstByteRun>
  /** A fresh client (started untimed), then as `firstByteDirect`; closed after. */
  firstByteDirectCold(bootstrap: readonly string[], hex: string): Promise<FirstByteRun>
  /**
   * Registers the Fulmen service worker on `nodes`; resolves once it controls the page and is
   * configured, with how long that took (ms).
   */
  registerServiceWorker(nodes: readonly string[]): Promise<number>
  /** Empties the service worker's block cache (untimed), so its next fetch goes to a node. */
  clearServiceWorkerCache(): Promise<void>
  /** `fetch('<prefix><hex>')` through the service worker to its first chunk. */
  firstByteServiceWorker(hex: string): Promise<FirstByteRun>
}

declare global {
  interface Window {
    /** Set by fetch-page/main.ts once loaded; Playwright calls it. */
    fulmenFetchBench?: FetchBenchPage
  }
}
