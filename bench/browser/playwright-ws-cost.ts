/**
 * A check, run by hand (`node bench/browser/playwright-ws-cost.ts`), of what Playwright's
 * instrumentation costs a WebSocket read: Playwright enables CDP's Network domain on every page
 * and worker, so Chromium sends it every frame's payload. The same raw read of 128 MiB
 * (raw-read.ts's protocol against raw-ws-server.ts) on an about:blank page, three times driven
 * by Playwright, three times by a bare CDP connection (Runtime.evaluate only) to the same
 * Chromium binary started directly with the same flags. Prints MiB/s and this process's CPU.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium } from 'playwright'
import { WebSocket } from 'ws'
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/chromium.ts'
import { MiB } from '../shared.ts'
import { startRawWsServer } from './raw-ws-server.ts'

const BYTES = 128 * MiB
const dir = mkdtempSync(path.join(os.tmpdir(), 'fulmen-ws-cost-'))
const file = path.join(dir, 'content.bin')
writeFileSync(file, Buffer.alloc(BYTES, 7))
const server = await startRawWsServer(file)
const read = `new Promise((resolve) => {
  const s = new WebSocket(${JSON.stringify(server.url)}); s.binaryType = 'arraybuffer'
  let n = 0, t0 = 0
  s.onopen = () => { t0 = performance.now(); s.send(JSON.stringify({ bytes: ${BYTES} })) }
  s.onmessage = (e) => { n += e.data.byteLength
    if (n >= ${BYTES}) { s.close(); resolve(${BYTES / MiB} / ((performance.now() - t0) / 1000)) } }
})`
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const report = (how: string, mibs: number, cpu: number) =>
  console.log(
    `${how}: ${mibs.toFixed(0)} MiB/s, ${(cpu / (BYTES / MiB)).toFixed(1)} ms/MiB of driver CPU`,
  )

try {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] })
  const page = await browser.newPage()
  let seen = 0
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      seen += typeof f.payload === 'string' ? f.payload.length : f.payload.byteLength
    }),
  )
  for (let i = 0; i < 3; i++) {
    const c0 = cpuMs()
    report('Playwright', (await page.evaluate(read)) as number, cpuMs() - c0)
  }
  console.log(`Playwright's framereceived events carried ${seen} payload bytes`)
  await browser.close()

  const chrome = spawn(
    CHROMIUM_PATH,
    [
      '--headless',
      ...CHROMIUM_ARGS,
      '--remote-debugging-port=0',
      `--user-data-dir=${path.join(dir, 'profile')}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  try {
    const endpoint = await new Promise<string>((resolve) => {
      let err = ''
      chrome.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(err)
        if (m) resolve(m[1]!)
      })
    })
    const list = (await (
      await fetch(new URL('/json/list', endpoint.replace('ws:', 'http:')))
    ).json()) as {
      type: string
      webSocketDebuggerUrl: string
    }[]
    const cdp = new WebSocket(list.find((t) => t.type === 'page')!.webSocketDebuggerUrl)
    await new Promise((resolve) => cdp.once('open', resolve))
    let id = 0
    const evaluate = (expression: string) =>
      new Promise<number>((resolve) => {
        const mine = ++id
        const onMessage = (d: Buffer) => {
          const m = JSON.parse(String(d)) as { id?: number; result?: { result: { value: number } } }
          if (m.id !== mine) return
          cdp.off('message', onMessage)
          resolve(m.result!.result.value)
        }
        cdp.on('message', onMessage)
        cdp.send(
          JSON.stringify({
            id: mine,
            method: 'Runtime.evaluate',
            params: { expression, awaitPromise: true, returnByValue: true },
          }),
        )
      })
    for (let i = 0; i < 3; i++) {
      const c0 = cpuMs()
      report('bare CDP', await evaluate(read), cpuMs() - c0)
    }
    cdp.close()
  } finally {
    chrome.kill()
  }
} finally {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}
