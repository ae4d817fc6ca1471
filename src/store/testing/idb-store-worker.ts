/**
 * A dedicated module worker for the IndexedDB block store's tests: the store must work where
 * there is no DOM. One request per message, one reply:
 *
 *   { kind: 'round-trip', name, length, seed }  put `patternBytes(length, seed)`, read it back
 *                                               → { kind: 'done', root, same }
 *   { kind: 'slow', name, seed }                a slow import that never ends by itself
 *                                               → { kind: 'progress' } once 2 MiB are in
 *   any failure                                 → { kind: 'error', message }
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { openIdbBlockStore } from '../idb-block-store.ts'
import { patternBytes, patternStream } from './content.ts'

export type WorkerRequest =
  | {
      readonly kind: 'round-trip'
      readonly name: string
      readonly length: number
      readonly seed: number
    }
  | { readonly kind: 'slow'; readonly name: string; readonly seed: number }

export type WorkerReply =
  | { readonly kind: 'done'; readonly root: string; readonly same: boolean }
  | { readonly kind: 'progress' }
  | { readonly kind: 'error'; readonly message: string }

const reply = (message: WorkerReply): void => globalThis.postMessage(message)

async function handle(req: WorkerRequest): Promise<void> {
  const store = await openIdbBlockStore({ name: req.name })
  if (req.kind === 'slow') {
    let told = false
    await store.put(patternStream(1024 * 1024 * 1024, req.seed, 64 * 1024, 1), {
      onProgress: (done) => {
        if (!told && done >= 2 * 1024 * 1024) {
          told = true
          reply({ kind: 'progress' })
        }
      },
    })
    return
  }
  const data = patternBytes(req.length, req.seed)
  const tree = await store.put(
    (async function* () {
      for (let off = 0; off < data.length; off += 100_000) yield data.slice(off, off + 100_000)
    })(),
  )
  const parts: Uint8Array[] = []
  for await (const p of store.read(tree.root)) parts.push(p.slice())
  const back = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    back.set(p, off)
    off += p.length
  }
  await store.close()
  reply({ kind: 'done', root: bytesToHex(tree.root), same: bytesToHex(back) === bytesToHex(data) })
}

globalThis.addEventListener('message', (event: MessageEvent<WorkerRequest>) => {
  handle(event.data).catch((e: unknown) => reply({ kind: 'error', message: String(e) }))
})
