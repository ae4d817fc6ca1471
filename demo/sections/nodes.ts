/**
 * The nodes panel: one row per node (and the liar) with its latency, session, the blocks it
 * served this page (its download client, and the service worker for the media), its delivery
 * acknowledgements and status; stop/start for full nodes (real processes, stopped by the dev
 * server) to show failover and the offline cache live. The status names what went wrong by
 * kind (node-labels.ts): "lied", "unreachable", "closed"… Browser tabs the client discovered
 * get a row of their own as they appear, labelled "browser tab". The Proof column says what
 * the page's light client proved of each node at its verified head (sections/light.ts):
 * staked, with its stake and reputation, or not; and the client's refusal of a node it proved
 * unstaked (CLIENT_NOT_STAKED), however correct the bytes that node would serve.
 */

import { formatAmount } from '../chain.ts'
import { byId, h, setText } from '../dom.ts'
import { formatMs, plural } from '../format.ts'
import { setNodeRunning } from '../network.ts'
import type { Peer } from '../peers.ts'
import type { DemoState } from '../state.ts'

const ROLE_LABELS: Record<Peer['role'], string> = {
  node: 'full node',
  liar: 'lying node',
  tab: 'browser tab',
}

interface Row {
  readonly tr: HTMLTableRowElement
  readonly cells: Record<'latency' | 'session' | 'served' | 'das' | 'proof' | 'status', HTMLElement>
  readonly button: HTMLButtonElement | undefined
}

function makeRow(state: DemoState, peer: Peer): Row {
  const cell = (label: string) => h('td', { 'data-label': label })
  const cells = {
    latency: cell('Latency'),
    session: cell('Session'),
    served: cell('Served'),
    das: cell('DAs'),
    proof: cell('Proof'),
    status: cell('Status'),
  }
  const button =
    peer.index === undefined
      ? undefined
      : h('button', { type: 'button', class: 'ghost small', 'aria-label': `Stop ${peer.name}` })
  if (button !== undefined && peer.index !== undefined) {
    const index = peer.index
    button.addEventListener('click', () => {
      const running = state.stopped.has(index)
      button.disabled = true
      setText(cells.status, running ? 'starting…' : 'stopping…')
      void setNodeRunning(index, running)
        .then(async () => {
          await state.reloadNetwork()
          await state.poll(true)
        })
        .catch((error: unknown) => setText(cells.status, (error as Error).message))
        .finally(() => {
          button.disabled = false
        })
    })
  }
  const name = h(
    'th',
    { scope: 'row' },
    h('span', { class: 'dot', style: `background:${peer.color}` }),
    h('span', { class: 'node-name', text: peer.name }),
    h('span', { class: `role ${peer.role}`, text: ROLE_LABELS[peer.role] }),
    h('code', { class: 'peer', text: `…${peer.peerId.slice(-8)}`, title: peer.multiaddr }),
  )
  const tr = h(
    'tr',
    { 'data-peer': peer.peerId, 'data-role': peer.role },
    name,
    cells.latency,
    cells.session,
    cells.served,
    cells.das,
    cells.proof,
    cells.status,
    h('td', { class: 'row-actions' }, button),
  )
  return { tr, cells, button }
}

/** "24 blocks", and under it what the service worker had from this node (media), if anything. */
function renderServed(state: DemoState, peer: Peer, cell: HTMLElement): void {
  const page = state.served.get(peer.peerId)
  const gateway = peer.index === undefined ? undefined : state.network.nodes[peer.index]?.gateway
  const worker = state.served.byWorker(peer.peerId, ...(gateway === undefined ? [] : [gateway]))
  const text = `${plural(page, 'block')}${worker.toLocaleString()} via service worker`
  if (cell.textContent === text) return
  cell.dataset.page = String(page)
  cell.dataset.worker = String(worker)
  cell.title = 'Verified blocks this node sent the download client · the service worker (media)'
  cell.replaceChildren(
    h('span', { text: plural(page, 'block') }),
    h('span', { class: 'served-sw', text: `${worker.toLocaleString()} via service worker` }),
  )
}

/** Refused by the page's client because its light client proved the node is not staked. */
function refusedUnstaked(state: DemoState, peer: Peer): boolean {
  const failure = state.statuses.get(peer.peerId)?.lastFailure
  return state.clients.route?.chain !== undefined && failure?.code === 'CLIENT_NOT_STAKED'
}

/**
 * "staked ✓ epoch 3, | stake 1,000, reputation 80, proven at height 120", "refused:
 * CLIENT_NOT_STAKED | (not staked, proven at height 120)", or why no proof could be had: a
 * headline and, in small type under it, the detail.
 */
