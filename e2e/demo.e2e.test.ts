/**
 * The demo page in real Chromium against the local network: it loads without errors, shows a
 * verified image and a playable video through the service worker, downloads a file verified
 * block by block, catches the lying node and fails over when the switch is on, counts
 * delivery acknowledgements, and stops and restarts a node from its panel. Screenshots of
 * each state go to test-results/e2e/demo-*.png.
 */
import { describe, expect, test } from 'vitest'
import { screenshot, useDemoPage } from './harness.ts'

const BLOCK = 262_144
/** Big enough for a lie (after block 2) and a resume, small enough to download in seconds. */
const DOWNLOAD_BYTES = 24 * BLOCK + 4321
const BLOCKS = Math.ceil(DOWNLOAD_BYTES / BLOCK)

const t = useDemoPage({
  demo: { network: { downloadBytes: DOWNLOAD_BYTES } },
  context: { viewport: { width: 1280, height: 900 } },
})

const text = async (selector: string) => (await t.page.locator(selector).textContent()) ?? ''

/** Waits until the download's status line says it is done (verified) or failed. */
async function download(): Promise<string> {
  await t.page.locator('#download-start:enabled').click({ timeout: 60_000 })
  await t.page.waitForFunction(
    () => {
      const status = document.querySelector('#download-status')
      return status !== null && /verified:|Error|FETCH_/.test(status.textContent ?? '')
    },
    null,
    { timeout: 120_000 },
  )
  return text('#download-status')
}

function blockStates(): Promise<{ state: string; node: string }[]> {
  return t.page.$$eval('#blocks .b', (cells) =>
    cells.map((c) => ({
      state: (c as HTMLElement).dataset.state ?? '',
      node: (c as HTMLElement).dataset.node ?? '',
    })),
  )
}

