/**
 * libsecp256k1's public-key recovery (the `secp256k1` package: N-API bindings with prebuilt
 * binaries for linux-x64, darwin-arm64 and win32-x64, pure JS `elliptic` elsewhere), injected
 * into the executor and the orderer of a Node full node. Measured here: 13,800 recoveries/s
 * against @noble/curves' 593/s in the same run (a busy 2-core machine), the check that is 83 %
 * of a block of signed transfers (docs/benchmarks.md "Chain execution"). The browser keeps
 * noble: both give the same answers (native-secp256k1.node.test.ts), so a page and a node
 * agree on every signature.
 */
import secp256k1 from 'secp256k1'
import type { Secp256k1Recover } from '../../state/transaction.ts'

export const nativeRecover: Secp256k1Recover = (compact, recovery, hash) => {
  try {
    return secp256k1.ecdsaRecover(compact, recovery, hash, false)
  } catch {
    // No point to recover (or an r whose x is off the curve): not a signature.
    return undefined
  }
}
