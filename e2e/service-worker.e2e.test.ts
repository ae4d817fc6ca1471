/**
 * The Fulmen service worker in real Chromium against the demo's local network: the demo page
 * registers it (demo/sw.ts → /fulmen-sw.ts, a module worker served by Vite); requests under
 * `/fulmen/` come back verified, with the right type, as 206 for ranges (a video seeks),
 * through a lying node (the lie counted in the worker's stats), from gateways only, from the
 * cache with every node down, after the browser stopped the worker, as a 404 when every node
 * says it has no such content and a 502 with an explanation when nothing can serve them; an
 * `If-None-Match` naming the root is a 304, and a HEAD gets the headers without a body.
 */
import { createHash } from 'node:crypto'
import { beforeAll, describe, expect, test } from 'vitest'
import { screenshot, useDemoPage } from './harness.ts'

/** SHA-256 of the image, read from a gateway while the nodes ran. */
let imageSha = ''

const t = useDemoPage({ demo: { network: { downloadBytes: 3 * 262_144 + 1234 } } })

interface Got {
  readonly status: number
  readonly headers: Record<string, string>
  readonly sha256: string
  readonly length: number
  readonly text: string
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')

/** `fetch(path)` in the page (through the worker): status, headers and what the body was. */
async function get(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Got> {
  const r = await inPage(
    async ([p, h, m]) => {
      const res = await fetch(p, { method: m, headers: h, cache: 'no-store' })
      const body = new Uint8Array(await res.arrayBuffer())
      return {
        status: res.status,
        headers: Object.fromEntries(res.headers),
        body: Array.from(body.length <= 4096 ? body : []),
        length: body.length,
        digest: Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', body))),
      }
    },
    [path, headers, method] as const,
  )
  return {
    status: r.status,
    headers: r.headers,
    length: r.length,
    sha256: Buffer.from(r.digest).toString('hex'),
    text: Buffer.from(r.body).toString('utf8'),
  }
}

/** The bytes of `path` straight from a node's gateway (raw, as the reference). */
async function reference(path: string, range?: string): Promise<Uint8Array> {
  const gateway = t.demo.network.nodes[1]!.gateway
  const res = await fetch(`${gateway}${path}`, range === undefined ? {} : { headers: { range } })
  return new Uint8Array(await res.arrayBuffer())
}

/** The parts of the worker's stats these tests read (src/browser/sw/sw-stats.ts). */
interface Stats {
  readonly startedAt: number
  readonly lastNode: string
  readonly lies: number
  readonly bytes: Record<string, number>
  readonly served: Record<string, number>
  readonly events: readonly {
    node: string
    code: string
    kind: string
    content: string
    resumedBy?: string
  }[]
}

/** Sends a message to the worker controlling the page and returns its reply. */
function tellWorker(message: unknown): Promise<{ ok: boolean; stats?: Stats }> {
  return inPage(async (m) => {
    const worker = navigator.serviceWorker.controller
    if (worker === null) throw new Error('no controller')
    const channel = new MessageChannel()
    const reply = new Promise<never>((resolve) => {
      channel.port1.onmessage = (e) => resolve(e.data as never)
    })
    worker.postMessage(m, [channel.port2])
    return reply
  }, message)
}

async function configure(config: Record<string, unknown>): Promise<void> {
  expect((await tellWorker({ type: 'fulmen:configure', config })).ok).toBe(true)
}

const clearCache = async () =>
  expect((await tellWorker({ type: 'fulmen:clear-cache' })).ok).toBe(true)

/** The sample image's `<prefix>http?url=…&integrity=…` path. */
function imagePath(): string {
  const [url = '', fragment = ''] = t.demo.network.content.image.pointer.split('#')
  const integrity = new URLSearchParams(fragment).get('integrity') ?? ''
  return `/fulmen/http?${new URLSearchParams({ url, integrity })}`
}

const videoPath = () => `/fulmen/${t.demo.network.content.video.cid}`

/**
 * `page.evaluate`, run again once if Vite's dev server reloaded the page meanwhile (it does
 * when a watched file changes or new dependencies were optimized).
 */
async function inPage<A, R>(fn: Parameters<typeof t.page.evaluate<R, A>>[0], arg: A): Promise<R> {
  try {
    return await t.page.evaluate(fn, arg)
  } catch (error) {
    if (!/context was destroyed|navigation/i.test(String(error))) throw error
    await t.page.waitForLoadState('load')
    await waitForController()
    return await t.page.evaluate(fn, arg)
  }
}

async function waitForController(): Promise<void> {
  await t.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, {
    timeout: 60_000,
  })
}

beforeAll(async () => {
  await waitForController()
})

describe('service worker', () => {
  test('serves the image verified from a node, with its content type', async () => {
    await clearCache()
    const image = t.demo.network.content.image
    const got = await get(imagePath())
    expect(got.status).toBe(200)
    expect(got.headers['content-type']).toBe('image/png')
    expect(got.headers['x-fulmen-source']).toBe('node')
    expect(got.headers['x-fulmen-node']).toMatch(/^12D3KooW/)
    expect(got.headers.etag).toBe(`"${image.hex}"`)
    expect(got.length).toBe(image.bytes)
    imageSha = sha256(await reference(image.path))
    expect(got.sha256).toBe(imageSha)
    // And an <img> shows it.
    const width = await inPage(async (src) => {
      const img = document.createElement('img')
      img.id = 'sw-image'
      img.src = src
      document.body.prepend(img)
      await img.decode()
      return img.naturalWidth
    }, imagePath())
    expect(width).toBeGreaterThan(0)
    await screenshot(t.page, 'service-worker-image', { fullPage: false })
  })

  test('answers a Range with 206, and a video seeks and plays', async () => {
    const video = t.demo.network.content.video
    const got = await get(videoPath(), { range: 'bytes=300000-' })
    expect(got.status).toBe(206)
    expect(got.headers['content-range']).toBe(`bytes 300000-${video.bytes - 1}/${video.bytes}`)
    expect(got.headers['content-type']).toBe(video.type)
    expect(got.sha256).toBe(sha256(await reference(video.path, 'bytes=300000-')))
    const unsatisfiable = await get(videoPath(), { range: `bytes=${video.bytes}-` })
    expect(unsatisfiable.status).toBe(416)
    expect(unsatisfiable.headers['content-range']).toBe(`bytes */${video.bytes}`)

    const played = await inPage(async (src) => {
      const v = document.createElement('video')
      v.muted = true
      v.preload = 'auto'
      v.src = src
      document.body.prepend(v)
      const once = (name: string) =>
        new Promise<void>((resolve, reject) => {
          v.addEventListener(name, () => resolve(), { once: true })
          v.addEventListener('error', () => reject(new Error(`video error ${v.error?.code}`)), {
            once: true,
          })
        })
      await once('loadedmetadata')
      const target = Number.isFinite(v.duration) ? v.duration / 2 : 1
      const seeked = once('seeked')
      v.currentTime = target
      await seeked
      const ticked = once('timeupdate')
      await v.play()
      await ticked
      v.pause()
      return { target, at: v.currentTime, duration: v.duration }
    }, videoPath())
    expect(played.at).toBeGreaterThanOrEqual(played.target)
    await screenshot(t.page, 'service-worker-video-seeked', { fullPage: false })
  })

  test('a lying node first in order: the bytes still come right, from another node', async () => {
    const { liar, nodes, content } = t.demo.network
    await configure({ nodes: [liar.multiaddr, ...nodes.map((n) => n.multiaddr)], order: 'given' })
    await clearCache()
    const got = await get(`/fulmen/${content.download.cid}`)
    expect(got.status).toBe(200)
    expect(got.sha256).toBe(sha256(await reference(content.download.path)))
    const { stats } = await tellWorker({ type: 'fulmen:stats' })
    expect(stats!.lastNode).not.toBe(liar.peerId)
    // The worker says what it caught: the liar's lie, who took over, who served what.
    expect(stats!.lies).toBeGreaterThanOrEqual(1)
    const lie = stats!.events.find(
      (e) => e.node === liar.peerId && e.content === `blake3:${content.download.hex}`,
    )
    expect(lie).toMatchObject({ code: 'B3_BLOCK_MISMATCH', kind: 'lied' })
    expect(nodes.map((n) => n.peerId)).toContain(lie!.resumedBy)
    expect(stats!.served[liar.peerId]).toBeGreaterThanOrEqual(1)
    expect(stats!.served[lie!.resumedBy!]).toBeGreaterThanOrEqual(1)
    await configure({ nodes: nodes.map((n) => n.multiaddr), order: 'latency' })
  })

  test('content no node has: 404 (not a 502), saying so', async () => {
    const missing = 'ab'.repeat(32)
    const got = await get(`/fulmen/${missing}`)
    expect(got.status).toBe(404)
    expect(got.headers['x-fulmen-error']).toBe('SW_NOT_FOUND')
    expect(got.text).toMatch(/^404 SW_NOT_FOUND\n/)
    for (const node of t.demo.network.nodes) expect(got.text).toContain(node.peerId)
    expect((await get(`/fulmen/${missing}`, {}, 'HEAD')).status).toBe(404)
  })

  test('If-None-Match with the root: 304 without a body; another tag: 200', async () => {
    const video = t.demo.network.content.video
    const same = await get(videoPath(), { 'if-none-match': `"${video.hex}"` })
    expect(same.status).toBe(304)
    expect(same.headers.etag).toBe(`"${video.hex}"`)
    expect(same.length).toBe(0)
    const weakInList = await get(videoPath(), { 'if-none-match': `"other", W/"${video.hex}"` })
    expect(weakInList.status).toBe(304)
    const other = await get(videoPath(), { 'if-none-match': `"${'0'.repeat(64)}"` })
    expect(other.status).toBe(200)
    expect(other.length).toBe(video.bytes)
  })

  test('HEAD: the headers a GET would get, and no body fetched or sent', async () => {
    const video = t.demo.network.content.video
    await clearCache()
    const before = (await tellWorker({ type: 'fulmen:stats' })).stats!
    const head = await get(videoPath(), {}, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.length).toBe(0)
    expect(head.headers['content-length']).toBe(String(video.bytes))
    expect(head.headers['content-type']).toBe(video.type)
    expect(head.headers.etag).toBe(`"${video.hex}"`)
    const ranged = await get(videoPath(), { range: 'bytes=300000-300009' }, 'HEAD')
    expect(ranged.status).toBe(206)
    expect(ranged.headers['content-range']).toBe(`bytes 300000-300009/${video.bytes}`)
    expect(ranged.headers['content-length']).toBe('10')
    const after = (await tellWorker({ type: 'fulmen:stats' })).stats!
    const sent = (s: Stats) => Object.values(s.bytes).reduce((a, b) => a + b, 0)
    expect(sent(after)).toBe(sent(before))
    // At most block 0 came from the network (for the length and the sniffed type).
    const blocks = (s: Stats) => Object.values(s.served).reduce((a, b) => a + b, 0)
    expect(blocks(after) - blocks(before)).toBeLessThanOrEqual(1)
  })

  test('gateways only: verified over HTTP', async () => {
    const { nodes, content } = t.demo.network
    await configure({ nodes: [], gateways: nodes.map((n) => n.gateway) })
    await clearCache()
    const got = await get(`/fulmen/${content.video.hex}`, { range: 'bytes=0-99999' })
    expect(got.status).toBe(206)
    expect(got.headers['x-fulmen-source']).toBe('gateway')
    expect(got.headers['x-fulmen-node']).toBe(nodes[0]!.gateway)
    expect(got.sha256).toBe(sha256(await reference(content.video.path, 'bytes=0-99999')))
    await configure({ nodes: nodes.map((n) => n.multiaddr) })
  })

  test('a worker the browser stopped starts again and reloads its configuration', async () => {
    const before = await tellWorker({ type: 'fulmen:stats' })
    const cdp = await t.context.newCDPSession(t.page)
    await cdp.send('ServiceWorker.enable')
    await cdp.send('ServiceWorker.stopAllWorkers')
    const got = await get(`/fulmen/${t.demo.network.content.video.hex}`, { range: 'bytes=5-9' })
    expect(got.status).toBe(206)
    expect(got.length).toBe(5)
    const after = await tellWorker({ type: 'fulmen:stats' })
    expect(after.stats!.startedAt).toBeGreaterThan(before.stats!.startedAt)
    await cdp.detach()
  })

  test('every node down: a reload still shows the cached image and video', async () => {
    // Cache the whole image and video first.
    expect((await get(imagePath())).status).toBe(200)
    expect((await get(videoPath())).status).toBe(200)
    await t.demo.network.stopAllNodes()
    await t.page.reload()
    await waitForController()
    const image = await get(imagePath())
    expect(image.status).toBe(200)
    expect(image.headers['x-fulmen-source']).toBe('cache')
    expect(image.sha256).toBe(imageSha)
    const video = await get(videoPath(), { range: 'bytes=1000000-' })
    expect(video.status).toBe(206)
    expect(video.headers['x-fulmen-source']).toBe('cache')
    const width = await inPage(async (src) => {
      const img = document.createElement('img')
      img.src = src
      document.body.prepend(img)
      await img.decode()
      return img.naturalWidth
    }, imagePath())
    expect(width).toBeGreaterThan(0)
    await screenshot(t.page, 'service-worker-offline-reload', { fullPage: false })
  })

  test('every node down and nothing cached: 502 with an explanation, no content bytes', async () => {
    await clearCache()
    const got = await get(`/fulmen/${t.demo.network.content.download.cid}`)
    expect(got.status).toBe(502)
    expect(got.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(got.text).toMatch(/^502 SW_UNAVAILABLE\n/)
    for (const node of t.demo.network.nodes) expect(got.text).toContain(node.peerId)
    expect(got.length).toBe(new TextEncoder().encode(got.text).length)
  })
})