function renderProof(state: DemoState, peer: Peer, cell: HTMLElement): void {
  const proof = state.proofs.get(peer.peerId)
  let head: string
  let detail = ''
  let tone: string
  if (refusedUnstaked(state, peer)) {
    const where = proof?.record === undefined ? '' : `, proven at height ${proof.record.height}`
    ;[head, detail, tone] = ['refused: CLIENT_NOT_STAKED ', `(not staked${where})`, 'bad']
  } else if (proof === undefined)
    [head, tone] = [peer.role === 'tab' ? '—' : 'no proof yet', 'idle']
  else if (proof.error !== undefined) [head, tone] = [`no proof: ${proof.error.code}`, 'warn']
  else {
    const r = proof.record
    const reputation = r.reputation === undefined ? 'none yet' : String(r.reputation.score)
    if (r.staked && r.active)
      [head, detail, tone] = [
        `staked ✓ epoch ${r.epoch}${r.member ? ' (committee)' : ''}, `,
        `stake ${formatAmount(r.stake, 2)}, reputation ${reputation}, proven at height ${r.height}`,
        'ok',
      ]
    else
      [head, detail, tone] = [
        r.registered ? (r.staked ? 'not active ' : 'stake below the minimum ') : 'not staked ',
        `(proven at height ${r.height})${peer.role === 'liar' ? '; the lying route does not verify' : ''}`,
        'warn',
      ]
  }
  const signature = `${tone}|${head}|${detail}`
  if (cell.dataset.signature === signature) return
  cell.dataset.signature = signature
  cell.dataset.proof = tone
  cell.replaceChildren(
    h('span', { text: head }),
    ...(detail === '' ? [] : [h('span', { class: 'proof-detail', text: detail })]),
  )
  cell.title =
    proof?.record === undefined
      ? (proof?.error?.message ?? '')
      : `Proven against the light client's verified state root at epoch ${proof.record.epoch}, height ${proof.record.height}`
}

function renderRow(state: DemoState, peer: Peer, row: Row): void {
  const s = state.statuses.get(peer.peerId)
  const stopped = peer.index !== undefined && state.stopped.has(peer.index)
  // A tab is not in the route: the client found it by asking the nodes, it is in as long as the
  // client knows it.
  const inRoute =
    peer.role === 'tab'
      ? s !== undefined
      : state.clients.route?.bootstrap.some((a) => a.endsWith(`/p2p/${peer.peerId}`)) === true
  const da = state.da.totals(peer.peerId)
  setText(row.cells.latency, stopped || !inRoute ? '—' : formatMs(s?.latencyMs))
  setText(row.cells.session, inRoute && s?.session === true ? 'open' : '—')
  renderServed(state, peer, row.cells.served)
  renderProof(state, peer, row.cells.proof)
  setText(
    row.cells.das,
    `${da.verifiedUnits.toLocaleString()} / ${da.acknowledgedUnits.toLocaleString()} · ${plural(da.commitments, 'commitment')}`,
  )
  const label = state.labels.get(peer.peerId)
  let status: string
  let tone: string
  if (stopped) [status, tone] = ['stopped', 'bad']
  else if (inRoute && refusedUnstaked(state, peer))
    [status, tone] = ['refused: CLIENT_NOT_STAKED', 'bad']
  else if (!inRoute && label?.kind !== 'lied') [status, tone] = ['not in route', 'idle']
  else if (label !== undefined)
    [status, tone] = [
      // A tab that went away left; a lie is a lie whoever told it.
      `${peer.role === 'tab' && label.kind !== 'lied' ? 'left' : label.kind}: ${label.code}`,
      label.kind === 'lied' ? 'bad' : 'warn',
    ]
  else if (peer.role === 'tab')
    [status, tone] = [s?.session === true ? 'serving' : 'holds content', 'ok']
  else if (s?.latencyMs === undefined) [status, tone] = ['unreachable', 'warn']
  else [status, tone] = ['online', 'ok']
  setText(row.cells.status, status)
  row.cells.status.title =
    label === undefined
      ? ''
      : `${label.message} (caught by the ${label.by}, ${new Date(label.at).toLocaleTimeString()})`
  row.tr.dataset.status = tone
  if (label === undefined) {
    delete row.tr.dataset.failure
    delete row.tr.dataset.caughtBy
  } else {
    row.tr.dataset.failure = label.kind
    row.tr.dataset.caughtBy = label.by
  }
  if (row.button !== undefined) {
    setText(row.button, stopped ? 'Start' : 'Stop')
    row.button.setAttribute('aria-label', `${stopped ? 'Start' : 'Stop'} ${peer.name}`)
  }
}

export function mountNodes(state: DemoState): void {
  const body = byId('nodes')
  const rows = new Map(state.peers.all.map((p) => [p.peerId, makeRow(state, p)]))
  body.replaceChildren(...[...rows.values()].map((r) => r.tr))
  const render = () => {
    for (const peer of state.peers.all) {
      let row = rows.get(peer.peerId)
      if (row === undefined) {
        // A tab discovered since: appended below the full nodes.
        row = makeRow(state, peer)
        rows.set(peer.peerId, row)
        body.append(row.tr)
      }
      renderRow(state, peer, row)
      row.tr.classList.toggle('own', peer.peerId === state.ownTab)
    }
  }
  state.addEventListener('refresh', render)
  state.addEventListener('route', render)
  state.addEventListener('peers', render)
  state.addEventListener('light', render)
  render()
}
