/**
 * Test support (Node only, never shipped): a node's chain gateway for a light client, without
 * a node. A genesis in which the given node keys are staked (2,000 FLK, above the minimum: active
 * in epoch 0) beside a one-member committee whose BLS key the test holds; a real executor's
 * state over it; a signed checkpoint inside epoch 0 as the head; and a loopback HTTP server
 * answering `GET /chain/checkpoints?from=<epoch>` and `GET /chain/state/<table>/<key>?height=<h>`
 * as a node does, with CORS (a page or a worker on another origin asks it).
 *
 * `forge` makes it lie: `checkpoint` serves the head with another state root than the one
 * signed (CHECKPOINT_SIGNATURE), `proof` serves every present entry with a flipped value byte
 * (LIGHT_PROOF_INVALID).
 */
import { createServer } from 'node:http'
import { genesisAnchor } from '../../checkpoint/genesis-anchor.ts'
import { checkpointRunToJson, type ServedCheckpoint } from '../../checkpoint/index.ts'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { chainFromGenesis, runFrom, servedState } from '../../light/testing/light-fixture.ts'
import { StateExecutor } from '../../state/executor.ts'
import { genesisToJson } from '../../state/genesis.ts'
import { type Genesis, ONE_TOKEN, type TableName } from '../../state/model.ts'
import { isTableName, parseTableKey } from '../../state/tables.ts'
import { fixedSecret, testChain } from '../../state/testing/chain-fixture.ts'
import { makeBlsKey } from '../../state/transaction.ts'

export type GatewayForgery = 'checkpoint' | 'proof'

export interface ChainGatewayFixture {
  readonly genesis: Genesis
  /** The genesis file's text (what a page passes as `chain.genesis`). */
  readonly genesisJson: string
  /** The verified head a light client reaches: this epoch (0 unless `epochs`) and height. */
  readonly headEpoch: number
  readonly headHeight: number
  /** The signed handoffs (with their committees) before the head: trusted checkpoints. */
  readonly handoffs: readonly ServedCheckpoint[]
  /** Serves the chain (honest unless `forge`). */
  serve(forge?: GatewayForgery): Promise<ChainGateway>
}

export interface ChainGateway {
  readonly url: string
  /** Every path asked, in order. */
  readonly requests: string[]
  close(): Promise<void>
}

/**
 * The chain: `staked` node keys staked and active, `underMinimum` registered below the minimum.
 * `epochs` handoffs (default 0) come before the head, to time a walk: the state stays the
 * genesis's, so node records are right only with none (committees/<epoch> is epoch 0's alone).
 */
export async function chainGatewayFixture(options: {
  readonly staked: readonly Uint8Array[]
  readonly underMinimum?: readonly Uint8Array[]
  readonly epochs?: number
  /** The handoffs' committees: `size` keys (default 4), fresh each epoch or from a `pool`. */
  readonly committee?: { readonly size: number; readonly pool?: number }
}): Promise<ChainGatewayFixture> {
  const chain = testChain({ nodeCount: 1 })
  const member = chain.nodes[0]!
  const node = (key: Uint8Array, i: number, stake: bigint) => ({
    key,
    owner: member.owner.address,
    blsKey: makeBlsKey(fixedSecret(`gateway bls ${i}`)).publicKey,
    addresses: [],
    stake,
  })
  const genesis: Genesis = {
    ...chain.genesis,
    nodes: [
      ...chain.genesis.nodes,
      ...options.staked.map((k, i) => node(k, i, 2000n * ONE_TOKEN)),
      ...(options.underMinimum ?? []).map((k, i) => node(k, 1000 + i, 500n * ONE_TOKEN)),
    ],
  }
  const executor = await StateExecutor.open(new MemoryKvStore(), genesis)
  const root = executor.head.stateRoot
  const anchor = await genesisAnchor(genesis)
  const served = chainFromGenesis({
    genesis: anchor,
    genesisCommittee: [member.bls],
    epochs: options.epochs ?? 0,
    inside: 1,
    ...(options.committee === undefined ? {} : options.committee),
    rootAt: () => root,
  })
  const headHeight = served.head.height
  const headEpoch = served.head.epoch

  async function serve(forge?: GatewayForgery): Promise<ChainGateway> {
    const run = (from: number): readonly ServedCheckpoint[] => {
      const honest = runFrom(served, from)
      if (forge !== 'checkpoint') return honest
      return honest.map((s) => {
        const body = { ...s.checkpoint.body, stateRoot: new Uint8Array(32).fill(0xab) }
        return { ...s, checkpoint: { ...s.checkpoint, body } }
      })
    }
    const state = async (table: TableName, keyText: string, height: number) => {
      // The state is the genesis's: at genesis (0) and at the head alike.
      if (height !== headHeight && height !== 0) return undefined
      const answer = await servedState(executor, table, parseTableKey(table, keyText), height)
      if (forge !== 'proof' || answer.value === null) return answer
      const flipped = (answer.value.startsWith('a') ? 'b' : 'a') + answer.value.slice(1)
      return { ...answer, value: flipped }
    }
    const requests: string[] = []
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost')
      requests.push(`${url.pathname}${url.search}`)
      const send = (status: number, body: unknown) => {
        response.writeHead(status, {
          'content-type': 'application/json',
          'access-control-allow-origin': '*',
        })
        response.end(JSON.stringify(body))
      }
      const error = (status: number, code: string, message: string) =>
        send(status, { error: { code, message } })
      void (async () => {
        if (url.pathname === '/chain/checkpoints') {
          const from = Number(url.searchParams.get('from'))
          if (!Number.isSafeInteger(from) || from < 0)
            return error(400, 'CHAIN_BAD_REQUEST', 'from')
          return send(200, checkpointRunToJson(run(from)))
        }
        const m = /^\/chain\/state\/([^/]+)\/([^/]+)$/.exec(url.pathname)
        const table = m === null ? '' : decodeURIComponent(m[1]!)
        if (m !== null && isTableName(table)) {
          const height = Number(url.searchParams.get('height'))
          const answer = await state(table, decodeURIComponent(m[2]!), height)
          if (answer === undefined)
            return error(404, 'CHAIN_STATE_UNAVAILABLE', `no state at ${height}`)
          return send(200, answer)
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

  return {
    genesis,
    genesisJson: genesisToJson(genesis),
    headEpoch,
    headHeight,
    handoffs: served.handoffs,
    serve,
  }
}
