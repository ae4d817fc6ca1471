/**
 * Test support for process-level tests: the real `fulmen` CLI run as a child process
 * (`process.execPath`, the Node 24 that strips fulmen.ts's types), and full nodes started with
 * `fulmen node start` on port 0, waited for until they print their HTTP address.
 *
 * Children get a clean environment: no FULMEN_* variable of the caller, and XDG_DATA_HOME in a
 * place of the test's choosing, so nothing ever touches a real node's data. Every child still
 * running when the test process exits is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const FULMEN_CLI = fileURLToPath(new URL('../node/cli/fulmen.ts', import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** stdout as UTF-8 text. */
  readonly stdout: string
  /** stdout as bytes (for binary output). */
  readonly stdoutBytes: Buffer
  readonly stderr: string
}

export interface SpawnOptions {
  /** FULMEN_* settings and the like, on top of the clean environment. */
  readonly env?: Record<string, string>
  readonly cwd?: string
  /** Flags for Node itself, before the script (`--cpu-prof`, `--trace-gc`…). */
  readonly execArgv?: readonly string[]
  /**
   * A process group of its own: a terminal's Ctrl-C reaches only the parent, which stops the
   * child itself (one signal, a clean stop) — how `npm start` runs its nodes.
   */
  readonly detached?: boolean
}

const children = new Set<ChildProcess>()
let exitHook = false

function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL')
    })
  }
  return child
}

/**
 * The caller's environment without FULMEN_* variables, plus `extra`. FULMEN_INIT=1: tests and
 * benches seed fresh data dirs with `fulmen add` (which refuses a missing one without it).
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('FULMEN_') && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS') env[k] = v
  }
  return { ...env, FULMEN_INIT: '1', ...extra }
}

/** Starts `fulmen <args>` with piped stdio; the caller reads, writes and waits. */
export function spawnFulmen(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return track(
    spawn(process.execPath, [...(options.execArgv ?? []), FULMEN_CLI, ...args], {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    }),
  )
}

/** Resolves when `child` has exited (and its stdio is closed). */
export function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
}

/**
 * Runs `fulmen <args>` to the end; `input` is written to its stdin (which is then closed).
 * Killed (and rejected) after `timeoutMs`.
 */
