/**
 * The light.first-fetch page (bench/light-first-fetch.ts drives it): each sample is a fresh
 * browser client (its own worker, a fresh key, no stored light head), timed from
 * `createClient` to the last byte of its first fetch, with and without `chain` (alternating
 * which goes first); and a fresh `fulmen/light` client's sync of a long chain.
 */
import { createClient } from '../../../src/browser/client.ts'
import { createLightClient } from '../../../src/browser/light/light.ts'
import type { FirstFetchConfig, FirstFetchSamples } from '../../light-first-fetch-protocol.ts'

declare global {
  interface Window {
    fulmenLightFirstFetch?: (config: FirstFetchConfig) => Promise<FirstFetchSamples>
    fulmenLightFirstFetchWarm?: (config: FirstFetchConfig) => Promise<void>
  }
}

async function firstFetch(config: FirstFetchConfig, verified: boolean): Promise<number> {
  const t0 = performance.now()
  const client = await createClient({
    bootstrap: config.nodes,
    keyDatabase: false,
    ...(verified
      ? { chain: { genesis: config.genesis, gateways: [config.gateway], database: false } }
      : {}),
  })
  try {
    const response = await client.fetch(config.hex)
    const bytes = await response.arrayBuffer()
    if (bytes.byteLength !== config.size) throw new Error(`${bytes.byteLength} bytes`)
    if (verified && response.headers.get('x-fulmen-node') === null) throw new Error('no node')
    return performance.now() - t0
  } finally {
    await client.close()
  }
}

async function longSync(config: FirstFetchConfig): Promise<{ ms: number; checkpoints: number }> {
  const t0 = performance.now()
  const light = await createLightClient({
    genesis: config.longGenesis,
    gateways: [config.longGateway],
    database: false,
    ...(config.longCheckpoint === undefined ? {} : { checkpoint: config.longCheckpoint }),
  })
  try {
    const result = await light.sync()
    return { ms: performance.now() - t0, checkpoints: result.checkpoints }
  } finally {
    await light.close()
  }
}

window.fulmenLightFirstFetch = async (config) => {
  const plain: number[] = []
  const verified: number[] = []
  // One of each, unmeasured: module loading and compiling is the dev server's, not a page's.
  await firstFetch(config, false)
  await firstFetch(config, true)
  for (let i = 0; i < config.rounds; i++) {
    const order = i % 2 === 0 ? [false, true] : [true, false]
    for (const v of order) (v ? verified : plain).push(await firstFetch(config, v))
  }
  const sync: number[] = []
  let checkpoints = 0
  for (let i = 0; i < Math.max(1, Math.floor(config.rounds / 2)); i++) {
    const s = await longSync(config)
    sync.push(s.ms)
    checkpoints = s.checkpoints
  }
  return { plain, verified, longSync: sync, longCheckpoints: checkpoints }
}

window.fulmenLightFirstFetchWarm = async (config) => {
  await firstFetch(config, true).catch(() => {})
  await longSync({ ...config, longGenesis: config.genesis, longGateway: config.gateway }).catch(
    () => {},
  )
}
