/**
 * `npm start` (scripts/start.ts) as a user runs it, as a real process: a bad flag prints the
 * usage and exits 2 (no stack trace); a start prints the banner with where each node's log
 * is, the logs are there and fill as the nodes run, and Ctrl-C stops it all cleanly.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import { childEnv, exited, waitFor } from '../src/devnet/processes.ts'

const START = fileURLToPath(new URL('../scripts/start.ts', import.meta.url))

function startScript(args: readonly string[]) {
  const child = spawn(process.execPath, [START, ...args], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  return { child, stdout: () => stdout, stderr: () => stderr }
}

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('npm start', () => {
  test.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--port'], /'--port <value>' argument missing/],
    [['stray'], /Unexpected argument 'stray'/],
    [['--port', 'abc'], /--port: 'abc' is not a port/],
    [['--consensus', 'raft'], /--consensus: 'raft' is not committee or solo/],
  ])('%j: a usage line and exit 2, no stack trace', async (args, message) => {
    const run = startScript(args)
    const { code } = await exited(run.child)
    expect(code).toBe(2)
    expect(run.stderr()).toMatch(message)
    expect(run.stderr()).toMatch(/^Usage: npm start -- \[--port N\]/m)
    expect(run.stderr()).not.toMatch(/^\s+at /m)
    expect(run.stdout()).toBe('')
  })

  test("writes each node's log and the liar's to files it names, and stops on Ctrl-C", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fulmen-start-'))
    dirs.push(dir)
    const run = startScript(['--port', '0', '--dir', dir, '--download-size', '300000'])
    try {
      await waitFor(
        () => run.stdout().includes('Ctrl-C stops everything') || run.child.exitCode !== null,
        'the banner',
        120_000,
        100,
      )
      expect(run.child.exitCode, `npm start exited early; its stderr:\n${run.stderr()}`).toBeNull()
      const banner = run.stdout()
      const nodeLogs = [1, 2, 3].map((n) => join(dir, `node-${n}`, 'node.log'))
      const liarLog = join(dir, 'liar.log')
      for (const file of [...nodeLogs, liarLog]) {
        expect(banner).toContain(file)
        expect(existsSync(file)).toBe(true)
      }
      // Each node's file holds its own JSON log lines, from its start on.
      for (const [i, file] of nodeLogs.entries()) {
        const peerId = new RegExp(`^ {2}node-${i + 1} +(12D3KooW\\w+)$`, 'm').exec(banner)?.[1]
        expect(peerId).toBeDefined()
        const lines = (await readFile(file, 'utf8')).trim().split('\n')
        const parsed = lines.map((l) => JSON.parse(l) as { msg: string; peerId?: string })
        expect(parsed.some((l) => l.peerId === peerId)).toBe(true)
        expect(parsed.some((l) => /block store opened/.test(l.msg))).toBe(true)
      }
    } finally {
      run.child.kill('SIGINT')
    }
    const { code } = await exited(run.child)
    expect(code).toBe(0)
    // --dir keeps the data and the logs, with the stops in them.
    const after = await readFile(join(dir, 'node-1', 'node.log'), 'utf8')
    expect(after).toMatch(/"msg":"exited \(0\)"/)
  })
})
