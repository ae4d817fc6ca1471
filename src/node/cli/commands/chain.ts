/**
 * `fulmen chain head|block <n> --from URL [--json]`: the latest block a node executed, or one
 * block by height, as the node's gateway serves them.
 */
import { chainClient, gatewayUrl, type HeadJson } from '../chain-client.ts'
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

/**
 * The head's fields `chain head` prints, in this order: those every node gives, then how it
 * orders and the epoch's committee, then a committee node's place in it. A node from before the
 * consensus fields answers without them, and they are left out rather than invented.
 */
export function headFields(h: HeadJson): Record<string, unknown> {
  const head: Record<string, unknown> = {
    chainId: h.chainId,
    epoch: h.epoch,
    height: h.height,
    hash: h.hash,
    stateRoot: h.stateRoot,
    timestampMs: h.timestampMs,
  }
  if (h.consensus !== undefined) head.consensus = h.consensus
  if (Array.isArray(h.committee)) head.committee = h.committee
  for (const key of ['member', 'round', 'committedRound'] as const)
    if (typeof h[key] === 'number') head[key] = h[key]
  return head
}

/** The human form: one field a line, the committee one key a line, this node's marked. */
export function headLines(head: Record<string, unknown>): string[] {
  const lines = [
    `chain      ${head.chainId}`,
    `epoch      ${head.epoch}`,
    `height     ${head.height}`,
    `hash       ${head.hash}`,
    `stateRoot  ${head.stateRoot}`,
    `time       ${new Date(head.timestampMs as number).toISOString()}`,
  ]
  if (head.consensus !== undefined) lines.push(`consensus  ${head.consensus}`)
  const committee = head.committee as readonly string[] | undefined
  if (committee !== undefined) {
    const member = typeof head.member === 'number' ? head.member : -1
    lines.push(`committee  ${committee.length} member${committee.length === 1 ? '' : 's'}`)
    committee.forEach((key, i) => {
      lines.push(`  ${i}  ${key}${i === member ? '  (this node)' : ''}`)
    })
  }
  if (typeof head.member === 'number')
    lines.push(`member     ${head.member === -1 ? 'no (follows the committee)' : head.member}`)
  if (typeof head.round === 'number') lines.push(`round      ${head.round}`)
  if (typeof head.committedRound === 'number') lines.push(`committed  round ${head.committedRound}`)
  return [...lines, '']
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
    const head = headFields(h)
    if (values.json) {
      await write(`${JSON.stringify(head)}\n`)
      return 0
    }
    await write(headLines(head).join('\n'))
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
