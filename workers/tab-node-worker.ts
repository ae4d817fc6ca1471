/**
 * A tab node's worker: the block store, the handshake, the CDN service, acknowledgement
 * checks and the DA pool run here (src/browser/node/tab-node-service.ts); the window keeps
 * only libp2p, because browsers give RTCPeerConnection to windows alone.
 */
import * as Comlink from 'comlink'
import { createTabNodeService } from '../src/browser/node/tab-node-service.ts'
import { installThreadErrors } from '../src/browser/thread-errors.ts'

installThreadErrors()
Comlink.expose(createTabNodeService(), self as unknown as Comlink.Endpoint)
