/**
 * The client side of the sessions benchmark, in a fresh process of its own (the benchmark
 * runner's heap would slow its garbage collection), running one job and printing its result
 * as one JSON line:
 *
 *   node bench/node/sessions-client.ts '<json: ClientJob>'
 *
 * - throughput: one client, `client.fetch(root)` read to the end, in turns with the node's raw
 *   stream of the same bytes over a plain client libp2p; CPU of both processes around each;
 * - first-byte: a fresh client each run, `fetch` to its first verified chunk, against a fresh
 *   libp2p's dial + raw stream to its first chunk;
 * - handshake: a fresh libp2p each run: dial alone, dial + ping, dial + openSession;
 * - cpu: no network: HELLO signing and checking, and the node's acknowledgement work for
 *   1 GiB replayed in-process (AckLedger.commit, the reveals, DaPool.put).
 */
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { type RevealFrame, SessionAcks } from '../../src/acks/client-acks.ts'
import { AckLedger } from '../../src/acks/ledger.ts'
import { TREE_BLOCK_LEN } from '../../src/b3/constants.ts'
import { readySync } from '../../src/b3/engine.ts'
import { createClient } from '../../src/client/client.ts'
import { generateClientKey } from '../../src/crypto/client-key.ts'
import { verify } from '../../src/crypto/eddsa-poseidon.ts'
import { handshakeMessage } from '../../src/handshake/challenge.ts'
import { openSession } from '../../src/handshake/client-handshake.ts'
import { createClientLibp2p } from '../../src/net/client-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../../src/net/protocols.ts'
import { streamChannel } from '../../src/net/stream-channel.ts'
import { openDaPool } from '../../src/node/das/da-pool.ts'
import { CDN_SERVICE } from '../../src/services/service-ids.ts'
import { CDN_CODEC } from '../../src/wire/cdn-frames.ts'
import { GiB, median } from '../shared.ts'
import {
  type ClientJob,
  CPU_PROTOCOL,
  type CpuJob,
  type CpuResult,
  type CpuTimes,
  cpuMs,
  type FirstByteJob,
  type FirstByteResult,
  type HandshakeJob,
  type HandshakeResult,
  RAW_PROTOCOL,
  RAW_SPLIT_PROTOCOL,
  SPLIT_OVERHEAD,
  type ThroughputJob,
  type ThroughputResult,
} from './sessions-shared.ts'

type ClientLibp2p = Awaited<ReturnType<typeof createClientLibp2p>>

/**
 * Runs that dial afresh are spaced out by this much, untimed: each run's teardown is over
 * before the next dials, and the runs stay within libp2p's default limit of 5 new connections
 * a second per host (`inboundConnectionThreshold`), which a node may keep (Fulmen's allows 100).
 */
const DIAL_SPACING_MS = 260
let lastDial = 0

async function spaceDials(): Promise<void> {
  const wait = lastDial + DIAL_SPACING_MS - performance.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  lastDial = performance.now()
}

/**
 * Reads `stream` to its end, calling `onChunk` with the bytes so far after every chunk (true:
 * stop reading). Listeners are attached at once, before any await: libp2p's async iterator
 * attaches its own only when iterated, and never ends for a stream whose last bytes and close
 * arrived before that (a small reply). Such buffered bytes are dispatched once a 'message'
 * listener is added, with no 'remoteCloseWrite' after them: the end is checked by hand.
 */
function readStream(
  stream: Stream,
  onChunk: (chunk: Uint8Array, total: number) => boolean | undefined = () => undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0
    let done = false
    const ended = () => stream.remoteWriteStatus === 'closed' && stream.readBufferLength === 0
    const finish = (error?: Error) => {
      if (done) return
      done = true
      if (error === undefined) resolve(n)
      else reject(error)
    }
    stream.addEventListener('message', (event) => {
      if (done) return
      const bytes = event.data instanceof Uint8Array ? event.data : event.data.subarray()
      n += bytes.byteLength
      // The last chunk of a stream whose end came before us: no event will follow it.
      if (onChunk(bytes, n) === true || ended()) finish()
    })
    stream.addEventListener('remoteCloseWrite', () => finish())
    stream.addEventListener('close', (event) => finish(event.error))
    if (ended()) finish()
  })
}

