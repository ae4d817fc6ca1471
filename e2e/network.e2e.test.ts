/**
 * The demo's local network, seen from Chromium: `/fulmen-network.json` describes three nodes,
 * the liar and the sample content; every node's gateway and WebSockets listener is reachable
 * from the page (CORS); the image comes from the origin through a node, intact; the video
 * plays and seeks; nodes stop and start through the demo server's endpoints.
 *
 * The demo page itself is not asserted on here (it has tests of its own).
 */
import { createHash } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import type { NetworkDescription } from '../src/devnet/local-network.ts'
import { screenshot, useDemoPage } from './harness.ts'

const BLOCK = 262_144

const t = useDemoPage()

/** The description as the page sees it. */
function networkJson(): Promise<NetworkDescription> {
  return t.page.evaluate(async () => {
    const res = await fetch('/fulmen-network.json')
    if (!res.ok) throw new Error(`/fulmen-network.json: ${res.status}`)
    return res.json()
  })
}

/** `/ip4/A/tcp/P/ws/p2p/…` → `ws://A:P/` */
function wsUrl(multiaddr: string): string {
  const m = /^\/ip4\/([\d.]+)\/tcp\/(\d+)\/ws\/p2p\/\w+$/.exec(multiaddr)
  if (m === null) throw new Error(`not a ws multiaddr with /p2p: ${multiaddr}`)
  return `ws://${m[1]}:${m[2]}/`
}

