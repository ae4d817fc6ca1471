/**
 * What `fulmen` loads for each command (issue 13): help and the hashing commands start
 * without libp2p, LevelDB, pino or cli-progress, which all loaded for every command before
 * (0.9-2 s for `fulmen --help`). Each run records every module Node loads, ES modules and
 * CommonJS alike, through a `module.registerHooks` load hook preloaded with `--import`.
 * Modules, not time: the assertions hold on a busy machine too.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getSystemErrorMessage } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { contentIdSpellings } from '../../b3/content-id.ts'
import { initialProof } from '../../b3/proof.ts'
import { treeOf } from '../../b3/tree.ts'
import { messageText } from './failure.ts'
import { hex } from './output.ts'
import { fulmenVersion, VersionError } from './version.ts'

const CLI = fileURLToPath(new URL('./fulmen.ts', import.meta.url))
const SRC = fileURLToPath(new URL('../../', import.meta.url))
const CLI_DIR = fileURLToPath(new URL('./', import.meta.url))

const RECORDER = `import { writeFileSync } from 'node:fs'
import { registerHooks } from 'node:module'
const loaded = []
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url)
    return nextLoad(url, context)
  },
})
process.on('exit', () => writeFileSync(process.env.FULMEN_LOADED_OUT, JSON.stringify(loaded)))
`

interface Loaded {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
  /** Files under src/, relative to it (`node/cli/fulmen.ts`). */
  readonly sources: string[]
  /** Packages from node_modules (`multiformats`, `@libp2p/crypto`), each once. */
  readonly packages: string[]
}

let dir = ''
let runs = 0

function packageOf(path: string): string {
  const after = path.slice(path.lastIndexOf('/node_modules/') + '/node_modules/'.length)
  const parts = after.split('/')
  return after.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!
}

/** Runs `node [nodeArgs] [args]` with the recorder, in `cwd` (the temp dir by default). */
function recorded(nodeArgs: readonly string[], args: readonly string[], cwd = dir): Loaded {
  const out = join(dir, `loaded-${runs++}.json`)
  const r = spawnSync(
    process.execPath,
    ['--import', join(dir, 'record-loads.mjs'), ...nodeArgs, ...args],
    { cwd, encoding: 'utf8', env: { ...process.env, FULMEN_LOADED_OUT: out } },
  )
  const files = (JSON.parse(readFileSync(out, 'utf8')) as string[])
    .filter((url) => url.startsWith('file:'))
    .map((url) => fileURLToPath(url))
  const modules = files.filter((f) => f.includes('/node_modules/'))
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    sources: files
      .filter((f) => f.startsWith(SRC) && !f.includes('/node_modules/'))
      .map((f) => f.slice(SRC.length)),
    packages: [...new Set(modules.map(packageOf))].sort(),
  }
}

function fulmen(...args: string[]): Loaded {
  return recorded([CLI], args)
}

/** The dispatcher's own modules: what every run loads before a command's implementation. */
const DISPATCHER = ['command-list.ts', 'command.ts', 'failure.ts', 'fulmen.ts', 'output.ts']

function cliModules(l: Loaded): string[] {
  return l.sources.filter((s) => s.startsWith('node/cli/')).map((s) => s.slice(9))
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-startup-'))
  writeFileSync(join(dir, 'record-loads.mjs'), RECORDER)
  writeFileSync(join(dir, 'one.bin'), 'x')
})

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

test('the recorder sees ES modules and CommonJS packages as they load', () => {
  // A control: were it blind to either kind, every "loads no package" below would pass.
  const l = recorded(
    ['--input-type=module', '-e'],
    [
      "import { createRequire } from 'node:module'; createRequire(import.meta.url)('cli-progress'); await import('libp2p')",
    ],
    join(SRC, '..'),
  )
  expect(l.stderr).toBe('')
  expect(l.packages).toContain('cli-progress')
  expect(l.packages).toContain('libp2p')
  expect(l.packages).toContain('@libp2p/crypto')
})

describe.concurrent('help and version load no command and no package', () => {
  for (const args of [
    ['--help'],
    ['--version'],
    ['help'],
    ['help', 'node'],
    ['node', '--help'],
    ['fetch', '--help'],
    ['add', '-h'],
  ]) {
    test(`fulmen ${args.join(' ')}`, () => {
      const l = fulmen(...args)
      expect(l.stderr).toBe('')
      expect(l.status).toBe(0)
      expect(l.stdout).toMatch(args[0] === '--version' ? /^fulmen \d+\.\d+\.\d+/ : /Usage: fulmen/)
      expect(l.packages).toEqual([])
      expect(cliModules(l).sort()).toEqual([...DISPATCHER, 'version.ts'].sort())
      expect(l.sources.filter((s) => !s.startsWith('node/cli/') && !s.startsWith('core/'))).toEqual(
        [],
      )
    })
  }

  test('a command that does not exist loads nothing more either', () => {
    const l = fulmen('frobnicate')
    expect(l.status).toBe(2)
    expect(l.stderr).toMatch(/unknown command 'frobnicate'/)
    expect(l.packages).toEqual([])
    expect(cliModules(l).filter((m) => m.startsWith('commands/'))).toEqual([])
  })
})

