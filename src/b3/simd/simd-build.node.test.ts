import { expect, test } from 'vitest'
import {
  buildSimdModule,
  readCommitted,
  WASM_TS_PATH,
  WAT_PATH,
  wasmModuleSource,
} from '../../../scripts/build-simd.ts'
import { BLAKE3_SIMD_WASM_BASE64 } from './blake3-simd-wasm.ts'

test('the committed wat and wasm are exactly what scripts/build-simd.ts generates', async () => {
  const { wat, wasm } = await buildSimdModule()
  expect(wat).toBe(readCommitted(WAT_PATH))
  // Compared as base64 so that a mismatch prints something readable.
  let binary = ''
  for (const byte of wasm) binary += String.fromCharCode(byte)
  expect(btoa(binary)).toBe(BLAKE3_SIMD_WASM_BASE64)
  expect(wasmModuleSource(wasm)).toBe(readCommitted(WASM_TS_PATH))
})

test('the wasm validates and exports memory and hash_many', async () => {
  const { wasm } = await buildSimdModule()
  const module = new WebAssembly.Module(new Uint8Array(wasm))
  expect(WebAssembly.Module.exports(module)).toEqual([
    { name: 'memory', kind: 'memory' },
    { name: 'hash_many', kind: 'function' },
  ])
})
