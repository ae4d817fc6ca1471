/**
 * What the light client answers from verified entries (no I/O): a node's record as the CDN
 * client needs it (staked and active in the head's epoch, its addresses, its reputation), and
 * the state keys those answers are proven from. light-sync.ts fetches and verifies the entries
 * and composes them here.
 */

import { bytesToHex } from '@noble/hashes/utils.js'
import type {
  CommitteeEntry,
  NodeEntry,
  Participation,
  ProtocolParam,
  TableName,
} from '../state/model.ts'
import type { ReputationEntry } from '../state/tables.ts'
import { tableKeys } from '../state/tables.ts'

/** A node as the verified state at the head says it is. */
export interface LightNodeRecord {
  /** The node's Ed25519 public key (its libp2p peer id derives from it). */
  readonly nodeKey: Uint8Array
  /** The head's epoch and height the record was proven at. */
  readonly epoch: number
  readonly height: number
  /** Has a nodes/<key> entry. */
  readonly registered: boolean
  /** Staked at least the minimum (and more than zero) and active in the head's epoch. */
  readonly staked: boolean
  /** In committees/<epoch>.activeNodes: may serve and earn this epoch. */
  readonly active: boolean
  /** In the epoch's committee (orders and signs checkpoints). */
  readonly member: boolean
  readonly stake: bigint
  /** The `minimumNodeStake` parameter, in base units. */
  readonly minimumStake: bigint
  readonly participation: Participation | undefined
  /** The node's multiaddrs, as it registered them. */
  readonly addresses: readonly string[]
  readonly blsKey: Uint8Array | undefined
  /** reputation/<key>: score 0..100 and the epoch it was computed at; undefined when none. */
  readonly reputation: ReputationEntry | undefined
}

/** The state entries a node's record is proven from. */
export function nodeRecordKeys(
  nodeKey: Uint8Array,
  epoch: number,
): readonly { readonly table: TableName; readonly key: Uint8Array }[] {
  return [
    { table: 'committees', key: tableKeys.committee(epoch) },
    { table: 'nodes', key: nodeKey },
    { table: 'reputation', key: nodeKey },
    { table: 'params', key: tableKeys.param('minimumNodeStake' satisfies ProtocolParam) },
  ]
}

const has = (keys: readonly Uint8Array[], key: Uint8Array) => {
  const hex = bytesToHex(key)
  return keys.some((k) => bytesToHex(k) === hex)
}

/**
 * The record from the proven entries (each undefined when proven absent). `minimumNodeStake`
 * is in base units, as the parameter is; an absent parameter is zero, and a stake of zero is
 * never "staked".
 */
export function nodeRecordOf(
  nodeKey: Uint8Array,
  at: { readonly epoch: number; readonly height: number },
  entries: {
    readonly committee: CommitteeEntry | undefined
    readonly node: NodeEntry | undefined
    readonly reputation: ReputationEntry | undefined
    readonly minimumNodeStake: bigint | undefined
  },
): LightNodeRecord {
  const { committee, node, reputation } = entries
  const minimumStake = entries.minimumNodeStake ?? 0n
  const stake = node?.staked ?? 0n
  const active = committee !== undefined && has(committee.activeNodes, nodeKey)
  return {
    nodeKey,
    epoch: at.epoch,
    height: at.height,
    registered: node !== undefined,
    staked: node !== undefined && stake > 0n && stake >= minimumStake && active,
    active,
    member: committee !== undefined && has(committee.members, nodeKey),
    stake,
    minimumStake,
    participation: node?.participation,
    addresses: node?.addresses ?? [],
    blsKey: node?.blsKey,
    reputation,
  }
}
