import { expect, test } from 'vitest'
import {
  buildBn254Module,
  LAYOUT,
  P,
  readCommitted,
  WASM_TS_PATH,
  WAT_PATH,
  wasmModuleSource,
} from '../../scripts/build-bn254-kernel.ts'
import { KERNEL_LAYOUT } from './bn254-kernel.ts'
import { BN254_KERNEL_WASM_BASE64 } from './bn254-kernel-wasm.ts'
import { FIELD_ORDER } from './field.ts'

test('the committed wat and wasm are exactly what scripts/build-bn254-kernel.ts generates', async () => {
  const { wat, wasm } = await buildBn254Module()
  expect(wat).toBe(readCommitted(WAT_PATH))
  let binary = ''
  for (const byte of wasm) binary += String.fromCharCode(byte)
  expect(btoa(binary)).toBe(BN254_KERNEL_WASM_BASE64)
  expect(wasmModuleSource(wasm)).toBe(readCommitted(WASM_TS_PATH))
})

test('the loader and the generator agree on the layout and the field', () => {
  expect(KERNEL_LAYOUT).toEqual(LAYOUT)
  expect(P).toBe(FIELD_ORDER)
})

test('the module exports memory and the operations the loader calls', async () => {
  const { wasm } = await buildBn254Module()
  const names = WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(wasm))).map(
    (e) => e.name,
  )
  expect(names).toEqual([
    'memory',
    'mul',
    'dot',
    'add',
    'sub',
    'copy',
    'pow',
    'padd',
    'padd_prepared',
    'pdbl',
    'msm',
    'poseidon',
  ])
})
