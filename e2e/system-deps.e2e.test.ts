/**
 * scripts/system-deps.ts, npm test's pretest: every branch of its decision, and the real script
 * as a process (present: silent exit 0; a custom CHROMIUM_PATH that is not there: exit 1 with
 * its code; the opt-out: exit 0 with a warning). The install itself (root, no Chromium) is
 * exercised by scripts/bare-machine-check.sh on a machine without Chromium.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import {
  chromiumStep,
  INSTALL_COMMAND,
  type Machine,
  SKIP_ENV,
  SUDO_INSTALL_COMMAND,
} from '../scripts/system-deps.ts'
import { DEBIAN_CHROMIUM_PATH } from './chromium.ts'

const SCRIPT = fileURLToPath(new URL('../scripts/system-deps.ts', import.meta.url))

const bare: Machine = {
  chromiumPath: DEBIAN_CHROMIUM_PATH,
  chromiumPresent: false,
  isRoot: true,
  hasAptGet: true,
  skip: false,
}

describe('the decision', () => {
  test('Chromium present: nothing to do, whoever runs it', () => {
    for (const isRoot of [true, false])
      expect(chromiumStep({ ...bare, chromiumPresent: true, isRoot }).kind).toBe('present')
    const custom = { ...bare, chromiumPath: '/opt/chrome/chrome', chromiumPresent: true }
    expect(chromiumStep(custom).kind).toBe('present')
  })

  test("missing, as root with apt-get: installs Debian's chromium and says how", () => {
    const step = chromiumStep(bare)
    expect(step.kind).toBe('install')
    expect(step.kind === 'install' && step.message).toContain(INSTALL_COMMAND)
  })

  test('missing, not root: fails with the exact command to run', () => {
    const step = chromiumStep({ ...bare, isRoot: false })
    expect(step.kind).toBe('fail')
    if (step.kind !== 'fail') return
    expect(step.error.code).toBe('CHROMIUM_NOT_INSTALLED')
    expect(step.error.message).toContain(`\n    ${SUDO_INSTALL_COMMAND}\n`)
    expect(SUDO_INSTALL_COMMAND).toContain('sudo apt-get install -y chromium')
  })

  test('a custom CHROMIUM_PATH that is not there fails: apt-get would not put it there', () => {
    const step = chromiumStep({ ...bare, chromiumPath: '/opt/chrome/chrome' })
    expect(step.kind === 'fail' && step.error.code).toBe('CHROMIUM_PATH_MISSING')
  })

  test('no apt-get (not Debian): fails and names CHROMIUM_PATH', () => {
    const step = chromiumStep({ ...bare, hasAptGet: false })
    expect(step.kind === 'fail' && step.error.code).toBe('CHROMIUM_NO_APT')
    expect(step.kind === 'fail' && step.error.message).toMatch(/CHROMIUM_PATH/)
  })

  test('the opt-out wins over every failure and over installing', () => {
    for (const m of [bare, { ...bare, isRoot: false }, { ...bare, hasAptGet: false }])
      expect(chromiumStep({ ...m, skip: true }).kind).toBe('skip')
  })
})

describe('the script', () => {
  function run(env: Record<string, string>) {
    const base = { ...process.env }
    delete base.CHROMIUM_PATH
    delete base[SKIP_ENV]
    return spawnSync(process.execPath, [SCRIPT], { env: { ...base, ...env }, encoding: 'utf8' })
  }

  test('Chromium present at CHROMIUM_PATH: exit 0, silent', () => {
    // Any executable stands for a browser here: the script only checks that it can run it.
    const r = run({ CHROMIUM_PATH: process.execPath })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  test('a missing CHROMIUM_PATH: exit 1 with one message and its code', () => {
    const r = run({ CHROMIUM_PATH: '/nonexistent/chromium' })
    expect(r.status).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(
      /^system-deps: CHROMIUM_PATH=\/nonexistent\/chromium is not an executable file\..*\[CHROMIUM_PATH_MISSING\]\n$/,
    )
  })

  test('the opt-out: exit 0, and it says what will fail', () => {
    const r = run({ CHROMIUM_PATH: '/nonexistent/chromium', [SKIP_ENV]: '1' })
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(/FULMEN_SKIP_SYSTEM_DEPS=1: not checking .*'chromium' and 'e2e'/)
  })
})
