/**
 * The light section's Chromium page: hands the served runs Node made to a dedicated worker
 * (where a light client runs), which walks them (bench/light-verify.ts) and answers.
 */
import type { LightBenchConfig, LightBenchResult } from '../../light-verify.ts'

declare global {
  interface Window {
    fulmenLightBench?: (config: LightBenchConfig) => Promise<LightBenchResult>
  }
}

window.fulmenLightBench = (config) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./light-worker.ts', import.meta.url), { type: 'module' })
    worker.onmessage = (event: MessageEvent<LightBenchResult | { error: string }>) => {
      worker.terminate()
      const data = event.data
      if ('error' in data) reject(new Error(data.error))
      else resolve(data)
    }
    worker.onerror = (event) => {
      worker.terminate()
      reject(new Error(`light worker: ${event.message}`))
    }
    worker.postMessage(config)
  })
