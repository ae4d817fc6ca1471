/**
 * Following a committee chain on real processes: a node outside the committee takes a block
 * only with the committee's attestation (n − f BLS signatures, checked against the committee in
 * its own state), keeps it and serves it in turn. A gateway that serves blocks with a tampered
 * attestation, or none, gets no block executed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type NodeProcess, startNode, waitFor } from '../../devnet/processes.ts'
import { makeBlsKey } from '../../state/transaction.ts'
import { writeBlsKeyFile } from '../key-files.ts'
import {
  ALICE_SECRET,
  BOB,
  signedAccountTx,
  type WrittenGenesis,
  writeTestGenesis,
} from '../testing/chain-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'

// biome-ignore lint/suspicious/noExplicitAny: the answers are JSON the test reads field by field
type Json = any

let dir = ''
let genesis: WrittenGenesis
let member: NodeProcess
let outsider: NodeProcess | undefined
let fooled: NodeProcess | undefined
const proxies: Server[] = []
const env = () => ({ XDG_DATA_HOME: join(dir, 'xdg') })

printNodeLogsOnFailure(() => [member, outsider, fooled])

async function get(url: string, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${url}${path}`)
  return { status: res.status, body: await res.json() }
}

/** A gateway in front of `upstream` whose blocks carry `edit(attestation)` instead. */
async function proxy(upstream: string, edit: (attestation: string) => string | undefined) {
  const server = createServer((req, res) => {
    void (async () => {
      const answer = await fetch(`${upstream}${req.url}`)
      let text = await answer.text()
      if (req.url?.startsWith('/chain/block/') && answer.ok) {
        const block = JSON.parse(text) as Json
        block.attestation = edit(block.attestation)
        text = JSON.stringify(block)
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' })
      res.end(text)
    })().catch(() => res.destroy())
  })
  proxies.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** A committee-mode node outside the committee (its own BLS key), following `urls`. */
async function outsiderOf(name: string, urls: string) {
  const dataDir = join(dir, name)
  await writeBlsKeyFile(join(dataDir, 'bls.key'), makeBlsKey(new Uint8Array(32).fill(name.length)))
  return startNode({
    dataDir,
    env: env(),
    args: ['--genesis', genesis.path, '--consensus', 'committee', '--follow', urls],
  })
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-follow-attested-'))
  const memberDir = join(dir, 'member')
  genesis = await writeTestGenesis(dir, memberDir)
  member = await startNode({
    dataDir: memberDir,
    env: env(),
    args: ['--genesis', genesis.path, '--consensus', 'committee'],
  })
  const tx = signedAccountTx(ALICE_SECRET, 1, {
    type: 'Transfer',
    to: BOB,
    token: 'USDC',
    amount: 1n,
  })
  const res = await fetch(`${member.url}/chain/tx`, {
    method: 'POST',
    body: tx as Uint8Array<ArrayBuffer>,
  })
  expect(res.status).toBe(202)
  await waitFor(
    async () => (await get(member.url, '/chain/block/1')).body.attestation,
    'the member attests block 1',
    30_000,
  )
}, 90_000)

afterAll(async () => {
  await fooled?.stop()
  await outsider?.stop()
  await member?.stop()
  for (const p of proxies) await new Promise((resolve) => p.close(resolve))
  rmSync(dir, { recursive: true, force: true })
}, 60_000)

test('an outsider executes the attested blocks, keeps their attestations and serves them', async () => {
  outsider = await outsiderOf('outsider', member.url)
  const want = (await get(member.url, '/chain/block/1')).body
  const got = await waitFor(
    async () => {
      const b = await get((outsider as NodeProcess).url, '/chain/block/1')
      return b.status === 200 && b.body.attestation !== undefined ? b.body : undefined
    },
    'the outsider executes block 1 with its attestation',
    30_000,
  )
  expect(got.hash).toBe(want.hash)
  expect(got.attestation).toBe(want.attestation)
}, 60_000)

test('a gateway serving a tampered attestation, or none, gets no block executed', async () => {
  // One byte of the aggregate signature flipped; the other gateway drops the attestation.
  const flipped = await proxy(member.url, (a) =>
    a === undefined ? a : `${a.slice(0, -2)}${a.endsWith('00') ? '01' : '00'}`,
  )
  const stripped = await proxy(member.url, () => undefined)
  fooled = await outsiderOf('fooled', `${flipped},${stripped}`)
  const line = await fooled.waitForLog(/not attested by the committee/, 30_000)
  expect(String(line.msg)).toContain(flipped)
  // The member is at block 1 or beyond; the fooled node stays at the genesis.
  expect((await get(member.url, '/chain/head')).body.height).toBeGreaterThanOrEqual(1)
  await new Promise((r) => setTimeout(r, 2_000))
  expect((await get(fooled.url, '/chain/head')).body.height).toBe(0)
}, 60_000)
