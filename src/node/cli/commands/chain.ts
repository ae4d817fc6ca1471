/**
 * `fulmen chain head|block <n> --from URL [--json]`: the latest block a node executed, or one
 * block by height, as the node's gateway serves them.
 */
import { chainClient, gatewayUrl } from '../chain-client.ts'
import { parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'

const COMMAND = 'chain'

function clientOf(from: string | undefined) {
  const text = from ?? process.env.FULMEN_GATEWAY
  if (text === undefined || text === '') throw new UsageError('missing --from URL', COMMAND)
  try {
    return chainClient(gatewayUrl(text))
  } catch {
    throw new UsageError(`--from: '${text}' is not an http(s) URL`, COMMAND)
  }
}

/** Runs `fulmen chain` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args
  const { values, positionals } = parseCommandArgs(COMMAND, rest, {
    from: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (sub === 'head') {
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument '${positionals[0]}'`, COMMAND)
    }
    const h = await clientOf(values.from).head()
    const head = {
      chainId: h.chainId,
      epoch: h.epoch,
      height: h.height,
      hash: h.hash,
      stateRoot: h.stateRoot,
      timestampMs: h.timestampMs,
    }
    if (values.json) {
      await write(`${JSON.stringify(head)}\n`)
      return 0
    }
    await write(
      [
        `chain      ${head.chainId}`,
        `epoch      ${head.epoch}`,
        `height     ${head.height}`,
        `hash       ${head.hash}`,
        `stateRoot  ${head.stateRoot}`,
        `time       ${new Date(head.timestampMs).toISOString()}`,
        '',
      ].join('\n'),
    )
    return 0
  }
  if (sub === 'block') {
    if (positionals.length !== 1) throw new UsageError('block takes one height', COMMAND)
    const text = positionals[0]!
    const height = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN
    if (!Number.isSafeInteger(height)) {
      throw new UsageError(`'${text}' is not a block height`, COMMAND)
    }
    const block = (await clientOf(values.from).block(height)) as {
      hash?: string
      header?: Record<string, unknown>
      transactions?: unknown[]
      receipts?: { digest?: string; status?: string; message?: string }[]
    }
    if (values.json) {
      await write(`${JSON.stringify(block)}\n`)
      return 0
    }
    const h = block.header ?? {}
    const lines = [
      `block ${h.height} ${block.hash}`,
      `  epoch      ${h.epoch}`,
      `  parent     ${h.parent}`,
      `  time       ${typeof h.timestampMs === 'number' ? new Date(h.timestampMs).toISOString() : '?'}`,
      `  stateRoot  ${h.stateRoot}`,
      `  transactions ${block.transactions?.length ?? 0}`,
      ...(block.receipts ?? []).map(
        (r, i) =>
          `    ${i}  ${r.digest ?? '(undecodable)'}  ${r.status}${r.message === undefined ? '' : `  ${r.message}`}`,
      ),
      '',
    ]
    await write(lines.join('\n'))
    return 0
  }
  throw new UsageError(
    sub === undefined ? 'missing subcommand (head or block)' : `unknown subcommand '${sub}'`,
    COMMAND,
  )
}
