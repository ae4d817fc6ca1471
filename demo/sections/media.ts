/**
 * Verified media through the service worker: an `<img>` and a seekable `<video>` whose `src`
 * are `/fulmen/<id>` URLs, each captioned with where its bytes came from (a node, a gateway or
 * the worker's cache), which node, the content id and the size.
 */
import { showId } from '../copy-id.ts'
import { byId, setText } from '../dom.ts'
import { formatBytes, plural } from '../format.ts'
import type { DemoContent } from '../network.ts'
import type { DemoState } from '../state.ts'
import type { Origin } from '../sw.ts'

interface MediaSlot {
  readonly key: 'image' | 'video'
  readonly element: HTMLImageElement | HTMLVideoElement
  readonly content: DemoContent | undefined
}

function caption(state: DemoState, key: string, origin: Origin | undefined, note = ''): void {
  const el = byId(`${key}-source`)
  if (origin === undefined) {
    el.dataset.source = 'error'
    setText(el, note)
    return
  }
  el.dataset.source = origin.source
  const who = origin.node === '' ? '' : ` · ${state.peers.name(origin.node)}`
  const via =
    origin.source === 'cache'
      ? 'cache (verified earlier)'
      : origin.source === 'gateway'
        ? `gateway${who}`
        : `node${who}`
  setText(el, `${via}${note === '' ? '' : ` · ${note}`}`)
  if (origin.node !== '') el.style.setProperty('--node', state.peers.color(origin.node))
}

function seekLabel(seconds: number): string {
  const s = Math.floor(seconds)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

export function mountMedia(state: DemoState): void {
  const slots: MediaSlot[] = [
    {
      key: 'image',
      element: byId<HTMLImageElement>('image'),
      content: state.network.content.image,
    },
    {
      key: 'video',
      element: byId<HTMLVideoElement>('video'),
      content: state.network.content.video,
    },
  ]
  let generation = 0

  for (const { key, content } of slots) {
    if (content === undefined) continue
    showId(byId(`${key}-id`), content.cid)
    setText(byId(`${key}-size`), `${formatBytes(content.bytes)} · ${content.type}`)
  }

  const load = async () => {
    if (state.swState === 'starting') return // mounted again on the `sw` event
    const sw = state.sw
    generation++
    for (const { key, element, content } of slots) {
      if (content === undefined) {
        caption(state, key, undefined, 'not in this network')
        continue
      }
      if (sw === undefined) {
        caption(state, key, undefined, 'needs the service worker')
        continue
      }
      setText(byId(`${key}-source`), 'fetching…')
      const url = sw.url(content, generation)
      // Where the first block comes from, read before the element asks for the rest (the
      // worker caches verified blocks, so a probe afterwards would always say "cache").
      const origin = await sw.probe(url).catch((error: unknown) => {
        caption(state, key, undefined, `failed: ${(error as Error).message}`)
        return undefined
      })
      if (origin !== undefined) caption(state, key, origin)
      element.src = url
    }
  }

  const image = byId<HTMLImageElement>('image')
  image.addEventListener('error', () => {
    if (image.src !== '') caption(state, 'image', undefined, 'failed to load')
  })
  const video = byId<HTMLVideoElement>('video')
  video.addEventListener('error', () => {
    if (video.getAttribute('src') !== null) caption(state, 'video', undefined, 'failed to load')
  })
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
    const s = state.swStats
    if (s === undefined) return
    const total = s.requests.node + s.requests.gateway + s.requests.cache
    const bytes = s.bytes.node + s.bytes.gateway + s.bytes.cache
    setText(
      stats,
      `Service worker: ${plural(total, 'response')} (${s.requests.node} from nodes, ` +
        `${s.requests.gateway} via gateways, ${s.requests.cache} from cache), ` +
        `${formatBytes(bytes)} verified${s.failures > 0 ? `, ${plural(s.failures, 'failure')}` : ''}.`,
    )
    stats.title = s.lastError === undefined ? '' : `last failure: ${s.lastError}`
  })
  state.addEventListener('sw', () => void load())
  void load()
}
