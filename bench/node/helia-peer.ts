/**
 * Helia, the sessions benchmark's outside peer: the same bytes as the Fulmen node's, added with
 * `@helia/unixfs` to a Helia node in one process and fetched over Bitswap by a second Helia
 * node in another, over loopback WebSockets.
 *
 *   node bench/node/helia-peer.ts '<json: { role: "provide", bytes }>'
 *     prints { multiaddr, cid, importSeconds } once it serves; stops on SIGTERM
 *   node bench/node/helia-peer.ts '<json: { role: "fetch", multiaddr, cid, bytes, turns }>'
 *     prints { seconds: [...], cpuMs: [...] } (turn 0, a warm-up, left out)
 *
 * Both nodes are kept offline by construction, not by configuration: `createHeliaLight` (no
 * routers, no block brokers: no delegated routing, no trustless gateways) with a libp2p built
 * here from WebSockets, Noise, Yamux and identify only (no DHT, bootstrap list, autonat, UPnP,
 * relay or mDNS), then Bitswap alone (`withBitswap`). The fetcher dials the provider directly;
 * Bitswap sends its wants to connected peers. Blocks and data live in memory.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { unixfs } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { createHeliaLight } from 'helia'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import { benchContent, cpuMs } from './sessions-shared.ts'

type Job =
  | { readonly role: 'provide'; readonly bytes: number }
  | {
      readonly role: 'fetch'
      readonly multiaddr: string
      readonly cid: string
      readonly bytes: number
      readonly turns: number
    }

async function startHelia(listen: boolean) {
  const libp2p = await createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0/ws'] : [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    // Bitswap learns that a peer speaks it from identify.
    services: { identify: identify() },
  })
  const helia = createHeliaLight({
    blockstore: new MemoryBlockstore(),
    datastore: new MemoryDatastore(),
  })
  // What @helia/libp2p's mixin would do, with our libp2p instead of its defaults (which
  // bring bootstrap lists, the DHT, autonat, UPnP and delegated routing).
  Object.assign(helia, { libp2p })
  const node = withBitswap(helia as typeof helia & { libp2p: typeof libp2p })
  await libp2p.start()
  await node.start()
  return {
    helia: node,
    libp2p,
    async stop() {
      await node.stop()
      await libp2p.stop()
    },
  }
}

const job = JSON.parse(process.argv[2] ?? '') as Job

if (job.role === 'provide') {
  const peer = await startHelia(true)
  const t0 = performance.now()
  const cid = await unixfs(peer.helia).addByteStream(benchContent(job.bytes))
  const importSeconds = (performance.now() - t0) / 1000
  const address = peer.libp2p.getMultiaddrs().find((a) => a.toString().includes('/ws'))
  if (address === undefined) throw new Error('the Helia provider has no WebSockets address')
  process.stdout.write(
    `${JSON.stringify({ multiaddr: address.toString(), cid: cid.toString(), importSeconds })}\n`,
  )
  process.once('SIGTERM', () => {
    void peer.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
} else {
  const cid = CID.parse(job.cid)
  const seconds: number[] = []
  const cpu: number[] = []
  for (let turn = 0; turn <= job.turns; turn++) {
    // A fresh node (empty blockstore) each turn, connected before the clock starts, as the
    // Fulmen client's session is open before its timed turns.
    const peer = await startHelia(false)
    try {
      await peer.libp2p.dial(multiaddr(job.multiaddr))
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      let n = 0
      for await (const chunk of unixfs(peer.helia).cat(cid)) n += chunk.byteLength
      const s = (performance.now() - t0) / 1000
      if (n !== job.bytes) throw new Error(`Helia: ${n} bytes, ${job.bytes} expected`)
      if (turn > 0) {
        seconds.push(s)
        cpu.push(cpuMs(cpu0, process.cpuUsage()))
      }
    } finally {
      await peer.stop()
    }
  }
  process.stdout.write(`${JSON.stringify({ seconds, cpuMs: cpu })}\n`)
  process.exit(0)
}
