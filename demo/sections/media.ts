/**
 * Verified media through the service worker: an `<img>` and a seekable `<video>` whose `src`
 * are `/fulmen/<id>` URLs, each captioned with where its bytes came from (a node, a gateway or
 * the worker's cache), which node, the content id and the size, and what the worker caught on
 * the way (a node that lied or went away, and who took over). A fetch that fails shows the
 * failure in place of the media: no stale picture, no endless spinner.
 */

import type { SwFailureEvent } from '../../src/browser/sw/sw-stats.ts'
import { formatPointer, parsePointer } from '../../src/origin/pointer.ts'
import { showId } from '../copy-id.ts'
import { byId, setText } from '../dom.ts'
import { formatBytes, plural } from '../format.ts'
import type { DemoContent } from '../network.ts'
import type { DemoState } from '../state.ts'
import type { Origin } from '../sw.ts'

type MediaKey = 'image' | 'video'

interface MediaSlot {
  readonly key: MediaKey
  readonly element: HTMLImageElement | HTMLVideoElement
  readonly content: DemoContent | undefined
  /** The pointer spellings the worker reports fetches of this content under. */
  readonly spellings: ReadonlySet<string>
  /** Worker events before this index in `state.swEvents` belong to earlier loads. */
  since: number
}

function caption(state: DemoState, key: string, origin: Origin | undefined, note = ''): void {
  const el = byId(`${key}-source`)
  if (origin === undefined) {
    el.dataset.source = 'error'
    el.style.removeProperty('--node')
    setText(el, note)
    return
  }
  el.dataset.source = origin.source
  const who = origin.node === '' ? '' : ` · ${state.peers.name(state.peerOf(origin.node))}`
  const via =
    origin.source === 'cache'
      ? 'cache (verified earlier)'
      : origin.source === 'gateway'
        ? `gateway${who}`
        : `node${who}`
  setText(el, `${via}${note === '' ? '' : ` · ${note}`}`)
  if (origin.node !== '')
    el.style.setProperty('--node', state.peers.color(state.peerOf(origin.node)))
}

function seekLabel(seconds: number): string {
  const s = Math.floor(seconds)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/** `blake3:<hex>` and the pointer's own spelling (an HTTP pointer's URL#integrity). */
function spellingsOf(content: DemoContent | undefined): Set<string> {
  if (content === undefined) return new Set()
  const spellings = new Set([formatPointer({ kind: 'blake3', root: hexBytes(content.hex) })])
  try {
    spellings.add(formatPointer(parsePointer(content.pointer)))
  } catch {
    // Not a pointer the page can read: the root's spelling is enough.
  }
  return spellings
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16))
}

/** "liar lied (B3_BLOCK_MISMATCH) → node-2": one event, in words. */
function describeEvent(state: DemoState, e: SwFailureEvent): string {
  const name = state.peers.name(state.peerOf(e.node))
  const what = e.kind === 'lied' ? 'lied' : e.kind === 'closed' ? 'dropped the session' : e.kind
  const next = e.resumedBy === undefined ? '' : ` → ${state.peers.name(state.peerOf(e.resumedBy))}`
  return `${name} ${what} (${e.code})${next}`
}

