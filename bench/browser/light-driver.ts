/**
 * Runs the light section's Chromium half: bench/browser/light-page/index.html through the
 * bench page driver (Vite's dev server, Debian's Chromium), `window.fulmenLightBench`.
 */
import type { LightBenchConfig, LightBenchResult } from '../light-verify.ts'
import { runBenchPage } from './driver.ts'

export function runLightChromium(
  config: LightBenchConfig,
  log: (line: string) => void,
): Promise<LightBenchResult & { readonly version: string }> {
  return runBenchPage<LightBenchConfig, LightBenchResult>(
    'bench/browser/light-page/index.html',
    'fulmenLightBench',
    config,
    log,
  )
}
