/**
 * What a HELLO signs. Binding the node's fresh nonce, the service, the retry target and the
 * node's peer id makes a signature good for one handshake only: replayed on another stream
 * (another nonce) or to another node (another peer id), it fails.
 */
import { messageOf } from '../crypto/message.ts'
import { NONCE_LEN } from '../wire/handshake-frames.ts'

export const HANDSHAKE_CONTEXT = 'fulmen handshake v1'

export interface HandshakeBinding {
  /** CHALLENGE's nonce (32 bytes). */
  readonly nonce: Uint8Array
  readonly service: number
  /** 0n for a new session, else the session the stream replaces. */
  readonly retry: bigint
  /** The node's peer id in binary (multihash) form. */
  readonly nodePeerId: Uint8Array
}

/** The field element a HELLO signs: `messageOf(context, nonce ‖ service:u32be ‖ retry:u64be ‖ nodePeerId)`. */
export function handshakeMessage(binding: HandshakeBinding): bigint {
  const { nonce, service, retry, nodePeerId } = binding
  if (nonce.length !== NONCE_LEN) throw new RangeError(`nonce must be ${NONCE_LEN} bytes`)
  if (!Number.isInteger(service) || service < 0 || service > 0xffffffff) {
    throw new RangeError(`service must be a u32, got ${service}`)
  }
  if (retry < 0n || retry > 0xffffffffffffffffn) throw new RangeError(`retry must be a u64`)
  const bytes = new Uint8Array(NONCE_LEN + 4 + 8 + nodePeerId.length)
  const view = new DataView(bytes.buffer)
  bytes.set(nonce)
  view.setUint32(NONCE_LEN, service)
  view.setBigUint64(NONCE_LEN + 4, retry)
  bytes.set(nodePeerId, NONCE_LEN + 12)
  return messageOf(HANDSHAKE_CONTEXT, bytes)
}
