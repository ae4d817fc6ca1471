/**
 * The CDN as a service of the session host (service 0): per session an acknowledgement ledger
 * for the node's window; the window and the acknowledgement unit (a block) greet the client in
 * SESSION; each stream is served by `serve`, which is `serveCdnStream` over the node's content,
 * or a test double's own loop (the lying node of src/devnet).
 */
import { AckLedger } from '../../acks/ledger.ts'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { CDN_CODEC, type CdnFrame, encodeCdnGreeting } from '../../wire/cdn-frames.ts'
import type { Service } from '../service.ts'
import { CDN_SERVICE } from '../service-ids.ts'
import type { CdnSessionState, CdnStream } from './cdn-server.ts'

export interface CdnServiceOptions {
  /** This node's Ed25519 public key (raw, 32 bytes): commitments must name it. */
  readonly nodeKey: Uint8Array
  /** W: blocks a session may run ahead of its last acknowledgement. */
  readonly ackWindow: number
  /** Serves one stream of the service until it ends or `signal` aborts. */
  readonly serve: (stream: CdnStream, signal: AbortSignal) => Promise<void>
}

export function cdnService(options: CdnServiceOptions): Service<CdnSessionState, CdnFrame> {
  const greeting = encodeCdnGreeting({ ackWindow: options.ackWindow, unit: TREE_BLOCK_LEN })
  return {
    id: CDN_SERVICE,
    name: 'cdn',
    codec: CDN_CODEC['to-node'],
    createState: (info) => ({
      ledger: new AckLedger({
        nodeKey: options.nodeKey,
        session: info.id,
        epoch: info.epoch,
        clientKey: info.clientKey,
        service: info.service,
        window: options.ackWindow,
      }),
    }),
    greeting: () => greeting,
    serve: options.serve,
  }
}
