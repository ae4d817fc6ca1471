/**
 * The epoch change (Lightning's `epoch_change.rs`; DESIGN.md "Application state"), run inside
 * the block whose beacon reveal (or reveal timeout) completes it. In order: the beacon seed from
 * the reveals, reputation scores from the epoch's measurements (whitepaper Appendix A), rewards
 * to the epoch's active nodes (stables revenue split, FLK emissions by revenue and lock boost),
 * participation changes, the next active set and its committee (shuffled by the seed), epoch + 1.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { equalBytes } from '../core/bytes.ts'
import { beaconSeed } from './beacon.ts'
import { type BlockContext, type BlockState, EMPTY_ACCOUNT, metadataOf } from './block-state.ts'
import { compareNodeKeys, selectCommittee } from './committee-selection.ts'
import type { ChainEvent, NodeEntry } from './model.ts'
import { type ReputationReport, reputationScores } from './reputation-score.ts'
import { epochRewards, type RewardNode } from './rewards.ts'
import { METADATA_KEY, tableKeys, u64be } from './tables.ts'

const COMMODITIES = [0, 1] as const

export async function runEpochChange(
  state: BlockState,
  ctx: BlockContext,
  events: ChainEvent[],
): Promise<void> {
  const meta = await metadataOf(state)
  const epoch = meta.epoch
  const committeeKey = tableKeys.committee(epoch)
  const committee = await state.get('committees', committeeKey)
  if (committee === undefined) throw new Error(`epoch ${epoch} has no committee entry`)

  // 1. The seed: reveals in node-key order, so the order they arrived in does not matter.
  const reveals = [...committee.beaconReveals].sort((a, b) => compareNodeKeys(a.node, b.node))
  const seed = beaconSeed(reveals.map((r) => r.reveal))

  // 2. Reputation.
  const prefix = u64be(epoch)
  const reports: ReputationReport[] = []
  for (const { key, value } of await state.entries('measurements')) {
    if (!equalBytes(key.subarray(0, 8), prefix)) continue
    reports.push({ subject: key.slice(8, 40), reporter: key.slice(40, 72), measurements: value })
    state.delete('measurements', key)
  }
  const previous = new Map<string, number>()
  for (const { key, value } of await state.entries('reputation'))
    previous.set(bytesToHex(key), value.score)
  if (reports.length > 0) {
    for (const [nodeHex, score] of reputationScores(reports, previous, 1)) {
      const key = Uint8Array.from(nodeHex.match(/../g) ?? [], (b) => Number.parseInt(b, 16))
      if ((await state.get('nodes', key)) === undefined) continue
      state.put('reputation', key, { score, epoch })
    }
  }

  // 3. Rewards to the epoch's active nodes.
  const totals = (await state.get('epochTotals', tableKeys.epochTotals(epoch))) ?? {
    served: [0n, 0n],
    revenue: 0n,
  }
  const rewardNodes: RewardNode[] = []
  for (const key of committee.activeNodes) {
    const node = await state.get('nodes', key)
    if (node === undefined) continue
    let revenue = 0n
    const served: bigint[] = []
    for (const c of COMMODITIES) {
      const s = await state.get('served', tableKeys.served(key, epoch, c))
      served.push(s?.units ?? 0n)
      revenue += s?.revenue ?? 0n
    }
    rewardNodes.push({
      key,
      owner: node.owner,
      served,
      revenue,
      lockedEpochsRemaining: Math.max(0, node.lockedUntilEpoch - epoch),
      reputation: previous.get(bytesToHex(key)),
    })
  }
  const outcome = epochRewards({
    params: ctx.params,
    supplyYearStart: meta.supplyYearStart,
    revenue: totals.revenue,
    nodes: rewardNodes,
  })
  for (const reward of outcome.nodes) {
    if (reward.flk === 0n && reward.stables === 0n) continue
    const owner = (await state.get('accounts', reward.owner)) ?? EMPTY_ACCOUNT
    state.put('accounts', reward.owner, {
      ...owner,
      flk: owner.flk + reward.flk,
      stables: owner.stables + reward.stables,
    })
    events.push({ type: 'Reward', node: reward.key, flk: reward.flk, stables: reward.stables })
  }
  // The protocol's and the service builder's shares go to the governance account: the one
  // treasury this chain has until services register owners.
  const treasuryStables = outcome.protocolStables + outcome.serviceBuilderStables
  if (treasuryStables > 0n) {
    const treasury = (await state.get('accounts', meta.governance)) ?? EMPTY_ACCOUNT
    state.put('accounts', meta.governance, {
      ...treasury,
      stables: treasury.stables + treasuryStables,
    })
  }

  // 4. Participation takes effect; the next active set and committee.
  const active: Uint8Array[] = []
  for (const { key, value } of await state.entries('nodes')) {
    let node: NodeEntry = value
    if (node.participation === 'optedIn' || node.participation === 'optedOut') {
      node = { ...node, participation: node.participation === 'optedIn' ? 'true' : 'false' }
      state.put('nodes', key, node)
    }
    if (node.participation === 'true' && node.staked >= ctx.params.minimumNodeStake)
      active.push(key)
  }
  let members = selectCommittee(active, seed, Number(ctx.params.committeeSize))
  if (members.length === 0) members = committee.members.map((m) => m.slice())
  const next = epoch + 1
  state.put('committees', tableKeys.committee(next), {
    members,
    readyToChange: [],
    activeNodes: active,
    beaconCommits: [],
    beaconReveals: [],
  })

  // 5. Epoch + 1.
  const after = await metadataOf(state)
  const supply = after.supply + outcome.emissions
  const newYear = BigInt(next) % ctx.params.epochsPerYear === 0n
  state.put('metadata', METADATA_KEY, {
    ...after,
    epoch: next,
    epochStartMs: ctx.timestampMs,
    beacon: { kind: 'none' },
    supply,
    supplyYearStart: newYear ? supply : after.supplyYearStart,
  })
  events.push({ type: 'EpochChanged', epoch: next })
}
