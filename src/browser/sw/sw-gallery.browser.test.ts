/**
 * The Fulmen service worker (workers/fulmen-sw.ts, a module worker as Vite serves it) in real
 * Chromium with one real node and no gateway: the fallback that once hid the client's
 * concurrency failures is off. It serves an HTML page of 48 images, and the page's 48 `<img>`
 * requests, all made at once by the browser, come back verified from the node and decode.
 *
 * The test page itself lies outside the worker's scope (Vitest serves it): the gallery is an
 * iframe under the scope, so the worker controls it, and the worker is configured through
 * its registration (the `fulmen:configure` message that `registerFulmen` sends).
 */
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import '../testing/network.ts'
import type { SwConfig } from './sw-config.ts'
import type { SwMessage, SwReply } from './sw-messages.ts'
import type { SwStats } from './sw-stats.ts'

const network = inject('network')
/** Scope and prefix at once: the gallery page and its images are all under it. */
const PREFIX = '/workers/fulmen-gallery-test/'
const node = network.nodes[0]!
const nodePeer = node.split('/p2p/')[1]!

let registration: ServiceWorkerRegistration
let frame: HTMLIFrameElement | undefined

async function activated(r: ServiceWorkerRegistration): Promise<ServiceWorker> {
  const worker = r.installing ?? r.waiting ?? r.active
  if (worker === null) throw new Error('the registration has no worker')
  if (worker.state !== 'activated') {
    await new Promise<void>((resolve, reject) => {
      worker.addEventListener('statechange', () => {
        if (worker.state === 'activated') resolve()
        if (worker.state === 'redundant') reject(new Error('the service worker became redundant'))
      })
    })
  }
  return worker
}

/** One message to the worker and its reply (sw-messages.ts). */
async function tell(message: SwMessage): Promise<SwReply> {
  const worker = await activated(registration)
  const channel = new MessageChannel()
  const reply = new Promise<SwReply>((resolve) => {
    channel.port1.onmessage = (e) => resolve(e.data as SwReply)
  })
  worker.postMessage(message, [channel.port2])
  return reply
}

/** Loads `path` in an iframe (under the scope: controlled by the worker) and waits for `load`. */
async function openFrame(path: string): Promise<Document> {
  frame?.remove()
  const f = document.createElement('iframe')
  f.style.width = '800px'
  f.style.height = '600px'
  frame = f
  const loaded = new Promise<void>((resolve) => f.addEventListener('load', () => resolve()))
  f.src = path
  document.body.append(f)
  // `load` comes after every image loaded or failed.
  await loaded
  return f.contentDocument!
}

beforeAll(async () => {
  const script = new URL('/workers/fulmen-sw.ts', location.href)
  script.searchParams.set('prefix', PREFIX)
  registration = await navigator.serviceWorker.register(script.href, {
    type: 'module',
    scope: PREFIX,
  })
  const config: Partial<SwConfig> = {
    prefix: PREFIX,
    nodes: [node],
    // No gateway: nothing but the node can answer.
    gateways: [],
    order: 'given',
  }
  const reply = await tell({ type: 'fulmen:configure', config })
  expect(reply).toMatchObject({ ok: true, config: { gateways: [], nodes: [node] } })
})

afterAll(async () => {
  frame?.remove()
  await registration?.unregister()
})

describe('service worker with one node and no gateway', () => {
  test('serves a page of 48 images that all load, every one from the node', async () => {
    const images = network.images.slice(0, network.gallery.count)
    expect(images).toHaveLength(48)
    const page = await openFrame(`${PREFIX}${network.gallery.hex}`)
    expect(frame!.contentWindow!.navigator.serviceWorker.controller).not.toBeNull()
    expect(page.contentType).toBe('text/html')
    const shown = page.querySelectorAll('img')
    expect(shown).toHaveLength(48)

    const outcomes = await Promise.all(
      images.map(async (image) => {
        const img = page.getElementById(`i${image.hex}`) as HTMLImageElement
        const decoded = await img.decode().then(
          () => 'decoded',
          (error: unknown) => String(error),
        )
        return {
          hex: image.hex.slice(0, 12),
          decoded,
          width: img.naturalWidth,
          height: img.naturalHeight,
        }
      }),
    )
    const broken = outcomes.filter(
      (o, i) =>
        o.decoded !== 'decoded' || o.width !== images[i]!.width || o.height !== images[i]!.height,
    )
    expect(broken).toEqual([])

    const reply = await tell({ type: 'fulmen:stats' })
    const stats = (reply as { stats: SwStats }).stats
    // The page and its 48 images: all from the node, none failed, no gateway.
    expect(stats.requests).toMatchObject({ node: 49, gateway: 0 })
    expect(stats.failures).toBe(0)
    expect(Object.keys(stats.served)).toEqual([nodePeer])
    const bytes = images.reduce((n, image) => n + image.size, 0)
    expect(stats.bytes.node).toBeGreaterThanOrEqual(bytes)
  })
})
