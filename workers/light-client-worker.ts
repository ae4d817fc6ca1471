/**
 * The browser light client's worker: the checkpoint walk (BLS pairings), state proofs and the
 * check of settlements' DA batch proofs (Groth16) run here, off the page's main thread
 * (src/browser/light/light-worker-service.ts); the page side is src/browser/light/light.ts
 * (`fulmen/light`).
 */
import * as Comlink from 'comlink'
import { createLightWorkerService } from '../src/browser/light/light-worker-service.ts'
import { installThreadErrors } from '../src/browser/thread-errors.ts'

installThreadErrors()
Comlink.expose(createLightWorkerService(), self as unknown as Comlink.Endpoint)
