/**
 * The verified download: `client.fetch(cid)` through the browser client, with a progress bar,
 * the rate, a block grid coloured by the node that served each block, the failover log, the
 * content id checked twice (the client's verified root, then a re-hash of the saved bytes),
 * and a "save file" link.
 */

import { TREE_BLOCK_LEN } from '../../src/b3/constants.ts'
import { formatContentId } from '../../src/b3/content-id.ts'
import { buildTreeParallel } from '../../src/b3/parallel.ts'
import type { FetchProgress } from '../../src/client/progress.ts'
import { BlockGrid } from '../block-grid.ts'
import { showId } from '../copy-id.ts'
import { byId, frameThrottle, h, setText } from '../dom.ts'
import { FailoverLog, isLie } from '../failover-log.ts'
import { formatBytes, formatRate, plural } from '../format.ts'
import { hashPool } from '../hash-pool.ts'
import type { DemoContent } from '../network.ts'
import type { DemoState } from '../state.ts'

type Tone = 'ok' | 'bad' | 'busy' | ''

function status(text: string, tone: Tone = ''): void {
  const el = byId('download-status')
  el.className = `status ${tone}`
  setText(el, text)
}

function renderLegend(state: DemoState): void {
  const items = state.peers.all.map((p) =>
    h(
      'li',
      {},
      h('i', {
        class: 'b',
        'data-state': 'verified',
        'data-role': p.role === 'tab' ? 'tab' : undefined,
        style: `--node:${p.color}`,
      }),
      p.role === 'tab' ? `${p.name} (browser tab)` : p.name,
    ),
  )
  items.push(
    h('li', {}, h('i', { class: 'b', 'data-state': 'rejected' }), 'rejected'),
    h(
      'li',
      {},
      h('i', { class: 'b', 'data-state': 'resumed', style: '--node:#94a3b8' }),
      'resumed elsewhere',
    ),
    h('li', {}, h('i', { class: 'b', 'data-state': 'pending' }), 'waiting'),
  )
  byId('blocks-legend').replaceChildren(...items)
}

/**
 * A failure message for the status line. With per-node failures, each node once by name with
 * its typed error(s), instead of the client's message (which lists the same nodes by peer id).
 */
export function describeFetchError(state: DemoState, error: unknown): string {
  const e = error as {
    code?: string
    message?: string
    failures?: { node: string; code: string }[]
  }
  const byNode = new Map<string, Set<string>>()
  for (const f of e.failures ?? []) {
    const codes = byNode.get(f.node) ?? new Set<string>()
    codes.add(f.code)
    byNode.set(f.node, codes)
  }
  if (byNode.size === 0) return `${e.code ?? 'Error'}: ${e.message ?? String(error)}`
  const who = [...byNode].map(
    ([node, codes]) => `${state.peers.name(node)}: ${[...codes].join(', ')}`,
  )
  const what = e.code === 'FETCH_NOT_FOUND' ? 'no node has it' : 'every node failed'
  return `${e.code ?? 'Error'}: ${what} (${who.join('; ')})`
}

/** How a block cell names the peer that served (or failed) it. */
function nodeOf(state: DemoState, peerId: string) {
  const peer = state.peers.get(peerId)
  return {
    name: state.peers.name(peerId),
    color: state.peers.color(peerId),
    peer: peerId,
    ...(peer === undefined ? {} : { role: peer.role }),
  }
}

async function rehash(blob: Blob): Promise<string> {
  const tree = await buildTreeParallel(blob.stream(), hashPool(), { transferChunks: true })
  return formatContentId(tree.root, 'cid')
}

