/**
 * The local network the dev server started (src/devnet/local-network.ts): its nodes,
 * the lying node, the origin and the demo content, from `GET /fulmen-network.json`.
 */
import type {
  ContentInfo,
  LiarInfo,
  NetworkDescription,
  NetworkNodeInfo,
} from '../src/devnet/local-network.ts'

export type { NetworkDescription }
export type DemoContent = ContentInfo
export type NetworkNode = NetworkNodeInfo
export type LyingNode = LiarInfo

export async function loadNetwork(): Promise<NetworkDescription> {
  const response = await fetch('/fulmen-network.json', { cache: 'no-store' })
  if (!response.ok) throw new Error(`/fulmen-network.json: HTTP ${response.status}`)
  return (await response.json()) as NetworkDescription
}

/** Stops or restarts full node `index` (a real process) to show failover and offline cache. */
export async function setNodeRunning(index: number, running: boolean): Promise<void> {
  const action = running ? 'start' : 'stop'
  const response = await fetch(`/fulmen-network/nodes/${index}/${action}`, { method: 'POST' })
  if (!response.ok) throw new Error(`${action} node ${index}: HTTP ${response.status}`)
}
