/**
 * `fulmen tx <method> … --key F --from URL`: builds one transaction, signs it with the key in F,
 * submits it to the node at URL and waits for its receipt. The chain id comes from the node's
 * head and the nonce from the sender's entry (an account that has none is at nonce 0), so a
 * person never types either. A receipt whose status is not "ok" exits 1 with the revert code.
 */
import { access } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { FulmenError } from '../../../core/errors.ts'
import type {
  Method,
  ProtocolParam,
  Sender,
  Token,
  Transaction,
  TransactionPayload,
} from '../../../state/model.ts'
import {
  encodeTransaction,
  PROTOCOL_PARAMS,
  proveBlsPossession,
  signAccountTransaction,
  signNodeTransaction,
  transactionDigest,
} from '../../../state/transaction.ts'
import {
  formatAddress,
  readAccountKeyFile,
  readBlsKeyFile,
  readNodeIdentityFile,
} from '../../key-files.ts'
import { AmountError, parseAmount } from '../amount.ts'
import {
  type ChainClient,
  chainClient,
  gatewayUrl,
  type ReceiptJson,
  waitForReceipt,
} from '../chain-client.ts'
import { onePositional, parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'

const COMMAND = 'tx'

/** A receipt whose status is a revert code: `fulmen` prints it and exits 1. */
export class RevertedError extends FulmenError<string> {
  override readonly name = 'RevertedError'
}

type Values = Record<string, string | boolean | string[] | undefined>

const COMMON = {
  key: { type: 'string' },
  from: { type: 'string' },
  json: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  timeout: { type: 'string' },
  nonce: { type: 'string' },
} as const

/** The options each method takes besides the common ones. */
const METHOD_OPTIONS = {
  deposit: { to: { type: 'string' }, amount: { type: 'string' }, token: { type: 'string' } },
  transfer: { to: { type: 'string' }, amount: { type: 'string' }, token: { type: 'string' } },
  'register-client-key': {
    'client-key': { type: 'string' },
    'client-public-key': { type: 'string' },
  },
  stake: {
    node: { type: 'string' },
    amount: { type: 'string' },
    'bls-key': { type: 'string' },
    address: { type: 'string', multiple: true },
  },
  'stake-lock': { node: { type: 'string' }, epochs: { type: 'string' } },
  unstake: { node: { type: 'string' }, amount: { type: 'string' } },
  withdraw: { node: { type: 'string' }, to: { type: 'string' } },
  'opt-in': {},
  'opt-out': {},
  param: { name: { type: 'string' }, value: { type: 'string' } },
} as const

type MethodName = keyof typeof METHOD_OPTIONS

/** Methods a node signs with its identity key; the others an account signs. */
const NODE_SIGNED: ReadonlySet<MethodName> = new Set(['opt-in', 'opt-out'])

function required(values: Values, name: string): string {
  const v = values[name]
  if (typeof v !== 'string' || v === '') throw new UsageError(`missing --${name}`, COMMAND)
  return v
}

function amountFlag(values: Values, name = 'amount'): bigint {
  try {
    return parseAmount(required(values, name), `--${name}`)
  } catch (e) {
    if (e instanceof AmountError) throw new UsageError(e.message, COMMAND)
    throw e
  }
}

function tokenFlag(values: Values): Token {
  const t = (values.token as string | undefined) ?? 'FLK'
  if (t !== 'FLK' && t !== 'USDC') {
    throw new UsageError(`--token: '${t}' is not FLK or USDC`, COMMAND)
  }
  return t
}

/** A 0x address (20 bytes). */
export function parseAddress(text: string, flag: string): Uint8Array {
  if (!/^0x[0-9a-fA-F]{40}$/.test(text)) {
    throw new UsageError(`${flag}: '${text}' is not an address (0x and 40 hex digits)`, COMMAND)
  }
  return hexToBytes(text.slice(2).toLowerCase())
}

/** A node key: 64 hex digits (0x optional) or the node's peer id (12D3KooW…). */
export function parseNodeKey(text: string, flag: string, command = COMMAND): Uint8Array {
  const body = text.startsWith('0x') ? text.slice(2) : text
  if (/^[0-9a-fA-F]{64}$/.test(body)) return hexToBytes(body.toLowerCase())
  try {
    const peer = peerIdFromString(text)
    if (peer.type === 'Ed25519') return peer.publicKey.raw.slice()
  } catch {}
  throw new UsageError(
    `${flag}: '${text}' is not a node key (64 hex digits) or an Ed25519 peer id`,
    command,
  )
}

function uintFlag(values: Values, name: string): number {
  const text = required(values, name)
  const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(`--${name}: '${text}' is not a whole number`, COMMAND)
  }
  return n
}

/** `--timeout`: seconds (`30`, `0.5`) or with a unit (`500ms`, `30s`, `2m`). */
export function parseTimeout(text: string, command = COMMAND): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text)
  if (m === null) {
    throw new UsageError(`--timeout: '${text}' is not a duration (30, 30s, 500ms, 2m)`, command)
  }
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000)
}

