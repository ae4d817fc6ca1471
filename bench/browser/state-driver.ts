/**
 * Runs the state section's Chromium half: bench/browser/state-page/index.html through the
 * bench page driver (Vite's dev server, Debian's Chromium), `window.fulmenStateBench`.
 */
import type { StateVerifyConfig, StateVerifyResult } from '../state-verify.ts'
import { runBenchPage } from './driver.ts'

export function runStateChromium(
  config: StateVerifyConfig,
  log: (line: string) => void,
): Promise<StateVerifyResult & { readonly version: string }> {
  return runBenchPage<StateVerifyConfig, StateVerifyResult>(
    'bench/browser/state-page/index.html',
    'fulmenStateBench',
    config,
    log,
  )
}
