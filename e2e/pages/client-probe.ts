/**
 * Runs in the page (served by Vite under /@fs/): the dapp API with no service worker, the way
 * a dapp uses it. The e2e test imports this module into a page and calls `run`.
 */
import { hash } from '../../src/b3/hash.ts'
import { createClient } from '../../src/browser/client.ts'
import type { FetchError } from '../../src/client/errors.ts'

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('')

export async function run({ nodes, pointer }: { nodes: string[]; pointer: string }) {
  const client = await createClient({ bootstrap: nodes, keyDatabase: false })
  try {
    let blocks = 0
    const res = await client.fetch(pointer, {
      onProgress: (e) => {
        if (e.type === 'block') blocks++
      },
    })
    const bytes = new Uint8Array(await res.arrayBuffer())
    const range = await client.fetch(pointer, { range: { start: 5, end: 300_000 } })
    const slice = new Uint8Array(await range.arrayBuffer())
    const missing = await client
      .fetch('ab'.repeat(32))
      .then(() => undefined)
      .catch((e: FetchError) => ({ name: e.name, code: e.code }))
    const status = await client.status()
    return {
      controller: navigator.serviceWorker?.controller?.scriptURL ?? null,
      status: res.status,
      length: bytes.length,
      root: hex(hash(bytes)),
      blocks,
      rangeStatus: range.status,
      rangeMatches: slice.length === 299_995 && slice.every((v, i) => v === bytes[i + 5]),
      missing,
      acknowledged: status.reduce((n, s) => n + (s.acks?.acknowledgedUnits ?? 0), 0),
    }
  } finally {
    await client.close()
  }
}
