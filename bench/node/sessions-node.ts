/**
 * The node of the sessions benchmark, in a process of its own: a full node (`startFullNode`,
 * every port 0, data in `dataDir`) holding `bytes` of bench content, plus two bench-only
 * protocols on its libp2p: RAW_PROTOCOL streams the stored blocks with no framing and no
 * acknowledgements (the session's peer: same process, store, connection type, Noise, Yamux),
 * CPU_PROTOCOL answers with this process's CPU time so the client can bracket a fetch.
 *
 *   node bench/node/sessions-node.ts '<json: { dataDir, bytes, ackWindow? }>'
 *
 * Prints one JSON line (NodeReady) on stdout once it serves; stops on SIGTERM.
 */
import type { Stream } from '@libp2p/interface'
import { TREE_BLOCK_LEN } from '../../src/b3/constants.ts'
import { defaults } from '../../src/node/config.ts'
import { startFullNode } from '../../src/node/full-node.ts'
import { toHex } from '../shared.ts'
import {
  benchContent,
  CPU_PROTOCOL,
  type NodeReady,
  RAW_PROTOCOL,
  RAW_SPLIT_PROTOCOL,
  SPLIT_OVERHEAD,
} from './sessions-shared.ts'

const { dataDir, bytes, ackWindow } = JSON.parse(process.argv[2] ?? '') as {
  dataDir: string
  bytes: number
  /** Overrides the node's acknowledgement window (blocks), for experiments. */
  ackWindow?: number
}

const base = defaults()
const node = await startFullNode({
  ...base,
  dataDir,
  httpPort: 0,
  wsPort: 0,
  webrtcPort: 0,
  // Errors only: the first-byte runs hang up mid-body on purpose, which the node warns about.
  logLevel: 'error',
  // Nothing may leave the machine: the content is local, no origin is needed.
  origins: { ...base.origins, ipfsGateways: [], http: false },
  sessions: { ...base.sessions, ...(ackWindow === undefined ? {} : { ackWindow }) },
})

const t0 = performance.now()
const tree = await node.store.put(benchContent(bytes), { pin: true })
const importSeconds = (performance.now() - t0) / 1000
const root = tree.root
const blocks = Math.ceil(tree.length / TREE_BLOCK_LEN)

async function send(stream: Stream, bytes: Uint8Array): Promise<void> {
  if (!stream.send(bytes)) await stream.onDrain()
}

// Reads one block ahead as the CDN service does (cdn-server.ts readAhead), so the two differ
// only in what the session adds: frames, proofs, verification and acknowledgements.
function serveBlocks(split: boolean) {
  const proof = new Uint8Array(SPLIT_OVERHEAD - 5)
  const prefix = new Uint8Array(5)
  return async (stream: Stream): Promise<void> => {
    try {
      let next = node.store.getBlock(root, 0)
      for (let k = 0; k < blocks; k++) {
        const block = await next
        if (k + 1 < blocks) next = node.store.getBlock(root, k + 1)
        if (split) {
          await send(stream, proof)
          await send(stream, prefix)
        }
        await send(stream, block)
      }
      await stream.close()
    } catch (error) {
      // The first-byte runs hang up after the first chunk.
      stream.abort(error as Error)
    }
  }
}
await node.libp2p.handle(RAW_PROTOCOL, serveBlocks(false), { maxInboundStreams: 256 })
await node.libp2p.handle(RAW_SPLIT_PROTOCOL, serveBlocks(true), { maxInboundStreams: 256 })

await node.libp2p.handle(CPU_PROTOCOL, async (stream) => {
  await send(stream, new TextEncoder().encode(JSON.stringify(process.cpuUsage())))
  await stream.close()
})

const ws = node.multiaddrs().find((a) => a.includes('/ws'))
if (ws === undefined) throw new Error(`no WebSockets address among ${node.multiaddrs().join(', ')}`)
const ready: NodeReady = {
  pid: process.pid,
  multiaddr: ws.includes('/p2p/') ? ws : `${ws}/p2p/${node.peerId}`,
  rootHex: toHex(root),
  importSeconds,
}
process.stdout.write(`${JSON.stringify(ready)}\n`)

process.once('SIGTERM', () => {
  void node.stop('SIGTERM').then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
