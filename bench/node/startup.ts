/**
 * CLI start-up (issue 13): `fulmen --help`, `fulmen --version` and `fulmen hash` of a 1-byte
 * file, each beside `node -e 0` from the same rounds. Run compiled (tsc, as the package
 * build compiles it), from source (Node's type stripping), and optionally from another git ref
 * compiled the same way (the "before") and through `npx` in a project that installed the
 * packed tarball (this one runs `npm run build`).
 *
 * Every round spawns every contender once, in a rotating order, so a busy moment on a shared
 * machine is spread over all of them; the figure is the median wall time. CPU time (user +
 * sys of the waited children, from /proc/self/stat) is noted beside it: it moves less with
 * the machine's load.
 */

import { execFileSync, spawnSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Figure, median, spread } from '../shared.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/**
 * Inside the repository, so compiled copies resolve their packages from its node_modules, but
 * not under node_modules, whose .ts files tsc takes for a library's and does not emit.
 * Git-ignored.
 */
const CACHE = join(ROOT, '.scratch', 'bench-startup')
/** BLAKE3 of the one byte "x". */
const ONE_BYTE_DIGEST = '3ae7d805f6789a6402acb70ad4096a85a56bf6804eaf25c0493ac697548d30b5'

export interface StartupOptions {
  /** Rounds; each runs every contender once. */
  readonly runs: number
  readonly log: (line: string) => void
  /** Also time this git ref's CLI, compiled with tsc like the package's. */
  readonly baseRef?: string
  /** Also time `npx fulmen` in a temporary project that installed the packed tarball. */
  readonly npx?: boolean
}

export interface StartupResult {
  readonly figures: Figure[]
  readonly notes: string[]
  /** What the section's rows are called: the base ref, as given. */
  readonly baseRef?: string
}

interface Contender {
  readonly name: string
  readonly file: string
  readonly args: readonly string[]
  readonly cwd: string
  readonly env?: NodeJS.ProcessEnv
  /** What stdout must be, checked on every run. */
  readonly expect: (stdout: string) => boolean
}

/** Children's user + sys CPU seconds so far (fields 16 and 17 of /proc/self/stat). */
function childrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // USER_HZ is 100 on Linux (the kernel's ABI, whatever its internal tick).
    return (Number(fields[13]) + Number(fields[14])) / 100
  } catch {
    return undefined
  }
}

function tsc(project: string): void {
  const bin = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [bin, '-p', project], { stdio: 'inherit' })
}

/**
 * The CLI of a source tree at `tree` compiled with tsc into `out` (its own graph only:
 * fulmen.ts and what it imports, statically or not), the way the package build compiles it.
 * Returns the compiled fulmen.js.
 */
function compileCli(tree: string, out: string): string {
  const config = join(out, '..', `tsconfig.${relative(CACHE, out).replaceAll('/', '-')}.json`)
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(tree, 'tsconfig.json'),
      compilerOptions: { noEmit: false, rootDir: tree, outDir: out, sourceMap: false },
      include: [],
      files: [join(tree, 'src/node/cli/fulmen.ts')],
    }),
  )
  rmSync(out, { recursive: true, force: true })
  tsc(config)
  return join(out, 'src/node/cli/fulmen.js')
}

/** `ref`'s src/ (git archive) compiled like the current tree; returns its fulmen.js. */
function baseBin(ref: string, log: (line: string) => void): string {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], {
    cwd: ROOT,
    encoding: 'utf8',
  }).trim()
  const tree = join(CACHE, `base-${commit.slice(0, 12)}`)
  const out = join(tree, 'out')
  if (existsSync(join(out, 'package.json'))) return join(out, 'src/node/cli/fulmen.js')
  log(`startup: compiling ${ref} (${commit.slice(0, 12)})'s CLI with tsc`)
  rmSync(tree, { recursive: true, force: true })
  mkdirSync(tree, { recursive: true })
  const archive = execFileSync('git', ['archive', commit, 'src', 'tsconfig.json', 'package.json'], {
    cwd: ROOT,
    maxBuffer: 256 * 2 ** 20,
  })
  execFileSync('tar', ['-x', '-C', tree, '--exclude=*.test.ts'], { input: archive })
  const bin = compileCli(tree, out)
  // Older CLIs import '../../../package.json' from src/node/cli: in the compiled tree, out/.
  copyFileSync(join(tree, 'package.json'), join(out, 'package.json'))
  return bin
}

/** A project in a temp dir with the packed tarball installed; returns its directory. */
function npxProject(log: (line: string) => void): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'fulmen-bench-npx-'))
  log('startup: npm run build, npm pack, and install into a temporary project')
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  // Built just now: pack it without prepack building it again.
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as { filename: string }[]
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'startup-bench', private: true, type: 'module' }),
  )
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed[0]!.filename)],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  )
  // npx's own cost, for the peer of npx fulmen: a bin that does nothing, run the same way.
  const noop = join(dir, 'node_modules', '.bin', 'noop')
  writeFileSync(noop, '#!/usr/bin/env node\n')
  chmodSync(noop, 0o755)
  return dir
}

