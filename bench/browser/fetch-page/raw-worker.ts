/** The raw WebSocket read (raw-read.ts) in a dedicated worker, like the client's network code. */
import { rawRead } from '../raw-read.ts'

self.onmessage = async (event: MessageEvent<{ url: string; bytes: number }>) => {
  try {
    self.postMessage({ ok: await rawRead(event.data.url, event.data.bytes) })
  } catch (error) {
    self.postMessage({ error: (error as Error).message })
  }
}
