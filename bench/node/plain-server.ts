/**
 * The peer of the gateway benchmark: Node's plain `http` serving one file from disk,
 * `fs.createReadStream` piped to the response, nothing else. Run as its own process (like the
 * node), it prints `http://127.0.0.1:<port>` once listening and serves the file at every path.
 *
 *   node bench/node/plain-server.ts FILE
 */
import { createReadStream, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const file = process.argv[2]
if (file === undefined) throw new Error('usage: plain-server.ts FILE')
const size = statSync(file).size

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  createReadStream(file).pipe(res)
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
