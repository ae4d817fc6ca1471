/**
 * Generates src/crypto/vectors/eddsa-poseidon.json: EdDSA-Poseidon keys and signatures and
 * Poseidon hashes computed by circomlibjs, the reference our implementation must match byte for
 * byte (src/crypto/eddsa-poseidon.test.ts replays them in Node and Chromium).
 *
 *   node scripts/make-eddsa-vectors.ts          rewrites the JSON file
 *   node scripts/make-eddsa-vectors.ts --check  exits 1 if the committed file differs
 *
 * Every input is fixed here, so the output is deterministic. The JSON is written the way Biome
 * formats it (arrays of short strings on one line when they fit).
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { bytesToHex } from '@noble/hashes/utils.js'
import { FIELD_ORDER } from '../src/crypto/field.ts'
import { loadCircomlib } from '../src/crypto/testing/circomlib.ts'

const OUT = new URL('../src/crypto/vectors/eddsa-poseidon.json', import.meta.url)
const p = FIELD_ORDER

/** A field element that looks random: SHA-256 of a label, reduced mod p. */
function fieldOf(label: string): bigint {
  return BigInt(`0x${createHash('sha256').update(label).digest('hex')}`) % p
}

const ramp = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff)
const privateKeys: Uint8Array[] = [
  ramp(0),
  ramp(1),
  ramp(2),
  ramp(100),
  ramp(224),
  new Uint8Array(32),
  new Uint8Array(32).fill(0xff),
  Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 1 : 0)),
  new Uint8Array(createHash('sha256').update('fulmen client key').digest()),
]
const messages: bigint[] = [
  0n,
  1n,
  p - 1n,
  (1n << 248n) - 1n, // the largest `messageOf` output
  fieldOf('fulmen message 1'),
  fieldOf('fulmen message 2'),
]

const circomlib = await loadCircomlib()

const eddsa = privateKeys.flatMap((privateKey, k) =>
  // Each key signs two messages, cycling through the list so every message is used.
  [0, 1].map((j) => {
    const message = messages[(2 * k + j) % messages.length]!
    const signature = circomlib.sign(privateKey, message)
    const publicKey = circomlib.publicKeyOf(privateKey)
    if (!circomlib.verify(publicKey, message, signature)) throw new Error('circomlibjs disagrees')
    return {
      privateKey: bytesToHex(privateKey),
      publicKey: bytesToHex(publicKey),
      message: message.toString(),
      signature: bytesToHex(signature),
    }
  }),
)

const poseidonInputs: bigint[][] = [
  [0n],
  [1n],
  [p - 1n],
  [1n, 2n],
  [p - 1n, p - 1n],
  [fieldOf('a'), fieldOf('b'), fieldOf('c')],
  [1n, 2n, 3n, 4n],
  [1n, 2n, 3n, 4n, 5n],
  [0n, 0n, 0n, 0n, 0n],
  [1n, 2n, 3n, 4n, 5n, 6n],
  Array.from({ length: 6 }, (_, i) => fieldOf(`input ${i}`)),
]
const poseidon = poseidonInputs.map((inputs) => ({
  inputs: inputs.map(String),
  output: circomlib.poseidon(inputs).toString(),
}))

const vectors = {
  comment:
    'EdDSA-Poseidon (Baby Jubjub) and Poseidon by circomlibjs 0.1.7; made by scripts/make-eddsa-vectors.ts. Keys and signatures in hex (circomlib packPoint / packSignature), field elements in decimal.',
  eddsa,
  poseidon,
}

// Biome puts an array of strings on one line when it fits in 100 columns.
const text = `${JSON.stringify(vectors, null, 2).replace(
  /\[\n\s+("[^\]]*?")\n\s+\]/g,
  (whole, items: string, offset: number, all: string) => {
    const indent = all.slice(all.lastIndexOf('\n', offset) + 1, offset).length
    const line = `[${items.split(/,\n\s+/).join(', ')}]`
    return indent + line.length <= 100 ? line : whole
  },
)}\n`

if (process.argv.includes('--check')) {
  if (readFileSync(OUT, 'utf8') !== text) {
    console.error(`${OUT.pathname} is stale: run node scripts/make-eddsa-vectors.ts`)
    process.exit(1)
  }
} else {
  writeFileSync(OUT, text)
  console.log(`wrote ${eddsa.length} signatures and ${poseidon.length} Poseidon hashes`)
}
// circomlibjs keeps a WebAssembly worker pool alive.
process.exit(0)
