/**
 * Pings the other staked nodes (issue 19, "Measurements"; Lightning's `core/pinger`, which
 * pings every node of the registry over UDP every few seconds): every `everyMs` it asks for the
 * peers (the node registry's active nodes but this one), pings each with at most `concurrency`
 * pings in flight and a `timeoutMs` bound on each, and records what came back in the ledger: a
 * verified pong's round trip, a transfer when the ping asked for padding, an interaction either
 * way, a failure when no verified pong came in time. The transport is injected (`ping`): over
 * libp2p on a full node (src/node/reputation), in memory in tests.
 *
 * A round that is still running when the next is due is not doubled: the next waits its turn,
 * so a slow network pings less often instead of piling up.
 */
import { serialTask } from '../consensus/serial-task.ts'
import type { SetTimer } from '../consensus/timer.ts'
import type { Component } from '../core/lifecycle.ts'
import { type Logger, noopLogger } from '../core/logger.ts'
import type { MeasurementLedger } from './measurement-ledger.ts'

/** A node to ping: its node key and where to dial it. */
export interface PingPeer {
  readonly key: Uint8Array
  /** A multiaddr with its /p2p peer id (the node registry's first address). */
  readonly address: string
}

/** What one answered ping measured. */
export interface PingResult {
  /** Microseconds from the ping written to the pong read. */
  readonly rttUs: number
  /** Bytes of the pong (padding included), for a padded ping. */
  readonly bytes: number
}

/** One outcome, for metrics and logs. */
export type PingOutcome =
  | { readonly ok: true; readonly peer: PingPeer; readonly rttUs: number; readonly pad: number }
  | { readonly ok: false; readonly peer: PingPeer; readonly code: string; readonly error: unknown }

export interface PingerOptions {
  readonly ledger: MeasurementLedger
  /** The peers to ping this round. */
  readonly peers: (signal: AbortSignal) => Promise<readonly PingPeer[]>
  /** Pings `peer` asking for `pad` bytes; resolves once a pong verified, rejects otherwise. */
  readonly ping: (peer: PingPeer, pad: number, signal: AbortSignal) => Promise<PingResult>
  readonly everyMs: number
  /** Longest wait for one pong, milliseconds (default min(everyMs, 5000)). */
  readonly timeoutMs?: number
  /** Pings in flight at most (default 8). */
  readonly concurrency?: number
  /** Every this many rounds a ping asks for `padBytes` of padding (default 5; 0: never). */
  readonly padEvery?: number
  /** Padding asked for by a padded ping (default 16 KiB). */
  readonly padBytes?: number
  readonly onPing?: (outcome: PingOutcome) => void
  readonly setTimer?: SetTimer
  readonly logger?: Logger
}

export interface Pinger extends Component {
  /** Runs one round now (after the one running, if any); resolves with the pongs verified. */
  pingNow(signal?: AbortSignal): Promise<number>
  /** Rounds run so far. */
  readonly rounds: number
}

const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown })?.code
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,39}$/.test(code) ? code : 'error'
}

export function createPinger(options: PingerOptions): Pinger {
  const { ledger, everyMs } = options
  if (!Number.isFinite(everyMs) || everyMs <= 0)
    throw new RangeError(`everyMs must be a positive number, got ${everyMs}`)
  const timeoutMs = options.timeoutMs ?? Math.min(everyMs, 5000)
  const concurrency = options.concurrency ?? 8
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`)
  const padEvery = options.padEvery ?? 5
  const padBytes = options.padBytes ?? 16 * 1024
  const logger = options.logger ?? noopLogger
  let rounds = 0

  const pingOne = async (peer: PingPeer, pad: number, signal: AbortSignal): Promise<boolean> => {
    const timeout = AbortSignal.timeout(timeoutMs)
    try {
      const result = await options.ping(peer, pad, AbortSignal.any([signal, timeout]))
      ledger.recordPing(peer.key, result.rttUs)
      ledger.recordInteraction(peer.key, true)
      // The pong's bytes over the round trip: a lower bound of the link's rate, and the same
      // bound for every peer.
      if (pad > 0) ledger.recordTransfer(peer.key, result.bytes, result.rttUs / 1000, 'in')
      options.onPing?.({ ok: true, peer, rttUs: result.rttUs, pad })
      return true
    } catch (error) {
      if (signal.aborted) return false
      const code = timeout.aborted ? 'timeout' : codeOf(error)
      ledger.recordPingFailure(peer.key)
      ledger.recordInteraction(peer.key, false)
      options.onPing?.({ ok: false, peer, code, error })
      logger.debug({ err: error, peer: peer.address, code }, 'ping failed')
      return false
    }
  }

  const round = async (signal: AbortSignal): Promise<number> => {
    const peers = await options.peers(signal)
    const pad = padEvery > 0 && rounds % padEvery === padEvery - 1 ? padBytes : 0
    rounds++
    let next = 0
    let answered = 0
    // `concurrency` workers take the peers in turn.
    const worker = async () => {
      while (next < peers.length && !signal.aborted) {
        const peer = peers[next++] as PingPeer
        if (await pingOne(peer, pad, signal)) answered++
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, peers.length) }, worker))
    return answered
  }

  const task = serialTask({
    everyMs,
    ...(options.setTimer === undefined ? {} : { setTimer: options.setTimer }),
    run: (signal) => round(signal),
    onError: (error) => logger.warn({ err: error }, 'a ping round failed'),
  })

  const pinger: Pinger = {
    name: 'pinger',
    get rounds() {
      return rounds
    },
    pingNow: (signal) => task.runNow(signal),
    start: () => task.start(),
    stop: () => task.stop(),
  }

  return pinger
}
