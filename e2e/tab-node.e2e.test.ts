/**
 * "Contribute this tab" end to end: two browser contexts on the demo (two visitors, each with
 * its own storage and keys). A switches its tab node on from the panel and caches the
 * download; B downloads the file and gets it from A's tab over WebRTC, verified, and A's panel
 * counts the acknowledgements earned. Then A serves again under an upload cap and its page is
 * closed mid-transfer: B's download fails over to a full node and completes verified, its
 * failover log naming A. Screenshots of each state go to test-results/e2e/tab-node-*.png.
 */
import type { Browser, BrowserContext, Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  capturePageLogs,
  type Demo,
  launchChromium,
  type PageLogs,
  printLogsOnFailure,
  screenshot,
  startDemo,
} from './harness.ts'

const BLOCK = 262_144
/** Enough blocks that closing A after a few leaves most of the transfer to go. */
const DOWNLOAD_BYTES = 28 * BLOCK + 1234
const BLOCKS = Math.ceil(DOWNLOAD_BYTES / BLOCK)
/**
 * A's upload cap for the mid-transfer test, bytes/s: 29 blocks take ~29 s, so closing A after
 * its first blocks (seconds under the full suite's load) leaves most to go. At 512 KiB/s a
 * loaded run once had all 29 from A before its page closed.
 */
const SLOW_UPLOAD = 262_144

let demo: Demo | undefined
let browser: Browser | undefined
let contextA: BrowserContext | undefined
let contextB: BrowserContext | undefined
let logsA: PageLogs | undefined
let logsB: PageLogs | undefined
let pageA: Page
let pageB: Page

printLogsOnFailure(
  () => [logsA, logsB],
  () => demo?.network,
)

async function openDemo(context: BrowserContext): Promise<Page> {
  const page = await context.newPage()
  const res = await page.goto(demoUrl())
  expect(res?.status()).toBe(200)
  await waitReady(page)
  return page
}

function demoUrl(): string {
  if (demo === undefined) throw new Error('no demo')
  return demo.url
}

/** The page's client is up and every full node answers. */
async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(
    () => /3\/3 nodes reachable/.test(document.querySelector('#chip-nodes')?.textContent ?? ''),
    null,
    { timeout: 60_000 },
  )
  await page.locator('#download-start:enabled').waitFor({ timeout: 60_000 })
}

/**
 * Switches A's tab node on (with an upload cap, or none) and waits until it serves and holds
 * the download; returns its peer id.
 */
async function contribute(page: Page, upload = ''): Promise<string> {
  await page.locator('#tab-node-upload').selectOption(upload)
  await page.locator('#tab-node-start').click()
  await page.locator('#tab-node-status[data-state="serving"]').waitFor({ timeout: 60_000 })
  const hex = demo?.network.content.download.hex
  await page.locator(`#tab-node-roots li[data-root="${hex}"]`).waitFor({ timeout: 60_000 })
  const peer = await page.locator('#tab-node-peer').getAttribute('data-peer')
  expect(peer).toMatch(/^12D3Koo\w+$/)
  return peer ?? ''
}

/**
 * Waits until every running full node lists `peer` for the download (`GET /providers/<hex>`):
 * B asks them all, and one that has not heard the announcement yet would send B elsewhere.
 */
async function waitListed(peer: string): Promise<void> {
  const network = demo?.network
  if (network === undefined) throw new Error('no network')
  const hex = network.content.download.hex
  const listed = async () => {
    const answers = await Promise.all(
      network.nodes
        .filter((n) => n.running)
        .map(async (n) => {
          const res = await fetch(`${n.gateway}/providers/${hex}`)
          const body = (await res.json()) as { providers: { peer: string }[] }
          return body.providers.some((p) => p.peer === peer)
        }),
    )
    return answers.every(Boolean)
  }
  await expect.poll(listed, { timeout: 30_000, interval: 200 }).toBe(true)
}

/** Starts B's download; `done` resolves with the status line once verified (or failed). */
async function startDownload(page: Page): Promise<{ done: Promise<string> }> {
  await page.locator('#download-start:enabled').click({ timeout: 60_000 })
  const done = page
    .waitForFunction(
      () => {
        const status = document.querySelector('#download-status')
        return status !== null && /verified:|Error|FETCH_/.test(status.textContent ?? '')
      },
      null,
      { timeout: 120_000 },
    )
    .then(async () => (await page.locator('#download-status').textContent()) ?? '')
  return { done }
}

