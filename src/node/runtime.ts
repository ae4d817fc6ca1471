/**
 * Finding a running node from another process (`fulmen node status`, `fulmen add`): the node
 * writes `<dataDir>/node.json` while it runs; it counts only if its HTTP gateway answers.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Written while the node runs, so `fulmen node status` and `fulmen add` can find it. Defined
 * here rather than in full-node.ts so that finding a node does not load libp2p (~0.8 s).
 */
export const RUNTIME_FILE = 'node.json'

/** What `RUNTIME_FILE` holds (full-node.ts writes it). */
export interface RuntimeInfo {
  readonly pid: number
  readonly peerId: string
  readonly http: string
  readonly multiaddrs: readonly string[]
  readonly startedAt: string
}

export async function findRunningNode(dataDir: string): Promise<RuntimeInfo | undefined> {
  let info: RuntimeInfo
  try {
    info = JSON.parse(await readFile(join(dataDir, RUNTIME_FILE), 'utf8')) as RuntimeInfo
  } catch {
    return undefined
  }
  try {
    const res = await fetch(`${info.http}/health`, { signal: AbortSignal.timeout(2000) })
    return res.ok ? info : undefined
  } catch {
    return undefined
  }
}
