/**
 * The anchor every checkpoint chain starts from, computed from the genesis file alone: the
 * genesis state is built in memory (the same executor every node opens its store with), and
 * its root and its epoch-0 committee's BLS keys make the genesis checkpoint. A light client
 * given a genesis file trusts exactly what that file says, nothing a node sends.
 */
import { committeeKeys } from '../consensus/attestation/committee-keys.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import { StateExecutor } from '../state/executor.ts'
import type { Genesis } from '../state/model.ts'
import { genesisCheckpoint } from './checkpoint.ts'
import { type CheckpointAnchor, trustedAnchor } from './checkpoint-chain.ts'

export async function genesisAnchor(genesis: Genesis): Promise<CheckpointAnchor> {
  const executor = await StateExecutor.open(new MemoryKvStore(), genesis)
  const keys = await committeeKeys(executor, 0)
  const body = genesisCheckpoint(genesis.chainId, executor.head.stateRoot, keys)
  return trustedAnchor(body, keys)
}