/** The node process's CPU time, over a stream of its own. */
async function nodeCpu(connection: Connection): Promise<CpuTimes> {
  const stream = await connection.newStream(CPU_PROTOCOL)
  let text = ''
  const decoder = new TextDecoder()
  await readStream(stream, (chunk) => {
    text += decoder.decode(chunk, { stream: true })
    return undefined
  })
  await stream.close()
  return JSON.parse(text) as CpuTimes
}

async function readBody(res: Response): Promise<number> {
  const reader = res.body!.getReader()
  let n = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return n
    n += value.byteLength
  }
}

async function throughput(job: ThroughputJob): Promise<ThroughputResult> {
  const address = multiaddr(job.multiaddr)
  const client = await createClient({ bootstrap: [address] })
  const raw = await createClientLibp2p()
  const connection = await raw.dial(address)
  const times = { session: [] as number[], raw: [] as number[], rawSplit: [] as number[] }
  const totals = {
    sessionBytes: 0,
    clientCpu: 0,
    nodeCpu: 0,
    rawBytes: 0,
    rawNodeCpu: 0,
    rawCpu: 0,
  }
  const blocks = Math.ceil(job.bytes / TREE_BLOCK_LEN)
  const readRaw = async (protocol: string): Promise<number> => {
    const stream = await connection.newStream(protocol)
    const n = await readStream(stream)
    await stream.close()
    return n
  }
  const runs = {
    session: async () => readBody(await client.fetch(job.rootHex)),
    raw: () => readRaw(RAW_PROTOCOL),
    rawSplit: async () => (await readRaw(RAW_SPLIT_PROTOCOL)) - blocks * SPLIT_OVERHEAD,
  }
  const only = { session: 'session', raw: 'raw', rawSplit: 'raw-split' } as const
  try {
    // Turn 0 opens the session (its hash chain, its commitment) and warms V8 up: it counts
    // towards the acknowledgement totals, which span the session, but not as a timed turn.
    for (let turn = 0; turn <= job.turns; turn++) {
      for (const [name, run] of Object.entries(runs) as [
        keyof typeof runs,
        () => Promise<number>,
      ][]) {
        if (job.only !== undefined && job.only !== only[name]) continue
        const node0 = await nodeCpu(connection)
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        const n = await run()
        const seconds = (performance.now() - t0) / 1000
        const clientCpu = cpuMs(cpu0, process.cpuUsage())
        const nodeCpuMs = cpuMs(node0, await nodeCpu(connection))
        if (n !== job.bytes) throw new Error(`${name}: ${n} bytes, ${job.bytes} expected`)
        if (turn > 0) times[name].push(seconds)
        if (name === 'session') {
          totals.sessionBytes += n
          totals.clientCpu += clientCpu
          totals.nodeCpu += nodeCpuMs
        } else if (name === 'raw') {
          totals.rawBytes += n
          totals.rawCpu += clientCpu
          totals.rawNodeCpu += nodeCpuMs
        }
      }
    }
    const acks = client.nodes()[0]?.acks ?? {
      signMs: 0,
      hashMs: 0,
      commitments: 0,
      acknowledgedUnits: 0,
    }
    return {
      ...times,
      sessionBytes: totals.sessionBytes,
      clientCpuMs: totals.clientCpu,
      nodeCpuMs: totals.nodeCpu,
      ackSignMs: acks.signMs,
      ackHashMs: acks.hashMs,
      commitments: acks.commitments,
      acknowledgedUnits: acks.acknowledgedUnits,
      rawBytes: totals.rawBytes,
      nodeRawCpuMs: totals.rawNodeCpu,
      clientRawCpuMs: totals.rawCpu,
    }
  } finally {
    await client.close()
    await raw.stop()
  }
}

