/**
 * The light client panel (issue 17): the chain as this page verified it, trusting the genesis
 * alone. A light client of its own (fulmen/light, in a Web Worker) walks the committee's signed
 * checkpoints from the genesis to the newest the staked nodes' gateways serve, then proves the
 * epoch's committee and every node's record (stake, activity, reputation) against the verified
 * state root. The panel shows the verified epoch, height, state root, committee, how many
 * checkpoints it checked and from where; the nodes panel shows each node's proof
 * (`state.proofs`). It syncs again every few seconds; a failed sync names its code.
 *
 * The page's download client verifies with a light client of its own (clients.ts): that one
 * refuses the unstaked node, and the nodes panel shows the refusal next to this proof. The chain
 * panel has this one's worker check the DA batch proofs of the settlements it logs (on a solo
 * chain too, where there is nothing else for it to do).
 */
import {
  type BrowserLightClient,
  createLightClient,
  type LightHeadInfo,
  type LightProgress,
  type LightSyncResult,
} from '../../src/browser/light/index.ts'
import { byId, h, setText } from '../dom.ts'
import { plural, toHex } from '../format.ts'
import { chainOf, stakedGateways } from '../routing.ts'
import type { DemoState } from '../state.ts'

/** Sync again this often (the committee signs a checkpoint every few blocks). */
const SYNC_MS = 5_000

interface Failure {
  readonly code: string
  readonly message: string
}

function failureOf(error: unknown): Failure {
  const e = error as { code?: unknown; message?: unknown }
  return {
    code: typeof e?.code === 'string' ? e.code : 'ERROR',
    message: typeof e?.message === 'string' ? e.message : String(error),
  }
}

/** `ab12cd34…`: a node key short enough for a chip. */
function shortKey(hex: string): string {
  return `${hex.slice(0, 8)}…`
}

/** The committee's members (hex) in a `committees` entry's JSON form; [] when absent. */
function membersOf(entry: unknown): string[] {
  const members = (entry as { members?: unknown } | null)?.members
  if (!Array.isArray(members)) return []
  return members.map((m) => String(m).replace(/^0x/, '').toLowerCase())
}

export function mountLight(state: DemoState): void {
  const section = byId('light')
  const status = byId('light-status')
  const committeeLine = byId('light-committee')
  const tiles = {
    epoch: byId('light-epoch'),
    height: byId('light-height'),
    root: byId('light-root'),
    checkpoints: byId('light-checkpoints'),
    source: byId('light-source'),
  }
  const chain = chainOf(state.network)
  if (chain === undefined) {
    // No checkpoints to walk, but the worker still checks the chain panel's batch proofs.
    state.light = createLightClient({
      genesis: state.network.chain.genesisJson,
      gateways: stakedGateways(state.network),
      database: false,
    })
    state.light.then(
      (light) => addEventListener('pagehide', () => void light.close().catch(() => {})),
      () => {},
    )
    section.dataset.state = 'solo'
    setText(
      status,
      'This chain is ordered by node-1 alone (solo): it signs no checkpoints, so a light client has nothing to verify. `npm start` runs a committee chain.',
    )
    return
  }
  const nameOf = (url: string) =>
    state.network.nodes.find((n) => n.gateway === url)?.name ?? url.replace(/^https?:\/\//, '')

  const showStatus = (text: string, tone: 'ok' | 'warn' | 'bad' | 'idle', code?: string) => {
    setText(status, text)
    status.dataset.tone = tone
    if (code === undefined) delete status.dataset.code
    else status.dataset.code = code
  }

  const onProgress = (p: LightProgress) =>
    showStatus(
      `Syncing: epoch ${p.epoch}, height ${p.height}, ${plural(p.checkpoints, 'checkpoint')} verified from ${nameOf(p.source)}…`,
      'idle',
    )

  const renderHead = (head: LightHeadInfo, result: LightSyncResult) => {
    setText(tiles.epoch, String(head.epoch))
    setText(tiles.height, head.height.toLocaleString())
    tiles.height.dataset.height = String(head.height)
    const root = toHex(head.stateRoot)
    setText(tiles.root, `${root.slice(0, 12)}…`)
    tiles.root.title = root
    setText(tiles.checkpoints, head.verified.toLocaleString())
    setText(tiles.source, nameOf(result.source))
    tiles.source.title = result.source
    section.dataset.state = 'verified'
  }

  /** The head's committee, each member named when its key is a known node's. */
  const renderCommittee = (epoch: number, members: readonly string[]) => {
    const names = new Map<string, string>()
    for (const node of state.network.nodes) {
      const record = state.proofs.get(node.peerId)?.record
      if (record !== undefined) names.set(toHex(record.nodeKey), node.name)
    }
    committeeLine.dataset.epoch = String(epoch)
    committeeLine.dataset.size = String(members.length)
    if (members.length === 0) {
      committeeLine.replaceChildren(`No committee proven for epoch ${epoch}.`)
      return
    }
    committeeLine.replaceChildren(
      h('span', {
        class: 'committee-title',
        text: `Committee of epoch ${epoch} (${plural(members.length, 'member')}, proven): `,
      }),
      ...members.map((key) =>
        h(
          'span',
          { class: 'committee-member', title: key, 'data-key': key },
          h('code', { text: shortKey(key) }),
          names.has(key) ? ` ${names.get(key)}` : undefined,
        ),
      ),
    )
  }

  /** Every node's record (and the liar's) proven at the head. */
  const proveNodes = async (light: BrowserLightClient) => {
    const peers = [...state.network.nodes.map((n) => n.peerId), state.network.liar.peerId]
    for (const peer of peers) {
      try {
        state.proofs.set(peer, { record: await light.nodeRecord(peer) })
      } catch (error) {
        state.proofs.set(peer, { error: failureOf(error) })
      }
    }
    state.emit('light')
  }

  let provenAt = -1
  const round = async (light: BrowserLightClient) => {
    try {
      const result = await light.sync({ onProgress })
      const head = await light.head()
      showStatus(
        `Verified from the genesis: ${plural(result.checkpoints, 'new checkpoint')} this sync, head from ${nameOf(result.source)}; every node's record in the network panel is proven against this state root.`,
        'ok',
      )
      renderHead(head, result)
      if (head.height !== provenAt) {
        await proveNodes(light)
        const committee = await light.verify('committees', String(head.epoch))
        renderCommittee(head.epoch, membersOf(committee.entry))
        provenAt = head.height
      }
    } catch (error) {
      const f = failureOf(error)
      section.dataset.state = 'error'
      showStatus(`Sync failed: ${f.code}: ${f.message}`, 'bad', f.code)
    }
  }

  // Shared with the chain panel, which has it check the settlements' batch proofs.
  const started = createLightClient({ genesis: chain.genesis, gateways: chain.gateways })
  state.light = started
  void (async () => {
    let light: BrowserLightClient
    try {
      light = await started
    } catch (error) {
      const f = failureOf(error)
      section.dataset.state = 'error'
      showStatus(`The light client did not start: ${f.code}: ${f.message}`, 'bad', f.code)
      return
    }
    addEventListener('pagehide', () => void light.close().catch(() => {}))
    for (;;) {
      await round(light)
      await new Promise((resolve) => setTimeout(resolve, SYNC_MS))
    }
  })()
}
