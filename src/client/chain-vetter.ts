/**
 * Which nodes a client may talk to when it verifies the chain (`ClientOptions.chain`): a node
 * is used only once the light client (src/light) proved, at its verified head, that the node's
 * key, the Ed25519 key its peer id carries, is staked and active in the head's epoch. Serving
 * correct bytes is not enough: an unstaked node earns nothing and answers to nobody, so it is
 * refused before it is dialled (CLIENT_NOT_STAKED), whatever it would serve.
 *
 *   const vetter = lightNodeVetter(new LightSync(client, sources, { store }))
 *   await vetter.check(peerId)   // { staked: true, reputation, epoch, height } or a NodeFailureError
 *
 * Answers are cached per peer per head epoch: who is staked and active, and the reputation
 * (computed at epoch changes), hold for an epoch. The vetter syncs the light client on its
 * first check, and again in the background when the last sync is older than `resyncMs`; a
 * head of a new epoch makes every node be vetted again. A node whose record cannot be proven
 * (no gateway answers, every proof forged) is CLIENT_CHAIN_UNVERIFIED: not refused for good,
 * asked again on the next check.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { CheckpointError } from '../checkpoint/errors.ts'
import type { KvStore } from '../kv/kv-store.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { LightError } from '../light/errors.ts'
import type { LightNodeRecord } from '../light/light-queries.ts'
import {
  httpLightSource,
  type LightProgress,
  LightSync,
  type LightSyncResult,
} from '../light/light-sync.ts'
import { openTrustedLightClient, type TrustedCheckpointJson } from '../light/trusted-checkpoint.ts'
import { parseGenesis } from '../state/genesis.ts'
import type { Genesis } from '../state/model.ts'
import { NodeFailureError } from './errors.ts'

/** A node the light client proved staked and active at its head. */
export interface NodeVetting {
  readonly staked: true
  /** Its reputation score (0..100) at the head; undefined when it has none yet. */
  readonly reputation: number | undefined
  /** The verified head the proof is at. */
  readonly epoch: number
  readonly height: number
}

/**
 * Says whether the client may use a node. `check` resolves for a node proven staked and
 * active at the verified head, and throws a NodeFailureError otherwise: CLIENT_NOT_STAKED
 * (proven not staked or not active, or a peer id that carries no Ed25519 key), or
 * CLIENT_CHAIN_UNVERIFIED (no proof either way could be had). An aborted `signal` ends it
 * with the signal's reason.
 */
export interface NodeVetter {
  check(peer: string, signal?: AbortSignal): Promise<NodeVetting>
}

/**
 * The chain a client verifies nodes against (`ClientOptions.chain`).
 *
 * With `verifyChain` (the default once `genesis` or `vetter` is given) the client talks only to
 * nodes the light client proves staked and active in the current epoch: every node, bootstrap
 * or discovered, is vetted before it is dialled (pinged, asked for holders, or fetched from); a
 * refused one is never sent a request, shows its refusal in `NodeStatus.lastFailure`, and is
 * listed with its code in a fetch's `FetchError.failures` when no node is left. Vetted nodes are
 * ordered by verified reputation first (higher first; none counts as 0), then by the client's
 * `order` (measured latency by default); a node that failed recently still goes to the back,
 * and a refused one behind all.
 */
export interface ClientChainOptions {
  /**
   * The chain's genesis: a parsed Genesis or the genesis file's JSON text. It is all the
   * light client trusts; every checkpoint after it is verified.
   */
  readonly genesis?: Genesis | string
  /** Nodes' HTTP gateways (`http://host:port`) the light client syncs from and asks proofs of. */
  readonly gateways?: readonly string[]
  /** Vet nodes (default: true when `genesis` or `vetter` is given). `false` turns it off. */
  readonly verifyChain?: boolean
  /**
   * Vet with this instead of a light client made from `genesis` and `gateways` (a light client
   * kept elsewhere, a test). Takes precedence over them.
   */
  readonly vetter?: NodeVetter
  /**
   * Start the light client at this handoff instead of genesis (`trusted-checkpoint.ts`: one item
   * of `GET /chain/checkpoints`, from a source the dapp trusts): on an old chain, the first sync
   * walks from there, not from genesis. It must be of `genesis`'s chain.
   */
  readonly checkpoint?: string | TrustedCheckpointJson
  /** Where the light client keeps its verified head (default: memory, from genesis each time). */
  readonly store?: KvStore
  /** Sync the light client again when its last sync is older than this (default 60 s). */
  readonly resyncMs?: number
  /** Called after each step of a light sync that moved the head. */
  readonly onSync?: (progress: LightProgress) => void
}

/** The key a peer id carries: a node key, when the peer id is an Ed25519 one. */
export function nodeKeyOfPeer(peer: string): Uint8Array | undefined {
  try {
    const id = peerIdFromString(peer)
    return id.type === 'Ed25519' ? id.publicKey.raw : undefined
  } catch {
    return undefined
  }
}

/**
 * A node key from what a person or a page gives: a peer id, or the key in hex (64 digits).
 * Undefined when it is neither.
 */
export function nodeKeyOf(peerIdOrKeyHex: string): Uint8Array | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(peerIdOrKeyHex)) return hexToBytes(peerIdOrKeyHex.toLowerCase())
  return nodeKeyOfPeer(peerIdOrKeyHex)
}

/** What the light-client vetter needs: LightSync, or a light client in another thread. */
export interface VettingLight {
  sync(signal?: AbortSignal): Promise<Pick<LightSyncResult, 'epoch' | 'height'>>
  nodeRecord(nodeKey: Uint8Array, signal?: AbortSignal): Promise<LightNodeRecord>
}

