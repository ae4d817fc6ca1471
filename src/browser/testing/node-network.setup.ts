/**
 * Vitest global setup of the Chromium project: real node processes for browser tests to dial
 * (two full nodes holding the same content, and a lying node in front of the first), their
 * addresses handed to the tests with `inject('network')`. Runs in Node, before the browser.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { seededContent } from '../../b3/testing/content.ts'
import { spawnLyingNode } from '../../node/testing/lying-node.ts'
import { runFulmen, startNode, wsAddressOf } from '../../node/testing/processes.ts'
import type { BrowserTestNetwork } from './network.ts'

/** 8 MiB + 1 byte: 33 blocks, the last one short. */
export const CONTENT_SIZE = 8 * 1024 * 1024 + 1
export const CONTENT_SEED = 0x5eed

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'fulmen-browser-net-'))
  const env = { XDG_DATA_HOME: dir }
  const file = join(dir, 'content.bin')
  writeFileSync(file, seededContent(CONTENT_SIZE, CONTENT_SEED))
  const dataDirs = [0, 1].map((i) => join(dir, `node-${i}`))
  const added = await Promise.all(
    dataDirs.map((d) => runFulmen(['add', '--data-dir', d, file], { env })),
  )
  for (const a of added) if (a.code !== 0) throw new Error(`fulmen add failed: ${a.stderr}`)
  const nodes = await Promise.all(dataDirs.map((dataDir) => startNode({ dataDir, env })))
  const liar = await spawnLyingNode({ upstream: wsAddressOf(nodes[0]!), mode: 'flip-byte' })
  const network: BrowserTestNetwork = {
    nodes: nodes.map(wsAddressOf),
    liar: liar.address,
    liarPeer: liar.peerId,
    content: { hex: added[0]!.stdout.slice(0, 64), size: CONTENT_SIZE, seed: CONTENT_SEED },
  }
  project.provide('network', network)
  return async () => {
    await Promise.allSettled([liar.stop(), ...nodes.map((n) => n.stop())])
    rmSync(dir, { recursive: true, force: true })
  }
}
