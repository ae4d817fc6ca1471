/**
 * A trusted checkpoint: where a light client starts instead of genesis on an old chain (the
 * issue's "from a trusted genesis (or a trusted checkpoint)", Ethereum's weak-subjectivity
 * checkpoint). It is one item of what `GET /chain/checkpoints` serves, a handoff with the keys
 * of the committee it binds, taken from a source the dapp trusts (its own release, its own
 * node):
 *
 *   { "checkpoint": "<hex of the signed checkpoint>", "committee": ["<hex BLS key>", …] }
 *
 * Its signature is not checked (it is trusted as given); its committee must be the one its body
 * binds, and every checkpoint after it is verified as after genesis.
 */
import type { CheckpointAnchor } from '../checkpoint/checkpoint-chain.ts'
import { trustedAnchor } from '../checkpoint/checkpoint-chain.ts'
import { checkpointRunFromJson } from '../checkpoint/checkpoint-codec.ts'
import { CheckpointError } from '../checkpoint/errors.ts'
import { genesisAnchor } from '../checkpoint/genesis-anchor.ts'
import type { KvStore } from '../kv/kv-store.ts'
import type { Genesis } from '../state/model.ts'
import { LightError } from './errors.ts'
import { LightClient } from './light-client.ts'
import { openLightClient } from './light-head-store.ts'

/** One served handoff as JSON: what `GET /chain/checkpoints` lists. */
export interface TrustedCheckpointJson {
  readonly checkpoint: string
  readonly committee: readonly string[]
}

/**
 * The anchor a trusted checkpoint gives (its JSON text or value). CHECKPOINT_MALFORMED for
 * anything that is not one served handoff with its committee, CHECKPOINT_WRONG_COMMITTEE when
 * the keys are not the ones it binds, CHECKPOINT_WRONG_CHAIN when `chainId` is given and it is
 * another chain's.
 */
export function trustedCheckpointAnchor(
  json: string | TrustedCheckpointJson,
  chainId?: number,
): CheckpointAnchor {
  let value: unknown = json
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json)
    } catch (e) {
      throw new CheckpointError('CHECKPOINT_MALFORMED', 'the trusted checkpoint is not JSON', {
        cause: e,
      })
    }
  }
  const [item] = checkpointRunFromJson({ checkpoints: [value] })
  if (item?.committee === undefined) {
    throw new CheckpointError(
      'CHECKPOINT_MALFORMED',
      'the trusted checkpoint has no committee: only a handoff (an epoch change) can start a walk',
    )
  }
  const anchor = trustedAnchor(item.checkpoint.body, item.committee)
  if (chainId !== undefined && anchor.body.chainId !== chainId) {
    throw new CheckpointError(
      'CHECKPOINT_WRONG_CHAIN',
      `the trusted checkpoint is of chain ${anchor.body.chainId}, the genesis of chain ${chainId}`,
    )
  }
  return anchor
}

/**
 * The light client of `genesis`'s chain that `store` holds for the trust root (the trusted
 * `checkpoint` when given, else genesis), or a new one at that root. A head stored from another
 * root (an older trusted checkpoint of a previous release) is set aside: the one configured now
 * is the root, and the next save replaces it.
 */
export async function openTrustedLightClient(
  store: KvStore,
  genesis: Genesis,
  checkpoint?: string | TrustedCheckpointJson,
): Promise<LightClient> {
  if (checkpoint === undefined) return openLightClient(store, await genesisAnchor(genesis))
  const anchor = trustedCheckpointAnchor(checkpoint, genesis.chainId)
  try {
    return await openLightClient(store, anchor)
  } catch (e) {
    if (!(e instanceof LightError && e.code === 'LIGHT_STORE_OTHER_CHAIN')) throw e
    return LightClient.fromGenesis(anchor)
  }
}
