/**
 * `npm start`: a local Fulmen network (full nodes, an HTTP origin, a lying node) and the demo
 * page served by Vite, until Ctrl-C.
 *
 *   npm start -- [--port N] [--host ADDR] [--dir DIR] [--download-size BYTES] [--consensus committee|solo]
 *
 * (`npm start` runs it with the project's Node 24, which strips the types; Node 20 cannot.)
 * --port (or PORT): Vite's port, 5173 by default (the next free one if taken). --dir keeps the
 * nodes' data and logs between runs (default: a temp dir, removed at the end). Each node's log
 * goes to `<dir>/node-N/node.log`, the liar's to `<dir>/liar.log`. Ctrl-C or SIGTERM stops
 * Vite and every process and exits 0; a second Ctrl-C exits at once. A bad flag prints the
 * usage and exits 2. --consensus: `committee` (the default) runs four committee nodes ordering
 * by Narwhal + Bullshark and two edge nodes; `solo` three nodes, node-1 ordering (quicker to
 * start). A --dir made in one mode does not start in the other. Either way one more node,
 * unstaked-1, runs outside the genesis (not staked): the demo's light client refuses it.
 */
import { parseArgs } from 'node:util'
import type { LocalNetwork } from '../src/devnet/local-network.ts'
import { DEFAULT_DEMO_PORT, type Demo, startDemo } from './demo-server.ts'

const USAGE =
  'Usage: npm start -- [--port N] [--host ADDR] [--dir DIR] [--download-size BYTES] [--consensus committee|solo]\n'

function fail(message: string): never {
  process.stderr.write(`fulmen start: ${message}\n${USAGE}`)
  process.exit(2)
}

function parsePort(text: string, what: string): number {
  const n = Number(text)
  if (!(Number.isInteger(n) && n >= 0 && n <= 65_535)) fail(`${what}: '${text}' is not a port`)
  return n
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`
  return `${n} B`
}

function orderedBy(network: LocalNetwork): string {
  if (network.chain.consensus === 'solo') return 'blocks ordered by node-1'
  const committee = network.devnet.nodes.filter((n) => n.role === 'committee').map((n) => n.name)
  return `blocks ordered by the committee ${committee.join(', ')} (Narwhal + Bullshark; the beacon redraws it each epoch)`
}

function banner(url: string, network: LocalNetwork): string {
  const { nodes, liar, origin, content } = network.toJSON()
  const lines = [
    '',
    `  Fulmen demo   ${url}`,
    '',
    ...nodes.flatMap((n) => [
      `  ${n.name.padEnd(8)}${n.peerId}`,
      `          gateway  ${n.gateway}`,
      `          libp2p   ${n.multiaddr}`,
    ]),
    `  ${liar.name.padEnd(8)}${liar.peerId}`,
    `          lies     ${liar.mode}, forwarding to ${nodes.find((n) => n.peerId === liar.upstream)?.name ?? liar.upstream}`,
    `          libp2p   ${liar.multiaddr}`,
    `  origin  ${origin.url}`,
    `  chain   ${network.chain.chainId}, ${orderedBy(network)}, genesis ${network.chain.genesis}`,
    `          demo account ${network.chain.demoAccount.address}; keys in ${network.dir}/keys`,
    `          fulmen chain head --from ${network.chain.gateway}`,
    '',
    ...(['image', 'video', 'download'] as const).flatMap((key) => {
      const c = content[key]
      const where = key === 'image' ? 'at the origin only' : 'pinned on every node'
      return [
        `  ${key.padEnd(9)} ${c.name}  ${formatBytes(c.bytes)}  ${where}`,
        `            ${c.pointer}`,
      ]
    }),
    '',
    `  node data in ${network.dir}${network.temporaryDir ? ' (removed on exit; --dir DIR keeps it)' : ''}`,
    ...network.logFiles.nodes.map(
      (file, i) =>
        `  ${i === 0 ? 'logs    ' : '        '}${network.nodes[i]?.name.padEnd(8)}${file}`,
    ),
    `          liar    ${network.logFiles.liar}`,
    '  Ctrl-C stops everything.',
    '',
  ]
  return `${lines.join('\n')}\n`
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        dir: { type: 'string' },
        'download-size': { type: 'string' },
        consensus: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (error) {
    // Unknown flags, missing values, stray arguments: say which, no stack.
    fail((error as Error).message)
  }
}

const values = parseFlags()
if (values.help) {
  process.stdout.write(USAGE)
  process.exit(0)
}
const portText = values.port ?? process.env.PORT
const port = portText === undefined ? DEFAULT_DEMO_PORT : parsePort(portText, '--port')
const downloadBytes =
  values['download-size'] === undefined ? undefined : Number(values['download-size'])
if (downloadBytes !== undefined && !(Number.isSafeInteger(downloadBytes) && downloadBytes >= 0))
  fail(`--download-size: '${values['download-size']}' is not a byte count`)

const consensus = values.consensus ?? 'committee'
if (consensus !== 'committee' && consensus !== 'solo')
  fail(`--consensus: '${consensus}' is not committee or solo`)

const log = (line: string) => process.stderr.write(`fulmen: ${line}\n`)
const abort = new AbortController()
let demo: Demo | undefined
let stopping = false
let firstSignalAt = 0
/**
 * Under `npm start` one Ctrl-C arrives twice: from the terminal (same process group) and
 * forwarded by npm. Signals this close to the first are that same one, not a second press.
 */
const SAME_PRESS_MS = 1000

const onSignal = (signal: NodeJS.Signals) => {
  if (stopping) {
    if (Date.now() - firstSignalAt < SAME_PRESS_MS) return
    // Children still running are killed by processes.ts's exit hook.
    process.stderr.write(`\nfulmen: ${signal} again, exiting now\n`)
    process.exit(130)
  }
  stopping = true
  firstSignalAt = Date.now()
  process.stderr.write(`\nfulmen: ${signal}: stopping (again to force)\n`)
  abort.abort(new Error(`stopped by ${signal}`))
  // Before the demo is up, the aborted start cleans up itself (and rejects below).
  demo?.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`fulmen: stop failed: ${String(error)}\n`)
      process.exit(1)
    },
  )
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

try {
  demo = await startDemo({
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
    network: {
      detached: true,
      consensus,
      // A full node outside the genesis: the demo's light client refuses it (not staked).
      unstaked: 1,
      ...(values.dir === undefined ? {} : { dir: values.dir }),
      ...(downloadBytes === undefined ? {} : { downloadBytes }),
    },
    signal: abort.signal,
    log,
  })
} catch (error) {
  if (stopping) process.exit(0)
  process.stderr.write(`fulmen: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
if (stopping) {
  // A signal came while the start was finishing.
  await demo.close()
  process.exit(0)
}
process.stdout.write(banner(demo.url, demo.network))
