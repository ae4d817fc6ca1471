/** Fulmen: the package root: the client API and the BLAKE3 engine. */
export * from './b3/index.ts'
export * from './client/index.ts'
export { FulmenError, type FulmenErrorOptions } from './core/errors.ts'
export { type ClientKey, clientKeyFromPrivate, generateClientKey } from './crypto/client-key.ts'