/**
 * Starts B's download and waits until A served it 3 blocks; resolves with the download's `done`.
 * B may have gone to a full node first: right after A's tab node starts or restarts, a dial to it
 * can fail (CLIENT_UNREACHABLE, seen for ~20 s in one run of three; in CI a first download went
 * whole to node-1 after one failover; a holder query unanswered under load does the same). That is failover working, not the case this test is about, so B's page is
 * reloaded and the download started again, twice at most, each miss written to stderr with what
 * B saw.
 */
async function downloadStartingFrom(page: Page, peer: string): Promise<{ done: Promise<string> }> {
  const misses: string[] = []
  for (let attempt = 1; ; attempt++) {
    const { done } = await startDownload(page)
    const fromPeer = page
      .waitForFunction(
        (p) => document.querySelectorAll(`#blocks .b[data-peer="${p}"]`).length >= 3,
        peer,
        { timeout: 60_000, polling: 100 },
      )
      .then(
        () => 'served' as const,
        (e: Error) => `no 3 blocks from A in 60 s (${e.message.split('\n')[0]})`,
      )
    const outcome = await Promise.race([
      fromPeer,
      done.then(
        (status) => `finished first: ${status}`,
        (e: Error) => `no end in sight: ${e.message.split('\n')[0]}`,
      ),
    ])
    // In an object: an async function returning `done` itself would wait for it.
    if (outcome === 'served') return { done }
    const cells = await blockCells(page).catch(() => [])
    const byNode = new Map<string, number>()
    for (const c of cells) byNode.set(c.node, (byNode.get(c.node) ?? 0) + 1)
    const failovers = await page
      .locator('#failover-log li')
      .allTextContents()
      .catch(() => [])
    const nodes = await page
      .locator('#nodes tr')
      .allTextContents()
      .catch(() => [])
    misses.push(
      `try ${attempt}: ${outcome}; blocks by node ${JSON.stringify([...byNode])}; failovers ${JSON.stringify(failovers)}; nodes ${JSON.stringify(nodes)}`,
    )
    process.stderr.write(`tab-node e2e: B's download did not start from A. ${misses.at(-1)}\n`)
    if (attempt === 3) throw new Error(`B's download never started from A:\n${misses.join('\n')}`)
    // Let the unfinished download end with the page, then start from a fresh client.
    done.catch(() => {})
    await page.reload()
    await waitReady(page)
  }
}

function blockCells(page: Page) {
  return page.$$eval('#blocks .b', (cells) =>
    cells.map((c) => {
      const d = (c as HTMLElement).dataset
      return { state: d.state ?? '', node: d.node ?? '', peer: d.peer ?? '', role: d.role ?? '' }
    }),
  )
}

const numberAttr = async (page: Page, selector: string, name: string) =>
  Number((await page.locator(selector).getAttribute(name)) ?? 'NaN')

beforeAll(async () => {
  demo = await startDemo({ port: 0, network: { downloadBytes: DOWNLOAD_BYTES } })
  browser = await launchChromium()
  const viewport = { viewport: { width: 1280, height: 900 } }
  contextA = await browser.newContext(viewport)
  contextB = await browser.newContext(viewport)
  logsA = capturePageLogs(contextA)
  logsB = capturePageLogs(contextB)
  pageA = await openDemo(contextA)
  pageB = await openDemo(contextB)
})

afterAll(async () => {
  await contextA?.close()
  await contextB?.close()
  await browser?.close()
  await demo?.close()
})