async function firstByte(job: FirstByteJob): Promise<FirstByteResult> {
  const address = multiaddr(job.multiaddr)
  const result = {
    session: [] as number[],
    sessionHeader: [] as number[],
    raw: [] as number[],
    rawBlock: [] as number[],
  }
  // Run 0 warms up (V8, the node's caches) and is not counted; then in turns.
  for (let run = 0; run <= job.runs; run++) {
    {
      const client = await createClient({ bootstrap: [address] })
      try {
        await spaceDials()
        const t0 = performance.now()
        const res = await client.fetch(job.rootHex)
        const headerMs = performance.now() - t0
        const reader = res.body!.getReader()
        const first = await reader.read()
        const ms = performance.now() - t0
        if (first.done || first.value.byteLength === 0) throw new Error('session: empty body')
        await reader.cancel()
        if (run > 0) {
          result.session.push(ms)
          result.sessionHeader.push(headerMs)
        }
      } finally {
        await client.close()
      }
    }
    {
      const lib = await createClientLibp2p()
      try {
        await spaceDials()
        const t0 = performance.now()
        const connection = await lib.dial(address)
        const stream = await connection.newStream(RAW_PROTOCOL)
        let firstMs = 0
        await readStream(stream, (_, n) => {
          if (firstMs === 0) firstMs = performance.now() - t0
          return n >= TREE_BLOCK_LEN
        })
        const blockMs = performance.now() - t0
        stream.abort(new Error('first block read'))
        if (run > 0) {
          result.raw.push(firstMs)
          result.rawBlock.push(blockMs)
        }
      } finally {
        await lib.stop()
      }
    }
  }
  return result
}

async function handshake(job: HandshakeJob): Promise<HandshakeResult> {
  const address = multiaddr(job.multiaddr)
  const result = { dial: [] as number[], ping: [] as number[], session: [] as number[] }
  const timed = async (
    into: number[] | undefined,
    run: (lib: ClientLibp2p) => Promise<unknown>,
  ): Promise<void> => {
    // A fresh libp2p (and key) each run: a new client, untimed; then dial and what follows.
    const lib = await createClientLibp2p()
    try {
      await spaceDials()
      const t0 = performance.now()
      await run(lib)
      into?.push(performance.now() - t0)
    } finally {
      await lib.stop()
    }
  }
  for (let run = -3; run < job.runs; run++) {
    const keep = run >= 0
    await timed(keep ? result.dial : undefined, (lib) => lib.dial(address))
    await timed(keep ? result.ping : undefined, async (lib) => {
      const connection = await lib.dial(address)
      await lib.services.ping.ping(connection.remotePeer)
    })
    const key = generateClientKey()
    await timed(keep ? result.session : undefined, async (lib) => {
      const connection = await lib.dial(address)
      const peer = connection.remotePeer
      const channel = streamChannel(await connection.newStream(HANDSHAKE_PROTOCOL), peer.toString())
      const stream = await openSession(channel, {
        key,
        service: CDN_SERVICE,
        codec: CDN_CODEC['to-client'],
        nodePeerId: peer.toMultihash().bytes,
      })
      await stream.close()
    })
  }
  return result
}