export interface LightVetterOptions {
  /** Sync again when the last sync is older than this (default 60 s). */
  readonly resyncMs?: number
  /** Start the first sync now rather than on the first check (default true). */
  readonly eager?: boolean
}

const notStaked = (peer: string, why: string, details: Record<string, unknown>) =>
  new NodeFailureError('CLIENT_NOT_STAKED', `node ${peer} is refused: ${why}`, {
    details: { peer, ...details },
  })

/** Why the chain could not vouch for a node, as CLIENT_CHAIN_UNVERIFIED (the cause's code kept). */
function unverified(peer: string, cause: unknown): NodeFailureError {
  const code =
    cause instanceof LightError || cause instanceof CheckpointError ? cause.code : undefined
  const failures = (cause as { details?: { failures?: unknown } })?.details?.failures
  return new NodeFailureError(
    'CLIENT_CHAIN_UNVERIFIED',
    `node ${peer} could not be vetted: ${(cause as Error)?.message ?? String(cause)}`,
    {
      cause,
      details: {
        peer,
        ...(code === undefined ? {} : { code }),
        ...(failures === undefined ? {} : { failures }),
      },
    },
  )
}

/**
 * A vetter over a light client (see the top). The first sync is awaited by every check;
 * later ones run in the background (a check in the meantime answers from the head it has), and
 * a failed one keeps the head verified before.
 */
export function lightNodeVetter(
  light: VettingLight,
  options: LightVetterOptions = {},
): NodeVetter & { readonly epoch: number | undefined } {
  const resyncMs = options.resyncMs ?? 60_000
  let epoch: number | undefined
  let syncedAt = Number.NEGATIVE_INFINITY
  let syncing: Promise<void> | undefined
  // Per peer: the head epoch it was vetted at and the answer (a refusal too, as a rejection).
  const cache = new Map<string, { epoch: number; answer: Promise<NodeVetting> }>()

  const sync = (): Promise<void> => {
    syncing ??= light
      .sync()
      .then((head) => {
        epoch = head.epoch
        syncedAt = Date.now()
      })
      .finally(() => {
        syncing = undefined
      })
    return syncing
  }

  const record = async (peer: string, at: number, signal?: AbortSignal) => {
    const nodeKey = nodeKeyOfPeer(peer)
    if (nodeKey === undefined) {
      throw notStaked(peer, 'its peer id carries no Ed25519 node key', { epoch: at })
    }
    let r: LightNodeRecord
    try {
      r = await light.nodeRecord(nodeKey, signal)
    } catch (e) {
      signal?.throwIfAborted()
      throw unverified(peer, e)
    }
    if (!r.staked) {
      const why = !r.registered
        ? 'not a registered node'
        : !r.active
          ? `not active in epoch ${r.epoch}`
          : `staked ${r.stake}, under the minimum ${r.minimumStake}`
      throw notStaked(peer, `${why} (verified at height ${r.height})`, {
        nodeKey: bytesToHex(nodeKey),
        epoch: r.epoch,
        height: r.height,
        registered: r.registered,
        active: r.active,
      })
    }
    return {
      staked: true,
      reputation: r.reputation?.score,
      epoch: r.epoch,
      height: r.height,
    } as const
  }

  if (options.eager !== false) sync().catch(() => {})

  return {
    get epoch() {
      return epoch
    },
    async check(peer, signal) {
      signal?.throwIfAborted()
      if (epoch === undefined) {
        try {
          await sync()
        } catch (e) {
          signal?.throwIfAborted()
          throw unverified(peer, e)
        }
      } else if (Date.now() - syncedAt >= resyncMs) {
        // The head in hand answers meanwhile; a new epoch's head re-vets from then on.
        sync().catch(() => {})
      }
      const at = epoch as number
      const cached = cache.get(peer)
      if (cached !== undefined && cached.epoch === at) return cached.answer
      const answer = record(peer, at, signal)
      cache.set(peer, { epoch: at, answer })
      // Only proofs are kept: a failure to get one (or an abort) is asked again next time.
      answer.catch((e: unknown) => {
        const refused = e instanceof NodeFailureError && e.code === 'CLIENT_NOT_STAKED'
        if (!refused && cache.get(peer)?.answer === answer) cache.delete(peer)
      })
      return answer
    },
  }
}

/**
 * The vetter `chain` asks for, or undefined when it asks for none. A light client made from
 * `genesis` (restored from `store` when it holds its head) syncing from `gateways`.
 * ClientOptionsError-free: `checkChainOptions` ran before.
 */
export async function chainVetterOf(
  chain: ClientChainOptions | undefined,
): Promise<NodeVetter | undefined> {
  if (chain === undefined) return undefined
  const verify = chain.verifyChain ?? (chain.genesis !== undefined || chain.vetter !== undefined)
  if (!verify) return undefined
  if (chain.vetter !== undefined) return chain.vetter
  const genesis =
    typeof chain.genesis === 'string' ? parseGenesis(chain.genesis) : (chain.genesis as Genesis)
  const store = chain.store ?? new MemoryKvStore()
  const client = await openTrustedLightClient(store, genesis, chain.checkpoint)
  const sources = (chain.gateways ?? []).map((url) => httpLightSource(url))
  const light = new LightSync(client, sources, {
    store,
    ...(chain.onSync === undefined ? {} : { onProgress: chain.onSync }),
  })
  return lightNodeVetter(light, chain.resyncMs === undefined ? {} : { resyncMs: chain.resyncMs })
}
