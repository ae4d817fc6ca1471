/**
 * `fulmen keys account new|show`, `fulmen keys node new|show`, `fulmen keys bls new`: chain keys
 * in files of mode 0600, never overwritten. An account key is a secp256k1 secret (hex); a node
 * key is the node's Ed25519 identity as a node reads it from `<data-dir>/identity.key`; a BLS
 * key (hex) is what a first `fulmen tx stake --bls-key` proves possession of.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  formatAddress,
  generateAccountKey,
  generateBlsKey,
  generateNodeIdentity,
  readAccountKeyFile,
  readBlsKeyFile,
  readNodeIdentityFile,
  writeAccountKeyFile,
  writeBlsKeyFile,
  writeNodeIdentityFile,
} from '../../key-files.ts'
import { parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'

const COMMAND = 'keys'

function options(args: readonly string[], fileFlag: 'out' | 'key') {
  const { values, positionals } = parseCommandArgs(COMMAND, args, {
    [fileFlag]: { type: 'string' },
    json: { type: 'boolean' },
  } as { out: { type: 'string' }; key: { type: 'string' }; json: { type: 'boolean' } })
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}'`, COMMAND)
  }
  const file = values[fileFlag]
  if (file === undefined || file === '') throw new UsageError(`missing --${fileFlag} FILE`, COMMAND)
  return { file, json: values.json === true }
}

async function print(fields: Record<string, string>, json: boolean): Promise<void> {
  if (json) {
    await write(`${JSON.stringify(fields)}\n`)
    return
  }
  const width = Math.max(...Object.keys(fields).map((k) => k.length))
  await write(
    `${Object.entries(fields)
      .map(([k, v]) => `${k.padEnd(width)}  ${v}`)
      .join('\n')}\n`,
  )
}

async function account(action: string | undefined, args: readonly string[]): Promise<number> {
  if (action === 'new') {
    const { file, json } = options(args, 'out')
    const key = generateAccountKey()
    await writeAccountKeyFile(file, key)
    if (json) await print({ address: formatAddress(key.address), file }, true)
    else await write(`${formatAddress(key.address)}\n`)
    return 0
  }
  if (action === 'show') {
    const { file, json } = options(args, 'key')
    const key = await readAccountKeyFile(file)
    if (json) await print({ address: formatAddress(key.address), file }, true)
    else await write(`${formatAddress(key.address)}\n`)
    return 0
  }
  throw new UsageError(`keys account: expected new or show, got '${action ?? ''}'`, COMMAND)
}

async function node(action: string | undefined, args: readonly string[]): Promise<number> {
  const identity =
    action === 'new'
      ? await (async () => {
          const { file, json } = options(args, 'out')
          const key = await generateNodeIdentity()
          await writeNodeIdentityFile(file, key)
          return { key, file, json }
        })()
      : action === 'show'
        ? await (async () => {
            const { file, json } = options(args, 'key')
            return { key: await readNodeIdentityFile(file), file, json }
          })()
        : undefined
  if (identity === undefined) {
    throw new UsageError(`keys node: expected new or show, got '${action ?? ''}'`, COMMAND)
  }
  await print(
    { nodeKey: bytesToHex(identity.key.nodeKey), peerId: identity.key.peerId, file: identity.file },
    identity.json,
  )
  return 0
}

async function bls(action: string | undefined, args: readonly string[]): Promise<number> {
  if (action === 'new') {
    const { file, json } = options(args, 'out')
    const key = generateBlsKey()
    await writeBlsKeyFile(file, key)
    await print({ publicKey: bytesToHex(key.publicKey), file }, json)
    return 0
  }
  if (action === 'show') {
    const { file, json } = options(args, 'key')
    const key = await readBlsKeyFile(file)
    await print({ publicKey: bytesToHex(key.publicKey), file }, json)
    return 0
  }
  throw new UsageError(`keys bls: expected new or show, got '${action ?? ''}'`, COMMAND)
}

/** Runs `fulmen keys` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const [kind, action, ...rest] = args
  if (kind === 'account') return account(action, rest)
  if (kind === 'node') return node(action, rest)
  if (kind === 'bls') return bls(action, rest)
  throw new UsageError(
    kind === undefined
      ? 'missing key kind (account, node or bls)'
      : `unknown key kind '${kind}' (account, node or bls)`,
    COMMAND,
  )
}
