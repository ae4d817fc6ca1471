/**
 * The progress bar of long hashing jobs: on stderr, only when stderr is a terminal and the
 * input is at least 64 MiB (and its size is known). Otherwise every call is a no-op, so
 * commands use it unconditionally.
 */
import { createRequire } from 'node:module'

/**
 * cli-progress (16 CommonJS modules), required only when a bar is drawn: every hashing
 * command imports this file, and almost none of its runs draws a bar.
 */
function loadCliProgress(): typeof import('cli-progress') {
  return createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress')
}

/** Inputs smaller than this hash too fast for a bar to be worth drawing. */
export const PROGRESS_MIN_BYTES = 64 * 2 ** 20

export interface Progress {
  /** Bytes processed so far. */
  update(bytesDone: number): void
  /** Removes the bar; safe to call more than once. */
  stop(): void
}

const silent: Progress = { update() {}, stop() {} }

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function formatBytes(n: number): string {
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`
}

/**
 * Starts a bar for `totalBytes` of input named `label` (`undefined` when the size is not
 * known, e.g. a pipe: no bar).
 */
export function startProgress(
  label: string,
  totalBytes: number | undefined,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (!stream.isTTY || totalBytes === undefined || totalBytes < PROGRESS_MIN_BYTES) return silent
  const cliProgress = loadCliProgress()
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{label} [{bar}] {percentage}% | {done} / {size} | {rate} | ETA {eta_formatted}',
      clearOnComplete: true,
      hideCursor: false,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = performance.now()
  const payload = (done: number) => {
    const seconds = (performance.now() - started) / 1000
    const rate = seconds > 0 ? `${formatBytes(done / seconds)}/s` : '-'
    return { label, done: formatBytes(done), size: formatBytes(totalBytes), rate }
  }
  bar.start(totalBytes, 0, payload(0))
  let stopped = false
  return {
    update(bytesDone) {
      if (!stopped) bar.update(Math.min(bytesDone, totalBytes), payload(bytesDone))
    },
    stop() {
      if (stopped) return
      stopped = true
      bar.stop()
    },
  }
}
