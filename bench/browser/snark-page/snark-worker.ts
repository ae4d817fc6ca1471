/**
 * Dedicated worker of the snark page: checks the proofs with the noble kernel (what browsers
 * run) and measures with wall time (a worker has no CPU clock).
 */
import { nobleGroth16Kernel } from '../../../src/acks/groth16.ts'
import { measureSnarkVerify, type SnarkVerifyConfig } from '../../snark-verify.ts'

const scope = globalThis as unknown as {
  postMessage(message: unknown): void
  addEventListener(
    type: 'message',
    listener: (event: MessageEvent<SnarkVerifyConfig>) => void,
  ): void
}

scope.addEventListener('message', (event) => {
  try {
    scope.postMessage(measureSnarkVerify(event.data, nobleGroth16Kernel, () => performance.now()))
  } catch (e) {
    scope.postMessage({ error: (e as Error).stack ?? String(e) })
  }
})
