/**
 * A consensus-only committee process for the benchmark (issue 16): libp2p on loopback (TCP,
 * Noise, Yamux; or with `"transport":"ws"` a full node's, src/net/node-libp2p.ts: WebSockets),
 * messengers on `/fulmen/consensus/1.0.0` (and batches on a protocol of their own) to the
 * other members, and one `BenchMember`
 * (consensus-bench-member.ts) ordering 256-byte random transactions generated at a given rate.
 *
 *   node src/devnet/consensus-bench-node.ts '{"member":0,"size":4,"ratePerSecond":2500}'
 *
 * It talks to its parent (consensus-bench-cluster.ts) in JSON lines:
 *   stdout  {"type":"ready","peerId","address"}   listening; waiting for the committee
 *   stdin   {"type":"peers","peers":[{"peerId","address"}…]}   every member, in member order
 *   stdout  {"type":"report",…SecondReport}        once a second from then on
 *   stdin   {"type":"generate"}                    start the transactions (with `"generate":
 *                                                  false` in the job; else they start at once)
 *   stdin   {"type":"stop"}
 *   stdout  {"type":"stopped","sequence":[…]}      the committed transaction ids (if recorded)
 * and exits. Anything for people goes to stderr.
 */
import { createInterface } from 'node:readline'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
// Installed with @helia/libp2p (not a direct dependency yet): TCP for committee links, where
// WebSockets cost a JavaScript masking pass over every byte each way.
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { readySync } from '../b3/engine.ts'
import { CONSENSUS_FRAMES, CONSENSUS_PROTOCOL } from '../consensus/dag/consensus-frames.ts'
import { libp2pMessageTransport } from '../net/message-transport.ts'
import { createMessenger } from '../net/messenger.ts'
import { createNodeLibp2p } from '../net/node-libp2p.ts'
import {
  BENCH_BATCH_PROTOCOL,
  BENCH_QUEUE_LIMIT,
  BenchMember,
  type BenchNodeJob,
} from './consensus-bench-member.ts'

function say(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`)
}

async function main(): Promise<void> {
  readySync() // BLAKE3's SIMD kernel, as a full node has it (batch digests)
  const job = JSON.parse(process.argv[2] ?? '{}') as BenchNodeJob
  const privateKey = await generateKeyPair('Ed25519')
  const libp2p =
    job.transport === 'ws'
      ? await createNodeLibp2p({ privateKey, host: '127.0.0.1', wsPort: 0, webrtcPort: 0 })
      : await createLibp2p({
          privateKey,
          addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          start: false,
        })
  await libp2p.start()
  const address = libp2p
    .getMultiaddrs()
    .find((a) => a.toString().includes(job.transport === 'ws' ? '/ws/' : '/tcp/'))
  if (address === undefined) throw new Error(`libp2p listens on no ${job.transport} address`)
  say({ type: 'ready', peerId: libp2p.peerId.toString(), address: address.toString() })

  let member: BenchMember | undefined
  let stopMessenger: (() => Promise<void>) | undefined
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    const message = JSON.parse(line) as
      | { type: 'peers'; peers: { peerId: string; address: string }[] }
      | { type: 'stop' }
      | { type: 'generate' }
    if (message.type === 'peers' && member === undefined) {
      const addresses = new Map(message.peers.map((p) => [p.peerId, p.address]))
      const self = libp2p.peerId.toString()
      const messengerOn = (protocol: string) =>
        createMessenger({
          transport: libp2pMessageTransport({
            libp2p,
            protocol,
            addressOf: (peer) => addresses.get(peer) ?? peer,
          }),
          codec: CONSENSUS_FRAMES,
          peers: message.peers.map((p) => p.peerId).filter((p) => p !== self),
          queueLimit: BENCH_QUEUE_LIMIT,
          // A killed member is redialled; its peers should notice it back soon, not in 10 s.
          backoff: { initialMs: 100, maxMs: 1_000 },
          onPeerError: (peer, error) => process.stderr.write(`bad frame from ${peer}: ${error}\n`),
        })
      const messenger = messengerOn(CONSENSUS_PROTOCOL)
      const batchMessenger = job.oneStream ? undefined : messengerOn(BENCH_BATCH_PROTOCOL)
      await Promise.all([messenger.start(), batchMessenger?.start()])
      stopMessenger = async () => {
        await Promise.all([messenger.stop(), batchMessenger?.stop()])
      }
      member = new BenchMember({
        member: job.member,
        size: job.size,
        ratePerSecond: job.ratePerSecond,
        messenger,
        ...(batchMessenger === undefined ? {} : { batchMessenger }),
        peerIds: message.peers.map((p) => p.peerId),
        recordSequence: job.recordSequence ?? false,
        ...(job.batchDelayMs === undefined ? {} : { batchDelayMs: job.batchDelayMs }),
        ...(job.maxHeaderDelayMs === undefined ? {} : { maxHeaderDelayMs: job.maxHeaderDelayMs }),
        ...(job.signatures === undefined ? {} : { signatures: job.signatures }),
        ...(job.maxBatchBytes === undefined ? {} : { maxBatchBytes: job.maxBatchBytes }),
        onReport: (report) => say({ type: 'report', ...report }),
      })
      member.start({ generate: job.generate !== false })
    } else if (message.type === 'generate') {
      member?.generate()
    } else if (message.type === 'stop') {
      member?.stop()
      say({ type: 'stopped', sequence: member?.sequence ?? [] })
      break
    }
  }
  lines.close()
  await stopMessenger?.().catch(() => {})
  await Promise.resolve()
    .then(() => libp2p.stop())
    .catch(() => {})
  process.exit(0)
}

main().catch((error) => {
  process.stderr.write(`consensus-bench-node: ${(error as Error).stack ?? error}\n`)
  process.exit(1)
})
