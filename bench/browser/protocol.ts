/** Messages between the Node driver, the bench page and its hashing worker. */
import type { Figure } from '../shared.ts'

export interface BrowserBenchConfig {
  /** Bytes hashed by each implementation inside the dedicated worker. */
  readonly hashBytes: number
  /** Bytes streamed through `buildTreeParallel` on pools of 1 and 2 workers (0: skip). */
  readonly poolBytes: number
  readonly reps: number
}

export type WorkerMessage =
  | { readonly type: 'progress'; readonly text: string }
  | { readonly type: 'done'; readonly figures: Figure[]; readonly digests: Record<string, string> }
  | { readonly type: 'error'; readonly message: string }

export interface BrowserBenchResult {
  readonly figures: Figure[]
  readonly digests: Record<string, string>
  readonly userAgent: string
  readonly crossOriginIsolated: boolean
}

declare global {
  interface Window {
    /** Set by main.ts once loaded; Playwright calls it. */
    fulmenBench?: (config: BrowserBenchConfig) => Promise<BrowserBenchResult>
  }
}