export async function measureStartup(options: StartupOptions): Promise<StartupResult> {
  const { log } = options
  const notes: string[] = []
  const work = mkdtempSync(join(os.tmpdir(), 'fulmen-bench-startup-'))
  let npxDir: string | undefined
  try {
    const one = join(work, 'one.bin')
    writeFileSync(one, 'x')
    const node = process.execPath
    const version = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version
    const cli = (
      prefix: string,
      file: string,
      args: readonly string[],
      cwd = work,
      env?: NodeJS.ProcessEnv,
    ): Contender[] => [
      {
        name: `${prefix}.help`,
        file,
        args: [...args, '--help'],
        cwd,
        env,
        expect: (out: string) => out.startsWith('fulmen '),
      },
      {
        name: `${prefix}.version`,
        file,
        args: [...args, '--version'],
        cwd,
        env,
        expect: (out: string) => /^fulmen \d+\.\d+\.\d+/.test(out),
      },
      {
        name: `${prefix}.hash`,
        file,
        args: [...args, 'hash', one],
        cwd,
        env,
        expect: (out: string) => out === `${ONE_BYTE_DIGEST}  ${one}\n`,
      },
    ]

    log('startup: compiling the CLI with tsc')
    const compiled = compileCli(ROOT, join(CACHE, 'current'))
    notes.push(
      'CLI start-up: "compiled" is src/node/cli/fulmen.ts and its imports compiled by tsc with the ' +
        "project's options, as `npm run build` compiles them into dist/ (compiled into .scratch/: " +
        'the build empties dist/ first, under whatever else is using it).',
    )
    const contenders: Contender[] = [
      { name: 'startup.node', file: node, args: ['-e', '0'], cwd: work, expect: () => true },
      ...cli('startup.compiled', node, [compiled]),
      ...cli('startup.source', node, [join(ROOT, 'src/node/cli/fulmen.ts')]),
    ]
    if (options.baseRef !== undefined) {
      const bin = baseBin(options.baseRef, log)
      // out/src/node/cli/fulmen.js: the tree's own source is at ../../../../../src.
      const source = join(bin, '..', '..', '..', '..', '..', 'src/node/cli/fulmen.ts')
      contenders.push(
        ...cli('startup.base', node, [bin]),
        ...cli('startup.base-source', node, [source]),
      )
      notes.push(
        `CLI start-up: "before" is ${options.baseRef}'s src/node/cli/fulmen.ts compiled with tsc, and run from its source (git archive into .scratch/, same Node and node_modules).`,
      )
    }
    if (options.npx) {
      try {
        npxDir = npxProject(log)
        // As `npm run bench` finds it: this Node first on PATH, for npx and for the bin's
        // `#!/usr/bin/env node` (else the system's Node, possibly another version).
        const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` }
        contenders.push(...cli('startup.npx', 'npx', ['--no-install', 'fulmen'], npxDir, env))
        contenders.push({
          name: 'startup.npx-noop',
          file: 'npx',
          args: ['--no-install', 'noop'],
          cwd: npxDir,
          env,
          expect: () => true,
        })
        const npm = execFileSync('npm', ['--version'], { encoding: 'utf8', env }).trim()
        notes.push(
          `CLI start-up through npx: \`npx --no-install fulmen\` (npm ${npm}) in a temporary project that installed the packed tarball; npx is itself a Node process that starts npm before fulmen; its peer \`npx --no-install noop\` runs an empty bin the same way.`,
        )
      } catch (e) {
        notes.push(
          `CLI start-up through npx: not measured (${(e as Error).message.split('\n')[0]})`,
        )
      }
    }

    const wall = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
    const cpu = new Map<string, number>(contenders.map((c) => [c.name, 0]))
    const spawnOne = (c: Contender): number => {
      const cpu0 = childrenCpuSeconds()
      const t0 = performance.now()
      const r = spawnSync(c.file, c.args, {
        cwd: c.cwd,
        env: c.env ?? process.env,
        encoding: 'utf8',
      })
      const ms = performance.now() - t0
      const cpu1 = childrenCpuSeconds()
      if (r.status !== 0 || !c.expect(r.stdout)) {
        throw new Error(
          `${c.name}: exit ${r.status}, stdout ${JSON.stringify(r.stdout.slice(0, 200))}, stderr ${r.stderr.slice(0, 500)}`,
        )
      }
      if (cpu0 !== undefined && cpu1 !== undefined) cpu.set(c.name, cpu.get(c.name)! + cpu1 - cpu0)
      return ms
    }
    log(`startup: ${contenders.length} commands × ${options.runs} rounds (+1 warm-up)`)
    // A warm-up round: the page cache holds every file before anything is timed.
    for (const c of contenders) spawnOne(c)
    for (const c of contenders) cpu.set(c.name, 0)
    for (let round = 0; round < options.runs; round++) {
      const shift = round % contenders.length
      for (const c of [...contenders.slice(shift), ...contenders.slice(0, shift)]) {
        wall.get(c.name)!.push(spawnOne(c))
      }
    }

    const figures: Figure[] = []
    const cpuLines: string[] = []
    for (const c of contenders) {
      const times = wall.get(c.name)!
      figures.push({ name: c.name, value: median(times), unit: 'ms' })
      cpuLines.push(
        `${c.name.replace('startup.', '')} ${median(times).toFixed(0)} ms (${spread(times, 'ms')}), CPU ${((cpu.get(c.name)! / options.runs) * 1000).toFixed(0)} ms`,
      )
    }
    notes.push(
      `CLI start-up: Node ${process.version}, fulmen ${version}, ${options.runs} rounds; median wall (min–max), mean CPU (user + sys) per run: ${cpuLines.join('; ')}.`,
    )
    return {
      figures,
      notes,
      ...(options.baseRef === undefined ? {} : { baseRef: options.baseRef }),
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
    if (npxDir !== undefined) rmSync(npxDir, { recursive: true, force: true })
  }
}
