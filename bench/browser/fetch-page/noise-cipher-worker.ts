/**
 * What Noise costs in a browser, alone: @chainsafe/libp2p-noise uses @noble/ciphers'
 * ChaCha20-Poly1305 in pure JavaScript there (its Node build uses node:crypto), and every
 * byte of a session is decrypted with it in the client worker. Decrypts `bytes` worth of
 * full-size Noise messages (65,535 bytes with the tag) and answers with the time, ms.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { makeInput } from '../../shared.ts'

const NOISE_MESSAGE = 65_535
const TAG = 16

self.onmessage = (event: MessageEvent<{ bytes: number }>) => {
  const key = makeInput(32, 1)
  const nonce = new Uint8Array(12)
  const plain = makeInput(NOISE_MESSAGE - TAG, 2)
  const sealed = chacha20poly1305(key, nonce).encrypt(plain)
  const messages = Math.ceil(event.data.bytes / plain.length)
  const run = () => {
    for (let i = 0; i < messages; i++) chacha20poly1305(key, nonce).decrypt(sealed)
  }
  // Warm-up: long enough for V8's optimising tier.
  const w0 = performance.now()
  while (performance.now() - w0 < 500) run()
  const times: number[] = []
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now()
    run()
    times.push(performance.now() - t0)
  }
  self.postMessage({ bytes: messages * plain.length, ms: Math.min(...times) })
}
