/**
 * The raw peer's server: a `ws` WebSocket server in the bench process that streams a file in
 * 256 KiB binary messages (no framing, no verification, no encryption) once the client sends
 * `{ "bytes": n }`. Backpressure: past 8 MiB queued in the socket, each send waits until
 * written, so the file is read no faster than the page takes it.
 */
import { createReadStream } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { type WebSocket, WebSocketServer } from 'ws'

const MESSAGE_BYTES = 256 * 1024
const HIGH_WATER = 8 * 1024 * 1024

export interface RawWsServer {
  readonly url: string
  close(): Promise<void>
}

async function stream(socket: WebSocket, file: string, bytes: number): Promise<void> {
  const source = createReadStream(file, { highWaterMark: MESSAGE_BYTES, end: bytes - 1 })
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (socket.readyState !== socket.OPEN) break
    if (socket.bufferedAmount < HIGH_WATER) socket.send(chunk, { binary: true })
    else
      await new Promise<void>((resolve, reject) =>
        socket.send(chunk, { binary: true }, (e) => (e ? reject(e) : resolve())),
      )
  }
  source.destroy()
}

export async function startRawWsServer(file: string): Promise<RawWsServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => server.once('listening', resolve))
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const { bytes } = JSON.parse(String(data)) as { bytes: number }
      stream(socket, file, bytes).catch(() => socket.terminate())
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate()
        server.close(() => resolve())
      }),
  }
}
