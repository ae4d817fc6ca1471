/**
 * The layer table that src/layering.node.test.ts enforces (check-layering.ts beside it), from
 * ../shared/DESIGN.md, "Layout for the protocol stage":
 *
 *   core → b3, crypto, pointer → wire, kv → store, net, handshake, acks → origin, services,
 *   discovery → state, consensus, checkpoint, light, reputation, routing → client, prover →
 *   node, browser, devnet
 *
 * Read as one order, left to right: a folder of src/ imports only from folders written before
 * it (so crypto may import b3, pointer b3, services origin; b3 never crypto). A folder that does
 * not exist yet is an empty slot. A file that is not in its folder yet is ranked where it is
 * going (`placement`), so the check already holds the target order and its move is a rename.
 */
import type { KnownException, Layering } from './check-layering.ts'

/** One exception per import of `from` listed in `to`, all with one reason. */
function exceptionsOf(from: string, to: readonly string[], reason: string): KnownException[] {
  return to.map((target) => ({ from, to: target, reason }))
}

export const LAYERING: Layering = {
  order: [
    ['core'],
    ['b3', 'crypto', 'pointer'],
    ['wire', 'kv'],
    ['store', 'net', 'handshake', 'acks'],
    ['origin', 'services', 'discovery'],
    ['state', 'consensus', 'checkpoint', 'light', 'reputation', 'routing'],
    ['client', 'prover'],
    // After DESIGN.md's list, imported by nothing of src/: `bundler` (the Vite plugin),
    // `packaging` (tests of the built package), `index` (src/*.ts, the package's root entry).
    ['node', 'browser', 'devnet', 'bundler', 'packaging', 'index'],
  ],
  placement: {
    // The pointer folder-to-be: pointers (`/fulmen/<sha256 cid>`) and their content-id parsing.
    'src/origin/pointer.ts': 'pointer',
  },
  // Besides every index.ts of src/: the modules written as one worker's program.
  entryPoints: [
    'src/browser/sw/fulmen-sw.ts',
    'src/browser/node/tab-node-service.ts',
    'src/browser/thread-errors.ts',
  ],
  exceptions: [
    ...exceptionsOf(
      'workers/b3-worker.ts',
      [
        'src/b3/block.ts',
        'src/b3/constants.ts',
        'src/b3/engine.ts',
        'src/b3/errors.ts',
        'src/b3/parallel.ts',
      ],
      'the hashing loop is in the worker file; b3/index.ts lacks B3WorkerApi and would load all of b3 into the worker',
    ),
    ...exceptionsOf(
      'workers/client-worker.ts',
      [
        'src/browser/client-worker-api.ts',
        'src/browser/idb-spill.ts',
        'src/browser/key-store.ts',
        'src/browser/page-dialer.ts',
        'src/client/client.ts',
        'src/client/errors.ts',
        'src/crypto/client-key.ts',
        'src/net/client-libp2p.ts',
        'src/net/libp2p-dialer.ts',
      ],
      'the worker assembles the client itself; client/index.ts pulls Node-only modules into the page (fix: its program as one src/browser module)',
    ),
    ...exceptionsOf(
      'workers/fulmen-sw.ts',
      ['src/browser/sw/sw-scope.ts'],
      'the ServiceWorkerScope type, not re-exported by browser/sw/fulmen-sw.ts yet',
    ),
  ],
}
