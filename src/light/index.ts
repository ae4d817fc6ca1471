/**
 * The light client (DESIGN.md "Checkpoints and the light client"): isomorphic (no Node
 * built-ins; fetch), for a Node program, a page or a Web Worker.
 *
 *   const genesis = await genesisAnchor(parseGenesis(text))        // src/checkpoint, src/state
 *   const client = await openLightClient(store, genesis)           // restored, or at genesis
 *   const light = new LightSync(client, [httpLightSource(url1), httpLightSource(url2)], { store })
 *   await light.sync(signal)              // { epoch, height, stateRoot, checkpoints, source }
 *   await light.account(address)          // AccountEntry | undefined, proven at the head
 *   await light.nodeRecord(nodeKey)       // { staked, active, member, addresses, reputation… }
 *   await light.stakedNode(nodeKey)       // the record, or LIGHT_NOT_STAKED
 *   await light.committee(epoch)          // CommitteeEntry | undefined
 *   await light.entry(table, key)         // any table's entry | undefined
 *   checkClaimBatches(txBytes)            // a settlement's DA batch proofs checked, timed
 *
 * LightClient (light-client.ts) is the sans-I/O state machine under it: `applyRun(run)` and
 * `verifyEntry(table, key, served)`. Forgeries throw CheckpointError (CHECKPOINT_*) or
 * LightError (LIGHT_*); LightSync drops the source that sent them and asks the next, and
 * throws LIGHT_NO_SOURCE (details.failures) when none is left.
 */
export * from './claim-batches.ts'
export * from './errors.ts'
export * from './light-client.ts'
export * from './light-head-store.ts'
export * from './light-queries.ts'
export * from './light-sync.ts'
export * from './trusted-checkpoint.ts'
