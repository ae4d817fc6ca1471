/**
 * The lying node (lying-node.ts) as a process:
 *
 *   node src/devnet/lying-node-main.ts --upstream <multiaddr> --mode <mode> [--after N]
 *                                            [--delta N] [--substitute ID] [--host H]
 *                                            [--log-level L]
 *
 * Prints `{"peerId":…,"multiaddrs":[…]}` and a newline on stdout once it listens; stops
 * cleanly (exit 0) on SIGTERM or SIGINT. Logs (pino JSON) go to stderr.
 */
import { parseArgs } from 'node:util'
import { readySync } from '../b3/engine.ts'
import { isLyingMode, LYING_MODES, type LyingNodeOptions, startLyingNode } from './lying-node.ts'

function fail(message: string): never {
  process.stderr.write(`lying-node: ${message}\n`)
  process.exit(2)
}

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    mode: { type: 'string' },
    after: { type: 'string' },
    delta: { type: 'string' },
    substitute: { type: 'string' },
    host: { type: 'string' },
    'log-level': { type: 'string' },
  },
})
if (values.upstream === undefined) fail('--upstream <multiaddr> is required')
const mode = values.mode ?? 'honest'
if (!isLyingMode(mode)) fail(`--mode must be one of ${LYING_MODES.join(', ')}`)
const after = values.after === undefined ? undefined : Number(values.after)
if (after !== undefined && !(Number.isInteger(after) && after >= 0))
  fail('--after takes a block count')
const delta = values.delta === undefined ? undefined : Number(values.delta)
if (delta !== undefined && !(Number.isInteger(delta) && delta >= 0))
  fail('--delta takes a byte count')
if (mode === 'substitute' && values.substitute === undefined)
  fail('--mode substitute needs --substitute <content id>')

readySync()
const node = await startLyingNode({
  upstream: values.upstream,
  mode,
  ...(after === undefined ? {} : { after }),
  ...(delta === undefined ? {} : { delta }),
  ...(values.substitute === undefined ? {} : { substitute: values.substitute }),
  ...(values.host === undefined ? {} : { host: values.host }),
  ...(values['log-level'] === undefined
    ? {}
    : { logLevel: values['log-level'] as NonNullable<LyingNodeOptions['logLevel']> }),
})
process.stdout.write(`${JSON.stringify({ peerId: node.peerId, multiaddrs: node.multiaddrs() })}\n`)

let stopping = false
const onSignal = () => {
  if (stopping) process.exit(130)
  stopping = true
  node.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`lying-node: stop failed: ${String(error)}\n`)
      process.exit(1)
    },
  )
}
process.on('SIGTERM', onSignal)
process.on('SIGINT', onSignal)
