/**
 * `fulmen light sync|verify`: the light client (src/light) from the command line. It trusts the
 * genesis file alone: it walks the committee-signed checkpoints the nodes at --from serve, from
 * genesis (or from the anchor stored in --data DIR), failing over from a node that lies or
 * fails to the next, and checks a state entry's proof against the verified head's root. Any
 * forgery or no source left exits 1 with the typed error's code (LIGHT_NO_SOURCE lists each
 * node's, e.g. CHECKPOINT_SIGNATURE; a bad proof from the only node: LIGHT_PROOF_INVALID in it).
 */
import { readFile } from 'node:fs/promises'
import { bytesToHex } from '@noble/hashes/utils.js'
import { useMclCheckpointKernel } from '../../../checkpoint/mcl-signature-kernel.ts'
import type { KvStore } from '../../../kv/kv-store.ts'
import { openLevelKvStore } from '../../../kv/level-kv-store.ts'
import { MemoryKvStore } from '../../../kv/memory-kv-store.ts'
import { httpLightSource, LightSync, openTrustedLightClient } from '../../../light/index.ts'
import { StateError } from '../../../state/errors.ts'
import { parseGenesis } from '../../../state/genesis.ts'
import type { TableName } from '../../../state/model.ts'
import { entryToJson, isTableName, parseTableKey, TABLES } from '../../../state/tables.ts'
import { gatewayUrl } from '../chain-client.ts'
import { parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'
import { STATE_ALIASES } from './state.ts'
import { parseNodeKey } from './tx.ts'

const COMMAND = 'light'

interface Setup {
  readonly light: LightSync
  readonly store: KvStore | undefined
}

async function setUp(values: {
  genesis?: string
  from?: string[]
  data?: string
  checkpoint?: string
}): Promise<Setup> {
  if (values.genesis === undefined) throw new UsageError('missing --genesis FILE', COMMAND)
  const froms = values.from ?? []
  if (froms.length === 0) throw new UsageError('missing --from URL', COMMAND)
  const sources = froms.map((text) => {
    try {
      return httpLightSource(gatewayUrl(text))
    } catch {
      throw new UsageError(`--from: '${text}' is not an http(s) URL`, COMMAND)
    }
  })
  const genesis = parseGenesis(await readFile(values.genesis, 'utf8'))
  const checkpoint =
    values.checkpoint === undefined ? undefined : await readFile(values.checkpoint, 'utf8')
  // The walk's pairings in mcl's WebAssembly (same answers as noble, ~3× faster in Node).
  await useMclCheckpointKernel()
  const store = values.data === undefined ? undefined : await openLevelKvStore({ dir: values.data })
  try {
    // Without --data: a store in memory, from the trust root every time.
    const client = await openTrustedLightClient(store ?? new MemoryKvStore(), genesis, checkpoint)
    return { light: new LightSync(client, sources, store === undefined ? {} : { store }), store }
  } catch (e) {
    await store?.close()
    throw e
  }
}

/** The table and key bytes from what was typed (table names or `fulmen state`'s aliases). */
function tableAndKey(name: string, keyText: string): { table: TableName; key: Uint8Array } {
  const table = STATE_ALIASES[name] ?? (isTableName(name) ? name : undefined)
  if (table === undefined) {
    throw new UsageError(
      `unknown table '${name}' (${[...Object.keys(STATE_ALIASES), ...TABLES].join(', ')})`,
      COMMAND,
    )
  }
  if (table === 'nodes' || table === 'reputation') {
    return { table, key: parseNodeKey(keyText, 'the node', COMMAND) }
  }
  try {
    return { table, key: parseTableKey(table, keyText) }
  } catch (e) {
    if (e instanceof StateError) throw new UsageError(e.message, COMMAND)
    throw e
  }
}

/** Runs `fulmen light` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args
  const { values, positionals } = parseCommandArgs(COMMAND, rest, {
    genesis: { type: 'string' },
    from: { type: 'string', multiple: true },
    data: { type: 'string' },
    checkpoint: { type: 'string' },
    json: { type: 'boolean' },
  })
  if (sub !== 'sync' && sub !== 'verify') {
    throw new UsageError(
      sub === undefined ? 'missing subcommand (sync or verify)' : `unknown subcommand '${sub}'`,
      COMMAND,
    )
  }
  let target: { table: TableName; key: Uint8Array } | undefined
  if (sub === 'sync' && positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}'`, COMMAND)
  }
  if (sub === 'verify') {
    if (positionals.length !== 2) throw new UsageError('verify takes TABLE and KEY', COMMAND)
    target = tableAndKey(positionals[0] as string, positionals[1] as string)
  }
  const { light, store } = await setUp(values)
  try {
    const synced = await light.sync()
    const head = {
      epoch: synced.epoch,
      height: synced.height,
      stateRoot: bytesToHex(synced.stateRoot),
      checkpoints: synced.checkpoints,
    }
    if (target === undefined) {
      if (values.json) {
        await write(`${JSON.stringify(head)}\n`)
        return 0
      }
      await write(
        [
          `epoch        ${head.epoch}`,
          `height       ${head.height}`,
          `stateRoot    ${head.stateRoot}`,
          `checkpoints  ${head.checkpoints} verified (newest from ${synced.source})`,
          '',
        ].join('\n'),
      )
      return 0
    }
    const { table, key } = target
    const proven = await light.value(table, key)
    await write(
      `${JSON.stringify({
        table,
        key: bytesToHex(key),
        epoch: head.epoch,
        height: proven.height,
        root: bytesToHex(proven.stateRoot),
        value: proven.value === undefined ? null : bytesToHex(proven.value),
        entry: proven.value === undefined ? null : entryToJson(table, proven.value),
        verified: true,
      })}\n`,
    )
    return 0
  } finally {
    await store?.close()
  }
}
