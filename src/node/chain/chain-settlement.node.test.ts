/**
 * Issue 15's process test, all real: a devnet's keys and genesis on disk, one node process
 * ordering blocks (`--consensus solo`), a client key registered to a funded account by a signed
 * transaction, two real `fulmen fetch`es over sessions that acknowledge what they received, the
 * node's claim settler proving their claims as one batch (issue 18) and putting them on chain
 * (the client's account pays, the node's served work grows), the epoch changing by itself and paying the node's owner, then `kill -9` of the
 * node mid-epoch and a restart on the same data dir that comes back at the same root.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { exited, runFulmen, spawnFulmen, waitFor } from '../../devnet/processes.ts'
import type { Method } from '../../state/model.ts'
import { encodeTransaction, signAccountTransaction } from '../../state/transaction.ts'
import { loadOrCreateClientKey } from '../client-key-file.ts'
import { type DevnetLayout, prepareDevnet } from '../devnet/devnet-genesis.ts'

interface Running {
  readonly child: ChildProcess
  readonly gateway: string
  readonly multiaddr: string
  stderr: string
}

let dir = ''
let layout: DevnetLayout
let node: Running | undefined

async function startNode(): Promise<Running> {
  const n = layout.nodes[0]!
  const child = spawnFulmen(
    [
      'node',
      'start',
      '--data-dir',
      n.dataDir,
      '--genesis',
      layout.genesisPath,
      '--consensus',
      'solo',
      '--settle-every-ms',
      '500',
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--ws-port',
      '0',
      '--webrtc-port',
      '0',
    ],
    // Every claim is proven (a lone one too): the listing below then names a batch whatever
    // the timing of the two fetches against the epoch's end.
    { cwd: dir, env: { FULMEN_PROVE_FROM: '1' } },
  )
  child.stdin!.end()
  let stdout = ''
  const running = { child, gateway: '', multiaddr: '', stderr: '' }
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s
  })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    running.stderr = (running.stderr + s).slice(-20_000)
  })
  const printed = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the node exited:\n${running.stderr}`)
      const m = /^ {2}http {4}(http:\/\/\S+)$/m.exec(stdout)
      const ws = /^ {2}libp2p {2}(\S+\/ws\/p2p\/\S+)$/m.exec(stdout)
      return m !== null && ws !== null && { gateway: m[1]!, multiaddr: ws[1]! }
    },
    'the node to start',
    60_000,
  )
  Object.assign(running, printed)
  await waitFor(
    async () => (await fetch(`${printed.gateway}/chain/head`)).ok,
    '/chain/head',
    30_000,
  )
  return running
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${node!.gateway}${path}`)
  const body = (await res.json()) as T
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(body)}`)
  return body
}

interface Head {
  epoch: number
  height: number
  stateRoot: string
}

async function account(address: string) {
  const r = await get<{ entry: { flk: string; stables: string; nonce: number } | null }>(
    `/chain/state/accounts/${address}`,
  )
  return r.entry ?? { flk: '0', stables: '0', nonce: 0 }
}

async function submit(method: Method): Promise<void> {
  const owner = layout.accounts[0]!
  const address = `0x${bytesToHex(owner.key.address)}`
  const head = await get<{ chainId: number }>('/chain/head')
  const nonce = (await account(address)).nonce + 1
  const tx = signAccountTransaction(
    {
      chainId: head.chainId,
      sender: { kind: 'account', address: owner.key.address },
      nonce,
      method,
    },
    owner.key.secretKey,
  )
  const res = await fetch(`${node!.gateway}/chain/tx`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body: Buffer.from(encodeTransaction(tx)),
  })
  const { digest } = (await res.json()) as { digest: string }
  expect(res.status).toBe(202)
  const receipt = await waitFor(
    async () => {
      const r = await get<{ status: string }>(`/chain/tx/${digest}`)
      return r.status !== 'pending' && r
    },
    'the receipt',
    30_000,
  )
  expect(receipt.status).toBe('ok')
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-settlement-'))
  layout = await prepareDevnet({ dir, nodes: 1, epochMs: 12_000 })
  node = await startNode()
}, 120_000)

afterAll(async () => {
  if (node !== undefined && node.child.exitCode === null) {
    node.child.kill('SIGTERM')
    await exited(node.child)
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

describe('DAs from a real fetch settle on chain', () => {
  test('served work and payment, an epoch change paying the node, and a kill -9 restart at the same root', async () => {
    const nodeKey = bytesToHex(layout.nodes[0]!.identity.nodeKey)
    const payer = `0x${bytesToHex(layout.accounts[0]!.key.address)}`
    const operator = `0x${bytesToHex(layout.operator.key.address)}`

    // A client key the fetch will use, registered to a funded account.
    const clientKeyPath = join(dir, 'client.key')
    const clientKey = await loadOrCreateClientKey(clientKeyPath)
    await submit({ type: 'RegisterClientKey', clientKey: clientKey.publicKey })

    // Content on the node, fetched over a session that acknowledges each verified block.
    const file = join(dir, 'content.bin')
    writeFileSync(file, randomBytes(3 * 1024 * 1024))
    const put = await fetch(`${node!.gateway}/admin/content`, {
      method: 'PUT',
      body: readFileSync(file),
    })
    expect(put.status).toBeLessThan(300)
    const { root } = (await put.json()) as { root: string }
    const before = await account(payer)
    const operatorBefore = await account(operator)
    // Two fetches at once: two sessions, two claims, which the node proves (a batch short of S
    // waits for company until the epoch's end, so usually as one batch).
    const fetches = await Promise.all(
      [1, 2].map((i) =>
        runFulmen(['fetch', root, '--node', node!.multiaddr, '-o', join(dir, `copy-${i}.bin`)], {
          cwd: dir,
          env: { FULMEN_CLIENT_KEY: clientKeyPath },
          timeoutMs: 60_000,
        }),
      ),
    )
    for (const fetched of fetches) expect(fetched.code, fetched.stderr).toBe(0)

    // The settler submits the pool's claims as they grow (each time only the increase settles):
    // the account pays, the node's served work reaches every byte fetched, over the epochs it
    // took.
    let seen = 0n
    const settledEpoch = await waitFor(
      async () => {
        const head = await get<Head>('/chain/head')
        let units = 0n
        let last = -1
        for (let epoch = 0; epoch <= head.epoch; epoch++) {
          const key = `${nodeKey}${epoch.toString(16).padStart(16, '0')}00`
          const served = await get<{ entry: { units: string } | null }>(
            `/chain/state/served/${key}`,
          )
          if (served.entry === null) continue
          units += BigInt(served.entry.units)
          last = epoch
        }
        seen = units
        return units >= 6n * 1024n * 1024n && { epoch: last, units }
      },
      'every byte fetched served on chain',
      90_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (${seen} units so far)`)
    })
    expect(settledEpoch.units).toBe(6n * 1024n * 1024n)

    // Settled through a proof: the node's DA listing names the batch, its proof and transaction
    // (recorded as the block's receipt comes, so read until it shows).
    type Listing = {
      claims: { progress: { state: string; batch?: string; proof?: string }; index: number }[]
    }
    let listed = ''
    const proven = await waitFor(
      async () => {
        const das = await runFulmen(
          ['node', 'das', '--data-dir', layout.nodes[0]!.dataDir, '--json'],
          { cwd: dir },
        )
        expect(das.code, das.stderr).toBe(0)
        listed = das.stdout
        const claims = (JSON.parse(das.stdout) as Listing).claims
        return (
          claims.length === 2 &&
          claims.every((c) => c.progress.state === 'settled' && c.progress.batch !== undefined) &&
          claims
        )
      },
      'both claims settled through a proof',
      15_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${listed}`)
    })
    expect(proven[0]?.progress.proof).toMatch(/^[0-9a-f]{512}$/)
    const after = await account(payer)
    expect(BigInt(after.stables)).toBeLessThan(BigInt(before.stables))

    // The epoch changes by itself and pays the node's owner for the epoch's work.
    await waitFor(
      async () => (await get<Head>('/chain/head')).epoch > settledEpoch.epoch,
      'the epoch change',
      60_000,
      250,
    )
    const operatorAfter = await account(operator)
    expect(BigInt(operatorAfter.stables)).toBeGreaterThan(BigInt(operatorBefore.stables))
    expect(BigInt(operatorAfter.flk)).toBeGreaterThan(BigInt(operatorBefore.flk))

    // kill -9 mid-epoch; the restarted node resumes at the root it had.
    const head = await get<Head>('/chain/head')
    node!.child.kill('SIGKILL')
    await exited(node!.child)
    node = await startNode()
    const block = await get<{ header: { stateRoot: string } }>(`/chain/block/${head.height}`)
    expect(block.header.stateRoot).toBe(head.stateRoot)
    const again = await get<Head>('/chain/head')
    expect(again.height).toBeGreaterThanOrEqual(head.height)
    if (again.height === head.height) expect(again.stateRoot).toBe(head.stateRoot)
  }, 240_000)
})
