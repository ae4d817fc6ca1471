/**
 * Issue 16's "ordered AND executed" figure (`consensus.exec-tps`): a real committee devnet —
 * `fulmen node start` processes run by the devnet runner (src/node/devnet/devnet-runner.ts),
 * the same as `fulmen devnet start --nodes 4 --edge 0 --consensus committee` — fed signed
 * secp256k1 transfers over HTTP (`POST /chain/tx`), every one executed by every member (each
 * member checks every signature: at its own admission or when the block executes).
 *
 * Load: `senders` funded demo accounts (the devnet's `demoAccounts`), each pinned to ONE member
 * (sender i → member i mod n) so its nonces reach one mempool in order; each sender sends its
 * pre-signed transfers one request at a time (the next after the answer: in nonce order), on a
 * schedule of `rate / senders` a second; many senders at once over keep-alive connections make
 * the rate. Signing is done before the nodes start: not measured.
 *
 * Measured, from the outside over HTTP only:
 * - each member's `GET /chain/head`, polled every `pollMs`: the time member m is first seen at
 *   height h is when block h executed there (within one poll);
 * - the blocks' contents (`GET /chain/block/<h>`, read once, from the first member: every member
 *   holds the same blocks, checked at the end by comparing block hashes at a common height);
 * - executed tx/s: receipts "ok" in the blocks member m executed inside the window, per second,
 *   the mean over members;
 * - latency: a transaction submitted in the window, from just before its POST to the time its
 *   block is seen executed on the member it was submitted to; p50 and p99.
 *
 * CPU: every node process's user + system time (/proc/<pid>/stat) over the window, and this
 * process's (the load generator and poller), beside the load average.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os, { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { FULMEN_CLI } from '../../src/devnet/processes.ts'
import { prepareDevnet } from '../../src/node/devnet/devnet-genesis.ts'
import {
  type DevnetConsensus,
  type RunningDevnet,
  startDevnet,
} from '../../src/node/devnet/devnet-runner.ts'
import { encodeTransaction, personalSign, transactionDigest } from '../../src/state/transaction.ts'

export interface ExecBenchOptions {
  readonly consensus: DevnetConsensus
  /** Committee nodes (4 for the committee, 1 for the solo peer). */
  readonly nodes: number
  /** Funded accounts sending transfers (each pinned to one node). */
  readonly senders: number
  /** Transactions a second offered, in all. */
  readonly rate: number
  readonly warmupS: number
  readonly measureS: number
  /** After the window, how long transactions submitted in it may still take to execute. */
  readonly drainS?: number
  readonly pollMs?: number
  /** Runs every node with `--cpu-prof --cpu-prof-dir=<dir>` (profiles written when it stops). */
  readonly cpuProfDir?: string
  readonly log: (line: string) => void
}

export interface ExecResult {
  /** Executed transactions a second over the window (mean over members). */
  readonly tps: number
  /** The slowest member's executed tx/s (each must execute all). */
  readonly minTps: number
  readonly offeredTps: number
  /** Requests answered 202 a second during the window. */
  readonly acceptedTps: number
  /** Due by the schedule in the window but not sent: every sender had one in flight. */
  readonly skippedTps: number
  readonly senders: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Transactions submitted in the window whose execution was seen (latency samples). */
  readonly samples: number
  /** Submitted in the window, not seen executed by the end of the drain. */
  readonly unexecuted: number
  /** Submissions refused (non-2xx or no answer): that sender stops (its next nonces gap). */
  readonly refused: number
  readonly firstRefusal: string
  /** CPU cores the node processes used over the window, in all. */
  readonly nodeCores: number
  /** CPU cores this process (load generator, poller) used over the window. */
  readonly loaderCores: number
  /** Load average (1 min) before – after the window. */
  readonly load: string
  readonly uptime: string
  readonly blocks: number
  readonly nodes: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** CPU ticks a second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const USER_HZ = 100

/** A process's user + system CPU time in ms (Linux /proc), 0 when it is gone. */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command (which may hold spaces), from its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the command.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ
  } catch {
    return 0
  }
}

function ownCpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

function uptimeLine(): string {
  const [a, b, c] = os.loadavg() as [number, number, number]
  return `load average ${a.toFixed(2)}, ${b.toFixed(2)}, ${c.toFixed(2)}`
}

interface Presigned {
  readonly bytes: Uint8Array
  readonly digest: string
}

/**
 * Each sender's transfers (1 base unit of FLK to the next sender), nonces 1..count, signed
 * now: signing is the client's cost, not what the committee is measured on.
 */
