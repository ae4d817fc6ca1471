/**
 * The raw peer: a plain WebSocket to the bench's `ws` server, binaryType arraybuffer, bytes
 * counted and dropped. The clock starts once the socket is open and the `go` is sent, as a
 * warm client's clock starts with a request on an open connection. Runs on a page or in a
 * worker (raw-worker.ts).
 */
export function rawRead(url: string, bytes: number): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url)
    socket.binaryType = 'arraybuffer'
    let received = 0
    let t0 = 0
    socket.onopen = () => {
      t0 = performance.now()
      socket.send(JSON.stringify({ bytes }))
    }
    socket.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      received += event.data.byteLength
      if (received >= bytes) {
        const ms = performance.now() - t0
        socket.onclose = null
        socket.close()
        resolve({ bytes: received, ms })
      }
    }
    socket.onerror = () => reject(new Error(`raw WebSocket to ${url} failed`))
    socket.onclose = () => reject(new Error(`raw WebSocket closed after ${received} bytes`))
  })
}