describe('contribute this tab', () => {
  test("B's download is served by A's tab over WebRTC; A earns the acknowledgements", async () => {
    const content = demo?.network.content.download
    if (content === undefined) throw new Error('no download in the network')
    const peerA = await contribute(pageA)
    expect(await pageA.locator('#tab-node-stop').isEnabled()).toBe(true)
    const address = (await pageA.locator('#tab-node-address').textContent()) ?? ''
    expect(address).toContain(`/p2p-circuit/webrtc/p2p/${peerA}`)
    expect(await pageA.locator('#tab-node-roots').textContent()).toContain(content.name)
    await pageA.locator('#contribute').scrollIntoViewIfNeeded()
    await screenshot(pageA, 'tab-node-1-a-serving')
    await waitListed(peerA)

    const { done } = await downloadStartingFrom(pageB, peerA)
    const status = await done
    expect(status).toMatch(new RegExp(`verified: ${BLOCKS} blocks from tab-${peerA.slice(-6)} in`))
    expect(status).toMatch(/content id matches/)
    const cells = await blockCells(pageB)
    expect(cells).toHaveLength(BLOCKS)
    for (const cell of cells) {
      expect(cell).toEqual({
        state: 'verified',
        node: `tab-${peerA.slice(-6)}`,
        peer: peerA,
        role: 'tab',
      })
    }
    // The bytes B saved, hashed again on B's own workers, give the expected content id.
    await pageB.locator('#download-rehash .match.ok').waitFor({ timeout: 30_000 })
    expect(await pageB.locator('#download-root code').getAttribute('title')).toBe(content.cid)
    expect(await pageB.locator('#failover-log li[data-code]').count()).toBe(0)
    // B's nodes table lists A as a discovered browser tab.
    const row = pageB.locator(`#nodes tr[data-peer="${peerA}"]`)
    await row.waitFor({ timeout: 15_000 })
    expect(await row.getAttribute('data-role')).toBe('tab')
    expect((await row.textContent()) ?? '').toMatch(/browser tab/)
    await pageB.locator('#download').scrollIntoViewIfNeeded()
    await screenshot(pageB, 'tab-node-2-b-served-by-tab')

    // A's panel: acknowledgements earned for what it delivered, and the bytes it served.
    await expect
      .poll(() => numberAttr(pageA, '#tab-node-das', 'data-units'), { timeout: 20_000 })
      .toBe(BLOCKS)
    expect(await numberAttr(pageA, '#tab-node-das', 'data-claims')).toBeGreaterThan(0)
    expect(await numberAttr(pageA, '#tab-node-served', 'data-bytes')).toBeGreaterThanOrEqual(
      DOWNLOAD_BYTES,
    )
    expect((await pageA.locator('#tab-node-sessions').textContent()) ?? '').toMatch(/\/ [1-9]/)
    await pageA.locator('#contribute').scrollIntoViewIfNeeded()
    await screenshot(pageA, 'tab-node-3-a-earned')
    expect(logsA?.errors).toEqual([])
    expect(logsB?.errors).toEqual([])
  })

  test("A's page closes mid-transfer: B's download completes from a full node", async () => {
    // A again, under an upload cap so that the transfer lasts; its store still holds the file.
    await pageA.locator('#tab-node-stop').click()
    await pageA.locator('#tab-node-status[data-state="stopped"]').waitFor({ timeout: 30_000 })
    const peerA = await contribute(pageA, String(SLOW_UPLOAD))
    await waitListed(peerA)
    // A fresh page for B: a new client, which asks the nodes again.
    await pageB.reload()
    await waitReady(pageB)

    // A few blocks from A, then A's page goes away.
    const { done } = await downloadStartingFrom(pageB, peerA)
    await pageA.close()
    // After the close, not before: a screenshot takes seconds under load, A's transfer goes on.
    await pageB.locator('#download').scrollIntoViewIfNeeded()
    await screenshot(pageB, 'tab-node-4-b-mid-transfer')
    const status = await done
    expect(status).toMatch(/verified: \d+ blocks from tab-\w+ \+ node-\d/)
    // A tab that left is a failover, not a lie: nothing failed verification.
    expect(status).toMatch(/, \d+ failovers?; content id matches/)
    expect(status).not.toMatch(/lie/)
    await pageB.locator('#download-rehash .match.ok').waitFor({ timeout: 30_000 })

    const cells = await blockCells(pageB)
    expect(cells).toHaveLength(BLOCKS)
    expect(cells.every((c) => c.state === 'verified' || c.state === 'resumed')).toBe(true)
    const fromA = cells.filter((c) => c.peer === peerA)
    expect(fromA.length).toBeGreaterThanOrEqual(3)
    expect(fromA.length).toBeLessThan(BLOCKS)
    // After A's blocks, every block came from a full node.
    const firstAfter = cells.findIndex((c) => c.peer !== peerA)
    for (const cell of cells.slice(firstAfter)) expect(cell.node).toMatch(/^node-\d$/)

    // The failover log names A's peer, and the full node that took over.
    const entry = pageB.locator(`#failover-log li[data-peer="${peerA}"]`)
    expect(await entry.count()).toBeGreaterThanOrEqual(1)
    expect(await entry.first().getAttribute('data-role')).toBe('tab')
    expect(await entry.first().getAttribute('data-node')).toBe(`tab-${peerA.slice(-6)}`)
    expect(await entry.first().getAttribute('data-resumed-by')).toMatch(/^node-\d$/)
    // B's nodes table says the tab left, with the client's typed failure.
    const row = pageB.locator(`#nodes tr[data-peer="${peerA}"]`)
    await expect
      .poll(async () => (await row.textContent()) ?? '', { timeout: 10_000 })
      .toMatch(/browser tab.*left: [A-Z0-9_]+/)
    await pageB.locator('#download').scrollIntoViewIfNeeded()
    await screenshot(pageB, 'tab-node-5-b-failed-over')
    expect(logsB?.errors).toEqual([])
  })
})
