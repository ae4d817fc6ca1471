/**
 * The node of the load benchmark, in a process of its own: a full node (`startFullNode`, every
 * port 0, data in `dataDir`) holding groups of distinct bench contents, plus the sessions
 * benchmark's CPU protocol so a client can bracket its fetches with the node's CPU time.
 *
 *   node bench/node/load-node.ts '<json: LoadNodeJob>'
 *
 * Prints one JSON line (LoadNodeReady) on stdout once it serves; stops on SIGTERM.
 */
import { performance } from 'node:perf_hooks'
import { AckLedger } from '../../src/acks/ledger.ts'
import { defaults } from '../../src/node/config.ts'
import { startFullNode } from '../../src/node/full-node.ts'
import { toHex } from '../shared.ts'
import type { LoadNodeJob, LoadNodeReady } from './load-shared.ts'
import { benchContent, CPU_PROTOCOL } from './sessions-shared.ts'

/**
 * Timing counters, bench-only: how often and how long the CDN service held a body back for
 * want of an acknowledgement (AckLedger.whenCanSend waiting), read with the node's CPU.
 */
const ackWait = { waits: 0, ms: 0 }
const whenCanSend = AckLedger.prototype.whenCanSend
AckLedger.prototype.whenCanSend = function (this: AckLedger, ...args) {
  if (this.canSend()) return whenCanSend.apply(this, args)
  const t0 = performance.now()
  ackWait.waits++
  const done = whenCanSend.apply(this, args)
  void done.then(
    () => {
      ackWait.ms += performance.now() - t0
    },
    () => {},
  )
  return done
}

const job = JSON.parse(process.argv[2] ?? '') as LoadNodeJob

const base = defaults()
const node = await startFullNode({
  ...base,
  dataDir: job.dataDir,
  httpPort: 0,
  wsPort: 0,
  webrtcPort: 0,
  // Errors only: refusals under load are what is measured, not news.
  logLevel: 'error',
  // Nothing may leave the machine: the content is local, no origin is needed.
  origins: { ...base.origins, ipfsGateways: [], http: false },
})

const roots: Record<string, string[]> = {}
let seed = 0x10ad
for (const [name, group] of Object.entries(job.groups)) {
  roots[name] = []
  for (let i = 0; i < group.count; i++) {
    // Seeds far apart: benchContent seeds each 1 MiB chunk with seed + its index.
    seed += 0x1_0000
    const tree = await node.store.put(benchContent(group.bytes, seed), { pin: true })
    roots[name].push(toHex(tree.root))
  }
}

await node.libp2p.handle(CPU_PROTOCOL, async (stream) => {
  const bytes = new TextEncoder().encode(
    JSON.stringify({
      ...process.cpuUsage(),
      elu: performance.eventLoopUtilization(),
      ackWaits: ackWait.waits,
      ackWaitMs: ackWait.ms,
    }),
  )
  if (!stream.send(bytes)) await stream.onDrain()
  await stream.close()
})

const ws = node.multiaddrs().find((a) => a.includes('/ws'))
if (ws === undefined) throw new Error(`no WebSockets address among ${node.multiaddrs().join(', ')}`)
const ready: LoadNodeReady = {
  pid: process.pid,
  multiaddr: ws.includes('/p2p/') ? ws : `${ws}/p2p/${node.peerId}`,
  url: node.httpUrl,
  roots,
}
process.stdout.write(`${JSON.stringify(ready)}\n`)

process.once('SIGTERM', () => {
  void node.stop('SIGTERM').then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