/** The client key's public half: from `--client-public-key HEX`, else the key file. */
async function clientPublicKey(values: Values): Promise<Uint8Array> {
  const hex = values['client-public-key']
  if (typeof hex === 'string') {
    const body = hex.startsWith('0x') ? hex.slice(2) : hex
    if (!/^[0-9a-fA-F]{64}$/.test(body)) {
      throw new UsageError(
        `--client-public-key: '${hex}' is not a client public key (64 hex digits)`,
        COMMAND,
      )
    }
    return hexToBytes(body.toLowerCase())
  }
  const { defaultClientKeyPath, loadOrCreateClientKey } = await import('../../client-key-file.ts')
  const path = (values['client-key'] as string | undefined) ?? defaultClientKeyPath()
  // Registering a key nobody holds yet would be pointless: the file must exist.
  await access(path)
  return (await loadOrCreateClientKey(path)).publicKey
}

/** The method a subcommand names, from its flags. */
async function methodOf(name: MethodName, values: Values): Promise<Method> {
  switch (name) {
    case 'deposit':
    case 'transfer':
      return {
        type: name === 'deposit' ? 'Deposit' : 'Transfer',
        to: parseAddress(required(values, 'to'), '--to'),
        token: tokenFlag(values),
        amount: amountFlag(values),
      }
    case 'register-client-key':
      return { type: 'RegisterClientKey', clientKey: await clientPublicKey(values) }
    case 'stake': {
      const node = parseNodeKey(required(values, 'node'), '--node')
      const amount = amountFlag(values)
      const blsPath = values['bls-key'] as string | undefined
      const addresses = (values.address as string[] | undefined) ?? []
      if (blsPath === undefined) {
        if (addresses.length > 0) {
          throw new UsageError(
            '--address goes with a first stake, which needs --bls-key too',
            COMMAND,
          )
        }
        return { type: 'Stake', node, amount }
      }
      const bls = await readBlsKeyFile(blsPath)
      return {
        type: 'Stake',
        node,
        amount,
        bls: { key: bls.publicKey, proofOfPossession: proveBlsPossession(bls.secretKey) },
        addresses,
      }
    }
    case 'stake-lock':
      return {
        type: 'StakeLock',
        node: parseNodeKey(required(values, 'node'), '--node'),
        epochs: uintFlag(values, 'epochs'),
      }
    case 'unstake':
      return {
        type: 'Unstake',
        node: parseNodeKey(required(values, 'node'), '--node'),
        amount: amountFlag(values),
      }
    case 'withdraw': {
      const node = parseNodeKey(required(values, 'node'), '--node')
      const to = values.to as string | undefined
      return to === undefined
        ? { type: 'WithdrawUnstaked', node }
        : { type: 'WithdrawUnstaked', node, to: parseAddress(to, '--to') }
    }
    case 'opt-in':
      return { type: 'OptIn' }
    case 'opt-out':
      return { type: 'OptOut' }
    case 'param': {
      const param = required(values, 'name')
      if (!(PROTOCOL_PARAMS as readonly string[]).includes(param)) {
        throw new UsageError(
          `--name: '${param}' is not a parameter (${PROTOCOL_PARAMS.join(', ')})`,
          COMMAND,
        )
      }
      const value = required(values, 'value')
      if (!/^\d{1,78}$/.test(value)) {
        throw new UsageError(
          `--value: '${value}' is not a whole number (amounts in base units, shares in millionths)`,
          COMMAND,
        )
      }
      return { type: 'ChangeProtocolParam', param: param as ProtocolParam, value: BigInt(value) }
    }
  }
}

/** The signer: an account key file, or for node methods a node identity file. */
async function signerOf(
  name: MethodName,
  keyPath: string,
): Promise<{ sender: Sender; sign: (p: TransactionPayload) => Transaction; id: string }> {
  if (NODE_SIGNED.has(name)) {
    const node = await readNodeIdentityFile(keyPath)
    return {
      sender: { kind: 'node', key: node.nodeKey },
      sign: (p) => signNodeTransaction(p, node.seed),
      id: bytesToHex(node.nodeKey),
    }
  }
  const account = await readAccountKeyFile(keyPath)
  return {
    sender: { kind: 'account', address: account.address },
    sign: (p) => signAccountTransaction(p, account.secretKey),
    id: formatAddress(account.address),
  }
}

/** The sender's current nonce: its entry's, or 0 when it has none yet. */
async function currentNonce(client: ChainClient, sender: Sender, id: string): Promise<number> {
  const answer = await client.state(sender.kind === 'account' ? 'accounts' : 'nodes', id)
  const entry = answer.entry as { nonce?: unknown } | null
  if (entry === null || entry === undefined) return 0
  if (typeof entry.nonce !== 'number') {
    throw new UsageError(`the node answered an entry for ${id} without a nonce`, COMMAND)
  }
  return entry.nonce
}

