/**
 * "Address a file in your browser": hash a dropped file (or a sample) with the parallel BLAKE3
 * engine for its content id, then stream it through the incremental verifier with one block
 * tampered, caught and sent again, as a node would be. Nothing leaves the tab, no network.
 */

import { TREE_BLOCK_LEN } from '../../src/b3/constants.ts'
import { formatContentId } from '../../src/b3/content-id.ts'
import { B3Error } from '../../src/b3/errors.ts'
import { buildTreeParallel } from '../../src/b3/parallel.ts'
import { initialProof, resumeProof } from '../../src/b3/proof.ts'
import type { HashTree } from '../../src/b3/tree.ts'
import { IncrementalVerifier } from '../../src/b3/verifier.ts'
import { BlockGrid } from '../block-grid.ts'
import { showId } from '../copy-id.ts'
import { byId, setText } from '../dom.ts'
import { formatBytes, formatRate, plural } from '../format.ts'
import { HASH_WORKERS, hashPool } from '../hash-pool.ts'

const HONEST = { name: 'honest source', color: '#2dd4bf' }
const LIAR = { name: 'lying source', color: '#ef4444' }

function status(text: string, tone: 'ok' | 'bad' | '' = ''): void {
  const el = byId('local-status')
  el.className = `status ${tone}`
  setText(el, text)
}

/** 64 MiB of distinct blocks, made in a few milliseconds. */
function sample(): File {
  const bytes = new Uint8Array(64 << 20)
  crypto.getRandomValues(bytes.subarray(0, 65_536))
  for (let off = 65_536; off < bytes.length; off *= 2)
    bytes.copyWithin(off, 0, Math.min(off, bytes.length - off))
  for (let k = 0; k * TREE_BLOCK_LEN < bytes.length; k++) bytes[k * TREE_BLOCK_LEN] = k & 255
  return new File([bytes], 'sample.bin')
}

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))

export function mountLocalFile(): void {
  const drop = byId('local-drop')
  const input = byId<HTMLInputElement>('local-file')
  const verify = byId<HTMLButtonElement>('local-verify')
  const bar = byId<HTMLProgressElement>('local-progress')
  setText(byId('local-workers'), plural(HASH_WORKERS, 'worker'))
  let current: { tree: HashTree; blob: Blob } | undefined

  const address = async (file: Blob) => {
    verify.disabled = true
    bar.value = 0
    status('Hashing…')
    const started = performance.now()
    // Blob.stream() hands out fresh buffers nobody else holds: they go to the workers uncopied.
    const tree = await buildTreeParallel(file.stream(), hashPool(), {
      transferChunks: true,
      onProgress: (done) => {
        bar.value = file.size === 0 ? 1 : done / file.size
      },
    })
    const ms = performance.now() - started
    bar.value = 1
    current = { tree, blob: file }
    showId(byId('local-cid'), formatContentId(tree.root, 'cid'))
    setText(byId('local-size'), `${formatBytes(tree.length)} · ${plural(tree.blocks, 'block')}`)
    setText(byId('local-speed'), `${ms.toFixed(0)} ms · ${formatRate(tree.length, ms)}`)
    byId('local-facts').hidden = false
    new BlockGrid(byId('local-blocks'), tree.blocks)
    status('Addressed. Now verify it as if it came from a node that lies about one block.')
    verify.disabled = false
  }

  const simulate = async () => {
    if (current === undefined) return
    const { tree, blob } = current
    verify.disabled = true
    const grid = new BlockGrid(byId('local-blocks'), tree.blocks)
    const tampered = Math.floor(tree.blocks / 2)
    const verifier = new IncrementalVerifier(tree.root, { length: tree.length })
    const proofFor = (k: number) => (k === 0 ? initialProof(tree, 0) : resumeProof(tree, k))
    try {
      for (let k = 0; k < tree.blocks; k++) {
        const data = new Uint8Array(
          await blob.slice(k * TREE_BLOCK_LEN, (k + 1) * TREE_BLOCK_LEN).arrayBuffer(),
        )
        verifier.feedProof(proofFor(k))
        if (k === tampered) {
          const lie = data.slice()
          lie[lie.length >> 1] = (lie[lie.length >> 1] ?? 0) ^ 1
          try {
            verifier.feedBlock(lie)
          } catch (error) {
            if (!(error instanceof B3Error)) throw error
            grid.mark(k, 'rejected', LIAR)
            status(`Block ${k}: ${error.code}. Asking the honest source for block ${k}…`, 'bad')
            await new Promise((r) => setTimeout(r, 500))
            // The verifier rewound to before block k's proof: the same resume proof again.
            verifier.feedProof(proofFor(k))
          }
          verifier.feedBlock(data)
          grid.mark(k, 'resumed', HONEST)
          continue
        }
        verifier.feedBlock(data)
        grid.mark(k, 'verified', k < tampered ? LIAR : HONEST)
        if (k % 8 === 7) await frame()
      }
      status(
        `${plural(tree.blocks, 'block')} verified; the tampered block ${tampered} was caught and fetched again.`,
        'ok',
      )
    } catch (error) {
      status(error instanceof B3Error ? `${error.code}: ${error.message}` : String(error), 'bad')
    } finally {
      verify.disabled = false
    }
  }

  const take = (file: File | undefined) => {
    if (file !== undefined) void address(file).catch((e: unknown) => status(String(e), 'bad'))
  }
  input.addEventListener('change', () => take(input.files?.[0]))
  drop.addEventListener('dragover', (e) => {
    e.preventDefault()
    drop.classList.add('over')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (e) => {
    e.preventDefault()
    drop.classList.remove('over')
    take(e.dataTransfer?.files[0])
  })
  byId('local-sample').addEventListener('click', () => take(sample()))
  verify.addEventListener('click', () => void simulate())
}
