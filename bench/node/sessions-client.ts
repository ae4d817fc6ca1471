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
import { GiB } from '../shared.ts'
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
  median,
  RAW_PROTOCOL,
  type ThroughputJob,
  type ThroughputResult,
} from './sessions-shared.ts'

const CDN_SERVICE = 0

type ClientLibp2p = Awaited<ReturnType<typeof createClientLibp2p>>

/** The node process's CPU time, over a stream of its own. */
async function nodeCpu(connection: Connection): Promise<CpuTimes> {
  const stream = await connection.newStream(CPU_PROTOCOL)
  let text = ''
  const decoder = new TextDecoder()
  for await (const chunk of stream) text += decoder.decode(chunk.subarray(), { stream: true })
  return JSON.parse(text) as CpuTimes
}

/** Reads a raw stream to its end; returns its bytes. */
async function drain(stream: Stream): Promise<number> {
  let n = 0
  for await (const chunk of stream) n += chunk.byteLength
  return n
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
  const session: number[] = []
  const rawTimes: number[] = []
  const totals = { sessionBytes: 0, clientCpu: 0, nodeCpu: 0, rawBytes: 0, rawNodeCpu: 0, rawCpu: 0 }
  try {
    // Turn 0 opens the session (its hash chain, its commitment) and warms V8 up: it counts
    // towards the acknowledgement totals, which span the session, but not as a timed turn.
    for (let turn = 0; turn <= job.turns; turn++) {
      {
        const node0 = await nodeCpu(connection)
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        const n = await readBody(await client.fetch(job.rootHex))
        const seconds = (performance.now() - t0) / 1000
        totals.clientCpu += cpuMs(cpu0, process.cpuUsage())
        totals.nodeCpu += cpuMs(node0, await nodeCpu(connection))
        if (n !== job.bytes) throw new Error(`session: ${n} bytes, ${job.bytes} expected`)
        totals.sessionBytes += n
        if (turn > 0) session.push(seconds)
      }
      {
        const node0 = await nodeCpu(connection)
        const cpu0 = process.cpuUsage()
        const t0 = performance.now()
        const n = await drain(await connection.newStream(RAW_PROTOCOL))
        const seconds = (performance.now() - t0) / 1000
        totals.rawCpu += cpuMs(cpu0, process.cpuUsage())
        totals.rawNodeCpu += cpuMs(node0, await nodeCpu(connection))
        if (n !== job.bytes) throw new Error(`raw: ${n} bytes, ${job.bytes} expected`)
        totals.rawBytes += n
        if (turn > 0) rawTimes.push(seconds)
      }
    }
    const acks = client.nodes()[0]?.acks
    if (acks === undefined) throw new Error('the client has no session with the node')
    return {
      session,
      raw: rawTimes,
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
  const result = { session: [] as number[], raw: [] as number[], rawBlock: [] as number[] }
  // Run 0 warms up (V8, the node's caches) and is not counted; then in turns.
  for (let run = 0; run <= job.runs; run++) {
    {
      const client = await createClient({ bootstrap: [address] })
      try {
        const t0 = performance.now()
        const res = await client.fetch(job.rootHex)
        const reader = res.body!.getReader()
        const first = await reader.read()
        const ms = performance.now() - t0
        if (first.done || first.value.byteLength === 0) throw new Error('session: empty body')
        await reader.cancel()
        if (run > 0) result.session.push(ms)
      } finally {
        await client.close()
      }
    }
    {
      const lib = await createClientLibp2p()
      try {
        const t0 = performance.now()
        const connection = await lib.dial(address)
        const stream = await connection.newStream(RAW_PROTOCOL)
        let n = 0
        let firstMs = 0
        for await (const chunk of stream) {
          if (n === 0) firstMs = performance.now() - t0
          n += chunk.byteLength
          if (n >= TREE_BLOCK_LEN) break
        }
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
      const channel = streamChannel(
        await connection.newStream(HANDSHAKE_PROTOCOL),
        peer.toString(),
      )
      const stream = await openSession(channel, {
        key,
        service: CDN_SERVICE,
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
  let best: Omit<CpuResult, 'helloSign' | 'helloVerify' | 'helloVerifySeenKey'> | undefined
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
        const claim = ledger.reveal(r.seq, r.index, r.value)
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
