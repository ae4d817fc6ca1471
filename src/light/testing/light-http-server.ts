/**
 * Test support (Node only, never shipped): a loopback HTTP server answering the two routes a
 * light client asks, `GET /chain/checkpoints?from=<epoch>` and
 * `GET /chain/state/<table>/<key>?height=<h>`, from a served chain and an answer function, with
 * the node's error bodies (`{"error":{"code","message"}}`). `raw` replaces an answer's body
 * text (to serve malformed JSON).
 */
import { createServer } from 'node:http'
import { checkpointRunToJson, type ServedCheckpoint } from '../../checkpoint/index.ts'

export interface LightHttpRoutes {
  readonly run: (from: number) => readonly ServedCheckpoint[]
  /** The state answer for (table, key text, height); undefined: 404. */
  readonly state?: (table: string, key: string, height: number) => Promise<unknown>
  /** A body served as is instead of a run's JSON. */
  readonly rawRun?: (from: number) => string | undefined
}

export interface LightHttpServer {
  readonly url: string
  /** Every path asked, in order. */
  readonly requests: string[]
  close(): Promise<void>
}

export async function serveLightHttp(routes: LightHttpRoutes): Promise<LightHttpServer> {
  const requests: string[] = []
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    requests.push(`${url.pathname}${url.search}`)
    const send = (status: number, body: string) => {
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(body)
    }
    const error = (status: number, code: string, message: string) =>
      send(status, JSON.stringify({ error: { code, message } }))
    void (async () => {
      if (url.pathname === '/chain/checkpoints') {
        const from = Number(url.searchParams.get('from'))
        if (!Number.isSafeInteger(from) || from < 0) return error(400, 'CHAIN_BAD_REQUEST', 'from')
        const raw = routes.rawRun?.(from)
        if (raw !== undefined) return send(200, raw)
        return send(200, JSON.stringify(checkpointRunToJson(routes.run(from))))
      }
      const state = /^\/chain\/state\/([^/]+)\/([^/]+)$/.exec(url.pathname)
      if (state !== null && routes.state !== undefined) {
        const height = Number(url.searchParams.get('height'))
        const table = decodeURIComponent(state[1] as string)
        const key = decodeURIComponent(state[2] as string)
        const answer = await routes.state(table, key, height)
        if (answer === undefined)
          return error(404, 'CHAIN_STATE_UNAVAILABLE', `no state at ${height}`)
        return send(200, JSON.stringify(answer))
      }
      return error(404, 'CHAIN_NOT_FOUND', url.pathname)
    })().catch((e: unknown) => error(500, 'INTERNAL', String(e)))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
