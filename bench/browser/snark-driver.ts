/**
 * Runs the snark section's Chromium half: bench/browser/snark-page/index.html through the
 * bench page driver (Vite's dev server, Debian's Chromium), `window.fulmenSnarkBench`.
 */
import type { SnarkVerifyConfig, SnarkVerifyResult } from '../snark-verify.ts'
import { runBenchPage } from './driver.ts'

export function runSnarkChromium(
  config: SnarkVerifyConfig,
  log: (line: string) => void,
): Promise<SnarkVerifyResult & { readonly version: string }> {
  return runBenchPage<SnarkVerifyConfig, SnarkVerifyResult>(
    'bench/browser/snark-page/index.html',
    'fulmenSnarkBench',
    config,
    log,
  )
}
