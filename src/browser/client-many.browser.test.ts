/**
 * Many fetches at once through the worker-backed browser client, in real Chromium, with a
 * single real node as its bootstrap: a page's worth of requests (64 distinct contents, up to
 * two blocks each) issued in the same tick must all complete with the right bytes, however
 * many streams the node allows a session. Twice: the second round reuses the session.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, describe, expect, inject, test } from 'vitest'
import { hash } from '../b3/hash.ts'
import { FetchError } from '../client/errors.ts'
import { type BrowserClient, createClient } from './client.ts'
import './testing/network.ts'

const network = inject('network')
const node = network.nodes[0]!
const nodePeer = node.split('/p2p/')[1]!
const clients: BrowserClient[] = []

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()))
})

/** What went wrong with one fetch, short enough to read in a failed assertion. */
function describeFailure(error: unknown): string {
  if (error instanceof FetchError) {
    const nodes = error.failures.map((f) => f.code).join(',')
    return `${error.code}${nodes === '' ? '' : ` (${nodes})`}`
  }
  return String((error as Error)?.message ?? error)
}

/** Fetches every image at once; the ones that did not arrive whole and verified, described. */
async function fetchAllAtOnce(c: BrowserClient): Promise<{ failed: string[]; servedBy: string[] }> {
  const outcomes = await Promise.allSettled(
    network.images.map(async (image) => {
      const res = await c.fetch(image.hex)
      const bytes = new Uint8Array(await res.arrayBuffer())
      // Hashed again here, on the page: the right bytes, not only bytes the worker accepted.
      if (bytes.length !== image.size || bytesToHex(hash(bytes)) !== image.hex)
        throw new Error(`wrong bytes: ${bytes.length} of ${image.size}`)
      return res.headers.get('x-fulmen-node') ?? ''
    }),
  )
  const failed = outcomes.flatMap((o, i) =>
    o.status === 'rejected'
      ? [`${network.images[i]!.hex.slice(0, 8)}: ${describeFailure(o.reason)}`]
      : [],
  )
  const servedBy = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))
  return { failed, servedBy }
}

describe('the browser client, many fetches at once from one node', () => {
  test('64 distinct contents at once all complete with the right bytes, in two rounds', async () => {
    expect(network.images).toHaveLength(64)
    const c = await createClient({ bootstrap: [node], keyDatabase: false })
    clients.push(c)
    for (const round of [1, 2]) {
      const { failed, servedBy } = await fetchAllAtOnce(c)
      expect(failed, `round ${round}`).toEqual([])
      expect(new Set(servedBy)).toEqual(new Set([nodePeer]))
    }
    // One session with the node, still open and usable.
    const status = await c.status()
    expect(status).toHaveLength(1)
    expect(status[0]).toMatchObject({ peer: nodePeer, session: true })
    expect(status[0]!.acks?.verifiedUnits).toBeGreaterThanOrEqual(2 * network.images.length)
  })
})
