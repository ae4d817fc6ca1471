/**
 * The chain panel in real Chromium against the local network's devnet (issue 15, "DAs
 * settle"): the page registers its client key to the demo account, shows the epoch and every
 * node's entries with their proofs verified in the page; a download in the page is settled on
 * chain by the nodes (the demo account's stables go down, a node's served bytes go up), read
 * here straight from the nodes' HTTP routes and in the panel; at the next epoch the nodes are
 * rewarded; an answer altered on its way fails its proof in the page. No timing assertions:
 * every wait is generous and ends on what the chain says. Screenshots go to
 * test-results/e2e/chain-*.png.
 */
import { describe, expect, test } from 'vitest'
import { screenshot, useDemoPage } from './harness.ts'

const BLOCK = 262_144
const DOWNLOAD_BYTES = 24 * BLOCK + 4321
/** Short epochs: the test sees an epoch change with rewards within a minute or so. */
const EPOCH_MS = 30_000

const t = useDemoPage({
  demo: { network: { downloadBytes: DOWNLOAD_BYTES, epochMs: EPOCH_MS } },
  context: { viewport: { width: 1280, height: 900 } },
})

interface StateAnswer {
  readonly value: string | null
  readonly entry: Record<string, unknown> | null
}

/** `GET /chain/state/<table>/<key>` from node-1, as the chain says it (not through the page). */
async function state(table: string, key: string): Promise<StateAnswer> {
  const res = await fetch(`${t.demo.network.chain.gateway}/chain/state/${table}/${key}`)
  expect(res.status).toBe(200)
  return (await res.json()) as StateAnswer
}

async function head(): Promise<{ epoch: number; height: number }> {
  const res = await fetch(`${t.demo.network.chain.gateway}/chain/head`)
  return (await res.json()) as { epoch: number; height: number }
}

async function demoStables(): Promise<bigint> {
  const entry = (await state('accounts', t.demo.network.chain.demoAccount.address)).entry
  return BigInt(String(entry?.stables ?? '0'))
}

