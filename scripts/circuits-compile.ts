/**
 * Compiles circuits/da_batch.circom for S slots with the circom2 package (circom 2 as
 * WebAssembly under WASI, run as a process), and loads the witness calculator it generates. The
 * setup script (circuits-setup.ts) and the circuit's test use it.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface CompiledCircuit {
  readonly name: string
  readonly dir: string
  readonly r1cs: string
  readonly wasm: string
  /** Removes `dir`. */
  remove(): void
}

/** A scratch directory of its own (under the system's temp dir). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** `DaBatch(slots)` as a main component, compiled with --O2 into `dir` (a new one by default). */
export function compileDaBatch(
  slots: number,
  dir = scratchDir('fulmen-circuit-'),
): CompiledCircuit {
  const name = `da_batch_${slots}`
  writeFileSync(
    join(dir, `${name}.circom`),
    `pragma circom 2.1.0;\ninclude "da_batch.circom";\ncomponent main = DaBatch(${slots});\n`,
  )
  // circom2 preopens the working directory's parents for WASI: paths relative to the root.
  const run = spawnSync(
    process.execPath,
    [
      require.resolve('circom2/cli.js'),
      relative(ROOT, join(dir, `${name}.circom`)),
      '--O2',
      '--r1cs',
      '--wasm',
      '-l',
      'circuits',
      '-l',
      'node_modules',
      '-o',
      relative(ROOT, dir),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  )
  if (run.status !== 0) throw new Error(`circom failed:\n${run.stdout}\n${run.stderr}`)
  return {
    name,
    dir,
    r1cs: join(dir, `${name}.r1cs`),
    wasm: join(dir, `${name}_js`, `${name}.wasm`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export interface WitnessCalculator {
  /** Every signal's value (index 1: the first output); throws on a failed constraint. */
  calculateWitness(input: unknown, sanityCheck: boolean): Promise<bigint[]>
}

/** circom's generated witness calculator for `circuit`. */
export function loadWitnessCalculator(circuit: CompiledCircuit): Promise<WitnessCalculator> {
  const build = require(join(circuit.dir, `${circuit.name}_js`, 'witness_calculator.js')) as (
    code: Uint8Array,
  ) => Promise<WitnessCalculator>
  return build(readFileSync(circuit.wasm))
}
