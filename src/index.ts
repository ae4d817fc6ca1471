/** Fulmen: the package root. Today it is the BLAKE3 engine; the client API joins it next. */
export * from './b3/index.ts'
