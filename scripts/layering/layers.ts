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
import type { Layering } from './check-layering.ts'

export const LAYERING: Layering = {
  order: [
    ['core'],
    ['b3', 'crypto', 'pointer'],
    ['wire', 'kv'],
    ['store', 'net', 'handshake', 'acks'],
    ['origin', 'services', 'discovery'],
    ['state', 'consensus', 'checkpoint', 'light', 'reputation', 'routing'],
    // Not in DESIGN.md's list: the node core (src/host), composing everything below it into
    // the node that both a full node and a tab run; client, node and browser build on it.
    ['host'],
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
    'src/b3/b3-worker-service.ts',
    'src/browser/sw/fulmen-sw.ts',
    'src/browser/node/tab-node-service.ts',
    'src/browser/client-worker-service.ts',
    'src/browser/light/light-worker-service.ts',
    'src/browser/thread-errors.ts',
  ],
  // Imports tolerated for now, each `{ from, to, reason }` (root-relative paths): none left.
  exceptions: [],
}
