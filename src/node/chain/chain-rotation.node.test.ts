/**
 * The committee is whoever the beacon draws from the active set, not the node that orders: a
 * solo leader outside the committee and a follower in it, as real processes. The follower's
 * epoch duty (signal, commit, reveal, sent through the leader) changes the epoch, and the chain
 * keeps changing epochs whichever of the two each change draws (the devnet of `npm start`
 * stalled at its first change when the draw fell on a follower).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type NodeProcess, startNode, waitFor } from '../../devnet/processes.ts'
import { genesisToJson, parseGenesis } from '../../state/genesis.ts'
import { prepareDevnet } from '../devnet/devnet-genesis.ts'
import { printNodeLogsOnFailure } from '../testing/diagnostics.ts'

let dir = ''
let leader: NodeProcess
let follower: NodeProcess

printNodeLogsOnFailure(() => [leader, follower])

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fulmen-chain-rotation-'))
  const layout = await prepareDevnet({ dir, nodes: 1, edge: 1, epochMs: 1500 })
  // The first committee is the follower alone.
  const genesis = parseGenesis(readFileSync(layout.genesisPath, 'utf8'))
  const edge = layout.nodes.find((n) => n.role === 'edge')!
  writeFileSync(
    layout.genesisPath,
    genesisToJson({ ...genesis, committee: [edge.identity.nodeKey] }),
  )
  const env = { XDG_DATA_HOME: join(dir, 'xdg') }
  leader = await startNode({
    dataDir: layout.nodes[0]!.dataDir,
    env,
    args: ['--genesis', layout.genesisPath, '--consensus', 'solo'],
  })
  follower = await startNode({
    dataDir: edge.dataDir,
    env,
    args: ['--genesis', layout.genesisPath, '--consensus', 'follow', '--follow', leader.url],
  })
}, 90_000)

afterAll(async () => {
  await follower?.stop()
  await leader?.stop()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

test('a follower in the committee changes the epoch, and epochs keep changing', async () => {
  const head = async (url: string) =>
    (await (await fetch(`${url}/chain/head`)).json()) as {
      epoch: number
      height: number
      stateRoot: string
    }
  await waitFor(async () => (await head(leader.url)).epoch >= 4, 'four epoch changes', 90_000, 200)
  // The follower re-executed the same chain.
  const atLeader = await head(leader.url)
  await waitFor(
    async () => (await head(follower.url)).height >= atLeader.height,
    'the follower',
    30_000,
    100,
  )
  const block = (await (await fetch(`${follower.url}/chain/block/${atLeader.height}`)).json()) as {
    header: { stateRoot: string }
  }
  expect(block.header.stateRoot).toBe(atLeader.stateRoot)
}, 150_000)
