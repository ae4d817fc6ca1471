/**
 * CPU time of the processes a browser run involves, from /proc (Linux): Chromium's processes
 * by role (`--type=renderer`, the network service…), the full node, and this process (the raw
 * WebSocket server, Playwright). On a loaded machine, throughput says how much CPU a contender
 * got; CPU per MiB says how much it needs.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** Linux's USER_HZ: /proc reports times in these ticks. */
const TICKS_PER_SECOND = 100

export type CpuSnapshot = ReadonlyMap<string, number>

function stat(pid: number): { ppid: number; ms: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return { ppid: Number(fields[1]), ms: (ticks * 1000) / TICKS_PER_SECOND }
  } catch {
    return undefined
  }
}

function role(pid: number, nodePid: number): string {
  if (pid === nodePid) return 'node'
  try {
    // Chromium rewrites its children's command lines as one space-separated string.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/)
    if (!cmd[0]?.includes('chromium')) return 'other'
    const type = cmd.find((a) => a.startsWith('--type='))?.slice(7)
    if (type === undefined) return 'chromium-browser'
    if (type === 'utility')
      return cmd.some((a) => a.includes('NetworkService')) ? 'chromium-network' : 'chromium-utility'
    return `chromium-${type}`
  } catch {
    return 'other'
  }
}

/** CPU ms so far of every descendant of this process, by pid, with its role. */
function descendants(nodePid: number): Map<number, { role: string; ms: number }> {
  const parents = new Map<number, number>()
  const times = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    const s = stat(pid)
    if (s === undefined) continue
    parents.set(pid, s.ppid)
    times.set(pid, s.ms)
  }
  const ours = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p))
      if (p === process.pid) return true
    return false
  }
  const out = new Map<number, { role: string; ms: number }>()
  for (const [pid, ms] of times) if (ours(pid)) out.set(pid, { role: role(pid, nodePid), ms })
  return out
}

/** CPU ms so far of each Chromium renderer process of this run, by pid. */
export function rendererCpu(): Map<number, number> {
  const out = new Map<number, number>()
  for (const [pid, p] of descendants(-1)) if (p.role === 'chromium-renderer') out.set(pid, p.ms)
  return out
}

/**
 * CPU ms so far of every descendant of this process, summed by role, plus `bench` (this one).
 * `labels` names some processes (a renderer by the page it runs) in place of their role.
 */
export function cpuSnapshot(nodePid: number, labels?: ReadonlyMap<number, string>): CpuSnapshot {
  const byRole = new Map<string, number>()
  for (const [pid, p] of descendants(nodePid)) {
    const r = labels?.get(pid) ?? p.role
    byRole.set(r, (byRole.get(r) ?? 0) + p.ms)
  }
  const own = process.cpuUsage()
  byRole.set('bench', (own.user + own.system) / 1000)
  return byRole
}

/** CPU ms spent by role between two snapshots (processes that ended in between are lost). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [r, ms] of after) {
    const d = ms - (before.get(r) ?? 0)
    if (d > 0) out[r] = d
  }
  return out
}
