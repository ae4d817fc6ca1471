/**
 * What the load benchmark's processes (bench/node/load.ts, load-node.ts, load-client.ts) agree
 * on: the contents the node holds and the jobs its clients run.
 */

/** A group of distinct contents the node child stores: `count` of `bytes` each. */
export interface ContentGroup {
  readonly bytes: number
  readonly count: number
}

export interface LoadNodeJob {
  readonly dataDir: string
  readonly groups: Record<string, ContentGroup>
}

/** The node child's first stdout line. */
export interface LoadNodeReady {
  readonly pid: number
  /** The node's WebSockets multiaddr, with /p2p/<peer id>. */
  readonly multiaddr: string
  /** Its HTTP gateway (for /health). */
  readonly url: string
  /** Roots (hex) of every group's contents, in order. */
  readonly roots: Record<string, string[]>
}

/** `count` fetches of `roots[i % roots.length]`, at most `atOnce` of them running at a time. */
export interface FetchPlan {
  readonly name: string
  readonly roots: readonly string[]
  readonly count: number
  readonly atOnce: number
}

/**
 * One client process runs each plan on a fresh client, in turns (turn 0 untimed), then each
 * of `once` a single time (the process is warm by then): the plans too long to repeat.
 */
export interface PlansJob {
  readonly mode: 'plans'
  readonly multiaddr: string
  readonly plans: readonly FetchPlan[]
  readonly turns: number
  readonly once: readonly FetchPlan[]
  /** A content fetched (untimed) before each plan: the session is open when the clock starts. */
  readonly warmRoot: string
}

export interface PlanRun {
  readonly name: string
  readonly turn: number
  readonly seconds: number
  readonly ok: number
  readonly failed: number
  /** Bytes of the fetches that completed. */
  readonly okBytes: number
  /** Error codes of the failures, counted. */
  readonly codes: Record<string, number>
  readonly clientCpuMs: number
  readonly nodeCpuMs: number
  /** Share of the run each process's event loop was busy (eventLoopUtilization). */
  readonly clientBusy: number
  readonly nodeBusy: number
  /** Times the node held a body back for an acknowledgement, and for how long in all, ms. */
  readonly ackWaits: number
  readonly ackWaitMs: number
}

/** What the node child answers on the CPU protocol. */
export interface NodeCounters {
  readonly user: number
  readonly system: number
  readonly elu: { readonly idle: number; readonly active: number }
  readonly ackWaits: number
  readonly ackWaitMs: number
}

export interface PlansResult {
  readonly runs: PlanRun[]
}

/**
 * One of many client processes: makes its client, prints `{"ready":true}`, waits for a line on
 * stdin, then fetches `roots` all at once (a fresh session: the handshake is part of the load).
 */
export interface BurstJob {
  readonly mode: 'burst'
  readonly multiaddr: string
  readonly roots: readonly string[]
}

export interface BurstResult {
  readonly ok: number
  readonly failed: number
  readonly codes: Record<string, number>
  readonly seconds: number
  /** Per completed fetch: from the start signal to its first verified byte, ms. */
  readonly firstByteMs: number[]
}

/**
 * A probe: one client at a time, one fetch at a time, `root` to its first verified byte (a
 * fresh client each run: dial and handshake included), and the node's `/health`; runs `runs`
 * times, or until a line arrives on stdin when `runs` is 0 (then it prints `{"ready":true}`
 * first).
 */
export interface ProbeJob {
  readonly mode: 'probe'
  readonly multiaddr: string
  readonly url: string
  readonly root: string
  readonly runs: number
  /** Pause between runs, ms. */
  readonly spacingMs: number
}

export interface ProbeResult {
  readonly firstByteMs: number[]
  readonly healthMs: number[]
  readonly failed: number
  readonly codes: Record<string, number>
}

export type LoadClientJob = PlansJob | BurstJob | ProbeJob

/** The `p`-quantile (0–1) of `values`, nearest rank. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!
}
