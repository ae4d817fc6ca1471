/**
 * Checkpoints (DESIGN.md "Checkpoints and the light client"): the bodies a committee signs at
 * every epoch change and every CHECKPOINT_INTERVAL blocks, their encodings, the check of one
 * checkpoint against the last trusted handoff, and the anchor computed from a genesis file.
 */
export * from './checkpoint.ts'
export * from './checkpoint-chain.ts'
export * from './checkpoint-codec.ts'
export * from './errors.ts'
export * from './genesis-anchor.ts'
