/**
 * How Fulmen launches real Chromium everywhere (unit tests in browser mode, benchmarks, e2e):
 * Debian's binary, never a downloaded one, with the flags this closed network needs (no
 * background connections, no QUIC) and the sandbox off (CI runs as root).
 */
export const DEBIAN_CHROMIUM_PATH = '/usr/bin/chromium'

/** Where the tests look for Chromium: CHROMIUM_PATH, else Debian's package (scripts/system-deps.ts installs it). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? DEBIAN_CHROMIUM_PATH

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
