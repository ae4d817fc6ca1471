/**
 * The Groth16 pairing check on mcl's WebAssembly (herumi's mcl, `mcl-wasm`), the same answers as
 * `nobleGroth16Kernel` at ~5–9 ms a proof instead of ~75 in Node.
 *
 * mcl is one curve per module instance, and the node's checkpoint kernel holds one on BLS12-381,
 * so the caller passes an instance of its own initialised with `BN_SNARK1` (snarkjs's bn128):
 * in Node a second copy of the module (`loadMclBn254` in src/node), in a browser worker the
 * module itself when nothing else there uses it. Per key, e(α, β) and γ's and δ's Miller-loop
 * lines are computed once.
 */
import type * as Mcl from 'mcl-wasm'
import { AckError } from './errors.ts'
import type { G1Affine, G2Affine, Groth16Kernel, Groth16VerificationKey } from './groth16.ts'

type McLModule = typeof Mcl

interface Prepared {
  readonly key: Groth16VerificationKey
  readonly alphaBeta: Mcl.GT
  readonly gamma: Mcl.PrecomputedG2
  readonly delta: Mcl.PrecomputedG2
  readonly ic: Mcl.G1[]
}

export function createMclGroth16Kernel(mcl: McLModule): Groth16Kernel {
  if (mcl.curveType !== mcl.BN_SNARK1) {
    throw new AckError(
      'ACK_PROOF_MALFORMED',
      `the mcl instance is on curve ${mcl.curveType}, not BN_SNARK1 (bn128)`,
    )
  }
  // setStr refuses a point off its curve; G1 has cofactor 1, G2's order is checked below.
  const g1 = (p: G1Affine, what = 'a G1 point') => {
    const point = new mcl.G1()
    try {
      point.setStr(`1 ${p.x} ${p.y}`, 10)
    } catch {
      throw new AckError('ACK_PROOF_MALFORMED', `${what} is not a point of G1`)
    }
    return point
  }
  const g2 = (p: G2Affine, what = 'a G2 point') => {
    const point = new mcl.G2()
    try {
      point.setStr(`1 ${p.x[0]} ${p.x[1]} ${p.y[0]} ${p.y[1]}`, 10)
    } catch {
      throw new AckError('ACK_PROOF_MALFORMED', `${what} is not a point of G2`)
    }
    if (!point.isValidOrder()) {
      throw new AckError('ACK_PROOF_MALFORMED', `${what} is not in G2's order-r subgroup`)
    }
    return point
  }
  // One key at a time: a node verifies one circuit's proofs. Its precomputed lines live in
  // mcl's memory and are freed when another key comes.
  let prepared: Prepared | undefined
  const prepare = (key: Groth16VerificationKey): Prepared => {
    if (prepared?.key === key) return prepared
    prepared?.gamma.destroy()
    prepared?.delta.destroy()
    prepared = {
      key,
      alphaBeta: mcl.pairing(g1(key.alpha), g2(key.beta)),
      gamma: new mcl.PrecomputedG2(g2(key.gamma)),
      delta: new mcl.PrecomputedG2(g2(key.delta)),
      ic: key.ic.map((p) => g1(p)),
    }
    return prepared
  }
  return {
    name: 'mcl',
    verify(key, signals, proof) {
      const p = prepare(key)
      const a = g1(proof.a, 'A')
      const b = g2(proof.b, 'B')
      const c = g1(proof.c, 'C')
      let x = p.ic[0] as Mcl.G1
      signals.forEach((s, i) => {
        if (s === 0n) return
        const scalar = new mcl.Fr()
        scalar.setStr(s.toString(), 10)
        x = mcl.add(x, mcl.mul(p.ic[i + 1] as Mcl.G1, scalar))
      })
      // e(−A, B) · e(x, γ) · e(C, δ) · e(α, β) = 1, one final exponentiation.
      const loops = mcl.mul(
        mcl.millerLoop(mcl.neg(a), b),
        mcl.precomputedMillerLoop2(x, p.gamma, c, p.delta),
      )
      return mcl.mul(mcl.finalExp(loops), p.alphaBeta).isOne()
    },
  }
}
