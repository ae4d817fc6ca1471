/**
 * A devnet of two real node processes that measure each other (issue 19's process tests): a
 * leader ordering blocks (`--consensus solo`) and a follower, both staked, short epochs, pings
 * every `pingEveryMs`. Each listens on the WebSockets port its genesis entry names: the other
 * dials it there.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type NodeProcess, startNode } from '../../devnet/processes.ts'
import { type DevnetLayout, prepareDevnet } from '../devnet/devnet-genesis.ts'

export interface MeasuringDevnet {
  readonly dir: string
  readonly layout: DevnetLayout
  readonly leader: NodeProcess
  readonly follower: NodeProcess
  /** Stops both and removes the data. */
  close(): Promise<void>
}

export async function startMeasuringDevnet(options: {
  /** Names the temporary directory (`fulmen-<prefix>-…`). */
  readonly prefix: string
  readonly epochMs: number
  readonly pingEveryMs: number
}): Promise<MeasuringDevnet> {
  const dir = mkdtempSync(join(tmpdir(), `fulmen-${options.prefix}-`))
  const layout = await prepareDevnet({ dir, nodes: 1, edge: 1, epochMs: options.epochMs })
  const env = { XDG_DATA_HOME: join(dir, 'xdg'), FULMEN_PING_EVERY_MS: String(options.pingEveryMs) }
  const wsPort = (name: string) => ['--ws-port', String(layout.ports[name]?.ws)]
  const [one, edge] = layout.nodes
  if (one === undefined || edge === undefined) throw new Error('the devnet layout has no nodes')
  const started: NodeProcess[] = []
  const close = async () => {
    for (const node of started.reverse()) await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const leader = await startNode({
      dataDir: one.dataDir,
      env,
      args: ['--genesis', layout.genesisPath, '--consensus', 'solo', ...wsPort(one.name)],
    })
    started.push(leader)
    const follower = await startNode({
      dataDir: edge.dataDir,
      env,
      args: [
        '--genesis',
        layout.genesisPath,
        '--consensus',
        'follow',
        '--follow',
        leader.url,
        ...wsPort(edge.name),
      ],
    })
    started.push(follower)
    return { dir, layout, leader, follower, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** GET `url` as JSON; throws with the status and body otherwise. */
export async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`)
  return response.json()
}
