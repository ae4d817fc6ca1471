/** What bench/light-first-fetch.ts hands its Chromium page and gets back. */
export interface FirstFetchConfig {
  /** The nodes' WebSocket multiaddrs (both staked on the short chain). */
  readonly nodes: readonly string[]
  readonly hex: string
  readonly size: number
  /** The short chain (a head inside epoch 0): the genesis file's text and its gateway. */
  readonly genesis: string
  readonly gateway: string
  /** A chain of many handoffs, for the light sync alone. */
  readonly longGenesis: string
  readonly longGateway: string
  /** A trusted handoff of the long chain to start its sync at (JSON), or genesis when absent. */
  readonly longCheckpoint?: string
  readonly rounds: number
}

export interface FirstFetchSamples {
  /** ms from createClient to the last byte of the first fetch, per sample. */
  readonly plain: readonly number[]
  readonly verified: readonly number[]
  /** ms from createLightClient to the end of a fresh sync of the long chain. */
  readonly longSync: readonly number[]
  readonly longCheckpoints: number
}
