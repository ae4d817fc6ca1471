/**
 * The snark section's Chromium page: hands the proofs Node made to a dedicated worker, which
 * checks them as the executor does (bench/snark-verify.ts) and answers.
 */
import type { SnarkVerifyConfig, SnarkVerifyResult } from '../../snark-verify.ts'

declare global {
  interface Window {
    fulmenSnarkBench?: (config: SnarkVerifyConfig) => Promise<SnarkVerifyResult>
  }
}

window.fulmenSnarkBench = (config) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./snark-worker.ts', import.meta.url), { type: 'module' })
    worker.onmessage = (event: MessageEvent<SnarkVerifyResult | { error: string }>) => {
      worker.terminate()
      const data = event.data
      if ('error' in data) reject(new Error(data.error))
      else resolve(data)
    }
    worker.onerror = (event) => {
      worker.terminate()
      reject(new Error(`snark worker: ${event.message}`))
    }
    worker.postMessage(config)
  })