describe('the network description', () => {
  test('/fulmen-network.json: three running nodes, the liar on node-1, the sample content', async () => {
    const net = await networkJson()
    expect(net).toEqual(JSON.parse(JSON.stringify(t.demo.network.toJSON())))
    expect(net.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3'])
    for (const node of net.nodes) {
      expect(node.running).toBe(true)
      expect(node.peerId).toMatch(/^12D3KooW\w+$/)
      expect(node.multiaddr).toMatch(
        new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/ws/p2p/${node.peerId}$`),
      )
      expect(node.gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    }
    expect(new Set(net.nodes.map((n) => n.peerId)).size).toBe(3)
    expect(net.liar).toMatchObject({
      name: 'liar',
      mode: 'flip-byte',
      upstream: net.nodes[0]!.peerId,
    })
    expect(net.liar.multiaddr).toMatch(new RegExp(`/ws/p2p/${net.liar.peerId}$`))
    expect(net.nodes.map((n) => n.peerId)).not.toContain(net.liar.peerId)

    const { image, video, download } = net.content
    expect(image).toMatchObject({ name: 'fulmen.png', type: 'image/png' })
    expect(image.pointer).toMatch(
      new RegExp(`^${net.origin.url.replaceAll('.', '\\.')}/fulmen\\.png#integrity=sha256-`),
    )
    expect(video).toMatchObject({ type: 'video/webm', pointer: video.cid })
    // Several blocks, so seeks land in different ones.
    expect(video.bytes).toBeGreaterThan(4 * BLOCK)
    expect(download).toMatchObject({ bytes: 64 * 1024 * 1024, pointer: download.cid })
    for (const c of [image, video, download]) {
      expect(c.cid).toMatch(/^bafkr4/)
      expect(c.hex).toMatch(/^[0-9a-f]{64}$/)
    }
    await screenshot(t.page, 'network-demo-page')
  })

  test('every node answers /health cross-origin, and its WebSocket listener (and the liar’s) accepts the page', async () => {
    const net = await networkJson()
    const gateways = net.nodes.map((n) => n.gateway)
    const health = await t.page.evaluate(
      (urls) =>
        Promise.all(
          urls.map(async (url) => {
            const res = await fetch(`${url}/health`)
            return { status: res.status, body: await res.json() }
          }),
        ),
      gateways,
    )
    expect(health).toEqual(gateways.map(() => ({ status: 200, body: { status: 'ok' } })))

    const sockets = [...net.nodes.map((n) => n.multiaddr), net.liar.multiaddr].map(wsUrl)
    const opened = await t.page.evaluate(
      (urls) =>
        Promise.all(
          urls.map(
            (url) =>
              new Promise<string>((resolve) => {
                const ws = new WebSocket(url)
                ws.onopen = () => {
                  ws.close()
                  resolve('open')
                }
                ws.onerror = () => resolve('error')
              }),
          ),
        ),
      sockets,
    )
    expect(opened).toEqual(sockets.map(() => 'open'))
  })
})

describe('content through the gateways', () => {
  test('the image pointer: fetched from the origin by a node, intact, readable cross-origin', async () => {
    const net = await networkJson()
    const { image } = net.content
    const before = t.demo.network.originRequests('/fulmen.png')
    const got = await t.page.evaluate(
      async ({ url }) => {
        const res = await fetch(url)
        const bytes = new Uint8Array(await res.arrayBuffer())
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
        const img = new Image()
        img.src = URL.createObjectURL(new Blob([bytes], { type: 'image/png' }))
        await img.decode()
        return {
          status: res.status,
          contentId: res.headers.get('x-content-id'),
          etag: res.headers.get('etag'),
          length: bytes.length,
          sha256: btoa(String.fromCharCode(...digest)),
          width: img.naturalWidth,
          height: img.naturalHeight,
        }
      },
      { url: `${net.nodes[2]!.gateway}${image.path}` },
    )
    expect(got).toEqual({
      status: 200,
      contentId: image.cid,
      etag: `"${image.hex}"`,
      length: image.bytes,
      sha256: /#integrity=sha256-(.+)$/.exec(image.pointer)![1],
      width: 1280,
      height: 720,
    })
    // The node had it from the origin (the pointer's only home).
    expect(t.demo.network.originRequests('/fulmen.png')).toBeGreaterThan(before)
    const origin = await fetch(image.pointer.split('#')[0]!)
    expect(origin.headers.get('access-control-allow-origin')).toBe('*')
    const sri = createHash('sha256')
      .update(new Uint8Array(await origin.arrayBuffer()))
      .digest('base64')
    expect(image.pointer).toBe(`${image.pointer.split('#')[0]}#integrity=sha256-${sri}`)
  })

  test('the video plays and seeks in Chromium, served by a node with Range requests', async () => {
    const net = await networkJson()
    const src = `${net.nodes[1]!.gateway}${net.content.video.path}`
    const state = await t.page.evaluate(async (url) => {
      const video = document.createElement('video')
      video.id = 'e2e-video'
      video.muted = true
      video.style.cssText = 'position:fixed;top:8px;right:8px;width:640px;z-index:9999'
      document.body.append(video)
      const once = (name: string) =>
        new Promise<void>((resolve, reject) => {
          video.addEventListener(name, () => resolve(), { once: true })
          video.addEventListener('error', () => reject(new Error(video.error?.message)), {
            once: true,
          })
        })
      const metadata = once('loadedmetadata')
      video.src = url
      await metadata
      const duration = video.duration
      await video.play()
      video.pause()
      const seeked = once('seeked')
      video.currentTime = 7.5
      await seeked
      return {
        duration,
        seekableEnd: video.seekable.length > 0 ? video.seekable.end(0) : 0,
        currentTime: video.currentTime,
        width: video.videoWidth,
        height: video.videoHeight,
      }
    }, src)
    expect(state.duration).toBeCloseTo(10, 0)
    expect(state.seekableEnd).toBeCloseTo(10, 0)
    expect(state.currentTime).toBeCloseTo(7.5, 1)
    expect({ width: state.width, height: state.height }).toEqual({ width: 640, height: 360 })
    await screenshot(t.page, 'network-video-seeked', { fullPage: false })
    await t.page.evaluate(() => document.getElementById('e2e-video')?.remove())
  })
})

describe('steering the network', () => {
  test('a node stops and starts again (same peer id and addresses) through the demo server', async () => {
    const before = await networkJson()
    const node = before.nodes[1]!
    const post = (path: string) =>
      t.page.evaluate(async (p) => {
        const res = await fetch(p, { method: 'POST' })
        return { status: res.status, body: (await res.json()) as NetworkDescription }
      }, path)
    const health = () =>
      t.page.evaluate(async (url) => {
        try {
          return (await fetch(`${url}/health`)).status
        } catch {
          return 'unreachable'
        }
      }, node.gateway)

    const stopped = await post('/fulmen-network/nodes/1/stop')
    expect(stopped.status).toBe(200)
    expect(stopped.body.nodes[1]).toEqual({ ...node, running: false })
    expect((await networkJson()).nodes.map((n) => n.running)).toEqual([true, false, true])
    expect(await health()).toBe('unreachable')

    const started = await post('/fulmen-network/nodes/1/start')
    expect(started.status).toBe(200)
    expect(started.body.nodes[1]).toEqual({ ...node, running: true })
    expect(await health()).toBe(200)
    expect(await networkJson()).toEqual(before)

    // Its pinned content survived the restart.
    const video = await fetch(`${node.gateway}${before.content.video.path}`, { method: 'HEAD' })
    expect(video.status).toBe(200)
    expect(video.headers.get('content-length')).toBe(String(before.content.video.bytes))
  })

  test('the endpoints refuse other sites, unknown nodes and other methods', async () => {
    const base = t.demo.url.replace(/\/$/, '')
    const crossSite = await fetch(`${base}/fulmen-network/nodes/0/stop`, {
      method: 'POST',
      headers: { origin: 'http://evil.example' },
    })
    expect(crossSite.status).toBe(403)
    expect((await fetch(`${base}/fulmen-network/nodes/7/stop`, { method: 'POST' })).status).toBe(
      404,
    )
    expect((await fetch(`${base}/fulmen-network/nodes/0/stop`)).status).toBe(405)
    expect((await networkJson()).nodes.every((n) => n.running)).toBe(true)
  })
})

describe('the client API from a page with no service worker', () => {
  test('createClient in a page (service workers blocked): the 64 MiB download verified in its worker, a range, typed errors', async () => {
    const bare = await t.browser.newContext({ serviceWorkers: 'block' })
    try {
      const p = await bare.newPage()
      await p.goto(`${t.demo.url.replace(/\/$/, '')}/fulmen-network.json`)
      const description = await networkJson()
      const { download } = description.content
      const probe = new URL('./pages/client-probe.ts', import.meta.url).pathname
      const args = { nodes: description.nodes.map((n) => n.multiaddr), pointer: download.cid }
      // A string, not a function: the module is imported by the page, not by this test file.
      const result: Awaited<ReturnType<typeof import('./pages/client-probe.ts').run>> =
        await p.evaluate(`import('/@fs${probe}').then((m) => m.run(${JSON.stringify(args)}))`)
      expect(result.controller).toBeNull()
      expect(result.status).toBe(200)
      expect(result.length).toBe(download.bytes)
      expect(result.root).toBe(download.hex)
      expect(result.blocks).toBe(Math.ceil(download.bytes / BLOCK))
      expect(result.rangeStatus).toBe(206)
      expect(result.rangeMatches).toBe(true)
      expect(result.missing).toEqual({ name: 'FetchError', code: 'FETCH_NOT_FOUND' })
      expect(result.acknowledged).toBeGreaterThanOrEqual(Math.ceil(download.bytes / BLOCK))
      await screenshot(p, 'client-without-service-worker')
    } finally {
      await bare.close()
    }
  })
})