async function cpu(job: CpuJob): Promise<CpuResult> {
  // --- HELLO: what openSession signs, what acceptSession verifies -------------------------
  const nodePeerId = new Uint8Array(38).fill(7) // an Ed25519 peer id's multihash is 38 bytes
  const binding = () => ({
    nonce: crypto.getRandomValues(new Uint8Array(32)),
    service: CDN_SERVICE,
    retry: 0n,
    nodePeerId,
  })
  const key = generateClientKey()
  const sign: number[] = []
  for (let i = -50; i < 300; i++) {
    const b = binding()
    const t0 = performance.now()
    key.sign(handshakeMessage(b))
    if (i >= 0) sign.push(performance.now() - t0)
  }
  // Every HELLO of a new client brings a key the node has not decoded before.
  const fresh: { publicKey: Uint8Array; b: ReturnType<typeof binding>; signature: Uint8Array }[] =
    []
  for (let i = 0; i < 250; i++) {
    const k = generateClientKey()
    const b = binding()
    fresh.push({ publicKey: k.publicKey, b, signature: k.sign(handshakeMessage(b)) })
  }
  const verifyNew: number[] = []
  const verifySeen: number[] = []
  for (const [i, f] of fresh.entries()) {
    for (const into of [verifyNew, verifySeen]) {
      const t0 = performance.now()
      const ok = verify(f.publicKey, handshakeMessage(f.b), f.signature)
      const ms = performance.now() - t0
      if (!ok) throw new Error('a HELLO signature did not verify')
      if (i >= 50) into.push(ms)
    }
  }

  // --- acknowledgements of 1 GiB, node side, replayed ---------------------------------------
  const window = 16
  const units = GiB / TREE_BLOCK_LEN
  const pool = await openDaPool({ dir: job.dir })
  let best:
    | Pick<CpuResult, 'ackCommit' | 'ackReveals' | 'ackPuts' | 'ackCpu' | 'reveals'>
    | undefined
  const chain: number[] = []
  const commitSign: number[] = []
  try {
    for (let run = 0; run <= job.runs; run++) {
      const clientKey = generateClientKey()
      const nodeKey = crypto.getRandomValues(new Uint8Array(32))
      const session = BigInt(run + 1)
      const epoch = 1n
      const acks = new SessionAcks({
        key: clientKey,
        session,
        nodeKey,
        epoch,
        service: CDN_SERVICE,
        window,
        unit: TREE_BLOCK_LEN,
      })
      const commit = acks.begin()
      chain.push(acks.hashMs)
      commitSign.push(acks.signMs)
      const reveals: RevealFrame[] = []
      for (let u = 0; u < units; u += window)
        for (const f of acks.verified(window)) if (f.kind === 'reveal') reveals.push(f)
      const ledger = new AckLedger({
        nodeKey,
        session,
        epoch,
        clientKey: clientKey.publicKey,
        service: CDN_SERVICE,
        window,
      })
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      ledger.commit(commit.commitment, commit.signature)
      const t1 = performance.now()
      let revealMs = 0
      let putMs = 0
      for (const r of reveals) {
        ledger.delivered(window)
        const a = performance.now()
        const claim = ledger.reveal(r.seq, r.index, r.value)!
        const b = performance.now()
        await pool.put(claim, { remotePeer: 'bench' })
        putMs += performance.now() - b
        revealMs += b - a
      }
      const cpuTotal = cpuMs(cpu0, process.cpuUsage())
      const m = { ackCommit: t1 - t0, ackReveals: revealMs, ackPuts: putMs, ackCpu: cpuTotal }
      // Run 0 warms up; the fastest of the rest counts.
      if (
        run > 0 &&
        (best === undefined ||
          m.ackCommit + m.ackReveals + m.ackPuts < best.ackCommit + best.ackReveals + best.ackPuts)
      )
        best = { ...m, reveals: reveals.length }
    }
  } finally {
    await pool.close()
  }
  return {
    helloSign: median(sign),
    helloVerify: median(verifyNew),
    helloVerifySeenKey: median(verifySeen),
    ...best!,
    chainColdMs: chain[0]!,
    chainMs: median(chain.slice(1)),
    commitSignColdMs: commitSign[0]!,
    commitSignMs: median(commitSign.slice(1)),
  }
}

readySync()
const job = JSON.parse(process.argv[2] ?? '') as ClientJob
const result =
  job.mode === 'throughput'
    ? await throughput(job)
    : job.mode === 'first-byte'
      ? await firstByte(job)
      : job.mode === 'handshake'
        ? await handshake(job)
        : await cpu(job)
process.stdout.write(`${JSON.stringify(result)}\n`)
// libp2p may leave timers behind (identify, reconnects): nothing more to wait for.
process.exit(0)
