/**
 * The snark section's serving node (bench/node/snark.ts): a real full node (`startFullNode`,
 * the one `fulmen node start` runs) and, in the same process, the node's DA batch prover
 * (`createWorkerDaBatchProver`: snarkjs in one worker thread), which proves one batch of claims
 * over and over while told to. The parent loads the node's gateway from a client process and
 * compares the throughput with the prover idle and busy.
 *
 *   node bench/node/snark-node.ts '<json: { dataDir, batch: [{ commitment, signature }] (hex) }>'
 *
 * stdout, one JSON line each: `{ "url" }` once the node serves and the prover has started;
 * after `prove` on stdin, `{ "proving": true }`; after `idle`, once the proof in flight is done,
 * `{ "proofs", "proveMs": [...] }` (the proofs finished since `prove`). `nice` lowers the prover
 * thread's scheduling priority to nice 19 (Linux: `setpriority` on its thread id, found by the
 * thread's name in /proc/self/task) and answers `{ "niced": [tids] }`. `exit` stops both.
 */
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { createInterface } from 'node:readline'
import { hexToBytes } from '@noble/hashes/utils.js'
import type { SignedCommitment } from '../../src/acks/batch-binding.ts'
import { loadConfig } from '../../src/node/config.ts'
import { startFullNode } from '../../src/node/full-node.ts'
import { createWorkerDaBatchProver } from '../../src/node/prover/worker-prover.ts'

interface Job {
  readonly dataDir: string
  readonly batch: readonly { readonly commitment: string; readonly signature: string }[]
}

const job = JSON.parse(process.argv[2] ?? '') as Job
const batch: SignedCommitment[] = job.batch.map((c) => ({
  commitment: hexToBytes(c.commitment),
  signature: hexToBytes(c.signature),
}))
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`)

const config = await loadConfig({
  flags: { dataDir: job.dataDir, httpPort: 0, wsPort: 0, webrtcPort: 0, logLevel: 'warn' },
})
const node = await startFullNode(config)
const prover = createWorkerDaBatchProver({ logger: node.logger })
await prover.start()
// One proof before the parent measures anything: the worker's first is slower (snarkjs warms).
await prover.prove(batch)
say({ url: node.httpUrl })

let proving = false
let loop: Promise<void> = Promise.resolve()
let proveMs: number[] = []

async function proveBackToBack(): Promise<void> {
  while (proving) proveMs.push((await prover.prove(batch)).proveMs)
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'prove' && !proving) {
    proving = true
    proveMs = []
    loop = proveBackToBack()
    say({ proving: true })
  } else if (line === 'idle') {
    proving = false
    await loop
    say({ proofs: proveMs.length, proveMs })
  } else if (line === 'nice') {
    // The Worker's name is its thread's (cut to 15 characters by the kernel).
    const tids = readdirSync('/proc/self/task').filter((tid) =>
      readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').startsWith('fulmen-da-prove'),
    )
    for (const tid of tids) os.setPriority(Number(tid), 19)
    say({ niced: tids })
  } else if (line === 'exit') {
    break
  }
}
proving = false
await loop
await prover.stop()
await node.stop('bench done')
process.exit(0)
