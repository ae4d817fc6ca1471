/**
 * Vitest global setup of the Chromium project: real node processes for browser tests to dial
 * (two full nodes holding the same contents: an 8 MiB one, and many small images with an HTML
 * page of them, testing/gallery.ts; and a lying node in front of the first), their
 * addresses handed to the tests with `inject('network')`. Runs in Node, before the browser.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { seededContent } from '../../b3/testing/content.ts'
import { nodeKeyOfPeer } from '../../client/chain-vetter.ts'
import { chainGatewayFixture } from '../../client/testing/chain-gateway.ts'
import { spawnLyingNode } from '../../devnet/lying-node.ts'
import { runFulmen, startNode, wsAddressOf } from '../../devnet/processes.ts'
import {
  GALLERY_IMAGES,
  GALLERY_PAGE_IMAGES,
  type GalleryFile,
  galleryImage,
  galleryPage,
} from './gallery.ts'
import type { BrowserTestNetwork } from './network.ts'

/** 8 MiB + 1 byte: 33 blocks, the last one short. */
export const CONTENT_SIZE = 8 * 1024 * 1024 + 1
export const CONTENT_SEED = 0x5eed

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'fulmen-browser-net-'))
  const env = { XDG_DATA_HOME: dir }
  const file = join(dir, 'content.bin')
  writeFileSync(file, seededContent(CONTENT_SIZE, CONTENT_SEED))
  const images = Array.from({ length: GALLERY_IMAGES }, (_, i) => galleryImage(i))
  const gallery = galleryPage(images.slice(0, GALLERY_PAGE_IMAGES))
  const small = [...images, gallery].map((f: GalleryFile) => {
    const path = join(dir, f.name)
    writeFileSync(path, f.bytes)
    return path
  })
  const dataDirs = [0, 1].map((i) => join(dir, `node-${i}`))
  // One `add` per node for everything: a process each is the setup's cost.
  const added = await Promise.all(
    dataDirs.map((d) => runFulmen(['add', '--data-dir', d, file, ...small], { env })),
  )
  for (const a of added) if (a.code !== 0) throw new Error(`fulmen add failed: ${a.stderr}`)
  for (const f of [...images, gallery])
    if (!added[0]!.stdout.includes(`${f.hex}  `)) throw new Error(`${f.name} was not added`)
  const nodes = await Promise.all(dataDirs.map((dataDir) => startNode({ dataDir, env })))
  const liar = await spawnLyingNode({ upstream: wsAddressOf(nodes[0]!), mode: 'flip-byte' })
  const peers = nodes.map((n) => {
    const address = wsAddressOf(n)
    return address.slice(address.lastIndexOf('/p2p/') + 5)
  })
  // The light client's chain: node 0 staked, node 1 not (both serve the same content).
  const chain = await chainGatewayFixture({ staked: [nodeKeyOfPeer(peers[0]!)!] })
  const gateways = await Promise.all([
    chain.serve(),
    chain.serve('checkpoint'),
    chain.serve('proof'),
  ])
  const network: BrowserTestNetwork = {
    nodes: nodes.map(wsAddressOf),
    liar: liar.address,
    liarPeer: liar.peerId,
    content: { hex: added[0]!.stdout.slice(0, 64), size: CONTENT_SIZE, seed: CONTENT_SEED },
    images: images.map(({ hex, bytes, width, height }) => ({
      hex,
      size: bytes.length,
      width,
      height,
    })),
    gallery: { hex: gallery.hex, count: GALLERY_PAGE_IMAGES },
    chain: {
      genesis: chain.genesisJson,
      headHeight: chain.headHeight,
      honest: gateways[0].url,
      forgedCheckpoint: gateways[1].url,
      forgedProof: gateways[2].url,
      stakedPeer: peers[0]!,
      unstakedPeer: peers[1]!,
    },
  }
  project.provide('network', network)
  return async () => {
    await Promise.allSettled([
      liar.stop(),
      ...nodes.map((n) => n.stop()),
      ...gateways.map((g) => g.close()),
    ])
    rmSync(dir, { recursive: true, force: true })
  }
}
