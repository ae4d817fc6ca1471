import { fileURLToPath } from 'node:url'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/chromium.ts'

export default defineConfig({
  // `npm start` serves demo/ as the root; static assets live in the top-level public/.
  publicDir: fileURLToPath(new URL('./public', import.meta.url)),
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  worker: { format: 'es' },
  // Pre-bundled up front: the worker and service-worker graphs are not crawled from the pages,
  // and a dependency found late makes Vite reload the page (a test run, a demo visit).
  optimizeDeps: {
    include: [
      '@chainsafe/libp2p-noise',
      '@chainsafe/libp2p-yamux',
      // The light client worker's graph (checkpoints: BLS signatures, DAG-CBOR bodies).
      '@ipld/dag-cbor',
      '@libp2p/crypto/keys',
      '@libp2p/identify',
      '@libp2p/peer-id',
      '@libp2p/ping',
      '@libp2p/websockets',
      '@libp2p/webrtc',
      '@libp2p/circuit-relay-v2',
      '@multiformats/multiaddr',
      '@noble/curves/abstract/hash-to-curve.js',
      '@noble/curves/abstract/modular.js',
      '@noble/curves/abstract/poseidon.js',
      '@noble/curves/bls12-381.js',
      '@noble/curves/ed25519.js',
      '@noble/curves/misc.js',
      '@noble/curves/secp256k1.js',
      '@noble/curves/utils.js',
      '@noble/hashes/blake3.js',
      '@noble/hashes/sha2.js',
      '@noble/hashes/sha3.js',
      '@noble/hashes/utils.js',
      'comlink',
      'idb',
      'libp2p',
      'multiformats/bases/base32',
      'multiformats/cid',
      'multiformats/hashes/digest',
    ],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          // *.browser.test.ts need a browser (Web Workers, IndexedDB): Chromium only.
          include: ['src/**/*.test.ts'],
          exclude: ['src/**/*.browser.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          // End to end: a local network of real node processes, the demo served by Vite and
          // Debian's Chromium driven by Playwright (e2e/harness.ts). One file at a time: each
          // starts its own network.
          name: 'e2e',
          environment: 'node',
          include: ['e2e/**/*.e2e.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          // Isomorphic suites only: *.node.test.ts need Node built-ins.
          include: ['src/**/*.test.ts'],
          // Real node processes for browser tests to dial (`inject('network')`).
          globalSetup: ['src/browser/testing/node-network.setup.ts'],
          exclude: ['src/**/*.node.test.ts'],
          testTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
})
