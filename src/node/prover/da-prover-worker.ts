/**
 * The DA batch prover's worker thread (worker-prover.ts starts it): checks the claims, computes
 * the witness and the Groth16 proof with snarkjs, one request at a time, so that the thread that
 * serves content never proves. The wasm and zkey bytes stay in memory between proofs (shared
 * with the main thread, which checked their SHA-256).
 */
import { createRequire } from 'node:module'
import { constants, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import type { CircuitSignals } from 'snarkjs'
import { provenBatch, proverInput } from '../../prover/da-batch-prover.ts'
import type { ProveRequest, ProverWorkerData, ProverWorkerMessage } from './protocol.ts'
import { proverErrors } from './protocol.ts'

const port = parentPort
if (port === null) throw new Error('da-prover-worker runs in a worker thread')
const { slots, wasm, zkey, singleThread } = workerData as ProverWorkerData

/**
 * snarkjs's field library (ffjavascript) imports the `web-worker` package, which decides once,
 * when loaded, whether this is a thread it spawned itself: any thread but the main one counts.
 * In one it did not spawn it replaces the global's prototype, `require`s the module named in
 * workerData (none: a TypeError on stderr) and exports no Worker (ffjavascript's multi-thread
 * mode then throws "Worker is not a constructor"). It reads `isMainThread` at that moment only:
 * claiming the main thread while snarkjs loads leaves this thread as it is. The threads
 * web-worker spawns later get their own workerData and behave as it expects.
 */
const threads = createRequire(import.meta.url)('node:worker_threads') as { isMainThread: boolean }
threads.isMainThread = true
let snarkjs: typeof import('snarkjs')
try {
  snarkjs = await import('snarkjs')
} finally {
  threads.isMainThread = false
}

/**
 * Proving yields to serving: on Linux a nice value is a thread's own (setpriority with who = 0
 * sets the calling thread), so this thread alone drops to the lowest priority; elsewhere the
 * call would renice the whole node, so it is left. Measured (bench --only snark, nice 19 on this
 * thread): the gateway kept 1.09× (raw) and 1.27× (frames) of its idle rate while proving,
 * against 0.88× and 0.76× at the default priority, and a proof took 0.95× as long.
 */
if (process.platform === 'linux') {
  try {
    setPriority(constants.priority.PRIORITY_LOW)
  } catch {
    // Not allowed here (a sandbox): proving still works at the default priority.
  }
}

const post = (message: ProverWorkerMessage) => port.postMessage(message)

async function prove(request: ProveRequest): Promise<void> {
  const t0 = performance.now()
  try {
    const input = proverInput(request.claims, slots)
    const wtns: { type: 'mem'; data?: Uint8Array } = { type: 'mem' }
    // Decimal strings in arrays: what snarkjs takes, not what its types spell out.
    await snarkjs.wtns.calculate(input as unknown as CircuitSignals, wasm, wtns)
    if (wtns.data === undefined) throw new Error('snarkjs wrote no witness')
    const output = await snarkjs.groth16.prove(zkey, wtns.data, undefined, { singleThread })
    post({
      type: 'proved',
      id: request.id,
      batch: provenBatch(request.claims, output, Math.round(performance.now() - t0)),
    })
  } catch (error) {
    post({ type: 'failed', id: request.id, error: proverErrors.toData(error) })
  }
}

// One at a time: the main thread sends the next request only after this one's answer.
port.on('message', (request: ProveRequest) => {
  if (request.type === 'prove') void prove(request)
})
post({ type: 'ready' })
