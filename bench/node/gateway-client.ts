/**
 * The client of the gateway benchmark, in a fresh process of its own so that the benchmark's
 * large heap (its inputs, everything measured before) does not slow its garbage collection:
 * downloads each URL in turns (A B C D, A B C D, …) with `http.get` over one keep-alive
 * connection, reading every body to the end, and prints the best seconds of each as JSON.
 *
 *   node bench/node/gateway-client.ts '<json: { turns, bytes, runs: { name: { url, mode, root? } } }>'
 *
 * Modes: `raw` counts the body's bytes; `frames` decodes the frames (`FrameDecoder`) and
 * counts the content bytes; `verified` reads the body through `readContentBody`, verifying
 * every block against `root` (hex).
 */
import { Agent, get, type IncomingMessage } from 'node:http'
import { readySync } from '../../src/b3/engine.ts'
import { readContentBody } from '../../src/wire/content-body.ts'
import { FrameDecoder } from '../../src/wire/content-frames.ts'

interface Run {
  readonly url: string
  readonly mode: 'raw' | 'frames' | 'verified'
  readonly root?: string
}

interface Job {
  readonly turns: number
  /** Content bytes every run must deliver. */
  readonly bytes: number
  readonly runs: Record<string, Run>
}

const job = JSON.parse(process.argv[2] ?? '') as Job
readySync()
const agent = new Agent({ keepAlive: true, maxSockets: 1 })

function request(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        reject(new Error(`${url} answered ${res.statusCode}`))
        return
      }
      resolve(res)
    }).on('error', reject)
  })
}

async function download(run: Run): Promise<number> {
  const res = await request(run.url)
  let n = 0
  if (run.mode === 'raw') {
    for await (const chunk of res as AsyncIterable<Buffer>) n += chunk.length
  } else if (run.mode === 'frames') {
    const decoder = new FrameDecoder()
    for await (const chunk of res as AsyncIterable<Buffer>) {
      for (const f of decoder.push(chunk)) if (f.kind === 'data') n += f.bytes.length
    }
    decoder.end()
  } else {
    const root = new Uint8Array(Buffer.from(run.root ?? '', 'hex'))
    const { body } = await readContentBody(root, res as AsyncIterable<Uint8Array>)
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) n += chunk.length
  }
  return n
}

const best: Record<string, number> = {}
// Turn 0 warms up (connections, V8's optimising tier) and is not counted.
for (let turn = 0; turn <= job.turns; turn++) {
  for (const [name, run] of Object.entries(job.runs)) {
    const t0 = performance.now()
    const n = await download(run)
    const seconds = (performance.now() - t0) / 1000
    if (n !== job.bytes) throw new Error(`${name}: ${n} bytes, ${job.bytes} expected`)
    if (turn > 0) best[name] = Math.min(best[name] ?? Number.POSITIVE_INFINITY, seconds)
  }
}
agent.destroy()
process.stdout.write(`${JSON.stringify(best)}\n`)