export async function runFulmen(
  args: readonly string[],
  options: SpawnOptions & { input?: Uint8Array | string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawnFulmen(args, options)
  const out: Buffer[] = []
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => {
    out.push(d)
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  // A child that fails before reading its input closes the pipe: not our error.
  child.stdin!.on('error', () => {})
  child.stdin!.end(options.input)
  const timeoutMs = options.timeoutMs ?? 60_000
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`fulmen ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
  })
  try {
    const { code, signal } = await Promise.race([exited(child), timeout])
    const stdoutBytes = Buffer.concat(out)
    return { code, signal, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr }
  } finally {
    clearTimeout(timer)
  }
}

/** One JSON log line of a node (pino). */
export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly [key: string]: unknown
}

export interface NodeProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly peerId: string
  /** `http://127.0.0.1:<port>`, the gateway. */
  readonly url: string
  readonly dataDir: string
  /** Everything the node printed on stdout so far. */
  stdout(): string
  /** Its JSON log lines so far (stderr). */
  logs(): LogLine[]
  /** Its raw stderr so far. */
  stderr(): string
  /** Resolves with the first log line whose message matches (now or later). */
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<LogLine>
  /** Resolves when the process has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /**
   * Sends `signal` (SIGTERM by default) and waits for the exit; after `timeoutMs` the node is
   * killed with SIGKILL and the promise rejects.
   */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export interface StartNodeOptions extends SpawnOptions {
  readonly dataDir: string
  /** More `fulmen node start` flags (`--ipfs-gateway URL`…). */
  readonly args?: readonly string[]
  /** How long to wait for the `http` line (default 30 s). */
  readonly timeoutMs?: number
  /** Gets its stderr (the JSON log lines) as it comes, from the first byte (a log file). */
  readonly onStderr?: (text: string) => void
}

function matches(line: LogLine, msg: string | RegExp): boolean {
  return typeof msg === 'string' ? line.msg === msg : msg.test(line.msg)
}

/**
 * `fulmen node start --data-dir D --http-port 0 --ws-port 0 --webrtc-port 0 …`, resolved once
 * it printed `fulmen node <peer id>` and its `http` line. Rejects (with its stderr) if it exits
 * first or takes longer than `timeoutMs`.
 */
export async function startNode(options: StartNodeOptions): Promise<NodeProcess> {
  const child = spawnFulmen(
    [
      'node',
      'start',
      '--data-dir',
      options.dataDir,
      '--http-port',
      '0',
      '--ws-port',
      '0',
      '--webrtc-port',
      '0',
      ...(options.args ?? []),
    ],
    options,
  )
  child.stdin!.end()
  let stdout = ''
  let stderr = ''
  let partial = ''
  // FULMEN_TEST_NODE_LOGS=40 (say) echoes the nodes' log lines of that level and above.
  const echo = process.env.FULMEN_TEST_NODE_LOGS
    ? Number(process.env.FULMEN_TEST_NODE_LOGS)
    : undefined
  const lines: LogLine[] = []
  const waiters: { msg: string | RegExp; resolve: (l: LogLine) => void }[] = []
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
    options.onStderr?.(d)
    partial += d
    let nl = partial.indexOf('\n')
    while (nl >= 0) {
      const text = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      nl = partial.indexOf('\n')
      let line: LogLine
      try {
        line = JSON.parse(text) as LogLine
      } catch {
        continue
      }
      lines.push(line)
      if (echo !== undefined && line.level >= echo)
        process.stderr.write(`[node ${child.pid}] ${text}\n`)
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (matches(line, waiters[i]!.msg)) waiters.splice(i, 1)[0]!.resolve(line)
      }
    }
  })
  const exit = exited(child)
  const timeoutMs = options.timeoutMs ?? 30_000

  const ready = await new Promise<{ peerId: string; url: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the node did not start in ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    const check = () => {
      const m = /^fulmen node (\S+)\n {2}http {4}(http:\/\/\S+)\n/m.exec(stdout)
      if (m === null) return
      clearTimeout(timer)
      child.stdout!.off('data', check)
      resolve({ peerId: m[1]!, url: m[2]! })
    }
    child.stdout!.on('data', check)
    void exit.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`the node exited (${code ?? signal}) before it started\n${stderr}`))
    })
  })

  return {
    child,
    pid: child.pid!,
    peerId: ready.peerId,
    url: ready.url,
    dataDir: options.dataDir,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: () => [...lines],
    exit,
    waitForLog(msg, waitMs = 15_000) {
      const found = lines.find((l) => matches(l, msg))
      if (found !== undefined) return Promise.resolve(found)
      return new Promise<LogLine>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no log line ${String(msg)} in ${waitMs} ms`)),
          waitMs,
        )
        waiters.push({
          msg,
          resolve: (l) => {
            clearTimeout(timer)
            resolve(l)
          },
        })
      })
    },
    async stop(signal = 'SIGTERM', waitMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`the node did not stop in ${waitMs} ms after ${signal}\n${stderr}`))
        }, waitMs)
      })
      try {
        return await Promise.race([exit, timeout])
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

/** The node's WebSocket multiaddr with /p2p (what clients dial), from what it printed. */
export function wsAddressOf(node: Pick<NodeProcess, 'stdout'>): string {
  const address = /^ {2}libp2p {2}(\S+\/ws\/\S+)$/m.exec(node.stdout())?.[1]
  if (address === undefined) throw new Error(`no WebSocket address in\n${node.stdout()}`)
  return address
}

/** Deterministic, incompressible bytes (xorshift32 over 32-bit words), fast enough for MiBs. */
export function pseudoRandomBytes(length: number, seed = length + 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  const words = new Uint32Array(out.buffer, 0, length >>> 2)
  let x = seed >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x
  }
  for (let i = words.length * 4; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` every `everyMs` until it returns something other than undefined/false. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
