/**
 * Writes src/acks/da-batch-artifacts.ts from circuits/artifacts (artifacts.json and
 * verification_key.json): the batch size, the verification key the chain checks proofs with,
 * and the SHA-256 of the prover's wasm and zkey, so that a node refuses artifacts made for
 * another key. `npm run circuits:setup` calls it; `npx node scripts/circuits-key-module.ts
 * [DIR]` runs it alone. The test src/node/chain/da-batch-artifacts.node.test.ts checks the two agree.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const KEY_MODULE = fileURLToPath(
  new URL('../src/acks/da-batch-artifacts.ts', import.meta.url),
)

export function keyModuleSource(artifactsDir: string): string {
  const manifest = JSON.parse(readFileSync(join(artifactsDir, 'artifacts.json'), 'utf8'))
  const vkey = JSON.parse(readFileSync(join(artifactsDir, 'verification_key.json'), 'utf8'))
  const slots = manifest.slots as number
  const file = (name: string) => manifest.files[name] as { bytes: number; sha256: string }
  const wasm = `da_batch_${slots}.wasm`
  const zkey = `da_batch_${slots}.zkey`
  return `/**
 * The DA batch circuit's parameters, generated from circuits/artifacts by
 * scripts/circuits-key-module.ts (\`npm run circuits:setup\` runs it): do not edit. The chain
 * checks proofs with this key; a prover refuses a wasm or zkey whose SHA-256 differs.
 */
export const DA_BATCH_SLOTS = ${slots}

export const DA_BATCH_CONSTRAINTS = ${manifest.constraints}

/** The r1cs the key was made for (circom2 --O2). */
export const DA_BATCH_R1CS_SHA256 = '${manifest.r1csSha256}'

export const DA_BATCH_FILES = {
  wasm: { name: '${wasm}', bytes: ${file(wasm).bytes}, sha256: '${file(wasm).sha256}' },
  zkey: { name: '${zkey}', bytes: ${file(zkey).bytes}, sha256: '${file(zkey).sha256}' },
} as const

/** snarkjs's verification_key.json, as it wrote it. */
export const DA_BATCH_VERIFICATION_KEY_JSON = ${JSON.stringify(vkey, null, 2)}
`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../circuits/artifacts', import.meta.url))
  writeFileSync(KEY_MODULE, keyModuleSource(dir))
  process.stderr.write(`wrote ${KEY_MODULE}\n`)
}