export function mountMedia(state: DemoState): void {
  const slots: MediaSlot[] = (['image', 'video'] as const).map((key) => ({
    key,
    element: byId<HTMLImageElement | HTMLVideoElement>(key),
    content: state.network.content[key],
    spellings: spellingsOf(state.network.content[key]),
    since: 0,
  }))
  let generation = 0

  for (const { key, content } of slots) {
    if (content === undefined) continue
    showId(byId(`${key}-id`), content.cid)
    setText(byId(`${key}-size`), `${formatBytes(content.bytes)} · ${content.type}`)
  }

  /** The failure, where the media would be; the element emptied (an image, a video spinner). */
  const showFailure = (slot: MediaSlot, text: string) => {
    slot.element.removeAttribute('src')
    if (slot.element instanceof HTMLVideoElement) slot.element.load() // stops the spinner
    slot.element.hidden = true
    const el = byId(`${slot.key}-failed`)
    setText(el, text)
    el.hidden = false
    caption(state, slot.key, undefined, text)
  }
  const clearFailure = (slot: MediaSlot) => {
    slot.element.hidden = false
    byId(`${slot.key}-failed`).hidden = true
  }

  /** What the worker caught while fetching this slot's content since it was last loaded. */
  const renderCaught = (slot: MediaSlot) => {
    const el = byId(`${slot.key}-caught`)
    const events = state.swEvents
      .slice(slot.since)
      .filter((e) => slot.spellings.has(e.content) && e.kind !== 'not-found')
    const lies = events.filter((e) => e.kind === 'lied').length
    if (events.length === 0) {
      el.hidden = true
      delete el.dataset.caught
      return
    }
    el.hidden = false
    el.dataset.caught = lies > 0 ? 'lied' : 'failover'
    const head = lies > 0 ? `${plural(lies, 'lie')} caught` : `${plural(events.length, 'failover')}`
    setText(el, `${head}: ${events.map((e) => describeEvent(state, e)).join('; ')}`)
  }

  const load = async () => {
    if (state.swState === 'starting') return // mounted again on the `sw` event
    const sw = state.sw
    generation++
    for (const slot of slots) {
      const { key, element, content } = slot
      slot.since = state.swEvents.length
      renderCaught(slot)
      if (content === undefined) {
        caption(state, key, undefined, 'not in this network')
        continue
      }
      if (sw === undefined) {
        caption(state, key, undefined, 'needs the service worker')
        continue
      }
      clearFailure(slot)
      setText(byId(`${key}-source`), 'fetching…')
      const url = sw.url(content, generation)
      // Where the first block comes from, read before the element asks for the rest (the
      // worker caches verified blocks, so a probe afterwards would always say "cache").
      const origin = await sw.probe(url).catch((error: unknown) => {
        showFailure(slot, `failed: ${(error as Error).message}`)
        return undefined
      })
      if (origin === undefined) continue
      caption(state, key, origin)
      element.src = url
    }
  }

  for (const slot of slots) {
    slot.element.addEventListener('error', () => {
      if (slot.element.getAttribute('src') !== null) showFailure(slot, 'failed to load')
    })
  }
  const video = byId<HTMLVideoElement>('video')
  // A seek asks the worker for a Range: only the blocks it needs, verified, then cached.
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-seek]')) {
    button.addEventListener('click', () => {
      if (!Number.isFinite(video.duration)) return
      video.currentTime = video.duration * Number(button.dataset.seek)
    })
  }
  video.addEventListener('seeked', () => {
    const url = video.currentSrc
    if (state.sw === undefined || url === '') return
    const byte = Math.floor(
      ((state.network.content.video?.bytes ?? 0) * video.currentTime) / (video.duration || 1),
    )
    void state.sw
      .probe(url, byte)
      .then((origin) =>
        caption(state, 'video', origin, `seeked to ${seekLabel(video.currentTime)}`),
      )
      .catch(() => {})
  })

  const reload = byId<HTMLButtonElement>('media-reload')
  reload.addEventListener('click', () => {
    reload.disabled = true
    void (async () => {
      await state.sw?.clearCache()
      await load()
    })().finally(() => {
      reload.disabled = false
    })
  })
  const stats = byId('sw-stats')
  state.addEventListener('refresh', () => {
    for (const slot of slots) renderCaught(slot)
    const s = state.swStats
    if (s === undefined) return
    const total = s.requests.node + s.requests.gateway + s.requests.cache
    const bytes = s.bytes.node + s.bytes.gateway + s.bytes.cache
    const caught = [
      s.lies > 0 ? `${plural(s.lies, 'lie')} caught` : '',
      s.failovers > 0 ? plural(s.failovers, 'failover') : '',
      s.failures > 0 ? plural(s.failures, 'failed request') : '',
    ].filter((x) => x !== '')
    setText(
      stats,
      `Service worker: ${plural(total, 'response')} (${s.requests.node} from nodes, ` +
        `${s.requests.gateway} via gateways, ${s.requests.cache} from cache), ` +
        `${formatBytes(bytes)} verified${caught.length > 0 ? `; ${caught.join(', ')}` : ''}.`,
    )
    stats.dataset.lies = String(s.lies)
    stats.title = s.lastError === undefined ? '' : `last failure: ${s.lastError}`
  })
  state.addEventListener('sw', () => void load())
  void load()
}