export function mountDownload(state: DemoState): void {
  const content: DemoContent | undefined = state.network.content.download
  const start = byId<HTMLButtonElement>('download-start')
  const cancel = byId<HTMLButtonElement>('download-cancel')
  const save = byId<HTMLAnchorElement>('download-save')
  const bar = byId<HTMLProgressElement>('download-progress')
  const rate = byId('download-rate')
  const grid = byId('blocks')
  const log = new FailoverLog(byId<HTMLOListElement>('failover-log'), state.peers)
  renderLegend(state)
  state.addEventListener('peers', () => renderLegend(state))
  if (content === undefined) {
    start.disabled = true
    status('No download in this network.')
    return
  }
  const blocks = Math.max(1, Math.ceil(content.bytes / TREE_BLOCK_LEN))
  setText(byId('download-name'), content.name)
  setText(
    byId('download-meta'),
    `${formatBytes(content.bytes)} · ${plural(blocks, 'block')} · ${content.type}`,
  )
  showId(byId('download-expected'), content.cid)
  new BlockGrid(grid, blocks)
  let controller: AbortController | undefined
  let saved: string | undefined

  /** Whether the client has a node left to go to: one in the route, running, not yet dropped. */
  const othersLeft = (failed: ReadonlySet<string>): boolean =>
    state.peers.all.some((p) => {
      if (failed.has(p.peerId)) return false
      if (p.index !== undefined && state.stopped.has(p.index)) return false
      return (
        p.role === 'tab' ||
        state.clients.route?.bootstrap.some((a) => a.endsWith(`/p2p/${p.peerId}`)) === true
      )
    })

  const run = async () => {
    const client = await state.clients.ready()
    controller = new AbortController()
    const { signal } = controller
    state.busy = true
    state.emit('route')
    start.disabled = true
    cancel.disabled = false
    save.hidden = true
    byId('download-facts').hidden = true
    if (saved !== undefined) URL.revokeObjectURL(saved)
    const cells = new BlockGrid(grid, blocks)
    const nodes = new Set<string>()
    /** Nodes dropped during this download: a clean one clears the others' old labels. */
    const failed = new Set<string>()
    let verified = 0
    let received = 0
    // A lie is content that failed verification; a node that left or stalled is a failover.
    let lies = 0
    let failovers = 0
    const started = performance.now()
    const paint = frameThrottle(() => {
      bar.value = verified / blocks
      setText(rate, formatRate(received, performance.now() - started))
    })
    const onProgress = (event: FetchProgress) => {
      if (event.type === 'header') log.resumedBy(event.node)
      else if (event.type === 'block') {
        log.resumedBy(event.node)
        // Not a bootstrap node: the client discovered it, a browser tab holding the file.
        if (state.peers.get(event.node) === undefined) state.noteTab(event.node)
        const node = nodeOf(state, event.node)
        cells.mark(
          event.block,
          cells.state(event.block) === 'rejected' ? 'resumed' : 'verified',
          node,
        )
        state.served.add(event.node)
        nodes.add(event.node)
        verified = Math.max(verified, event.verified)
        status(`Verifying… block ${event.verified} of ${event.total} from ${node.name}`, 'busy')
        paint()
      } else if (event.type === 'failover') {
        if (isLie(event.failure.code)) lies++
        else failovers++
        failed.add(event.failure.node)
        state.labels.note(event.failure.node, event.failure, 'download')
        if (event.resumeBlock !== undefined) {
          cells.mark(event.resumeBlock, 'rejected', nodeOf(state, event.failure.node))
        }
        log.failover(event.failure, event.resumeBlock, othersLeft(failed))
        state.emit('refresh')
      }
    }
    status(`Connecting to ${state.liar ? 'the lying node first' : 'the nearest node'}…`, 'busy')
    try {
      const response = await client.fetch(content.pointer, { signal, onProgress })
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const chunks: Uint8Array<ArrayBuffer>[] = []
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        chunks.push(value as Uint8Array<ArrayBuffer>)
        received += value.byteLength
        paint()
      }
      const ms = performance.now() - started
      for (const node of nodes) if (!failed.has(node)) state.labels.servedCleanly(node)
      verified = blocks
      paint()
      const blob = new Blob(chunks, { type: content.type })
      const root = response.headers.get('x-content-id') ?? ''
      const matches = root === '' || root === content.cid
      saved = URL.createObjectURL(blob)
      save.href = saved
      save.download = content.name
      save.hidden = false
      showId(byId('download-root'), root === '' ? '(not reported)' : root)
      setText(byId('download-rehash'), 're-hashing…')
      byId('download-facts').hidden = false
      const via = [...nodes].map((n) => state.peers.name(n)).join(' + ')
      status(
        `${formatBytes(received)} verified: ${plural(blocks, 'block')} from ${via} in ${(ms / 1000).toFixed(1)} s` +
          ` (${formatRate(received, ms)})${lies > 0 ? `, ${plural(lies, 'lie')} caught` : ''}` +
          `${failovers > 0 ? `, ${plural(failovers, 'failover')}` : ''}` +
          `${matches ? '; content id matches' : '; CONTENT ID MISMATCH'}.`,
        matches ? 'ok' : 'bad',
      )
      const again = await rehash(blob)
      const el = byId('download-rehash')
      showId(el, again)
      el.append(
        h('span', {
          class: again === content.cid ? 'match ok' : 'match bad',
          text: again === content.cid ? '✓ matches' : '✗ differs',
        }),
      )
    } catch (error) {
      log.gaveUp()
      if (signal.aborted) status(`Cancelled after ${plural(verified, 'verified block')}.`)
      else status(describeFetchError(state, error), 'bad')
    } finally {
      controller = undefined
      state.busy = false
      state.emit('route')
      start.disabled = false
      cancel.disabled = true
      void state.poll()
    }
  }

  start.addEventListener('click', () => void run())
  cancel.addEventListener('click', () =>
    controller?.abort(new DOMException('cancelled', 'AbortError')),
  )
  // Enabled once a client exists.
  const ready = () => {
    if (controller === undefined) start.disabled = state.clients.current === undefined
  }
  state.clients.addEventListener('change', ready)
  ready()
}
