/**
 * `fulmen devnet start --dir D --nodes N [--edge M] [--unstaked K] [--epoch-ms MS]
 * [--consensus solo|committee]`:
 * a development chain on this machine, until SIGINT or SIGTERM (src/node/devnet: keys, ports and
 * genesis, then the nodes).
 */
import { mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseCommandArgs, UsageError } from '../command.ts'
import { EXIT_FAILURE } from '../failure.ts'
import { write } from '../output.ts'

const COMMAND = 'devnet'

function count(text: string | undefined, flag: string, fallback: number, min: number): number {
  if (text === undefined) return fallback
  const n = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${flag}: '${text}' is not a whole number of at least ${min}`, COMMAND)
  }
  return n
}

async function start(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(COMMAND, args, {
    dir: { type: 'string' },
    nodes: { type: 'string' },
    edge: { type: 'string' },
    unstaked: { type: 'string' },
    'epoch-ms': { type: 'string' },
    host: { type: 'string' },
    consensus: { type: 'string' },
  })
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}'`, COMMAND)
  }
  if (values.dir === undefined || values.dir === '')
    throw new UsageError('missing --dir DIR', COMMAND)
  const dir = resolve(values.dir)
  const nodes = count(values.nodes, '--nodes', 1, 1)
  const edge = count(values.edge, '--edge', 0, 0)
  const unstaked = count(values.unstaked, '--unstaked', 0, 0)
  const epochMs =
    values['epoch-ms'] === undefined ? undefined : count(values['epoch-ms'], '--epoch-ms', 0, 1000)
  const consensus = values.consensus ?? 'solo'
  if (consensus !== 'solo' && consensus !== 'committee')
    throw new UsageError(`--consensus: '${consensus}' is not one of solo, committee`, COMMAND)
  const log = (line: string) => process.stderr.write(`fulmen devnet: ${line}\n`)
  await mkdir(dir, { recursive: true })
  const { prepareDevnet } = await import('../../devnet/devnet-genesis.ts')
  const { DEVNET_FILE, startDevnet } = await import('../../devnet/devnet-runner.ts')
  // A devnet.json of an earlier run names nodes that are gone: readers wait for the new one.
  await rm(join(dir, DEVNET_FILE), { force: true })
  const layout = await prepareDevnet({
    dir,
    nodes,
    edge,
    unstaked,
    ...(epochMs === undefined ? {} : { epochMs }),
    ...(values.host === undefined ? {} : { host: values.host }),
  })
  log(`genesis ${layout.genesisPath} (chain ${layout.genesis.chainId})`)
  const epochTimeMs = layout.genesis.params.epochTimeMs
  if (epochMs !== undefined && BigInt(epochMs) !== epochTimeMs) {
    log(`${dir} keeps its genesis: epochs of ${epochTimeMs} ms (--epoch-ms applies to a new --dir)`)
  }
  const abort = new AbortController()
  let running: Awaited<ReturnType<typeof startDevnet>> | undefined
  let stopping = false
  let finish: (code: number) => void = () => {}
  const finished = new Promise<number>((resolve) => {
    finish = resolve
  })
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`)
      process.exit(130)
    }
    stopping = true
    log(`${signal}: stopping the nodes`)
    // During the start, the aborted start stops what it started and rejects below.
    abort.abort(new Error(`stopped by ${signal}`))
    running?.stop().then(
      () => finish(0),
      (e: unknown) => {
        log(`stop failed: ${String(e)}`)
        finish(EXIT_FAILURE)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    running = await startDevnet({
      layout,
      log,
      signal: abort.signal,
      consensus,
    })
  } catch (error) {
    if (stopping) return 0
    throw error
  }
  const d = running.description
  await write(
    [
      `devnet ${join(dir, DEVNET_FILE)}`,
      ...d.nodes.map(
        (n) => `  ${n.name.padEnd(8)} ${n.role.padEnd(9)} ${n.gateway}  ${n.multiaddr}`,
      ),
      ...Object.entries(d.accounts).map(
        ([name, a]) => `  ${name.padEnd(10)} ${a.address}  ${a.key}`,
      ),
      '',
    ].join('\n'),
  )
  void running.unexpectedExit.then(({ name, code, signal }) => {
    if (stopping) return
    log(`${name} exited (${code ?? signal}); see ${join(dir, name, 'node.log')}`)
  })
  return finished
}

/** Runs `fulmen devnet` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'start') return start(rest)
  throw new UsageError(
    sub === undefined ? 'missing subcommand (start)' : `unknown subcommand '${sub}'`,
    COMMAND,
  )
}
