/**
 * `fulmen state <table|alias> <key> --from URL [--proof] [--json]`: one entry of the chain state
 * as a node serves it (`GET /chain/state/<table>/<key>`). With --proof the entry is believed only
 * once its proof checks against the root the node answered with (`checkStateProof`, the same
 * verifier a browser runs); the entry printed is decoded here from the proven bytes, not taken
 * from the node's JSON. A proof that does not check exits 1 with STATE_PROOF_MISMATCH (or
 * STATE_PROOF_MALFORMED).
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { StateError } from '../../../state/errors.ts'
import type { TableName } from '../../../state/model.ts'
import { checkStateProof } from '../../../state/state-proof.ts'
import {
  entryToJson,
  isTableName,
  parseTableKey,
  TABLES,
  tableKeys,
} from '../../../state/tables.ts'
import { formatAmount } from '../amount.ts'
import { ChainClientError, chainClient, gatewayUrl } from '../chain-client.ts'
import { parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'
import { parseNodeKey } from './tx.ts'

const COMMAND = 'state'

/** Names people use for the tables they ask about most. */
export const STATE_ALIASES: Readonly<Record<string, TableName>> = {
  account: 'accounts',
  node: 'nodes',
  epoch: 'metadata',
  chain: 'metadata',
  committee: 'committees',
  served: 'served',
  param: 'params',
  'client-key': 'clientKeys',
  price: 'prices',
  reputation: 'reputation',
}

function hexOf(text: string, what: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(text)) {
    throw new ChainClientError(
      'CLI_GATEWAY_BAD_ANSWER',
      `the node answered ${what} that is not hex`,
    )
  }
  return hexToBytes(text)
}

/** The table and the key text the route takes, from what was typed. */
async function resolve(
  name: string,
  keys: readonly string[],
  currentEpoch: () => Promise<number>,
): Promise<{ table: TableName; key: string }> {
  const table = STATE_ALIASES[name] ?? (isTableName(name) ? name : undefined)
  if (table === undefined) {
    throw new UsageError(
      `unknown table '${name}' (${[...Object.keys(STATE_ALIASES), ...TABLES].join(', ')})`,
      COMMAND,
    )
  }
  const need = (n: number, what: string) => {
    if (keys.length < n) throw new UsageError(`missing ${what}`, COMMAND)
  }
  const atMost = (n: number) => {
    if (keys.length > n) throw new UsageError(`unexpected argument '${keys[n]}'`, COMMAND)
  }
  if (table === 'metadata') {
    atMost(1)
    return { table, key: keys[0] ?? 'chain' }
  }
  if (table === 'nodes' || table === 'reputation') {
    need(1, 'the node key (hex or peer id)')
    atMost(1)
    return { table, key: bytesToHex(parseNodeKey(keys[0]!, 'the node', COMMAND)) }
  }
  if (table === 'committees' && keys.length === 0) {
    return { table, key: String(await currentEpoch()) }
  }
  if (table === 'served' && !(keys.length === 1 && /^[0-9a-fA-F]{82}$/.test(keys[0]!))) {
    // served NODE [EPOCH [COMMODITY]]: the node's key, the current epoch, bandwidth (0); or the
    // whole key in hex (node ‖ epoch u64be ‖ commodity u8).
    need(1, 'the node key (hex or peer id)')
    atMost(3)
    const node = parseNodeKey(keys[0]!, 'the node', COMMAND)
    const epochText = keys[1]
    if (epochText !== undefined && !/^\d{1,15}$/.test(epochText)) {
      throw new UsageError(`'${epochText}' is not an epoch number`, COMMAND)
    }
    const epoch = epochText === undefined ? await currentEpoch() : Number(epochText)
    if (keys[2] !== undefined && keys[2] !== '0' && keys[2] !== '1') {
      throw new UsageError(`'${keys[2]}' is not a commodity (0 bandwidth, 1 compute)`, COMMAND)
    }
    const commodity = keys[2] === '1' ? 1 : 0
    return { table, key: bytesToHex(tableKeys.served(node, epoch, commodity)) }
  }
  need(1, `the ${table} key`)
  atMost(1)
  return { table, key: keys[0]! }
}

/** Amounts of the well-known entries shown in tokens, for people. */
function humanEntry(table: TableName, entry: unknown): string {
  const e = entry as Record<string, unknown>
  const rows: [string, string][] = Object.entries(e).map(([k, v]) => {
    const isAmount =
      typeof v === 'string' &&
      /^\d+$/.test(v) &&
      ['flk', 'stables', 'staked', 'supply', 'supplyYearStart', 'revenue'].includes(k)
    return [
      k,
      isAmount ? formatAmount(BigInt(v as string)) : typeof v === 'string' ? v : JSON.stringify(v),
    ]
  })
  void table
  const width = Math.max(0, ...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')
}

/** Runs `fulmen state` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(COMMAND, args, {
    from: { type: 'string' },
    proof: { type: 'boolean' },
    json: { type: 'boolean' },
  })
  const [name, ...keys] = positionals
  if (name === undefined) throw new UsageError('missing table (account, node, epoch…)', COMMAND)
  const from = values.from ?? process.env.FULMEN_GATEWAY
  if (from === undefined || from === '') throw new UsageError('missing --from URL', COMMAND)
  let gateway: string
  try {
    gateway = gatewayUrl(from)
  } catch {
    throw new UsageError(`--from: '${from}' is not an http(s) URL`, COMMAND)
  }
  const client = chainClient(gateway)
  const { table, key } = await resolve(name, keys, async () => (await client.head()).epoch)
  // The key's bytes as this side reads them: the proof must be for this key, whatever the
  // node says it answered.
  let keyBytes: Uint8Array
  try {
    keyBytes = parseTableKey(table, key)
  } catch (e) {
    if (e instanceof StateError) throw new UsageError(e.message, COMMAND)
    throw e
  }
  const answer = await client.state(table, key)
  const value = answer.value === null ? undefined : hexOf(answer.value, 'a value')
  const root = hexOf(answer.root, 'a root')
  const proof = hexOf(answer.proof, 'a proof')
  if (values.proof) {
    try {
      checkStateProof(root, table, keyBytes, value, proof)
    } catch (e) {
      if (e instanceof StateError) {
        throw new StateError(
          e.code,
          `the proof for ${table}/${key} does not check against root ${answer.root} (height ${answer.height}): ${e.message}`,
          { cause: e },
        )
      }
      throw e
    }
  }
  const entry = value === undefined ? null : entryToJson(table, value)
  if (values.json) {
    const out: Record<string, unknown> = {
      table,
      key,
      height: answer.height,
      root: answer.root,
      value: answer.value,
      entry,
    }
    if (values.proof) {
      out.proof = answer.proof
      out.verified = true
    }
    await write(`${JSON.stringify(out)}\n`)
    return 0
  }
  const lines = [`${table}/${key} at height ${answer.height}`]
  lines.push(entry === null ? '  (absent)' : humanEntry(table, entry))
  if (values.proof) {
    lines.push(
      `  proof   ${proof.length} bytes, checked: ${entry === null ? 'absent' : 'present'} under root ${answer.root}`,
    )
  }
  await write(`${lines.join('\n')}\n`)
  return 0
}
