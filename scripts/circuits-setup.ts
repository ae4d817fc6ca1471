/**
 * Makes the DA batch circuit's Groth16 artifacts, all here (no public powers-of-tau file can be
 * downloaded): compile, phase 1, phase 2 with a contribution, the verification key.
 *
 *   npm run circuits:setup -- [--slots S] [--power K] [--ptau FILE] [--out DIR]
 *
 * - compile: circuits/da_batch.circom with S slots (circom 2 from the circom2 package, --O2)
 * - phase 1: a new bn128 accumulator of 2^K, one contribution (fresh entropy), prepared for
 *   phase 2; or --ptau FILE, a prepared file made before (this script's, or a public ceremony's)
 * - phase 2: the circuit's zkey, one contribution (fresh entropy), its verification key
 * - DIR (circuits/artifacts): da_batch_S.wasm, da_batch_S.zkey, verification_key.json and
 *   artifacts.json (sizes, SHA-256, constraints, the contributions' hashes, how long each took)
 *
 * A production ceremony would add many independent phase-2 contributors (and a public phase 1,
 * e.g. the Perpetual Powers of Tau) and a random beacon; one contributor here is trusted to have
 * thrown its entropy away.
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import * as snarkjs from 'snarkjs'
import { compileDaBatch, ROOT as root, scratchDir } from './circuits-compile.ts'
import { KEY_MODULE, keyModuleSource } from './circuits-key-module.ts'

const { values } = parseArgs({
  options: {
    slots: { type: 'string', default: '5' },
    power: { type: 'string' },
    ptau: { type: 'string' },
    out: { type: 'string', default: join(root, 'circuits', 'artifacts') },
  },
})
const slots = Number(values.slots)
if (!Number.isInteger(slots) || slots < 1 || slots > 64) throw new Error(`--slots must be 1..64`)

const started = performance.now()
const timings: Record<string, number> = {}
function step(name: string) {
  const t0 = performance.now()
  process.stderr.write(`circuits:setup ${name} …\n`)
  return () => {
    timings[name] = Math.round(performance.now() - t0)
    process.stderr.write(`circuits:setup ${name}: ${(timings[name] / 1000).toFixed(1)} s\n`)
  }
}
/** An installed package's version (snarkjs's exports do not include its package.json). */
const versionOf = (pkg: string): string =>
  (
    JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as {
      version: string
    }
  ).version
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')
const logger = {
  debug() {},
  info(message: string) {
    if (/contribution|Hash|Section/i.test(message)) return
    process.stderr.write(`  ${message}\n`)
  },
  warn: (message: string) => process.stderr.write(`  warn: ${message}\n`),
  error: (message: string) => process.stderr.write(`  error: ${message}\n`),
}

const work = scratchDir('fulmen-circuits-')
try {
  let done = step(`compile (${slots} slots)`)
  const circuit = compileDaBatch(slots, work)
  const name = circuit.name
  done()
  const r1cs = circuit.r1cs
  const info = await snarkjs.r1cs.info(r1cs)
  const constraints = info.nConstraints as number
  // Groth16 needs 2^K ≥ constraints + public inputs + 1.
  const power = Number(
    values.power ?? Math.ceil(Math.log2(constraints + info.nPubInputs + info.nOutputs + 1)),
  )
  process.stderr.write(`circuits:setup ${constraints} constraints: powers of tau 2^${power}\n`)

  let ptau: string
  let phase1: Record<string, unknown>
  if (values.ptau !== undefined) {
    ptau = values.ptau
    phase1 = { given: relative(root, ptau), sha256: sha256(ptau) }
  } else {
    // snarkjs exports its curves; @types/snarkjs does not say so.
    const { curves } = snarkjs as unknown as {
      curves: { getCurveFromName(name: string): Promise<{ terminate(): Promise<void> }> }
    }
    const curve = await curves.getCurveFromName('bn128')
    try {
      done = step(`phase 1: new accumulator 2^${power}`)
      await snarkjs.powersOfTau.newAccumulator(curve, power, join(work, 'pot_0.ptau'), logger)
      done()
      done = step('phase 1: contribution')
      const hash = await snarkjs.powersOfTau.contribute(
        join(work, 'pot_0.ptau'),
        join(work, 'pot_1.ptau'),
        'fulmen phase 1',
        randomBytes(64).toString('hex'),
        logger,
      )
      done()
      done = step('phase 1: prepare phase 2 (the long one)')
      await snarkjs.powersOfTau.preparePhase2(
        join(work, 'pot_1.ptau'),
        join(work, 'pot.ptau'),
        logger,
      )
      done()
      ptau = join(work, 'pot.ptau')
      phase1 = { made: true, power, contribution: Buffer.from(hash).toString('hex') }
    } finally {
      await curve.terminate()
    }
  }

  done = step('phase 2: circuit zkey')
  await snarkjs.zKey.newZKey(r1cs, ptau, join(work, 'zkey_0.zkey'), logger)
  done()
  done = step('phase 2: contribution')
  const contribution = await snarkjs.zKey.contribute(
    join(work, 'zkey_0.zkey'),
    join(work, `${name}.zkey`),
    'fulmen phase 2',
    randomBytes(64).toString('hex'),
    logger,
  )
  done()
  const vkey = await snarkjs.zKey.exportVerificationKey(join(work, `${name}.zkey`))

  mkdirSync(values.out, { recursive: true })
  const files: Record<string, { bytes: number; sha256: string }> = {}
  const keep = (from: string, to: string) => {
    const target = join(values.out, to)
    copyFileSync(from, target)
    files[to] = { bytes: statSync(target).size, sha256: sha256(target) }
  }
  keep(circuit.wasm, `${name}.wasm`)
  keep(join(work, `${name}.zkey`), `${name}.zkey`)
  writeFileSync(join(values.out, 'verification_key.json'), `${JSON.stringify(vkey, null, 2)}\n`)
  files['verification_key.json'] = {
    bytes: statSync(join(values.out, 'verification_key.json')).size,
    sha256: sha256(join(values.out, 'verification_key.json')),
  }
  const manifest = {
    circuit: 'circuits/da_batch.circom',
    slots,
    constraints,
    r1csSha256: sha256(r1cs),
    compiler: `circom2 ${versionOf('circom2')} --O2`,
    snarkjs: versionOf('snarkjs'),
    phase1,
    phase2: { contribution: Buffer.from(contribution).toString('hex') },
    files,
    timingsMs: timings,
  }
  writeFileSync(join(values.out, 'artifacts.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  if (values.out === join(root, 'circuits', 'artifacts')) {
    // The chain's key follows the committed artifacts (a setup elsewhere is a trial).
    writeFileSync(KEY_MODULE, keyModuleSource(values.out))
    execFileSync(join(root, 'node_modules', '.bin', 'biome'), ['format', '--write', KEY_MODULE])
    process.stderr.write(`wrote ${relative(root, KEY_MODULE)}\n`)
  }
  process.stderr.write(
    `circuits:setup done in ${((performance.now() - started) / 1000).toFixed(0)} s: ${relative(root, values.out)}\n`,
  )
} finally {
  rmSync(work, { recursive: true, force: true })
  // snarkjs keeps its worker threads (and the process) alive otherwise.
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate()
}
