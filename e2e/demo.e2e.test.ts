/**
 * The demo page in real Chromium against the local network: it loads without errors, shows a
 * verified image and a playable video through the service worker, downloads a file verified
 * block by block, catches the lying node and fails over when the switch is on (in the download
 * and in the media the service worker fetches), counts delivery acknowledgements (the service
 * worker's too), stops and restarts a node from its panel, labels each node's failure by kind
 * and drops a label that went stale, shows a failed media fetch in place of the media, and
 * fits a phone's width. On a committee network with one unstaked node (as `npm start` runs
 * it): the light client panel shows the chain verified from the genesis, and the page's client
 * refuses the unstaked node (CLIENT_NOT_STAKED) although it serves the same bytes. A node settles
 * this browser's acknowledgements in a proven DA batch, and the chain panel shows the batch's
 * proof checked again in this browser. Screenshots of each state go to
 * test-results/e2e/demo-*.png.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { screenshot, useDemoPage } from './harness.ts'

const BLOCK = 262_144
/** Big enough for a lie (after block 2) and a resume, small enough to download in seconds. */
const DOWNLOAD_BYTES = 24 * BLOCK + 4321
const BLOCKS = Math.ceil(DOWNLOAD_BYTES / BLOCK)

const t = useDemoPage({
  demo: { network: { downloadBytes: DOWNLOAD_BYTES, consensus: 'committee', unstaked: 1 } },
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

/** The browser client's module, as the demo's Vite serves it to the page. */
const CLIENT_MODULE = `/@fs${fileURLToPath(new URL('../src/browser/client.ts', import.meta.url))}`

interface DasClaim {
  readonly session: string
  readonly index: number
  readonly progress?: { readonly state: string; readonly batch?: string; readonly reason?: string }
}

/** A node's DA pool (`GET /das?claims=1`): its claims and where each stands. */
async function dasClaims(gateway: string): Promise<DasClaim[]> {
  const res = await fetch(`${gateway}/das?claims=1`)
  return ((await res.json()) as { claims: DasClaim[] }).claims
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
        /6\/6 nodes reachable/.test(document.querySelector('#chip-nodes')?.textContent ?? ''),
      null,
      { timeout: 60_000 },
    )
    expect(await text('#chip-key')).toMatch(/client key [0-9a-f]{4}·[0-9a-f]{4}·[0-9a-f]{4}/)
    // 4 committee, 2 edge, the unstaked node and the liar.
    expect(await t.page.locator('#nodes tr[data-peer]').count()).toBe(8)
    expect(await t.page.locator('#offline-banner').isHidden()).toBe(true)
    // The light client verified the chain from the genesis: a head, its committee, and the
    // staked nodes' records proven at it.
    await t.page.locator('#light[data-state="verified"]').waitFor({ timeout: 60_000 })
    expect(Number(await text('#light-epoch'))).toBeGreaterThanOrEqual(0)
    expect(await text('#light-height')).toMatch(/^\d[\d,]*$/)
    expect(await text('#light-root')).toMatch(/^[0-9a-f]{12}…$/)
    expect(await text('#light-status')).toMatch(/^Verified from the genesis/)
    await expect
      .poll(() => t.page.locator('#light-committee').getAttribute('data-size'), {
        timeout: 30_000,
      })
      .toBe('4')
    // Node 1 is proven staked (a committee member unless the beacon rotated it out at an epoch
    // change; the committee's size is checked above). Within 60 s: the fresh-clone run on a
    // loaded machine took over 30 s to prove it.
    const node1 = t.page.locator(`#nodes tr[data-peer="${t.demo.network.nodes[0]!.peerId}"]`)
    await expect
      .poll(async () => (await node1.locator('td[data-label="Proof"]').textContent()) ?? '', {
        timeout: 60_000,
      })
      .toMatch(
        /^staked ✓ epoch \d+( \(committee\))?, stake [\d,.]+, reputation .+, proven at height \d+/,
      )
    // The unstaked node serves the same content, and the client refuses it, proven unstaked.
    const unstaked = t.demo.network.nodes.find((n) => n.role === 'unstaked')!
    const unstakedRow = t.page.locator(`#nodes tr[data-peer="${unstaked.peerId}"]`)
    await expect
      .poll(async () => (await unstakedRow.textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/refused: CLIENT_NOT_STAKED \(not staked/)
    expect(await unstakedRow.getAttribute('data-status')).toBe('bad')
    expect(await unstakedRow.locator('td[data-label="Served"]').getAttribute('data-page')).toBe('0')
    await screenshot(t.page, 'demo-1-loaded')
    await t.page.locator('#light').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-1b-light', { fullPage: false })
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
    // The nodes panel names the liar's typed failure, as a lie.
    const liarRow = t.page.locator('#nodes tr[data-role="liar"]')
    await expect
      .poll(async () => (await liarRow.textContent()) ?? '', { timeout: 10_000 })
      .toMatch(/lied: B3_BLOCK_MISMATCH/)
    expect(await liarRow.getAttribute('data-status')).toBe('bad')
    // The honest node that took over is not labelled for it by the download. (The service
    // worker may label a node for what happened to the video meanwhile: not asserted here.)
    const honest = t.page.locator('#nodes tr[data-role="node"][data-caught-by="download"]')
    expect(await honest.allTextContents()).toEqual([])
    await t.page.locator('#download').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-4-liar')
  })

  test('with the lying node on, media fetched again through the service worker show the lie caught', async () => {
    expect(await t.page.locator('#lying-switch').isChecked()).toBe(true)
    const liar = t.demo.network.liar.peerId
    const liarServed = t.page.locator(`#nodes tr[data-peer="${liar}"] td[data-label="Served"]`)
    await t.page.locator('#media-reload:enabled').click()
    // The image (4 blocks, fetched whole to check its digest) meets the lie at block 2.
    const caught = t.page.locator('#image-caught[data-caught="lied"]')
    await caught.waitFor({ timeout: 60_000 })
    // The lie is shown when caught, the node that took over once the worker reports it.
    await expect
      .poll(async () => (await caught.textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/^\d+ lies? caught: liar lied \(B3_BLOCK_MISMATCH\) → node-\d/)
    await t.page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('#image')
        return img?.complete === true && (img?.naturalWidth ?? 0) > 0
      },
      null,
      { timeout: 60_000 },
    )
    // The worker's stats line says so, and the liar's row counts what the worker had from it.
    await expect
      .poll(async () => Number(await t.page.locator('#sw-stats').getAttribute('data-lies')), {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(1)
    expect(await text('#sw-stats')).toMatch(/\d+ lies? caught/)
    await expect
      .poll(async () => Number(await liarServed.getAttribute('data-worker')), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(1)
    await t.page.locator('#media').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-4b-liar-media', { fullPage: false })
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
    // The service worker's client verified the media it fetched in sessions: counted, and said
    // so (it acknowledges every half window, so a few blocks may not be acknowledged yet).
    await expect
      .poll(async () => text('#da-verified-split'), { timeout: 15_000 })
      .toMatch(/^download [1-9][\d,]* · service worker [1-9][\d,]*$/)
    await t.page.locator('#network').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-5-network')
  })

  test('a node settles this browser’s acknowledgements in a proven batch, checked in this browser', async () => {
    // The page settled (as the first test waits for it, when this one runs alone), and claims
    // pay from the demo account once the page registered its key.
    await t.page.waitForFunction(
      () =>
        /6\/6 nodes reachable/.test(document.querySelector('#chip-nodes')?.textContent ?? '') &&
        document.querySelector('#light')?.getAttribute('data-state') === 'verified' &&
        document.querySelector('#chain-status')?.getAttribute('data-registered') === 'true',
      null,
      { timeout: 90_000 },
    )
    const status = await download()
    const name = /verified: \d+ blocks from (node-\d)/.exec(status)?.[1]
    expect(name, status).toBeDefined()
    const node = t.demo.network.nodes.find((n) => n.name === name)!
    // A claim is one per session (and 16,384 units): the download client keeps its session
    // with a node across downloads, so its downloads make one claim there, and a claim still
    // alone after the node's batch wait (20 s) is settled natively (a proof is for 2 to 5).
    // Two more clients of this page (the same key, from IndexedDB) fetch the content from that
    // node at once: two sessions more, whose claims arrive together, so a batch forms however
    // long the first claim has waited.
    const before = await dasClaims(node.gateway)
    // (A script as text: Vitest would rewrite a dynamic import in a function.)
    const fetched = await t.page.evaluate(`(async () => {
      const { createClient } = await import(${JSON.stringify(CLIENT_MODULE)})
      const session = async () => {
        const client = await createClient({ bootstrap: [${JSON.stringify(node.multiaddr)}], discover: false })
        try {
          const response = await client.fetch(${JSON.stringify(t.demo.network.content.download.pointer)})
          return (await response.arrayBuffer()).byteLength
        } finally {
          await client.close()
        }
      }
      return Promise.all([session(), session()])
    })()`)
    expect(fetched).toEqual([DOWNLOAD_BYTES, DOWNLOAD_BYTES])
    await expect
      .poll(async () => (await dasClaims(node.gateway)).length, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(before.length + 2)
    const since = Date.now()
    // The node waits a while for company (a proof costs the same for 2 claims as for 5), proves
    // the batch in its prover thread, and submits it; the panel reads the block and has the
    // light client's worker check each batch proof.
    const line = t.page.locator('#chain-log li[data-kind="proven"][data-check="valid"]').first()
    await line.waitFor({ state: 'attached', timeout: 150_000 }).catch(async (error: unknown) => {
      // Where each claim stands on every node, and what the panel logged.
      const pools = await Promise.all(
        t.demo.network.nodes.map(async (n) => {
          const claims = await dasClaims(n.gateway).catch(() => [])
          return `${n.name}: ${claims.map((c) => `${c.session}@${c.index} ${JSON.stringify(c.progress)}`).join('; ')}`
        }),
      )
      const log = (await t.page.locator('#chain-log li').allTextContents()).join('\n')
      throw new Error(`${(error as Error).message}\n${pools.join('\n')}\n--- chain log ---\n${log}`)
    })
    const text = (await line.textContent()) ?? ''
    expect(text).toMatch(
      /node-\d settled (\d+ of )?\d+ claims in \d+ proven batch(es)? [0-9a-f]{4}…[0-9a-f]{2}.* — proofs? checked in this browser \(\d+(\.\d)? ms\)$/,
    )
    const batch = ((await line.getAttribute('data-batch')) ?? '').split(' ')[0]!
    expect(batch).toMatch(/^[0-9a-f]{64}$/)
    process.stderr.write(
      `proven batch in the log ${Math.round((Date.now() - since) / 1000)} s after the two sessions' claims: ${text}\n`,
    )
    // The node that sent it says the same batch settled its claims.
    const senderName = await line.getAttribute('data-node')
    const sender = t.demo.network.nodes.find((n) => n.name === senderName)!
    // (Its progress is recorded as the receipt comes: read until the batch is judged.)
    let claims: Awaited<ReturnType<typeof dasClaims>> = []
    await expect
      .poll(
        async () => {
          claims = (await dasClaims(sender.gateway)).filter((c) => c.progress?.batch === batch)
          return claims.length >= 2 && claims.every((c) => c.progress?.state !== 'submitted')
        },
        { timeout: 15_000 },
      )
      .toBe(true)
    // Settled; or refused by the state (a claim of a client key not registered yet), never
    // for the proof: the chain accepted the batch's proof.
    expect(claims.some((c) => c.progress?.state === 'settled')).toBe(true)
    for (const c of claims) {
      expect(['settled', 'rejected']).toContain(c.progress?.state)
      expect(c.progress?.reason ?? '').not.toMatch(/^the batch proof/)
    }
    // The tiles count it, and no batch was refused.
    const tile = t.page.locator('[data-testid="chain-batches"]')
    await expect
      .poll(async () => Number(await tile.getAttribute('data-value')))
      .toBeGreaterThanOrEqual(1)
    expect(Number(await tile.getAttribute('data-checked'))).toBeGreaterThanOrEqual(1)
    expect(await tile.getAttribute('data-refused')).toBe('0')
    expect(await t.page.locator('[data-testid="chain-checks"]').textContent()).toMatch(
      /^\d+ checked in this browser \(\d+(\.\d)? ms each\)$/,
    )
    const claimCount = t.page.locator('[data-testid="chain-claims"]')
    // (A claim of the batch may be refused by the state, as in "settled 1 of 2 claims".)
    expect(Number(await claimCount.getAttribute('data-proven'))).toBeGreaterThanOrEqual(1)
    expect(await claimCount.textContent()).toMatch(/^claims: \d+ by proof, \d+ natively$/)
    // The node's row: its proven batches next to its rewards.
    const row = t.page.locator(`[data-testid="chain-node-${sender.name}"]`)
    await expect
      .poll(async () =>
        Number(await row.locator('td[data-label="Proven batches"]').getAttribute('data-batches')),
      )
      .toBeGreaterThanOrEqual(1)
    expect(await row.locator('td[data-label="Proven batches"]').textContent()).toMatch(
      /^\d+ batch(es)? \(\d+ claims?\)( · \d+ natively)?$/,
    )
    expect(await row.locator('td[data-label="Rewards"]').textContent()).toMatch(
      /^(at the next epoch|[\d,.]+ FLK · [\d,.]+ stables)$/,
    )
    await t.page.locator('#chain-nodes').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-5b-proven-batch', { fullPage: false })
    expect(t.logs.errors).toEqual([])
  }, 300_000)

  test('stops a node from its panel and starts it again', async () => {
    const row = t.page.locator('#nodes tr[data-role="node"]').nth(1)
    await row.getByRole('button', { name: /^Stop / }).click()
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000 }).toBe('bad')
    expect((await row.textContent()) ?? '').toMatch(/stopped/)
    await expect
      .poll(() => text('#chip-nodes'), { timeout: 30_000 })
      .toMatch(/5\/6 nodes reachable/)
    await screenshot(t.page, 'demo-6-node-stopped')
    // The download still completes, from the nodes still up.
    expect(await download()).toMatch(/verified:/)
    await row.getByRole('button', { name: /^Start / }).click()
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 60_000 }).toBe('ok')
    expect(t.logs.errors).toEqual([])
  })

  test('labels a failure by kind, and a restart clears a stale one', async () => {
    // The liar first, then node-1 (its upstream) stopped: the liar fails, node-1 cannot be
    // reached, and the download goes on from node-2 or node-3.
    await t.page.locator('#lying-switch').check()
    await t.page.locator('#lying-switch:enabled').waitFor({ timeout: 60_000 })
    const node1 = t.page.locator('#nodes tr[data-role="node"]').nth(0)
    await node1.getByRole('button', { name: /^Stop / }).click()
    await expect.poll(() => node1.getAttribute('data-status'), { timeout: 30_000 }).toBe('bad')
    expect(await download()).toMatch(/verified:/)
    const entries = t.page.locator('#failover-log li[data-node="node-1"]')
    await entries.last().waitFor({ timeout: 10_000 })
    expect(await entries.last().getAttribute('data-code')).toBe('CLIENT_UNREACHABLE')
    // Labelled as what happened: unreachable, not "caught" (which read as "lied").
    await expect
      .poll(() => node1.getAttribute('data-failure'), { timeout: 10_000 })
      .toBe('unreachable')
    expect((await node1.textContent()) ?? '').toMatch(/stopped/)
    await node1.getByRole('button', { name: /^Start / }).click()
    await expect.poll(() => node1.getAttribute('data-status'), { timeout: 60_000 }).toBe('ok')
    // Running again: the old failure is not its status any more.
    expect(await node1.getAttribute('data-failure')).toBeNull()
    expect((await node1.textContent()) ?? '').not.toMatch(/unreachable|caught|CLIENT_/)
    // The liar's lie outlives it all.
    const liarRow = t.page.locator('#nodes tr[data-role="liar"]')
    expect(await liarRow.getAttribute('data-failure')).toBe('lied')
    await t.page.locator('#network').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-7-labels')
    await t.page.locator('#lying-switch').uncheck()
    await t.page.locator('#lying-switch:enabled').waitFor({ timeout: 60_000 })
  })

  test('media that cannot be fetched show the failure in their place', async () => {
    await t.demo.network.stopAllNodes()
    try {
      await t.page.locator('#media-reload:enabled').click()
      for (const key of ['image', 'video']) {
        await t.page.locator(`#${key}-failed`).waitFor({ state: 'visible', timeout: 60_000 })
        expect((await text(`#${key}-failed`)).length).toBeGreaterThan(0)
        expect(await t.page.locator(`#${key}`).isHidden()).toBe(true)
        expect(await t.page.locator(`#${key}`).getAttribute('src')).toBeNull()
        expect(await t.page.locator(`#${key}-source`).getAttribute('data-source')).toBe('error')
      }
      // No endless spinner: the video holds no source to wait for.
      expect(
        await t.page.locator('#video').evaluate((v) => (v as HTMLVideoElement).networkState),
      ).toBe(HTMLMediaElementNetworkEmpty)
      await t.page.locator('#media').scrollIntoViewIfNeeded()
      await screenshot(t.page, 'demo-8-media-failed', { fullPage: false })
    } finally {
      await t.demo.network.startAllNodes()
    }
    // Back: fetched again, the media come back in place of the failure.
    await expect
      .poll(() => text('#chip-nodes'), { timeout: 60_000 })
      .toMatch(/6\/6 nodes reachable/)
    await t.page.locator('#media-reload:enabled').click()
    await t.page.locator('#image:visible').waitFor({ timeout: 60_000 })
    expect(await t.page.locator('#image-failed').isHidden()).toBe(true)
  })

  test('the light client follows the chain past the genesis', async () => {
    // The committee signs a checkpoint at each epoch change (60 s epochs) and every 32 blocks:
    // by now the panel has verified one after the genesis, and the nodes' proofs are at it.
    await expect
      .poll(async () => Number(await t.page.locator('#light-height').getAttribute('data-height')), {
        timeout: 90_000,
      })
      .toBeGreaterThan(0)
    expect(Number(await text('#light-checkpoints'))).toBeGreaterThanOrEqual(1)
    expect(await text('#light-status')).toMatch(/^Verified from the genesis/)
    const node1 = t.page.locator(`#nodes tr[data-peer="${t.demo.network.nodes[0]!.peerId}"]`)
    await expect
      .poll(async () => (await node1.locator('td[data-label="Proof"]').textContent()) ?? '', {
        timeout: 30_000,
      })
      .toMatch(/proven at height [1-9]\d*$/)
    await t.page.locator('#light').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'demo-8b-light-later', { fullPage: false })
  })

  test('fits a 390 px wide phone screen without sideways scrolling', async () => {
    await t.page.setViewportSize({ width: 390, height: 844 })
    try {
      const widths = await t.page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
        viewport: window.innerWidth,
      }))
      expect(widths.page).toBeLessThanOrEqual(widths.viewport)
      expect(widths.body).toBeLessThanOrEqual(widths.viewport)
      await screenshot(t.page, 'demo-9-phone-390')
    } finally {
      await t.page.setViewportSize({ width: 1280, height: 900 })
    }
  })
})

/** `HTMLMediaElement.NETWORK_EMPTY`: no source, nothing loading. */
const HTMLMediaElementNetworkEmpty = 0
