/**
 * The browser client's worker: libp2p, the handshake's signature, BLAKE3 verification and
 * acknowledgement signing run here, off the page's main thread
 * (src/browser/client-worker-service.ts); the page (src/browser/client.ts) gets verified bytes
 * as a transferred stream.
 */
import * as Comlink from 'comlink'
import { createClientWorkerService } from '../src/browser/client-worker-service.ts'
import { installThreadErrors } from '../src/browser/thread-errors.ts'

installThreadErrors()
Comlink.expose(createClientWorkerService(), self as unknown as Comlink.Endpoint)
