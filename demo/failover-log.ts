/**
 * The failover log: one line per node the client dropped, in words, completed with the node
 * that took over once it answers ("…; resumed at block 12 from node-2").
 */
import { isLie } from '../src/browser/sw/failure-kind.ts'
import type { NodeFailure } from '../src/client/errors.ts'
import { h } from './dom.ts'
import type { PeerDirectory } from './peers.ts'

/** Failures where a node sent content that did not verify (the rest: it left, stalled…). */
export { isLie }

/** What a failure code means, as "node X …". */
function whatHappened(code: string): string {
  switch (code) {
    case 'B3_BLOCK_MISMATCH':
      return 'sent a block that failed verification'
    case 'B3_PROOF_MISMATCH':
    case 'B3_PROOF_LENGTH':
      return 'sent a proof that failed verification'
    case 'WIRE_WRONG_CONTENT':
      return 'announced content with the wrong root or length'
    case 'CLIENT_WRONG_DIGEST':
      return 'sent content that does not match its digest'
    case 'CLIENT_TRUNCATED':
      return 'ended the stream before the last block'
    case 'CLIENT_STALLED':
      return 'stopped sending'
    case 'CLIENT_UNREACHABLE':
      return 'could not be reached'
    case 'SESSION_SHUTDOWN':
      return 'shut down mid-transfer'
    default:
      return code.startsWith('SESSION_') ? 'dropped the session' : 'failed'
  }
}

export class FailoverLog {
  private readonly list: HTMLOListElement
  private readonly peers: PeerDirectory
  /** The line waiting to learn which node took over. */
  private pending:
    | { item: HTMLLIElement; tail: HTMLElement; resumeBlock: number | undefined }
    | undefined

  constructor(list: HTMLOListElement, peers: PeerDirectory) {
    this.list = list
    this.peers = peers
  }

  get count(): number {
    return this.list.querySelectorAll('li[data-code]').length
  }

  /** `failure` dropped its node; `othersLeft`: whether the client has another node to go to. */
  failover(failure: NodeFailure, resumeBlock: number | undefined, othersLeft = true): void {
    this.list.querySelector('li.empty')?.remove()
    const at = resumeBlock === undefined ? '' : ` at block ${resumeBlock}`
    const tail = h('span', {
      class: 'tail',
      text: othersLeft
        ? resumeBlock === undefined
          ? '; trying another node…'
          : `; resuming${at} on another node…`
        : `; no other node: retrying${at}…`,
    })
    const item = h(
      'li',
      {
        'data-code': failure.code,
        'data-node': this.peers.name(failure.node),
        'data-peer': failure.node,
        'data-role': this.peers.get(failure.node)?.role,
        title: failure.message,
      },
      h('time', { text: new Date().toLocaleTimeString() }),
      h('span', { class: 'dot', style: `background:${this.peers.color(failure.node)}` }),
      h('strong', { text: this.peers.name(failure.node) }),
      ` ${whatHappened(failure.code)} (`,
      h('code', { text: failure.code }),
      ')',
      tail,
    )
    this.list.append(item)
    this.pending = { item, tail, resumeBlock }
  }

  /** `node` answered after a failover: it is the one that took over. */
  resumedBy(node: string): void {
    const p = this.pending
    if (p === undefined) return
    this.pending = undefined
    p.tail.textContent =
      p.resumeBlock === undefined
        ? `; started over from ${this.peers.name(node)}`
        : `; resumed at block ${p.resumeBlock} from ${this.peers.name(node)}`
    p.item.dataset.resumedBy = this.peers.name(node)
  }

  /** The fetch ended without anyone taking over. */
  gaveUp(): void {
    const p = this.pending
    this.pending = undefined
    if (p !== undefined) p.tail.textContent = '; no node left to resume from'
  }
}
