/**
 * The demo page: address a file with the parallel BLAKE3 engine, then stream it through the
 * incremental verifier, with a lying source that the verifier catches and an honest one the
 * stream resumes from at the rejected block.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  B3Error,
  formatContentId,
  type HashTree,
  IncrementalVerifier,
  initialProof,
  ready,
  resumeProof,
  TREE_BLOCK_LEN,
} from '../src/b3/index.ts'
import { buildTreeParallel, createHashPool } from '../src/b3/parallel.ts'
import { browserWorkerSpawn } from '../src/browser/b3-workers.ts'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

const workers = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2))
const pool = createHashPool({ size: workers, spawn: browserWorkerSpawn() })
let current: { tree: HashTree; blob: Blob } | undefined

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`
}

async function address(blob: Blob): Promise<void> {
  const bar = $('hash-bar')
  bar.style.width = '0'
  const started = performance.now()
  // Blob.stream() hands out fresh buffers nobody else holds: they go to the workers uncopied.
  const tree = await buildTreeParallel(blob.stream(), pool, {
    transferChunks: true,
    onProgress: (done) => {
      bar.style.width = `${blob.size === 0 ? 100 : (100 * done) / blob.size}%`
    },
  })
  const seconds = (performance.now() - started) / 1000
  bar.style.width = '100%'
  current = { tree, blob }
  $('cid').textContent = formatContentId(tree.root, 'cid')
  $('hex').textContent = bytesToHex(tree.root)
  $('size').textContent = `${formatBytes(tree.length)} (${tree.length.toLocaleString()} bytes)`
  $('tree').textContent =
    `${tree.blocks} block${tree.blocks === 1 ? '' : 's'} of 256 KiB, ${2 * tree.blocks - 1} hashes`
  $('speed').textContent =
    `${(seconds * 1000).toFixed(0)} ms · ${formatBytes(tree.length / Math.max(seconds, 1e-6))}/s on ${workers} workers`
  $('facts').hidden = false
  $('stream-card').hidden = false
  $('proof-card').hidden = false
  drawBlocks()
  showProof()
}

function drawBlocks(): void {
  const grid = $('blocks')
  grid.replaceChildren()
  if (current === undefined) return
  const shown = Math.min(current.tree.blocks, 1024)
  for (let k = 0; k < shown; k++) {
    const cell = document.createElement('i')
    cell.className = 'b pending'
    cell.title = `block ${k}`
    grid.append(cell)
  }
}

function mark(k: number, state: 'ok' | 'bad' | 'resumed'): void {
  const cell = $('blocks').children[k]
  if (cell !== undefined) cell.className = `b ${state}`
}

async function readBlock(blob: Blob, k: number): Promise<Uint8Array> {
  return new Uint8Array(
    await blob.slice(k * TREE_BLOCK_LEN, (k + 1) * TREE_BLOCK_LEN).arrayBuffer(),
  )
}

const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))

async function stream(): Promise<void> {
  if (current === undefined) return
  const { tree, blob } = current
  const status = $('stream-status')
  const button = $<HTMLButtonElement>('stream')
  button.disabled = true
  drawBlocks()
  status.className = 'status'
  // The lying node tampers with one block in the middle of the content.
  const liar = $<HTMLInputElement>('liar').checked
  const tampered = Math.floor(tree.blocks / 2)
  const verifier = new IncrementalVerifier(tree.root, { length: tree.length })
  const proofFor = (k: number) => (k === 0 ? initialProof(tree, 0) : resumeProof(tree, k))
  let caught = 0
  try {
    for (let k = 0; k < tree.blocks; k++) {
      const data = await readBlock(blob, k)
      verifier.feedProof(proofFor(k))
      if (liar && k === tampered) {
        const lie = data.slice()
        lie[lie.length >> 1] = (lie[lie.length >> 1] ?? 0) ^ 1
        try {
          verifier.feedBlock(lie)
        } catch (error) {
          if (!(error instanceof B3Error)) throw error
          caught++
          mark(k, 'bad')
          status.textContent = `block ${k}: ${error.code} — resuming from an honest node`
          status.className = 'status bad'
          await new Promise((r) => setTimeout(r, 600))
          // The verifier rewound to before block k's proof: an honest node sends it again.
          verifier.feedProof(proofFor(k))
          verifier.feedBlock(data)
          mark(k, 'resumed')
          continue
        }
      }
      verifier.feedBlock(data)
      mark(k, 'ok')
      if (k % 4 === 3) await frame()
    }
    status.className = 'status ok'
    status.textContent = `${tree.blocks} blocks verified${caught > 0 ? `, ${caught} lie caught and recovered` : ''}`
  } catch (error) {
    status.className = 'status bad'
    status.textContent =
      error instanceof B3Error ? `${error.code}: ${error.message}` : String(error)
  } finally {
    button.disabled = false
  }
}

function showProof(): void {
  if (current === undefined) return
  const { tree } = current
  const input = $<HTMLInputElement>('proof-block')
  input.max = String(tree.blocks - 1)
  const k = Math.max(0, Math.min(tree.blocks - 1, Number(input.value) || 0))
  const initial = initialProof(tree, k)
  const resume = k > 0 ? resumeProof(tree, k) : undefined
  $('proof-sizes').textContent =
    `initial ${initial.length} bytes${resume === undefined ? '' : ` · resume ${resume.length} bytes`}`
  $('proof-hex').textContent =
    `initial: ${bytesToHex(initial) || '(empty)'}\n${resume === undefined ? '' : `resume:  ${bytesToHex(resume) || '(empty)'}`}`
}

function sample(): Blob {
  const bytes = new Uint8Array(64 << 20)
  crypto.getRandomValues(bytes.subarray(0, 65_536))
  for (let off = 65_536; off < bytes.length; off *= 2)
    bytes.copyWithin(off, 0, Math.min(off, bytes.length - off))
  // Make every block distinct.
  for (let k = 0; k * TREE_BLOCK_LEN < bytes.length; k++) bytes[k * TREE_BLOCK_LEN] = k & 255
  return new Blob([bytes])
}

async function main(): Promise<void> {
  const kernel = await ready()
  const pill = $('kernel')
  pill.textContent = `engine: ${kernel.name}`
  pill.classList.add('ready')
  $('workers').textContent = `${workers} workers`
  const drop = $('drop')
  const file = $<HTMLInputElement>('file')
  file.addEventListener('change', () => {
    const f = file.files?.[0]
    if (f !== undefined) void address(f)
  })
  drop.addEventListener('dragover', (e) => {
    e.preventDefault()
    drop.classList.add('over')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (e) => {
    e.preventDefault()
    drop.classList.remove('over')
    const f = e.dataTransfer?.files[0]
    if (f !== undefined) void address(f)
  })
  $('sample').addEventListener('click', () => void address(sample()))
  $('stream').addEventListener('click', () => void stream())
  $('proof-block').addEventListener('input', showProof)
}

void main()