function presign(
  chainId: number,
  accounts: readonly { address: Uint8Array; secretKey: Uint8Array }[],
  count: number,
): Presigned[][] {
  return accounts.map((from, i) => {
    const to = accounts[(i + 1) % accounts.length]!
    const out: Presigned[] = []
    for (let nonce = 1; nonce <= count; nonce++) {
      const payload = {
        chainId,
        sender: { kind: 'account' as const, address: from.address },
        nonce,
        method: { type: 'Transfer' as const, to: to.address, token: 'FLK' as const, amount: 1n },
      }
      // personalSign of the digest, as signAccountTransaction does, without deriving the
      // sender's address again for every transaction (a second scalar multiplication).
      const digest = transactionDigest(payload)
      const tx = { payload, signature: personalSign(digest, from.secretKey) }
      out.push({ bytes: encodeTransaction(tx), digest: bytesToHex(digest) })
    }
    return out
  })
}

async function getJson(url: string, timeoutMs = 10_000): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`)
  return JSON.parse(text)
}

interface HeadJson {
  height: number
  hash: string
  committedRound?: number
}

interface BlockJson {
  hash: string
  header: { height: number; timestampMs: number }
  receipts: { digest?: string; status: string; message?: string }[]
}

/** Waits until every node's head answers and, on a committee, every member committed. */
async function untilReady(gateways: readonly string[], committee: boolean, ms: number) {
  const deadline = Date.now() + ms
  let last = ''
  while (Date.now() < deadline) {
    try {
      const heads = (await Promise.all(
        gateways.map((g) => getJson(`${g}/chain/head`, 5000)),
      )) as HeadJson[]
      if (!committee || heads.every((h) => (h.committedRound ?? 0) > 0)) return
      last = heads.map((h) => h.committedRound).join(',')
    } catch (e) {
      last = (e as Error).message
    }
    await sleep(250)
  }
  throw new Error(`the devnet did not start committing in ${ms} ms (last: ${last})`)
}

export async function measureExec(options: ExecBenchOptions): Promise<ExecResult> {
  const { log, nodes } = options
  const pollMs = options.pollMs ?? 100
  const drainS = options.drainS ?? 15
  const dir = mkdtempSync(join(tmpdir(), `fulmen-exec-${options.consensus}-`))
  let running: RunningDevnet | undefined
  try {
    const layout = await prepareDevnet({
      dir,
      nodes,
      edge: 0,
      demoAccounts: options.senders,
      // One epoch for the whole run: signing the transfers takes a minute on a loaded machine,
      // and an epoch change in the window (the devnet's default is 2 min) is not what is measured.
      epochMs: 3_600_000,
    })
    const perSender = Math.ceil(
      (options.rate / options.senders) * (options.warmupS + options.measureS + 2),
    )
    const t0 = performance.now()
    const txs = presign(
      layout.genesis.chainId,
      layout.accounts.map((a) => a.key),
      perSender,
    )
    log(
      `exec ${options.consensus}: ${(options.senders * perSender).toLocaleString('en-US')} transfers of ${options.senders} senders signed in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    )
    const nodeOptions =
      options.cpuProfDir === undefined
        ? ''
        : `--cpu-prof --cpu-prof-dir=${options.cpuProfDir} --cpu-prof-interval=1000`
    running = await startDevnet({
      layout,
      consensus: options.consensus,
      cli: FULMEN_CLI,
      env: { XDG_DATA_HOME: join(dir, 'xdg'), NODE_OPTIONS: nodeOptions, VITEST: '' },
      timeoutMs: 120_000,
    })
    const names = running.description.nodes.map((n) => n.name)
    const gateways = running.description.nodes.map((n) => n.gateway)
    await untilReady(gateways, options.consensus === 'committee', 120_000)
    log(`exec ${options.consensus}: ${nodes} node(s) up (${uptimeLine()})`)

    // Observation: per node, the first time each height was seen; the blocks' contents once.
    const seenAt: Map<number, number>[] = gateways.map(() => new Map())
    const seenHeight = gateways.map(() => 0)
    const blocks = new Map<number, BlockJson>()
    let fetchedTo = 0
    let observing = true
    const startHeights = await Promise.all(
      gateways.map(async (g) => ((await getJson(`${g}/chain/head`)) as HeadJson).height),
    )
    startHeights.forEach((h, m) => {
      seenHeight[m] = h
    })
    fetchedTo = Math.min(...startHeights)
    const pollers = gateways.map(async (g, m) => {
      while (observing) {
        try {
          const h = ((await getJson(`${g}/chain/head`, 5000)) as HeadJson).height
          const now = Date.now()
          for (let k = seenHeight[m]! + 1; k <= h; k++) seenAt[m]!.set(k, now)
          if (h > seenHeight[m]!) seenHeight[m] = h
        } catch {}
        await sleep(pollMs)
      }
    })
    // Load. A sender's next transaction goes out only once its previous one executed: the
    // committee does not keep one sender's nonce order across batches (an orphaned batch is
    // proposed again behind later ones, and a transfer past its nonce reverts with TX_NONCE and
    // every later one of that sender after it), so each sender has one transaction in flight
    // and the rate comes from many senders, dispatched on a schedule to those that are ready.
    const senderOf = new Map<string, number>()
    txs.forEach((list, i) => {
      for (const tx of list) senderOf.set(tx.digest, i)
    })
    const next = txs.map(() => 0)
    const ready: number[] = txs.map((_, i) => i)
    const submittedAt = new Map<string, { at: number; member: number }>()
    let refused = 0
    let firstRefusal = ''
    let accepted = 0
    let dispatched = 0
    const start = Date.now() + 200
    const windowFrom = start + options.warmupS * 1000
    const windowTo = windowFrom + options.measureS * 1000
    /** In the window: sent and accepted; due by the schedule but not sent (every sender busy). */
    const counted = { accepted: 0, skipped: 0 }
    const posts = new Set<Promise<void>>()

    const fetcher = (async () => {
      while (observing) {
        const top = Math.max(...seenHeight)
        while (fetchedTo < top) {
          let b: BlockJson
          try {
            b = (await getJson(`${gateways[0]}/chain/block/${fetchedTo + 1}`)) as BlockJson
          } catch {
            break
          }
          blocks.set(fetchedTo + 1, b)
          fetchedTo++
          for (const r of b.receipts) {
            const i = r.digest === undefined ? undefined : senderOf.get(r.digest)
            // Executed: the sender may send its next (a failed one stops it).
            if (i !== undefined && r.status === 'ok') ready.push(i)
          }
        }
        await sleep(pollMs)
      }
    })()

    const send = async (i: number) => {
      const member = i % nodes
      const tx = txs[i]![next[i]!++]!
      const at = Date.now()
      submittedAt.set(tx.digest, { at, member })
      try {
        const res = await fetch(`${gateways[member]}/chain/tx`, {
          method: 'POST',
          headers: { 'content-type': 'application/cbor' },
          body: tx.bytes as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.timeout(15_000),
        })
        const text = await res.text()
        if (res.status !== 202 && res.status !== 200) throw new Error(`${res.status} ${text}`)
        accepted++
        if (at >= windowFrom && at < windowTo) counted.accepted++
      } catch (e) {
        refused++
        submittedAt.delete(tx.digest)
        if (firstRefusal === '')
          firstRefusal = `${names[member]}: ${(e as Error).message.slice(0, 200)}`
      }
    }
    let sending = true
    const dispatcher = (async () => {
      while (sending) {
        const now = Date.now()
        if (now >= start) {
          const owed = Math.floor(((now - start) * options.rate) / 1000) - dispatched
          let sent = 0
          while (sent < owed && ready.length > 0) {
            const i = ready.shift()!
            if (next[i]! >= txs[i]!.length) continue
            const p = send(i)
            posts.add(p)
            void p.then(() => posts.delete(p))
            sent++
          }
          dispatched += owed
          if (now >= windowFrom && now < windowTo) counted.skipped += owed - sent
        }
        await sleep(5)
      }
    })()

    await sleep(Math.max(0, windowFrom - Date.now()))
    const pids = names.map((n) => running!.pid(n))
    const cpu0 = pids.reduce((s, p) => s + procCpuMs(p), 0)
    const own0 = ownCpuMs()
    const load0 = os.loadavg()[0] as number
    const wall0 = Date.now()
    await sleep(Math.max(0, windowTo - Date.now()))
    const cpu1 = pids.reduce((s, p) => s + procCpuMs(p), 0)
    const own1 = ownCpuMs()
    const load1 = os.loadavg()[0] as number
    const wallS = (Date.now() - wall0) / 1000
    const uptime = uptimeLine()
    sending = false
    await dispatcher
    await Promise.all(posts)
    log(
      `exec ${options.consensus}: window done, ${accepted.toLocaleString('en-US')} accepted, ${refused} refused${firstRefusal === '' ? '' : ` (first: ${firstRefusal})`}; draining`,
    )

    // Drain: until every transaction submitted in the window is seen executed, or drainS.
    const inWindow = [...submittedAt.entries()].filter(
      ([, s]) => s.at >= windowFrom && s.at < windowTo,
    )
    const latency = new Map<string, number>()
    const settle = () => {
      for (let k = 1; k <= fetchedTo; k++) {
        const b = blocks.get(k)
        if (b === undefined) continue
        for (const r of b.receipts) {
          if (r.digest === undefined || r.status !== 'ok' || latency.has(r.digest)) continue
          const s = submittedAt.get(r.digest)
          const seen = s === undefined ? undefined : seenAt[s.member]!.get(k)
          if (s !== undefined && seen !== undefined) latency.set(r.digest, seen - s.at)
        }
      }
    }
    const drainUntil = Date.now() + drainS * 1000
    for (;;) {
      settle()
      if (inWindow.every(([d]) => latency.has(d)) || Date.now() > drainUntil) break
      await sleep(500)
    }
    observing = false
    await Promise.all([...pollers, fetcher])

    // Executed tx/s per member: the "ok" receipts of the blocks it executed in the window.
    const perMember = seenAt.map((seen) => {
      let ok = 0
      for (const [h, t] of seen) {
        if (t < windowFrom || t >= windowTo) continue
        const b = blocks.get(h)
        if (b !== undefined) ok += b.receipts.filter((r) => r.status === 'ok').length
      }
      return ok / options.measureS
    })
    const samples = inWindow.map(([d]) => latency.get(d)).filter((v) => v !== undefined)
    samples.sort((a, b) => a - b)

    // Every node holds the same chain: the same block hash at the lowest head height.
    const finalHeads = (await Promise.all(
      gateways.map((g) => getJson(`${g}/chain/head`)),
    )) as HeadJson[]
    const common = Math.min(...finalHeads.map((h) => h.height))
    if (common > 0) {
      const hashes = (await Promise.all(
        gateways.map((g) => getJson(`${g}/chain/block/${common}`)),
      )) as BlockJson[]
      if (new Set(hashes.map((b) => b.hash)).size !== 1)
        throw new Error(`the nodes differ at height ${common}`)
    }
    const failed = [...blocks.values()].reduce(
      (s, b) => s + b.receipts.filter((r) => r.status !== 'ok').length,
      0,
    )
    if (failed > 0) {
      const why = new Map<string, number>()
      for (const b of blocks.values())
        for (const r of b.receipts)
          if (r.status !== 'ok') {
            const key = `${r.status}: ${(r.message ?? '').replace(/[0-9a-f]{40,}/g, '…').replace(/\d+/g, 'N')}`
            why.set(key, (why.get(key) ?? 0) + 1)
          }
      log(`exec ${options.consensus}: ${failed} receipts not ok: ${JSON.stringify([...why])}`)
    }

    return {
      tps: perMember.reduce((s, v) => s + v, 0) / perMember.length,
      minTps: Math.min(...perMember),
      offeredTps: options.rate,
      acceptedTps: counted.accepted / options.measureS,
      skippedTps: counted.skipped / options.measureS,
      senders: options.senders,
      p50Ms: percentile(samples, 0.5),
      p99Ms: percentile(samples, 0.99),
      samples: samples.length,
      unexecuted: inWindow.length - samples.length,
      refused,
      firstRefusal,
      nodeCores: (cpu1 - cpu0) / 1000 / wallS,
      loaderCores: (own1 - own0) / 1000 / wallS,
      load: `${load0.toFixed(1)}–${load1.toFixed(1)}`,
      uptime,
      blocks: [...seenAt[0]!.values()].filter((t) => t >= windowFrom && t < windowTo).length,
      nodes,
    }
  } finally {
    await running?.stop(20_000)
    if (options.cpuProfDir === undefined) rmSync(dir, { recursive: true, force: true })
    else log(`exec ${options.consensus}: devnet kept in ${dir} (node.log)`)
  }
}

export function describeExec(what: string, r: ExecResult): string {
  const n = (v: number) => Math.round(v).toLocaleString('en-US')
  return (
    `${what}: ${n(r.tps)} tx/s executed (slowest node ${n(r.minTps)}) of ${n(r.offeredTps)}/s offered ` +
    `(${n(r.acceptedTps)}/s sent and accepted, ${n(r.skippedTps)}/s not sent: all ${n(r.senders)} senders waiting), p50 ${n(r.p50Ms)} ms, p99 ${n(r.p99Ms)} ms submit → executed on the submitting node ` +
    `(${n(r.samples)} transactions; ${n(r.unexecuted)} not executed by the end, ${r.refused} refused${r.firstRefusal === '' ? '' : `: ${r.firstRefusal}`}), ` +
    `${r.blocks} blocks, CPU ${r.nodeCores.toFixed(2)} cores in ${r.nodes} node process(es) + ${r.loaderCores.toFixed(2)} in the load generator, ` +
    `load average ${r.load} (uptime: ${r.uptime})`
  )
}