function describeEvent(event: unknown): string {
  const e = event as Record<string, unknown>
  const rest = Object.entries(e)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => `${k}=${typeof v === 'string' && v.length > 20 ? `${v.slice(0, 16)}…` : v}`)
  return `${String(e.type)}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}`
}

async function printReceipt(receipt: ReceiptJson, json: boolean): Promise<void> {
  if (json) {
    await write(`${JSON.stringify(receipt)}\n`)
    return
  }
  const lines = [`transaction ${receipt.digest}`, `  status  ${receipt.status}`]
  if (receipt.height !== undefined)
    lines.push(`  block   ${receipt.height} (index ${receipt.index})`)
  if (receipt.message !== undefined) lines.push(`  message ${receipt.message}`)
  for (const e of receipt.events ?? []) lines.push(`  event   ${describeEvent(e)}`)
  await write(`${lines.join('\n')}\n`)
}

/** Exit code of a receipt: 0 for ok; otherwise the revert, thrown to be printed with its code. */
function checkReceipt(receipt: ReceiptJson): number {
  if (receipt.status === 'ok') return 0
  throw new RevertedError(
    receipt.status,
    `transaction ${receipt.digest} reverted${receipt.message === undefined ? '' : `: ${receipt.message}`}`,
  )
}

function gatewayOf(values: Values): string {
  const from = (values.from as string | undefined) ?? process.env.FULMEN_GATEWAY
  if (from === undefined || from === '') {
    throw new UsageError(
      'missing --from URL (the node gateway, e.g. http://127.0.0.1:4069)',
      COMMAND,
    )
  }
  try {
    return gatewayUrl(from)
  } catch {
    throw new UsageError(`--from: '${from}' is not an http(s) URL`, COMMAND)
  }
}

async function send(name: MethodName, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(COMMAND, args, {
    ...COMMON,
    ...METHOD_OPTIONS[name],
  })
  const v = values as Values
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}'`, COMMAND)
  }
  const gateway = gatewayOf(v)
  const keyPath = required(v, 'key')
  const timeoutMs = v.timeout === undefined ? 60_000 : parseTimeout(v.timeout as string)
  // Everything the command line says is checked before the network is asked anything.
  const method = await methodOf(name, v)
  const signer = await signerOf(name, keyPath)
  const client = chainClient(gateway)
  const head = await client.head()
  // --nonce for a second transaction sent before the first executed (--no-wait): the node's
  // entry still shows the nonce before both.
  const nonce =
    v.nonce === undefined
      ? (await currentNonce(client, signer.sender, signer.id)) + 1
      : uintFlag(v, 'nonce')
  const payload: TransactionPayload = {
    chainId: head.chainId,
    sender: signer.sender,
    nonce,
    method,
  }
  const tx = signer.sign(payload)
  const digest = await client.submit(encodeTransaction(tx))
  const ours = bytesToHex(transactionDigest(payload))
  if (digest !== ours) {
    process.stderr.write(`fulmen: warning: the node names the transaction ${digest}, not ${ours}\n`)
  }
  if (v['no-wait']) {
    await write(v.json ? `${JSON.stringify({ digest, status: 'pending' })}\n` : `${digest}\n`)
    return 0
  }
  process.stderr.write(`fulmen: submitted ${method.type} ${digest} (nonce ${nonce}), waiting…\n`)
  const receipt = await waitForReceipt(client, digest, {
    timeoutMs,
    progress: (line) => process.stderr.write(`fulmen: ${digest.slice(0, 12)}… ${line}\n`),
  })
  await printReceipt(receipt, v.json === true)
  return checkReceipt(receipt)
}

/** `fulmen tx receipt DIGEST`: the receipt of a submitted transaction (no waiting). */
async function receipt(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(COMMAND, args, {
    from: { type: 'string' },
    json: { type: 'boolean' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  })
  const digest = onePositional(COMMAND, positionals, 'DIGEST').replace(/^0x/, '').toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(digest)) {
    throw new UsageError(`'${digest}' is not a transaction digest (64 hex digits)`, COMMAND)
  }
  const client = chainClient(gatewayOf(values as Values))
  const r = values.wait
    ? await waitForReceipt(client, digest, {
        timeoutMs: values.timeout === undefined ? 60_000 : parseTimeout(values.timeout),
      })
    : await client.receipt(digest)
  await printReceipt(r, values.json === true)
  return r.status === 'pending' ? 0 : checkReceipt(r)
}

/** Runs `fulmen tx` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'receipt') return receipt(rest)
  if (sub !== undefined && Object.hasOwn(METHOD_OPTIONS, sub)) {
    return send(sub as MethodName, rest)
  }
  const names = [...Object.keys(METHOD_OPTIONS), 'receipt'].join(', ')
  throw new UsageError(
    sub === undefined ? `missing method (${names})` : `unknown method '${sub}' (${names})`,
    COMMAND,
  )
}
