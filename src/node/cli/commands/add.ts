/**
 * `fulmen add FILE...`: imports local files into the node's block store and prints each root
 * and CID. Goes through the running node (its loopback-only import door) when there is one,
 * since the store's database allows a single process; otherwise opens the store itself.
 */

import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { formatContentId } from '../../../b3/content-id.ts'
import type { HashTree } from '../../../b3/tree.ts'
import { importFiles, STDIN } from '../../../origin/local-origin.node.ts'
import { openFsBlockStore } from '../../../store/fs-block-store.ts'
import { loadConfig } from '../../config.ts'
import { findRunningNode } from '../../runtime.ts'
import { parseCommandArgs, UsageError } from '../command.ts'
import { write } from '../output.ts'
import { startProgress } from '../progress.ts'

interface Added {
  readonly name: string
  readonly root: string
  readonly length: number
}

async function addThroughNode(http: string, file: string, pin: boolean): Promise<Added> {
  const total = file === STDIN ? undefined : (await stat(file)).size
  const progress = startProgress(file, total)
  const source = file === STDIN ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 })
  async function* counted(): AsyncGenerator<Uint8Array> {
    let done = 0
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      done += chunk.length
      progress.update(done)
      yield chunk
    }
  }
  // undici's `TypeError: fetch failed` (refused, reset) says the node went away, not a bug.
  const unreachable = (e: unknown) => {
    if (!(e instanceof TypeError)) return e
    const cause = (e as { cause?: { code?: string; message?: string } }).cause
    const detail = cause?.code ?? cause?.message ?? e.message
    return Object.assign(
      new Error(`${file}: the node at ${http} could not be reached or went away (${detail})`),
      { code: 'NODE_UNREACHABLE', cause: e },
    )
  }
  try {
    const res = await fetch(`${http}/admin/content${pin ? '?pin=1' : ''}`, {
      method: 'PUT',
      body: Readable.toWeb(Readable.from(counted())) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit).catch((e: unknown) => {
      throw unreachable(e)
    })
    const body = (await res.json().catch((e: unknown) => {
      throw unreachable(e)
    })) as {
      root?: string
      length?: number
      error?: { code: string; message: string }
    }
    if (!res.ok || body.root === undefined) {
      throw Object.assign(
        new Error(`${file}: the node refused the import: ${body.error?.message ?? res.status}`),
        {
          code: body.error?.code ?? 'IMPORT_FAILED',
        },
      )
    }
    return { name: file, root: body.root, length: body.length ?? 0 }
  } finally {
    progress.stop()
  }
}

/** Runs `fulmen add` with the arguments after its name; resolves to the exit code. */
export async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('add', args, {
    pin: { type: 'boolean' },
    'data-dir': { type: 'string' },
    init: { type: 'boolean' },
  })
  if (positionals.length === 0) throw new UsageError('no FILE to add', 'add')
  const config = await loadConfig({
    flags: values['data-dir'] === undefined ? {} : { dataDir: resolve(values['data-dir']) },
  })
  const init = values.init === true || /^(1|true|yes|on)$/i.test(process.env.FULMEN_INIT ?? '')
  const exists = await stat(config.dataDir).then(
    (st) => st.isDirectory(),
    () => false,
  )
  if (!exists && !init) {
    throw Object.assign(
      new Error(
        `no node data dir at ${config.dataDir}: start a node there first ('fulmen node start --data-dir ${config.dataDir}') or pass --init to make a new one`,
      ),
      { code: 'NODE_NO_DATA_DIR' },
    )
  }
  const pin = values.pin === true
  const running = await findRunningNode(config.dataDir)
  const print = (a: Added) =>
    write(`${a.root}  ${formatContentId(hexToBytes(a.root), 'cid')}  ${a.name}\n`)
  if (running !== undefined) {
    for (const file of positionals) await print(await addThroughNode(running.http, file, pin))
    return 0
  }
  const store = await openFsBlockStore({
    dir: join(config.dataDir, 'store'),
    limitBytes: config.cacheSize,
  })
  try {
    let progress: ReturnType<typeof startProgress> | undefined
    let current = ''
    const imported = await importFiles(store, positionals, {
      pin,
      onProgress: (p) => {
        if (p.path !== current) {
          progress?.stop()
          current = p.path
          progress = startProgress(p.path, p.bytesTotal)
        }
        progress?.update(p.bytesDone)
      },
    })
    progress?.stop()
    for (const { path, tree } of imported as { path: string; tree: HashTree }[]) {
      await print({ name: path, root: bytesToHex(tree.root), length: tree.length })
    }
  } finally {
    await store.close()
  }
  return 0
}
