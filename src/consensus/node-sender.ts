/**
 * The node's own transactions (epoch change, beacon, DA claims): built, signed with the node's
 * Ed25519 key and submitted to the orderer one at a time, so that two duties sending at once
 * (the epoch duty and the claim settler) do not pick the same nonce.
 */
import type { Digest, Method, NodeKey, Sender } from '../state/model.ts'
import { encodeTransaction, nodeKeyOfSeed, signNodeTransaction } from '../state/transaction.ts'
import { ConsensusError } from './errors.ts'
import type { Orderer } from './orderer.ts'

export interface NodeSender {
  readonly key: NodeKey
  /** Signs `method` with the node's next nonce and submits it; resolves with its digest. */
  send(method: Method, signal?: AbortSignal): Promise<Digest>
}

export function createNodeSender(
  orderer: Pick<Orderer, 'head' | 'submit' | 'nextNonce'>,
  nodeSeed: Uint8Array,
): NodeSender {
  const key = nodeKeyOfSeed(nodeSeed)
  const sender: Sender = { kind: 'node', key }
  let queue: Promise<unknown> = Promise.resolve()

  const sendNow = async (method: Method, signal?: AbortSignal): Promise<Digest> => {
    // A second sender over the same key (another part of the node) may have taken the nonce
    // between the read and the submit: read it again, once.
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted()
      const nonce = await orderer.nextNonce(sender)
      const tx = signNodeTransaction(
        { chainId: orderer.head.chainId, sender, nonce, method },
        nodeSeed,
      )
      try {
        return await orderer.submit(encodeTransaction(tx), signal === undefined ? {} : { signal })
      } catch (e) {
        const raced =
          e instanceof ConsensusError && (e.code === 'MEMPOOL_DUPLICATE' || e.code === 'TX_NONCE')
        if (!raced || attempt > 0) throw e
      }
    }
  }

  return {
    key,
    send(method, signal) {
      const sent = queue.then(() => sendNow(method, signal))
      queue = sent.catch(() => {})
      return sent
    },
  }
}
