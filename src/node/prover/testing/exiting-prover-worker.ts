/**
 * The prover's worker (da-prover-worker.ts) with one fault for tests: asked to prove a batch of
 * exactly three claims, the thread exits with code 7 mid-request, as a crash would end it.
 */
import { parentPort } from 'node:worker_threads'
import '../da-prover-worker.ts'

const EXIT_CLAIMS = 3
const EXIT_CODE = 7

parentPort?.on('message', (request: { type: string; claims?: readonly unknown[] }) => {
  if (request.type === 'prove' && request.claims?.length === EXIT_CLAIMS) process.exit(EXIT_CODE)
})