describe.concurrent('hash, tree and proof load the BLAKE3 engine, file reading and their own command', () => {
  const data = new TextEncoder().encode('x')
  const tree = treeOf(data)
  for (const [args, expected] of [
    [['hash', 'one.bin'], `${hex(tree.root)}  one.bin\n`],
    [
      ['tree', 'one.bin', '--json'],
      `${JSON.stringify({ root: hex(tree.root), blocks: 1, length: 1, tree: [hex(tree.hashes.subarray(0, 32))] })}\n`,
    ],
    [['proof', 'one.bin', '--block', '0'], `${hex(initialProof(tree, 0))}\n`],
  ] as const) {
    test(`fulmen ${args.join(' ')}`, () => {
      const l = fulmen(...args)
      expect(l.stderr).toBe('')
      expect(l.stdout).toBe(expected)
      expect(l.packages).toEqual([])
      expect(cliModules(l).filter((m) => m.startsWith('commands/'))).toEqual([
        `commands/${args[0]}.ts`,
      ])
      expect(l.sources.filter((s) => !/^(node\/cli|b3|core)\//.test(s))).toEqual([])
      expect(l.sources).toContain('b3/engine.ts')
    })
  }

  test('fulmen cid adds multiformats for the CID spellings, and nothing of libp2p', () => {
    const root = treeOf(new Uint8Array(0)).root
    const l = fulmen('cid', hex(root), '--to', 'cid')
    expect(l.stderr).toBe('')
    expect(l.stdout).toBe(`${contentIdSpellings(root).cid}\n`)
    expect(l.packages.filter((p) => p !== 'multiformats' && p !== '@noble/hashes')).toEqual([])
    expect(l.sources.filter((s) => !/^(node\/cli|b3|core)\//.test(s))).toEqual([])
  })
})

describe('the version comes from the nearest package.json named "fulmen"', () => {
  test('from the source tree and from a compiled tree below another package.json', () => {
    const root = mkdtempSync(join(dir, 'package-'))
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'fulmen', version: '9.8.7' }))
    // A build's own marker file, as a dist/ may hold: not Fulmen's, passed over.
    mkdirSync(join(root, 'dist', 'node', 'cli'), { recursive: true })
    writeFileSync(join(root, 'dist', 'package.json'), JSON.stringify({ type: 'module' }))
    expect(fulmenVersion(join(root, 'dist', 'node', 'cli'))).toBe('9.8.7')
    expect(fulmenVersion(root)).toBe('9.8.7')
    const repo = JSON.parse(readFileSync(join(SRC, '..', 'package.json'), 'utf8')) as {
      version: string
    }
    expect(fulmenVersion(CLI_DIR)).toBe(repo.version)
    expect(fulmenVersion()).toBe(repo.version)
  })

  test('none above: VersionError CLI_NO_VERSION', () => {
    const lone = mkdtempSync(join(tmpdir(), 'fulmen-no-package-'))
    try {
      let caught: unknown
      try {
        fulmenVersion(lone)
      } catch (e) {
        caught = e
      }
      expect(caught).toBeInstanceOf(VersionError)
      expect((caught as VersionError).code).toBe('CLI_NO_VERSION')
    } finally {
      rmSync(lone, { recursive: true, force: true })
    }
  })

  test('a fulmen package.json without a version: CLI_NO_VERSION, not a walk past it', () => {
    const root = mkdtempSync(join(dir, 'unversioned-'))
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'fulmen' }))
    expect(() => fulmenVersion(root)).toThrow(/has no version/)
  })
})

test("a system error's text without util.getSystemErrorMessage (Node 22.0-22.11) is Node's own", () => {
  const errors: NodeJS.ErrnoException[] = []
  for (const open of [
    () => openSync(join(dir, 'missing', 'file'), 'r'),
    () => openSync(join(dir, 'one.bin', 'below-a-file'), 'r'),
    () => openSync(join(dir, 'one.bin'), 'wx'),
  ]) {
    try {
      open()
    } catch (e) {
      errors.push(e as NodeJS.ErrnoException)
    }
  }
  expect(errors.map((e) => e.code)).toEqual(['ENOENT', 'ENOTDIR', 'EEXIST'])
  for (const e of errors) expect(messageText(e.message)).toBe(getSystemErrorMessage(e.errno!))
  expect(messageText('EACCES: permission denied')).toBe('permission denied')
  expect(messageText('not a system message')).toBe('not a system message')
})
