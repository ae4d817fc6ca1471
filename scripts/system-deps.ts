/**
 * `npm test`'s pretest: makes sure the one thing outside npm that the tests need is on the
 * machine. That is Debian's Chromium, which the `chromium` and `e2e` Vitest projects drive
 * through Playwright at CHROMIUM_PATH (e2e/chromium.ts; /usr/bin/chromium by default). Nothing
 * downloads a browser: Chromium comes from Debian's archive.
 *
 *   - present: exits 0 at once, silently (an access() call);
 *   - missing, running as root: `apt-get update && apt-get install -y chromium`, with apt's own
 *     progress on the terminal, then checks the binary is there;
 *   - missing, not root: exits 1 and prints the command to run
 *     (`sudo apt-get update && sudo apt-get install -y chromium`);
 *   - CHROMIUM_PATH set to a file that is not there: exits 1 (installing Debian's package would
 *     not put a browser at that path);
 *   - FULMEN_SKIP_SYSTEM_DEPS=1: checks nothing and says so (for a machine whose Chromium is
 *     looked after some other way; without one the chromium and e2e projects fail).
 *
 * Run by the project's Node 24 (`node scripts/system-deps.ts` from npm, which puts
 * node_modules/.bin first on PATH).
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { CHROMIUM_PATH, DEBIAN_CHROMIUM_PATH } from '../e2e/chromium.ts'

export const SKIP_ENV = 'FULMEN_SKIP_SYSTEM_DEPS'
export const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium'
export const SUDO_INSTALL_COMMAND = 'sudo apt-get update && sudo apt-get install -y chromium'

const APT_GET = '/usr/bin/apt-get'
/**
 * apt-get runs with the system's PATH (sudo's secure_path), not the one npm was given: dpkg
 * and the package scripts need ldconfig, update-alternatives and the like from sbin.
 */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export type SystemDepsErrorCode =
  | 'CHROMIUM_NOT_INSTALLED'
  | 'CHROMIUM_PATH_MISSING'
  | 'CHROMIUM_NO_APT'
  | 'CHROMIUM_INSTALL_FAILED'

export class SystemDepsError extends Error {
  override name = 'SystemDepsError'
  readonly code: SystemDepsErrorCode
  constructor(code: SystemDepsErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

/** What this machine is, as far as the decision goes. */
export interface Machine {
  chromiumPath: string
  chromiumPresent: boolean
  isRoot: boolean
  hasAptGet: boolean
  skip: boolean
}

export type ChromiumStep =
  | { kind: 'present' }
  | { kind: 'skip'; message: string }
  | { kind: 'install'; message: string }
  | { kind: 'fail'; error: SystemDepsError }

const WHO_NEEDS_IT = "the test projects 'chromium' and 'e2e' drive it through Playwright"

/** The decision, apart from its effects (so every branch is testable on any machine). */
export function chromiumStep(m: Machine): ChromiumStep {
  if (m.chromiumPresent) return { kind: 'present' }
  if (m.skip)
    return {
      kind: 'skip',
      message: `${SKIP_ENV}=1: not checking for Chromium (none at ${m.chromiumPath}; ${WHO_NEEDS_IT}, so they fail without one)`,
    }
  if (m.chromiumPath !== DEBIAN_CHROMIUM_PATH)
    return {
      kind: 'fail',
      error: new SystemDepsError(
        'CHROMIUM_PATH_MISSING',
        `CHROMIUM_PATH=${m.chromiumPath} is not an executable file. Point it at a Chromium binary, or unset it to use Debian's ${DEBIAN_CHROMIUM_PATH} (installed for you when npm test runs as root).`,
      ),
    }
  if (!m.hasAptGet)
    return {
      kind: 'fail',
      error: new SystemDepsError(
        'CHROMIUM_NO_APT',
        `Chromium is not installed (no ${m.chromiumPath}) and this machine has no apt-get to install Debian's package; ${WHO_NEEDS_IT}. Install Chromium and set CHROMIUM_PATH to its binary, or set ${SKIP_ENV}=1 to run without them.`,
      ),
    }
  if (!m.isRoot)
    return {
      kind: 'fail',
      error: new SystemDepsError(
        'CHROMIUM_NOT_INSTALLED',
        `Chromium is not installed (no ${m.chromiumPath}); ${WHO_NEEDS_IT}. Install Debian's package, then run npm test again:\n\n    ${SUDO_INSTALL_COMMAND}\n\n(npm test installs it itself when run as root; ${SKIP_ENV}=1 skips this check.)`,
      ),
    }
  return {
    kind: 'install',
    message: `Chromium is not installed (no ${m.chromiumPath}); ${WHO_NEEDS_IT}. Installing Debian's package as root (${INSTALL_COMMAND}): a few hundred MB, a minute or two on a first run.`,
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function aptGet(args: readonly string[]): number | null {
  const r = spawnSync(APT_GET, args, {
    stdio: 'inherit',
    env: { ...process.env, PATH: SYSTEM_PATH, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return r.status
}

/** Installs Debian's chromium; throws CHROMIUM_INSTALL_FAILED if apt fails or no binary appears. */
function installChromium(path: string): void {
  const update = aptGet(['update'])
  if (update !== 0)
    throw new SystemDepsError('CHROMIUM_INSTALL_FAILED', `apt-get update exited ${update}`)
  const install = aptGet(['install', '-y', 'chromium'])
  if (install !== 0)
    throw new SystemDepsError('CHROMIUM_INSTALL_FAILED', `apt-get install exited ${install}`)
  if (!isExecutable(path))
    throw new SystemDepsError(
      'CHROMIUM_INSTALL_FAILED',
      `apt-get installed chromium but there is still no ${path}`,
    )
}

function say(message: string): void {
  process.stderr.write(`system-deps: ${message}\n`)
}

function main(): number {
  const machine: Machine = {
    chromiumPath: CHROMIUM_PATH,
    chromiumPresent: isExecutable(CHROMIUM_PATH),
    isRoot: process.getuid?.() === 0,
    hasAptGet: isExecutable(APT_GET),
    skip: process.env[SKIP_ENV] === '1',
  }
  const step = chromiumStep(machine)
  try {
    switch (step.kind) {
      case 'present':
        return 0
      case 'skip':
        say(step.message)
        return 0
      case 'fail':
        throw step.error
      case 'install':
        say(step.message)
        installChromium(CHROMIUM_PATH)
        say(`Chromium installed at ${CHROMIUM_PATH}.`)
        return 0
    }
  } catch (e) {
    if (!(e instanceof SystemDepsError)) throw e
    say(`${e.message} [${e.code}]`)
    return 1
  }
}

if (import.meta.main) process.exitCode = main()
