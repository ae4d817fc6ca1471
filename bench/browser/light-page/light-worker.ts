/** Dedicated worker of the light page: measures with wall time (a worker has no CPU clock). */
import { type LightBenchConfig, measureLight } from '../../light-verify.ts'

const scope = globalThis as unknown as {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent<LightBenchConfig>) => void): void
}

scope.addEventListener('message', (event) => {
  try {
    scope.postMessage(measureLight(event.data, () => performance.now()))
  } catch (e) {
    scope.postMessage({ error: (e as Error).stack ?? String(e) })
  }
})
