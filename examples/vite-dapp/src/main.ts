import { createClient, FetchError } from 'fulmen'
import { formatContentId, hash } from 'fulmen/b3'
import { registerFulmen } from 'fulmen/sw'

// A node's WebSockets address (`fulmen node start` prints it) and a content id it holds.
const params = new URLSearchParams(location.search)
const node = params.get('node') ?? '/ip4/127.0.0.1/tcp/4070/ws/p2p/12D3KooW…'
const id = params.get('id') ?? 'bafkr4…'

const status = document.querySelector<HTMLParagraphElement>('#status')!
const image = document.querySelector<HTMLImageElement>('#image')!

const client = await createClient({ bootstrap: [node] })
try {
  const response = await client.fetch(id, {
    onProgress: (e) => {
      if (e.type === 'block') status.textContent = `${e.verified} of ${e.total} blocks verified`
    },
  })
  const bytes = new Uint8Array(await response.arrayBuffer()) // every byte verified
  image.src = URL.createObjectURL(new Blob([bytes]))
  status.textContent = `${bytes.length} bytes verified: ${formatContentId(hash(bytes), 'cid')}`
  console.info(await client.status()) // each node: latency, session, acknowledgements
} catch (error) {
  status.textContent = error instanceof FetchError ? `${error.code}: ${error.message}` : `${error}`
} finally {
  await client.close()
}

// The service worker: from now on `<img src="/fulmen/<id>">` is verified too.
await registerFulmen({ nodes: [node] })
document.body.dataset.serviceWorker = 'ready'
