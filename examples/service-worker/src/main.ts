import { registerFulmen, SwError } from 'fulmen/sw'

// A node's WebSockets address (`fulmen node start` prints it) and a content id it holds.
const params = new URLSearchParams(location.search)
const node = params.get('node') ?? '/ip4/127.0.0.1/tcp/4070/ws/p2p/12D3KooW…'
const id = params.get('id') ?? 'bafkr4…'

const status = document.querySelector<HTMLParagraphElement>('#status')!
const image = document.querySelector<HTMLImageElement>('#image')!

try {
  // The script is /fulmen-sw.js, which the fulmen() Vite plugin serves and emits.
  const sw = await registerFulmen({ prefix: '/fulmen/', nodes: [node] })
  // Any URL under the prefix: <img>, <video> (with Range), fetch(), CSS…
  image.src = `${sw.prefix}${id}`
  await image.decode()
  const { requests } = await sw.stats()
  status.textContent = `loaded through the service worker (from a node: ${requests.node}, from its cache: ${requests.cache})`
} catch (error) {
  // A failed image says why in its response: `<status> <code>` and X-Fulmen-Error.
  status.textContent = error instanceof SwError ? `${error.code}: ${error.message}` : `${error}`
}
