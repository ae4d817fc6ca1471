/**
 * What ordering reads of the latest state, through any `ChainExecutor`'s `get` (not the
 * StateExecutor's own readers), so that the solo orderer and a later committee orderer read
 * alike: the chain's metadata, a sender's nonce, a node's address, a committee, a parameter, a
 * settled claim.
 */

import { StateError } from '../state/errors.ts'
import type {
  ChainExecutor,
  ChainMetadata,
  CommitteeEntry,
  ProtocolParam,
  Sender,
} from '../state/model.ts'
import { decodeEntry, METADATA_KEY, tableKeys } from '../state/tables.ts'

type Reader = Pick<ChainExecutor, 'get'>

export async function readMetadata(executor: Reader): Promise<ChainMetadata> {
  const bytes = await executor.get('metadata', METADATA_KEY)
  // Every executor writes the metadata at genesis: its absence is a broken store.
  if (bytes === undefined)
    throw new StateError('STATE_CORRUPT', 'the state holds no chain metadata')
  return decodeEntry('metadata', bytes)
}

/** The sender's nonce in the latest state: 0 for an account or node without an entry. */
export async function readNonce(executor: Reader, sender: Sender): Promise<number> {
  if (sender.kind === 'account') {
    const bytes = await executor.get('accounts', sender.address)
    return bytes === undefined ? 0 : decodeEntry('accounts', bytes).nonce
  }
  const bytes = await executor.get('nodes', sender.key)
  return bytes === undefined ? 0 : decodeEntry('nodes', bytes).nonce
}

/** The node registry's first address of `key` (where nodes dial it); undefined without one. */
export async function readNodeAddress(
  executor: Reader,
  key: Uint8Array,
): Promise<string | undefined> {
  const bytes = await executor.get('nodes', key)
  return bytes === undefined ? undefined : decodeEntry('nodes', bytes).addresses[0]
}

export async function readCommittee(
  executor: Reader,
  epoch: number,
): Promise<CommitteeEntry | undefined> {
  const bytes = await executor.get('committees', tableKeys.committee(epoch))
  return bytes === undefined ? undefined : decodeEntry('committees', bytes)
}

export async function readParam(
  executor: Reader,
  name: ProtocolParam,
): Promise<bigint | undefined> {
  const bytes = await executor.get('params', tableKeys.param(name))
  return bytes === undefined ? undefined : decodeEntry('params', bytes).value
}

/** Units settled so far for (client key, session, seq) by `node`: 0 when none. */
export async function readSettledIndex(
  executor: Reader,
  clientKey: Uint8Array,
  session: bigint,
  seq: number,
  node: Uint8Array,
): Promise<number> {
  const bytes = await executor.get('settled', tableKeys.settled(clientKey, session, seq, node))
  return bytes === undefined ? 0 : decodeEntry('settled', bytes).index
}