/** Bytes every node settled, summed over the epochs so far (an epoch change resets one). */
async function servedBytes(): Promise<bigint> {
  const { epoch } = await head()
  const { peerIdFromString } = await import('@libp2p/peer-id')
  let total = 0n
  for (const node of t.demo.network.nodes) {
    const key = Buffer.from(peerIdFromString(node.peerId).publicKey!.raw).toString('hex')
    for (let e = 0; e <= epoch; e++) {
      const served = await state('served', `${key}${e.toString(16).padStart(16, '0')}00`)
      total += BigInt(String(served.entry?.units ?? '0'))
    }
  }
  return total
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  for (;;) {
    last = await read()
    if (done(last)) return last
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not within ${timeoutMs} ms (last ${JSON.stringify(last, (_, v) => (typeof v === 'bigint' ? v.toString() : v))})`,
      )
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

describe('the chain panel', () => {
  let before: { stables: bigint; served: bigint }
  let settledInEpoch = 0

  test('registers the client key to the demo account and shows the chain, proofs verified', async () => {
    await t.page.waitForFunction(
      () => document.querySelector('#chain-status')?.getAttribute('data-registered') === 'true',
      null,
      { timeout: 90_000 },
    )
    // The key the page shows is the one the chain binds to the demo account.
    const keys = ((await t.page.locator('#chain-status').getAttribute('data-client-key')) ?? '')
      .split(' ')
      .filter(Boolean)
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) {
      const bound = await state('clientKeys', key)
      expect(bound.entry?.account).toBe(t.demo.network.chain.demoAccount.address)
    }
    // The download client signs with that key too (one key in IndexedDB for the whole page).
    await t.page.waitForFunction(
      () => /[0-9a-f]{64}/.test(document.querySelector('#chip-key')?.getAttribute('title') ?? ''),
      null,
      { timeout: 60_000 },
    )
    const title = (await t.page.locator('#chip-key').getAttribute('title')) ?? ''
    expect(keys).toContain(/([0-9a-f]{64})/.exec(title)?.[1])

    await t.page.waitForFunction(
      () => {
        const proofs = document.querySelector('#chain-proofs')?.textContent ?? ''
        const m = /^(\d+)\/(\d+)$/.exec(proofs)
        return m !== null && Number(m[2]) > 0 && m[1] === m[2]
      },
      null,
      { timeout: 30_000 },
    )
    expect(await t.page.locator('#chain-epoch').getAttribute('data-value')).toMatch(/^\d+$/)
    expect(await t.page.locator('#chain-stables').getAttribute('data-verified')).toBe('true')
    const rows = t.page.locator('#chain-nodes tr[data-node]')
    expect(await rows.count()).toBe(3)
    // The epoch's committee from the head (solo: node-1 alone), the node the page reads from
    // (node-1) marked in it; a solo node has no consensus round.
    const committee = t.page.locator('#chain-committee')
    // node-1 marked: a head answered by another node (node-1 slow to answer, the page asks the
    // next) shows no mark, so wait for one from node-1.
    await t.page.waitForFunction(
      () => document.querySelector('#chain-committee [data-self="true"]') !== null,
      null,
      { timeout: 60_000 },
    )
    const chainHead = (await (
      await fetch(`${t.demo.network.chain.gateway}/chain/head`)
    ).json()) as { committee: string[]; consensus: string }
    expect(chainHead.consensus).toBe('solo')
    expect(await committee.getAttribute('data-size')).toBe(String(chainHead.committee.length))
    const self = committee.locator('[data-self="true"]')
    expect(await self.count()).toBe(1)
    expect(chainHead.committee).toContain(await self.getAttribute('data-key'))
    expect(await self.textContent()).toContain('node-1')
    expect(await t.page.locator('#chain-round').textContent()).toBe('—')
    for (const status of await rows.evaluateAll((trs) =>
      trs.map((tr) => (tr as HTMLElement).dataset.status),
    ))
      expect(status).toBe('ok')
    await screenshot(t.page, 'chain-1-registered')
    before = { stables: await demoStables(), served: await servedBytes() }
    expect(t.logs.errors).toEqual([])
  })

  test('a download settles on chain: the demo account pays, the nodes’ served bytes rise', async () => {
    await t.page.locator('#download-start:enabled').click({ timeout: 60_000 })
    await t.page.waitForFunction(
      () => /verified:/.test(document.querySelector('#download-status')?.textContent ?? ''),
      null,
      { timeout: 120_000 },
    )
    const stables = await until(
      'the demo account pays',
      demoStables,
      (s) => s < before.stables,
      120_000,
    )
    const served = await until('a node settles', servedBytes, (s) => s > before.served, 120_000)
    // What the page paid is what the nodes earned in revenue: bytes at the devnet's price.
    expect(stables).toBeLessThan(before.stables)
    expect(served).toBeGreaterThan(before.served)
    settledInEpoch = (await head()).epoch

    // The panel shows it too: a settlement in its log, the balance below where it started.
    await t.page.waitForFunction(
      (start) => {
        const value = document.querySelector('#chain-stables')?.getAttribute('data-value')
        return (
          value != null &&
          BigInt(value) < BigInt(start) &&
          document.querySelector('#chain-log li[data-kind="settled"]') !== null
        )
      },
      before.stables.toString(),
      { timeout: 60_000 },
    )
    await t.page.locator('#chain').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'chain-2-settled')
  })

  test('the next epoch change pays the nodes that served, and the panel shows it', async () => {
    // Rewards share the revenue of the epoch the settlement fell in: the change after it.
    await until(
      'the epoch after the settlement (a committee member must send ChangeEpoch)',
      head,
      (h) => h.epoch > settledInEpoch,
      4 * EPOCH_MS,
    )
    await t.page.waitForFunction(
      () => document.querySelector('#chain-log li[data-kind="reward"]') !== null,
      null,
      { timeout: 60_000 },
    )
    const earned = await t.page
      .locator('#chain-nodes tr[data-node] td:nth-child(5)')
      .allTextContents()
    expect(earned.some((text) => /FLK/.test(text))).toBe(true)
    await t.page.locator('#chain').scrollIntoViewIfNeeded()
    await screenshot(t.page, 'chain-3-rewarded')
    expect(t.logs.errors).toEqual([])
  }, 240_000)

  test('an answer that does not match its proof is shown as not verified', async () => {
    const pattern = `**/chain/state/accounts/${t.demo.network.chain.demoAccount.address}`
    // Every node the page asks lies about the demo account: one byte of the entry changed.
    await t.page.route(pattern, async (route) => {
      const response = await route.fetch()
      const body = (await response.json()) as StateAnswer
      const value = body.value ?? '00'
      const last = (Number.parseInt(value.slice(-2), 16) ^ 1).toString(16).padStart(2, '0')
      await route.fulfill({ response, json: { ...body, value: `${value.slice(0, -2)}${last}` } })
    })
    try {
      await t.page.waitForFunction(
        () => document.querySelector('#chain-stables')?.getAttribute('data-verified') === 'false',
        null,
        { timeout: 60_000 },
      )
      expect(await t.page.locator('#chain-stables').textContent()).toBe('unverified')
      const proofs = (await t.page.locator('#chain-proofs').textContent()) ?? ''
      const [verified, checked] = proofs.split('/').map(Number)
      expect(verified).toBeLessThan(checked!)
      await screenshot(t.page, 'chain-4-unverified')
    } finally {
      await t.page.unroute(pattern)
    }
    // Honest answers again: verified again.
    await t.page.waitForFunction(
      () => document.querySelector('#chain-stables')?.getAttribute('data-verified') === 'true',
      null,
      { timeout: 60_000 },
    )
  })
})