describe('the demo page', () => {
  test('loads without errors: service worker active, client key, every node reachable', async () => {
    await t.page.waitForFunction(
      () =>
        /service worker active/.test(document.querySelector('#chip-sw')?.textContent ?? '') &&
        /3\/3 nodes reachable/.test(document.querySelector('#chip-nodes')?.textContent ?? ''),
      null,
      { timeout: 60_000 },
    )
    expect(await text('#chip-key')).toMatch(/client key [0-9a-f]{4}·[0-9a-f]{4}·[0-9a-f]{4}/)
    expect(await t.page.locator('#nodes tr[data-peer]').count()).toBe(4)
    expect(await t.page.locator('#offline-banner').isHidden()).toBe(true)
    await screenshot(t.page, 'demo-1-loaded')
    expect(t.logs.errors).toEqual([])
    expect(t.logs.lines.filter((l) => l.startsWith('[error]'))).toEqual([])
  })

  test('shows the verified image and a playable, seekable video through the service worker', async () => {
    await t.page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('#image')
        const video = document.querySelector<HTMLVideoElement>('#video')
        return (
          img?.complete === true && (img?.naturalWidth ?? 0) > 0 && (video?.readyState ?? 0) >= 2
        )
      },
      null,
      { timeout: 60_000 },
    )
    for (const key of ['image', 'video']) {
      expect(
        new URL(await t.page.locator(`#${key}`).evaluate((e) => (e as HTMLImageElement).src))
          .pathname,
      ).toMatch(/^\/fulmen\//)
      expect(await t.page.locator(`#${key}-source`).getAttribute('data-source')).toMatch(
        /^(node|gateway|cache)$/,
      )
      expect(await text(`#${key}-source`)).toMatch(/node · node-\d|gateway|cache/)
    }
    // A seek fetches a range through the worker and the caption says from where.
    await t.page.locator('[data-seek="0.5"]').click()
    await t.page.waitForFunction(
      () => /seeked to 0:0\d/.test(document.querySelector('#video-source')?.textContent ?? ''),
      null,
      { timeout: 30_000 },
    )
    await t.page.locator('#media').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-2-media', { fullPage: false })
  })

  test('downloads a file verified block by block, with its content id checked', async () => {
    const status = await download()
    expect(status).toMatch(/verified: \d+ blocks from node-\d/)
    expect(status).toMatch(/content id matches/)
    const cells = await blockStates()
    expect(cells).toHaveLength(BLOCKS)
    for (const cell of cells) {
      expect(cell.state).toBe('verified')
      expect(cell.node).toMatch(/^node-\d$/)
    }
    expect(
      await t.page.locator('#download-progress').evaluate((e) => (e as HTMLProgressElement).value),
    ).toBe(1)
    expect(await t.page.locator('#download-save').isVisible()).toBe(true)
    // The saved bytes, hashed again on the page's own workers, give the expected id.
    await t.page.locator('#download-rehash .match.ok').waitFor({ timeout: 30_000 })
    expect(await t.page.locator('#failover-log li[data-code]').count()).toBe(0)
    await t.page.locator('#download').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-3-download')
  })

  test('with the lying node switched on, the lie is caught and the download fails over', async () => {
    await t.page.locator('#lying-switch').check()
    // The client restarts with the liar first: the switch comes back once it is up.
    await t.page.locator('#lying-switch:enabled').waitFor({ timeout: 60_000 })
    expect(await text('#liar-status')).toMatch(/^On: requests go to liar first/)
    const status = await download()
    expect(status).toMatch(/verified: \d+ blocks from liar \+ node-\d/)
    expect(status).toMatch(/1 lie caught; content id matches/)
    const entries = t.page.locator('#failover-log li[data-code]')
    expect(await entries.count()).toBeGreaterThanOrEqual(1)
    expect(await entries.first().getAttribute('data-code')).toBe('B3_BLOCK_MISMATCH')
    expect(await entries.first().getAttribute('data-node')).toBe('liar')
    expect((await entries.first().textContent()) ?? '').toMatch(
      /liar sent a block that failed verification \(B3_BLOCK_MISMATCH\); resumed at block \d+ from node-\d/,
    )
    const cells = await blockStates()
    expect(cells.filter((c) => c.state === 'resumed')).toHaveLength(1)
    expect(cells.filter((c) => c.state === 'verified' || c.state === 'resumed')).toHaveLength(
      BLOCKS,
    )
    // The nodes panel names the liar's typed failure.
    const liarRow = t.page.locator('#nodes tr[data-role="liar"]')
    await expect
      .poll(async () => (await liarRow.textContent()) ?? '', { timeout: 10_000 })
      .toMatch(/caught: B3_BLOCK_MISMATCH/)
    await t.page.locator('#download').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-4-liar')
    // Back to honest nodes.
    await t.page.locator('#lying-switch').uncheck()
    await t.page.locator('#lying-switch:enabled').waitFor({ timeout: 60_000 })
    expect(await text('#liar-status')).toMatch(/^Off/)
  })

  test('counts delivery acknowledgements', async () => {
    // Polled once a second from the client's sessions.
    await expect
      .poll(async () => Number((await text('#da-total')).replace(/\D/g, '')), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(BLOCKS)
    expect(Number((await text('#da-commitments')).replace(/\D/g, ''))).toBeGreaterThan(0)
    await t.page.locator('#network').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-5-network')
  })

  test('stops a node from its panel and starts it again', async () => {
    const row = t.page.locator('#nodes tr[data-role="node"]').nth(1)
    await row.getByRole('button', { name: /^Stop / }).click()
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('bad')
    expect((await row.textContent()) ?? '').toMatch(/stopped/)
    await expect
      .poll(() => text('#chip-nodes'), { timeout: 30_000 })
      .toMatch(/2\/3 nodes reachable/)
    await screenshot(t.page, 'demo-6-node-stopped')
    // The download still completes, from the nodes still up.
    expect(await download()).toMatch(/verified:/)
    await row.getByRole('button', { name: /^Start / }).click()
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 60_000 }).toBe('ok')
    expect(t.logs.errors).toEqual([])
  })
})
