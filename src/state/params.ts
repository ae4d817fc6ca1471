/**
 * Default protocol parameters, from Lightning's genesis files (fleek-network/lightning,
 * core/application/networks/{testnet-stable,localnet-example}/genesis.toml) converted to this
 * protocol's units: shares and inflation as fixed-point of FIXED_ONE (Lightning: percent),
 * amounts in ONE_TOKEN units (Lightning: whole FLK), beacon phases in blocks (Lightning: ms).
 */
import { FIXED_ONE, ONE_TOKEN, type ProtocolParam } from './model.ts'

const percent = (p: bigint) => (p * FIXED_ONE) / 100n

/** Parameters that must be at least 1 (a zero would stop epochs, committees or the beacon). */
const POSITIVE: readonly ProtocolParam[] = [
  'epochTimeMs',
  'committeeSize',
  'epochsPerYear',
  'beaconCommitBlocks',
  'beaconRevealBlocks',
]

/** What is wrong with a set of parameters, or undefined: the one rule for a genesis file and
 * for `ChangeProtocolParam`. */
export function paramsProblem(p: Readonly<Record<ProtocolParam, bigint>>): string | undefined {
  for (const [name, value] of Object.entries(p)) {
    if (typeof value !== 'bigint' || value < 0n || value > 2n ** 128n)
      return `${name} is out of range`
  }
  if (p.nodeShare + p.protocolShare + p.serviceBuilderShare !== FIXED_ONE) {
    return 'nodeShare + protocolShare + serviceBuilderShare must be 100 % (FIXED_ONE)'
  }
  for (const name of POSITIVE) if (p[name] < 1n) return `${name} must be at least 1`
  return undefined
}

/** A real network: Lightning's testnet-stable genesis, with a day-long epoch (DESIGN.md). */
export const DEFAULT_PARAMS: Record<ProtocolParam, bigint> = {
  // DESIGN.md: "a day on a real network"; Lightning's epochs_per_year = 365 and max_lock_time =
  // 1460 "days(epoch)" assume it too (testnet-stable runs epoch_time = 1800000 for testing).
  epochTimeMs: 86_400_000n,
  // testnet-stable: committee_size = 8.
  committeeSize: 8n,
  // min_stake = 1000 (FLK).
  minimumNodeStake: 1000n * ONE_TOKEN,
  // max_lock_time = 1460 ("1460 days(epoch) meaning 4 years").
  maxStakeLockEpochs: 1460n,
  // lock_time = 5: epochs an unstaked amount waits before it can be withdrawn.
  unstakeDelayEpochs: 5n,
  // max_inflation = 10 (percent a year).
  maxInflation: percent(10n),
  // node_share = 80, protocol_share = 0, service_builder_share = 20 (percent).
  nodeShare: percent(80n),
  protocolShare: percent(0n),
  serviceBuilderShare: percent(20n),
  // max_boost = 4.
  maxBoost: 4n * FIXED_ONE,
  // epochs_per_year = 365.
  epochsPerYear: 365n,
  // committee_selection_beacon_{commit,reveal}_phase_duration = 300000 ms; in blocks at about a
  // block a second (an assumption until consensus fixes the block rate): 300 each.
  beaconCommitBlocks: 300n,
  beaconRevealBlocks: 300n,
  // committee_selection_beacon_non_reveal_slash_amount = 1000 ("100% of the minimum stake").
  beaconNonRevealSlash: 1000n * ONE_TOKEN,
  // core/types/src/reputation.rs: MAX_MEASUREMENTS_PER_TX = 10_000.
  maxMeasurements: 10_000n,
  // core/types/src/application.rs: MAX_DELIVERY_ACKNOWLEDGMENTS = 1000 (per aggregation tx).
  maxClaimsPerTransaction: 1000n,
}

/** A devnet: Lightning's localnet-example genesis, where it differs from the above. */
export const DEVNET_PARAMS: Record<ProtocolParam, bigint> = {
  ...DEFAULT_PARAMS,
  // localnet-example: epoch_time = 120000 (`fulmen devnet start --epoch-ms` overrides it).
  epochTimeMs: 120_000n,
  // localnet-example: committee_size = 10.
  committeeSize: 10n,
  // localnet-example: committee_selection_beacon_{commit,reveal}_phase_duration = 10.
  beaconCommitBlocks: 10n,
  beaconRevealBlocks: 10n,
}
